"""Browser fixtures: the app served on a free local port, one Chromium per run, a fresh context per page.

Debian's Chromium is used (browsers cannot be downloaded here). The live server shares the test's
engine, so the demo data committed by the `demo` fixture is what the browser sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy.orm as so
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_PASSWORD = "demo-password-2026"  # as in tests/conftest.py and the demo seed


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: failures should show the test's output, not every request."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.fixture
def live_server(app: Flask, demo: so.Session) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        # Requests still being answered finish before the test's engine is disposed: a connection handed back to
        # a disposed pool is dropped open (psycopg's ResourceWarning, raised in whichever test runs next).
        for request_thread in threading.enumerate():
            if request_thread.name.endswith("(process_request_thread)"):
                request_thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[Callable[[], Page]]:
    """new_page() opens a page in a fresh context (own cookies) on the live server; all closed at the end."""
    contexts: list[BrowserContext] = []

    def _new_page() -> Page:
        context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """log_in(page, email) logs in through the real form and waits for the welcome message."""

    def _log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".flash-success")).to_contain_text("Welcome")

    return _log_in
