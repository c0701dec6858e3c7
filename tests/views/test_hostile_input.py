"""Nasty strings through the filing form, comments and attachment names: no 500, nothing lost, nothing executed."""

from __future__ import annotations

import html
import io

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, form_with

from qa_incidents.incidents.models import Attachment, Comment, Incident

NASTY = [
    "A" * 9000,                                            # very long
    "tab\there, bell\x07, escape\x1b[31m, vertical\x0b, form feed\x0c, DEL\x7f",  # control characters
    "NUL in the middle\x00of text",
    "\u202eevil.exe\u202c and \u200f\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # right-to-left
    "emoji 🔥🧯👩🏽‍🔧 and flags 🇯🇵, astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "'; DROP TABLE incident; -- and \" OR 1=1 --",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "{{ 7*7 }} {% raw %} ${7*7} #{7*7}",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "zero\u200bwidth and combining e\u0301\u0301\u0301 and BOM \ufeff",
    "line one\r\nline two\rline three\n",
    "%s %n %x %(name)s",
]
SCRIPTS = ("<script>alert", "<img src=x onerror")


def _stored_form(value: str) -> str:
    """What a text is expected to read back as: NUL is dropped (databases refuse it), ends trimmed."""
    return value.replace("\x00", "")


def _assert_escaped(page: str) -> None:
    for raw in SCRIPTS:
        assert raw not in page  # shown as text, never as markup
    assert ">49<" not in page and " 49 " not in page  # never evaluated as a template


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_nasty_comment_is_kept_and_shown_as_text(login_as, fresh, value):
    client = login_as("hq.qa@example.com")
    form = form_with(client.get("/incidents/1"), "body")
    response = client.post("/incidents/1/comments", data=form.data(body=value))
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 302:
        stored = fresh(sa.select(Comment.body).order_by(Comment.id.desc()).limit(1))
        assert stored.replace("\r\n", "\n") == _stored_form(value).strip().replace("\r\n", "\n")
    else:  # refused with a reason, and the text given back to fix
        assert "not added" in response.get_data(as_text=True)
    page = client.get("/incidents/1")
    assert page.status_code == 200
    _assert_escaped(page.get_data(as_text=True))


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_nasty_incident_title_and_description(login_as, fresh, value):
    client = login_as("reporter@example.com")
    from test_view_filing import _filled

    before = fresh(sa.select(sa.func.count(Incident.id)))
    response = client.post("/incidents/new", data=_filled(client, title=value[:200], description=value))
    assert response.status_code in (302, 422), response.status_code
    body = response.get_data(as_text=True)
    _assert_escaped(body)
    if response.status_code == 302:
        incident = fresh(sa.select(Incident).order_by(Incident.id.desc()).limit(1))
        assert incident.description.replace("\r\n", "\n").strip() == _stored_form(value).replace("\r\n", "\n").strip()
        page = client.get(f"/incidents/{incident.id}")
        assert page.status_code == 200
        _assert_escaped(page.get_data(as_text=True))
        register = client.get("/incidents/?q=" + value[:50])
        assert register.status_code in (200, 422)
    else:  # refused: nothing filed, and the typed text is given back to correct
        assert fresh(sa.select(sa.func.count(Incident.id))) == before
        assert html.escape(_stored_form(value)[:40], quote=False)[:20] in body or "\x00" in value


# Browsers escape line breaks in a file name before sending it, so those are not tried here.
FILE_NAMES = [n for n in NASTY if "\n" not in n and "\r" not in n] + [
    "CON", ".htaccess", "a" * 400 + ".pdf", "x.html", "x.svg", "x.pdf\x00.html"]


@pytest.mark.parametrize("name", FILE_NAMES, ids=range(len(FILE_NAMES)))
def test_nasty_attachment_names_are_safe(login_as, fresh, name):
    client = login_as("hq.qa@example.com")
    payload = b"<html><script>alert(document.cookie)</script></html>"
    response = client.post("/incidents/1/attachments", data={
        "csrf_token": csrf_token(client, "/incidents/1"), "file": (io.BytesIO(payload), name)},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    attachment = fresh(sa.select(Attachment).order_by(Attachment.id.desc()).limit(1))
    assert "/" not in attachment.filename and "\\" not in attachment.filename and len(attachment.filename) <= 255
    assert attachment.content_type == "text/plain"  # decided from the bytes, not from ".html" or ".svg"
    page = client.get("/incidents/1")
    assert page.status_code == 200
    _assert_escaped(page.get_data(as_text=True))
    download = client.get(f"/incidents/1/attachments/{attachment.id}")
    content = download.get_data()
    download.close()
    assert download.status_code == 200 and content == payload  # nothing lost
    assert download.headers["Content-Disposition"].startswith("attachment")  # never rendered inline
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/incidents/1/notifications/100000000000000000000000000000",
    "/incidents/1/attachments/100000000000000000000000000000",
    "/incidents/100000000000000000000000000000",
])
def test_ids_past_64_bits_find_nothing(browser_as, path):  # type: ignore[no-untyped-def]
    """An id no database column can hold is an address that leads nowhere (404), not a server error."""
    assert browser_as("hq.qa@example.com").get(path).status_code == 404


@pytest.mark.parametrize("query", ["page=²", "year=²", "page=99999999999999999999", "year=0", "page=-1", "year=１２"])
def test_odd_lesson_page_and_year_numbers_are_ignored(browser_as, query):  # type: ignore[no-untyped-def]
    """A page or year that is not a plain number in range is ignored: the library's first page, no server error."""
    page = browser_as("engineer@example.com").get(f"/reviews/lessons?q=relay&{query}")
    assert page.status_code == 200
    assert "Lessons learned" in page.get_data(as_text=True)
