"""Whole pages remembered per reader, under change markers that database triggers keep.

A view decorated with `@remembered("register-page")` is rendered once for a reader, an address and the
current values of its markers, and then served from memory until any of those changes. Why a remembered
page is never stale:
- the markers are counter rows that triggers give a fresh random value in the writer's own transaction, on
  every write to the tables the page shows (migration 0015), whatever makes the write;
- the markers are read first, in the reader's transaction; the page that follows sees that data or newer,
  so it is never older than the values it is kept under;
- a committed write moves a marker to a value no page was kept under, in every process; a rolled-back
  write's value never becomes current;
- the key holds everything else the page depends on: the address with its query string, the reader (id,
  role, division, name, language, time zone, date style) and the application's script root. The CSRF
  token, the one per-session value in a page, is cut out when a page is kept and put back when it is served.
Pages carrying a flashed message are neither served from memory nor kept; only 200 responses are kept.
Memory: at most `PAGE_CACHE_BYTES` (default 16 MB) per process, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, current_app, g, request, session
from flask_login import current_user

from qa_incidents.core.memo import note_lookup
from qa_incidents.core.sequences import Counter
from qa_incidents.core.web import db

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_MARK = "\x00csrf\x00"  # never in a rendered page: NUL characters are dropped from all input


class PageCache:
    """A least-recently-used map of rendered pages, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.pages: OrderedDict[tuple[Any, ...], tuple[str, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[str, str] | None:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
        note_lookup(page is not None)
        return page

    def put(self, key: tuple[Any, ...], body: str, mimetype: str) -> None:
        size = len(body.encode())
        if size > self.max_bytes // 8:
            return
        with self.lock:
            old = self.pages.pop(key, None)
            if old is not None:
                self.size -= len(old[0].encode())
            self.pages[key] = (body, mimetype)
            self.size += size
            while self.size > self.max_bytes and self.pages:
                _key, (dropped, _mime) = self.pages.popitem(last=False)
                self.size -= len(dropped.encode())

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
            self.size = 0


def _cache() -> PageCache:
    cache = current_app.extensions.get("qa_page_cache")
    if cache is None:
        cache = current_app.extensions["qa_page_cache"] = PageCache(
            int(current_app.config.get("PAGE_CACHE_BYTES", 16 * 1024 * 1024)))
    return cache


def markers(names: tuple[str, ...]) -> tuple[int, ...] | None:
    """The current values of the named markers, read in the request's transaction (None if any is missing)."""
    rows = dict(db().execute(sa.select(Counter.name, Counter.value).where(Counter.name.in_(names))).all())
    if len(rows) != len(names):
        return None
    return tuple(int(rows[name]) for name in names)


def _reader() -> tuple[Any, ...]:
    from qa_incidents.core.i18n import current_language

    user = current_user._get_current_object()
    return (user.id, user.role, user.division_id, user.name, user.timezone, user.era_dates, current_language(),
            request.script_root)


def remembered(*names: str) -> Callable[[F], F]:
    """Serve the view's page from memory while the named markers (and the reader, and the address) stay the same."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if (request.method != "GET" or not current_app.config.get("PAGE_CACHE", True)
                    or session.get("_flashes") or not current_user.is_authenticated):
                return view(*args, **kwargs)
            values = markers(names)
            if values is None:
                return view(*args, **kwargs)
            key = (request.endpoint, request.full_path, _reader(), values)
            cache = _cache()
            page = cache.get(key)
            if page is not None:
                from flask_wtf.csrf import generate_csrf

                body, mimetype = page
                return Response(body.replace(TOKEN_MARK, generate_csrf()) if TOKEN_MARK in body else body,
                                mimetype=mimetype)
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code == 200 and not response.direct_passthrough and not session.get("_flashes") \
                    and not _flashed_this_request():
                body = response.get_data(as_text=True)
                token = g.get("csrf_token")
                if token:
                    from flask_wtf.csrf import generate_csrf

                    body = body.replace(generate_csrf(), TOKEN_MARK)
                cache.put(key, body, response.mimetype or "text/html")
            return response

        return wrapped  # type: ignore[return-value]

    return decorator


def _flashed_this_request() -> bool:
    """Whether the page showed flashed messages (taken from the session while it was rendered)."""
    from flask.globals import request_ctx

    return bool(getattr(request_ctx, "flashes", None))
