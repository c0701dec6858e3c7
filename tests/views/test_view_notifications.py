"""Notification record pages: derived at triage, draft with missing fields, signatures, submission, board, scoping."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, text

from qa_incidents.incidents.models import Incident
from qa_incidents.notifications.models import NotificationRecord

QA, HQ, REPORTER, OTHER = ("division.qa@example.com", "hq.qa@example.com", "reporter@example.com",
                           "cable.reporter@example.com")
PASSWORD = "demo-password-2026"


@pytest.fixture
def record_url(browser_as, fresh):
    """Incident 1 (the refrigerator fire in Japan) triaged through the page; the URL of its JP-CPSA-35 record."""
    qa = browser_as(QA)
    token = csrf_token(qa, "/incidents/1/triage")
    assert qa.post("/incidents/1/triage", data={"csrf_token": token, "severity": "S1", "override_reason": ""}).status_code == 302
    record_id = fresh(sa.select(NotificationRecord.id).where(NotificationRecord.regime_code == "JP-CPSA-35"))
    assert record_id is not None
    return f"/incidents/1/notifications/{record_id}"


def test_incident_page_lists_the_record(browser_as, record_url):
    shown = text(browser_as(QA).get("/incidents/1"))
    assert "Notification records" in shown and "JP-CPSA-35" in shown and "Required" in shown


def test_record_page_shows_deadline_in_both_zones_and_missing_fields(browser_as, record_url):
    page = browser_as(QA).get(record_url)
    assert page.status_code == 200
    shown = text(page)
    assert "(Asia/Tokyo)" in shown and "10 days counting the day of knowledge" in shown
    assert "Missing before approval:" in shown and "商標" in shown
    draft = form_with(page, "missing_explanation")
    assert any("R-HW540" in v for v in draft.values.values())


def draft_post(client, url, **changes):
    page = client.get(url)
    form = form_with(page, "missing_explanation")
    data = dict(form.values) | changes
    return client.post(url + "/draft", data=data)


def test_draft_save_keeps_typed_values_and_lists_what_is_still_missing(browser_as, record_url, fresh):
    qa = browser_as(QA)
    response = draft_post(qa, record_url)
    assert response.status_code == 302
    page = qa.get(record_url)
    assert "Still missing: 商標" in " ".join(flashes(page))
    assert fresh(sa.select(NotificationRecord.state)) == "drafted"


def test_stale_draft_is_refused_and_keeps_the_input(browser_as, record_url, fresh):
    qa = browser_as(QA)
    page = qa.get(record_url)
    form = form_with(page, "missing_explanation")
    assert draft_post(browser_as(QA), record_url).status_code == 302  # someone else saves first
    response = qa.post(record_url + "/draft", data=dict(form.values) | {"missing_explanation": "Brand follows tomorrow"})
    assert response.status_code == 422
    assert "Someone else saved this notification" in text(response)
    assert form_with(response, "missing_explanation").values["missing_explanation"] == "Brand follows tomorrow"


def sign_approval(client, url, password=PASSWORD):
    form = form_with(client.get(url), "approve-password")
    return client.post(url + "/approve", data=dict(form.values) | {"approve-password": password, "approve-comment": "ok"})


def test_approval_is_a_signature_and_submission_keeps_the_document(browser_as, record_url, fresh):
    qa, hq = browser_as(QA), browser_as(HQ)
    draft_post(qa, record_url, missing_explanation="Brand and origin follow with the written report.")
    # division QA gets no approval form and a forged post is refused
    assert "Sign approval" not in text(qa.get(record_url))
    assert qa.post(record_url + "/approve", data={"approve-csrf_token": csrf_token(qa, record_url),
                                                  "approve-password": PASSWORD}).status_code == 403
    wrong = sign_approval(hq, record_url, password="nope")
    assert wrong.status_code == 422 and "The password is not correct: nothing was signed." in text(wrong)
    assert sign_approval(hq, record_url).status_code == 302
    assert fresh(sa.select(NotificationRecord.state)) == "approved"
    form = form_with(qa.get(record_url), "submit-channel")
    data = dict(form.values) | {"submit-channel": "CAA web form", "submit-authority_reference": "CAA-77",
                                "submit-document": (io.BytesIO(b"%PDF-1.4 as sent"), "form1.pdf")}
    response = qa.post(record_url + "/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:500]
    shown = text(qa.get(record_url))
    assert "Submitted" in shown and "CAA-77" in shown and "form1.pdf" in shown and "on time" in shown


def test_submission_without_channel_is_refused_and_keeps_input(browser_as, record_url):
    qa, hq = browser_as(QA), browser_as(HQ)
    draft_post(qa, record_url, missing_explanation="later")
    sign_approval(hq, record_url)
    form = form_with(qa.get(record_url), "submit-channel")
    response = qa.post(record_url + "/submit", data=dict(form.values) | {"submit-channel": "",
                                                                         "submit-authority_reference": "REF-1"})
    assert response.status_code == 422
    assert "Say how it was sent." in text(response)
    assert form_with(response, "submit-channel").values["submit-authority_reference"] == "REF-1"


def test_pdf_and_printable_view(browser_as, record_url):
    qa = browser_as(QA)
    pdf = qa.get(record_url + "/document.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    printable = text(qa.get(record_url + "/print"))
    # The document is in the authority's language: Japanese for JP-CPSA-35.
    assert "草案：提出未承認" in printable and "R-HW540" in printable


@pytest.mark.parametrize("who", [OTHER, "engineer@example.com", "admin@example.com"])
def test_other_divisions_and_non_readers_see_nothing(browser_as, record_url, who):
    client = browser_as(who)
    assert client.get(record_url).status_code in (403, 404)
    assert client.get(record_url + "/document.pdf").status_code in (403, 404)


def test_reporter_reads_but_cannot_draft(browser_as, record_url):
    reporter = browser_as(REPORTER)
    page = reporter.get(record_url)
    assert page.status_code == 200 and "Save draft" not in text(page)
    assert reporter.post(record_url + "/draft", data={"csrf_token": csrf_token(reporter, "/account")}).status_code == 403


def test_board_shows_counts_and_scopes(browser_as, record_url):
    board = text(browser_as(HQ).get("/notifications/board"))
    assert "JP-CPSA-35" in board and "Consumer Affairs Agency" in board
    assert "Nothing is owed to any authority right now." in text(browser_as(OTHER).get("/notifications/board"))
    assert browser_as("engineer@example.com").get("/notifications/board").status_code == 403


def test_add_missed_obligation_form_reports_every_problem(browser_as, record_url):
    qa = browser_as(QA)
    form = form_with(qa.get("/incidents/1/notifications/add"), "reason")
    response = qa.post("/incidents/1/notifications/add", data=dict(form.values) | {"obligation_id": "", "authority": "KATS"})
    assert response.status_code == 422
    shown = text(response)
    assert "Say why this report is required." in shown and "Give the deadline" in shown
    assert form_with(response, "reason").values["authority"] == "KATS"


def test_incident_page_marks_an_owed_report_overdue_and_a_submitted_one_not(browser_as, record_url, fresh):
    qa = browser_as(QA)
    form = form_with(qa.get("/incidents/1/notifications/add"), "reason")
    response = qa.post("/incidents/1/notifications/add", data=dict(form.values) | {
        "obligation_id": "", "regime_code": "KR-PSA-13", "authority": "KATS", "title": "Accident report",
        "due_at": "2020-01-01T09:00", "reason": "Also sold in Korea"})
    assert response.status_code == 302
    row = [line for line in text(qa.get("/incidents/1")).split("KR-PSA-13")[1:2]][0][:200]
    assert "overdue" in row
    jp_row = text(qa.get("/incidents/1")).split("JP-CPSA-35 Serious")[-1][:200]
    assert "overdue" not in jp_row


def test_my_work_lists_the_records_i_own_and_no_one_elses(browser_as, record_url, fresh):
    mine = browser_as(QA).get("/my-work")
    assert mine.status_code == 200
    shown = text(mine)
    assert "Regulator notifications you own (" in shown and "JP-CPSA-35" in shown
    assert fresh(sa.select(Incident.reference).where(Incident.id == 1)) in shown  # the incident the record is for
    assert "JP-CPSA-35" not in text(browser_as(HQ).get("/my-work"))  # head office reads it, but does not own it
