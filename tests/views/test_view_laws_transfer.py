"""The laws-map transfer page: downloads for everyone signed in, uploads for admin and head-office QA only."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from view_helpers import csrf_token, forms_of, text

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.laws.models import Law

PAGE = "/laws/transfer/"
IMPORT = "/laws/transfer/import"


def upload(client: FlaskClient, filename: str, content: bytes, *, token: str | None = None) -> Any:
    data: dict[str, Any] = {"csrf_token": token if token is not None else csrf_token(client, PAGE)}
    if filename:
        data["file"] = (io.BytesIO(content), filename)
    return client.post(IMPORT, data=data, content_type="multipart/form-data")


def test_a_reporter_downloads_json_and_csv(browser_as: Callable[[str], FlaskClient]):
    reporter = browser_as("reporter@example.com")
    page = reporter.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'href="/laws/transfer/export.json"' in body and 'href="/laws/transfer/export.csv"' in body
    assert not [f for f in forms_of(page) if f.action == IMPORT], "no upload form for a reporter"

    response = reporter.get("/laws/transfer/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="laws-map-2026-11-20.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == "qa-incidents-laws-map"
    assert "JP-CPSA" in {law["short_name"] for law in data["laws"]}

    response = reporter.get("/laws/transfer/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="laws-map-2026-11-20.csv"'
    csv_text = response.get_data().decode("utf-8")
    assert csv_text.startswith("\ufeffrecord,jurisdiction,name,")
    assert "消費生活用製品安全法" in csv_text


def test_signed_out_visitors_are_sent_to_log_in(client: FlaskClient, demo: Any):
    for path in (PAGE, "/laws/transfer/export.json", "/laws/transfer/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_reporter_may_not_upload(browser_as: Callable[[str], FlaskClient], fresh: Callable[[Any], Any]):
    reporter = browser_as("reporter@example.com")
    exported = reporter.get("/laws/transfer/export.json").get_data()
    changed = exported.replace(b'"name_en": "Consumer Product Safety Act"', b'"name_en": "Changed"', 1)
    response = upload(reporter, "map.json", changed)
    assert response.status_code == 403
    assert fresh(sa.select(sa.func.count()).select_from(Law).where(Law.name_en == "Changed")) == 0


@pytest.mark.parametrize("email", ["admin@example.com", "hq.qa@example.com"])
def test_an_editor_uploads_and_sees_the_report(browser_as: Callable[[str], FlaskClient], fresh: Callable[[Any], Any],
                                               email: str):
    editor = browser_as(email)
    page = editor.get(PAGE)
    assert [f for f in forms_of(page) if f.action == IMPORT], "the upload form is shown"
    data = json.loads(editor.get("/laws/transfer/export.json").get_data())
    law = next(x for x in data["laws"] if x["short_name"] == "JP-PSE")
    law["name_en"] = "Electrical Appliance and Material Safety Act (PSE)"
    response = upload(editor, "laws-map.json", json.dumps(data).encode())
    assert response.status_code == 200, text(response)[:500]
    shown = text(response)
    assert "Import report" in shown and "Every row was imported." in shown
    rows = sum(1 + len(x["categories"]) + len(x["obligations"]) + len(x["amendments"]) for x in data["laws"])
    rows += len(data["jurisdictions"])
    assert f"Rows read {rows} Created 0 Updated 1 Unchanged {rows - 1} Rejected 0" in shown
    assert fresh(sa.select(Law.name_en).where(Law.short_name == "JP-PSE")).endswith("(PSE)")
    actor = fresh(sa.select(User.id).where(User.email == email))
    event = fresh(sa.select(AuditEvent).where(AuditEvent.entity_type == "law", AuditEvent.action == "updated"))
    assert event.actor_id == actor


def test_bad_rows_are_listed_with_line_and_reason(browser_as: Callable[[str], FlaskClient], fresh: Callable[[Any], Any]):
    admin = browser_as("admin@example.com")
    content = (b"record,law,category,regime_code,title,enforced_on\r\n"
               b"coverage,JP-CPSA,home.toasters,,,\r\n"
               b"coverage,JP-CPSA,medical,,,\r\n"
               b"amendment,JP-CPSA,,,Revision,someday\r\n"
               b"obligation,JP-CPSA,,XX-1,Made up,\r\n")
    response = upload(admin, "map.csv", content)
    assert response.status_code == 422
    shown = text(response)
    assert "Rows read 4 Created 1 Updated 0 Unchanged 0 Rejected 3" in shown
    assert "3 rows were not imported; the other rows were saved." in shown
    assert "Line Reason" in shown
    assert "2 unknown category code 'home.toasters'" in shown
    assert "4 enforced_on: not a date (YYYY-MM-DD): 'someday'" in shown
    assert "5 unknown regime code 'XX-1'" in shown
    law = fresh(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    assert "medical" in {c.category.code for c in law.coverage}


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("map.json", b"\x89PNG\r\n\x1a\n\x00\x00\xff", "The file is not UTF-8 text"),
    ("map.json", b"{not json", "The file is not valid JSON (line 1, column 2"),
    ("map.json", b"{\"format\": \"something-else\"}", "This is not a laws-map export"),
    ("map.csv", b"Name,Country\r\nx,y\r\n", "Unknown columns in the header: 'country'"),
    ("map.csv", b"record;law\r\nlaw;JP-CPSA\r\n", "The columns are separated by semicolons"),
    ("map.csv", b"law,name_en\r\nJP-CPSA,x\r\n", "The header has no \"record\" column"),
    ("map.xlsx", b"PK\x03\x04", "the file name must end in .json or .csv"),
    ("", b"", "Choose a .json or .csv file to import."),
])
def test_a_broken_file_gets_a_message_not_a_500(browser_as: Callable[[str], FlaskClient], fresh: Callable[[Any], Any],
                                                filename: str, content: bytes, message: str):
    admin = browser_as("admin@example.com")
    events = fresh(sa.select(sa.func.count()).select_from(AuditEvent))
    response = upload(admin, filename, content)
    assert response.status_code == 422
    assert message in text(response)
    assert "Import report" not in text(response)
    assert fresh(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_an_upload_without_the_csrf_token_is_refused(browser_as: Callable[[str], FlaskClient]):
    admin = browser_as("admin@example.com")
    response = upload(admin, "map.json", b"{}", token="")
    assert response.status_code == 400
