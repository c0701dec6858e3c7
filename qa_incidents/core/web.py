"""Glue between Flask and the domain: the request's database session, clock and helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy.orm as so
from flask import abort, current_app, g, has_request_context, request
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFProtect

from qa_incidents.core.clock import to_zone, utcnow
from qa_incidents.core.db import begin_write
from qa_incidents.core.permissions import Capability, can

F = TypeVar("F", bound=Callable[..., Any])

# CSRF protection of every form; here, below the features, so views that exempt a route can import it.
csrf = CSRFProtect()


def db() -> so.Session:
    """The request's session, opened on first use and closed at teardown.

    A request that may write starts its transaction as a writer (see begin_write), unless its view
    is marked @writes_late."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["qa_session_factory"]()
        if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS") and not _writes_late():
            begin_write(g.db_session)
    return g.db_session


def writes_late(view: F) -> F:
    """For a view that reads a good deal (choices, validation) before one short write: its session starts
    as a reader, and the view calls `start_writing()` right before the write. On SQLite the write lock
    (one writer at a time for the whole database) is then held for the write alone, not the whole request."""

    view.writes_late = True  # type: ignore[attr-defined]  # functools.wraps carries it to the outer decorators
    return view


def _writes_late() -> bool:
    # Decided by the endpoint, not by the view as it runs: the user is loaded (and the session opened) before it.
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_late", False))


def start_writing() -> so.Session:
    """End the request's reading transaction and start a writing one (for @writes_late views).

    What the write depends on (for filing: the product, the reference counter, the head of the audit chain) the
    service reads inside the writing transaction, so nothing it decides on is stale. Objects loaded before keep
    what they read: above all the signed-in user, whose identity and rights are settled when the request starts,
    and whom re-reading would cost a query while holding SQLite's one write lock. (Ended by a commit of the
    empty reading transaction: a rollback would expire every object.)"""
    session = db()
    session.commit()
    begin_write(session)
    return session


def write_apart(work: Callable[[so.Session], Any], *, attempts: int = 3) -> bool:
    """A small write a reading request makes on the side (a view counter), never inside the request's reading
    transaction: upgrading a read to a write fails at once on SQLite ("database is locked") whenever another
    request wrote since the read began. The write gets its own session and transaction, a writer from BEGIN
    (it waits its turn under the busy timeout), and is tried again if the database is still busy. If it cannot be
    done, it is logged and given up: the page is shown regardless. Returns whether it was written."""
    import logging

    from sqlalchemy.exc import OperationalError

    request_session = g.get("db_session")
    if request_session is not None and request_session.in_transaction() and not (
            request_session.new or request_session.dirty or request_session.deleted):
        # End the request's reading transaction first: its snapshot would predate the side write, and any later
        # write of the request (e.g. a lazily built index) would then be refused as stale.
        request_session.commit()
    for attempt in range(1, attempts + 1):
        session = current_app.extensions["qa_session_factory"]()
        try:
            begin_write(session)
            work(session)
            session.commit()
            return True
        except OperationalError:
            session.rollback()
            if attempt == attempts:
                logging.getLogger(__name__).warning("a side write was given up after %d attempts", attempts,
                                                    exc_info=True)
        finally:
            session.close()
    return False


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def now() -> datetime:
    """The current instant (replaceable in tests through the CLOCK setting)."""
    clock: Callable[[], datetime] = current_app.config.get("CLOCK") or utcnow
    return clock()


def viewer_timezone() -> str:
    if has_request_context() and current_user.is_authenticated:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant in the viewer's time zone, with the zone's abbreviation."""
    if value is None:
        return ""
    local = to_zone(value, viewer_timezone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def in_zone(value: datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant in a named zone (an authority's), with the zone's abbreviation and name."""
    if value is None:
        return ""
    local = to_zone(value, zone or "UTC")
    return f"{local.strftime(fmt)} {local.tzname()} ({zone or 'UTC'})"


def requires(capability: Capability) -> Callable[[F], F]:
    """Log-in plus a role capability, checked on the server before the view runs."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(current_user.actor, capability):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def size_text(n: int) -> str:
    """A size limit as people read it: 25 MB, 64 KB, 900 bytes (never "0 MB")."""
    from flask_babel import gettext as _

    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.4g} MB"
    if n >= 1024:
        return f"{n / 1024:.4g} KB"
    return _("%(n)d bytes", n=n)
