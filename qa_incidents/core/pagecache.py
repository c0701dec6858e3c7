"""Whole pages remembered per reader, under change markers (core/freshness.py).

A view decorated with `@remembered("register-page")` is rendered once for a reader, an address and the
current values of its markers, and then served from memory until any of those changes, by the rule of
core/freshness.py: the markers are read first, in the reader's transaction, and a page is kept only if the
committed markers are still the ones read. The key holds everything else the page depends on: the address with
its query string, the reader (id, role, division, name, language, time zone, date style) and the application's
script root. The CSRF token, the one per-session value in a page, is cut out when a page is kept and put back when
it is served. Pages carrying a flashed message are neither served from memory nor kept; only 200 responses are
kept. Memory: at most `PAGE_CACHE_BYTES` (default 16 MB) per process, least recently used first out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, request, session
from flask_login import current_user

from qa_incidents.core import freshness
from qa_incidents.core.web import db

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_MARK = "\x00csrf\x00"  # never in a rendered page: NUL characters are dropped from all input
_TOKEN_BYTES = TOKEN_MARK.encode()


def _cache(names: tuple[str, ...]) -> freshness.Kept:
    """The application's store of pages kept under these markers."""
    stores = current_app.extensions.setdefault("qa_page_cache", {})
    cache = stores.get(names)
    if cache is None:
        cache = stores[names] = freshness.Kept(
            *names, size=None, max_bytes=int(current_app.config.get("PAGE_CACHE_BYTES", 16 * 1024 * 1024)),
            weigh=lambda page: len(page[0]))
    return cache


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
            cache = _cache(names)
            reading = cache.read(db())  # first: the page rendered after it is at least as new
            if reading is None:
                return view(*args, **kwargs)
            key = (request.endpoint, request.full_path, _reader())
            page = cache.peek(reading, key)
            if page is not None:
                from flask_wtf.csrf import generate_csrf

                body, mimetype = page
                return Response(body.replace(_TOKEN_BYTES, generate_csrf().encode()) if _TOKEN_BYTES in body else body,
                                mimetype=mimetype)
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code == 200 and not response.direct_passthrough and not session.get("_flashes") \
                    and not _flashed_this_request():
                body = response.get_data(as_text=True)
                token = g.get("csrf_token")
                if token:
                    from flask_wtf.csrf import generate_csrf

                    body = body.replace(generate_csrf(), TOKEN_MARK)
                # Kept as UTF-8 bytes, which the weight counts: a str holding one character past Latin-1 (the
                # language menu's 日本語) takes two or four bytes for every character of the page.
                cache.keep(db(), reading, key, (body.encode(), response.mimetype or "text/html"))
            return response

        return wrapped  # type: ignore[return-value]

    return decorator


def _flashed_this_request() -> bool:
    """Whether the page showed flashed messages (taken from the session while it was rendered)."""
    from flask.globals import request_ctx

    return bool(getattr(request_ctx, "flashes", None))
