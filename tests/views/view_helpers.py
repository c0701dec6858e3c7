"""Helpers for view tests: act as a browser would (read forms off the page, carry the CSRF token)."""

from __future__ import annotations

import html
import re
import struct
import zlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sql_helpers import statements_sent
from werkzeug.test import TestResponse

DEMO_PASSWORD = "demo-password-2026"


@dataclass
class Option:
    value: str
    label: str
    selected: bool
    disabled: bool


@dataclass
class Form:
    """A form as a browser sees it: its action and the values it would submit."""

    action: str
    method: str
    values: dict[str, str] = field(default_factory=dict)
    selects: dict[str, list[Option]] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)  # every checkbox name -> its value
    errors: dict[str, str] = field(default_factory=dict)  # field id -> error text shown next to it

    def data(self, **changes: Any) -> dict[str, str]:
        """The values a browser would post, with some changed (None: leave out, e.g. untick)."""
        out = dict(self.values)
        for name, value in changes.items():
            if value is None or value is False:
                out.pop(name, None)
            elif value is True:
                out[name] = self.checkboxes.get(name, "y")
            elif isinstance(value, (list, tuple)):  # a multiple select
                out[name] = [str(v) for v in value]  # type: ignore[assignment]
            else:
                out[name] = str(value)
        return out

    def option_value(self, select: str, label_contains: str) -> str:
        """The value of the option whose visible label is, or else contains, the given text."""
        options = self.selects[select]
        matches = [o.value for o in options if o.label == label_contains] or [
            o.value for o in options if label_contains in o.label]
        assert len(matches) == 1, f"{label_contains!r} in {select}: {matches}"
        return matches[0]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._multiple = False
        self._option: dict[str, Any] | None = None
        self._error_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        if tag == "input" and "name" in a:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                form.checkboxes[a["name"]] = a.get("value", "on")
                if "checked" in a:
                    form.values[a["name"]] = a.get("value", "on")
                return
            form.values[a["name"]] = a.get("value", "")
        elif tag == "textarea" and "name" in a:
            self._textarea, self._text = a["name"], []
        elif tag == "select" and "name" in a:
            self._select, self._multiple = a["name"], "multiple" in a
            form.selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "disabled": "disabled" in a}
            self._text = []
        elif tag == "p" and "error" in a.get("class", "").split() and a.get("id", "").endswith("-error"):
            self._error_id, self._text = a["id"][: -len("-error")], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None or self._option is not None or self._error_id is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "form":
            self._form = None
        elif form is None:
            return
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # A browser drops the one newline that directly follows <textarea>.
            form.values[self._textarea] = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "option" and self._option is not None and self._select is not None:
            label = " ".join("".join(self._text).split())
            value = self._option["value"] if self._option["value"] is not None else label
            form.selects[self._select].append(Option(value, label, self._option["selected"], self._option["disabled"]))
            self._option = None
        elif tag == "select" and self._select is not None:
            options = form.selects[self._select]
            if self._multiple:  # a browser posts every selected option, and nothing when none is
                if chosen := [o.value for o in options if o.selected]:
                    form.values[self._select] = chosen  # type: ignore[assignment]
                self._select = None
                return
            chosen = [o for o in options if o.selected] or [o for o in options if not o.disabled][:1]
            if chosen:
                form.values[self._select] = chosen[-1].value
            self._select = None
        elif tag == "p" and self._error_id is not None:
            form.errors[self._error_id] = " ".join("".join(self._text).split())
            self._error_id = None


def forms_of(response: TestResponse) -> list[Form]:
    parser = _FormParser()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def form_with(response: TestResponse, name: str) -> Form:
    """The one form on the page that has a field of the given name."""
    found = [f for f in forms_of(response) if name in f.values or name in f.selects or name in f.checkboxes]
    assert len(found) == 1, f"{len(found)} forms with a field {name!r}"
    return found[0]


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of a form on the page at path."""
    response = client.get(path)
    for form in forms_of(response):
        if form.values.get("csrf_token"):
            return form.values["csrf_token"]
    raise AssertionError(f"no CSRF token on {path} ({response.status_code})")


def login(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> TestResponse:
    """Log in through the real form; returns the response (302 when it worked)."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def logged_in(app: Any, email: str) -> FlaskClient:
    """A second browser: a new test client logged in as the given user."""
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def text(response: TestResponse) -> str:
    """The page as a person reads it: no tags, entities decoded, white space collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def flashes(response: TestResponse) -> list[str]:
    """The flash messages shown at the top of the page."""
    found = re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', response.get_data(as_text=True), flags=re.S)
    return [" ".join(html.unescape(m).split()) for m in found]


def location_path(response: TestResponse) -> str:
    """The path (query, fragment) a redirect points to, refusing redirects off the site."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), f"redirect off-site: {response.headers['Location']}"
    return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def png_bytes() -> bytes:
    """A real 1×1 PNG image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def statements_of(app: Any) -> AbstractContextManager[list[str]]:
    """The SQL statements the application sends inside the block (white space collapsed)."""
    return statements_sent(app.extensions["qa_engine"])
