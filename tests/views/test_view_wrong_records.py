"""Pages that used to let wrong records through: a pre-selected product, edits of a closed incident, a submission
time before the approval, reviews on untriaged incidents, and what head office's My work lists."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, location_path, text

from qa_incidents.incidents.models import Incident
from qa_incidents.notifications.models import NotificationRecord

QA, HQ, REPORTER = "division.qa@example.com", "hq.qa@example.com", "reporter@example.com"
PASSWORD = "demo-password-2026"


def test_the_filing_form_preselects_no_product(browser_as):
    client = browser_as(REPORTER)
    page = client.get("/incidents/new")
    form = form_with(page, "title")
    first = form.selects["product_id"][0]
    assert first.value == "" and first.selected and not first.disabled  # a browser keeps the blank "choose…" option
    assert form.values["product_id"] == ""
    assert 'name="product_id" required' in page.get_data(as_text=True)
    data = form.data(title="Compressor noise", place="Osaka", occurred_at="2026-11-19T10:00",
                     aware_at="2026-11-19T12:00", description="Loud noise.", no_harm=True)
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    assert form_with(response, "title").errors["product_id"] == "Choose a product."
    assert form_with(response, "title").values["title"] == "Compressor noise"  # the input is kept


def _triage(client, incident_id, severity="S4", reason="Minor: one unit."):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/incidents/{incident_id}/triage")
    return client.post(f"/incidents/{incident_id}/triage",
                       data={"csrf_token": token, "severity": severity, "override_reason": reason})


def _act(client, incident_id, action, **data):  # type: ignore[no-untyped-def]
    url = f"/incidents/{incident_id}/actions/{action}"
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _decide_not_reportable(hq, demo, incident_id):  # type: ignore[no-untyped-def]
    """Every candidate awaiting its reportability decision signed "not reportable" (closure waits for them)."""
    demo.rollback()
    for record_id in demo.scalars(sa.select(NotificationRecord.id).where(
            NotificationRecord.incident_id == incident_id, NotificationRecord.decision_pending.is_(True))).all():
        path = f"/incidents/{incident_id}/notifications/{record_id}"
        assert hq.post(f"{path}/not-required", data={"csrf_token": csrf_token(hq, path), "nr-reason": "No hazard.",
                                                     "nr-password": PASSWORD}).status_code == 302


def test_a_closed_incident_is_not_edited_only_reopened_with_a_signature(browser_as, fresh, demo):
    qa = browser_as(QA)
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == "Door glass shattered during drying cycle"))
    assert _triage(qa, incident_id).status_code == 302
    assert _act(qa, incident_id, "close", reason="Isolated case.").status_code == 403  # candidates undecided
    _decide_not_reportable(browser_as(HQ), demo, incident_id)
    assert _act(qa, incident_id, "close", reason="Isolated case.").status_code == 302
    page = qa.get(f"/incidents/{incident_id}")
    assert "Edit facts" not in text(page) and "Reopen the incident" in text(page)
    edit = qa.get(f"/incidents/{incident_id}/edit")
    assert edit.status_code == 303 and location_path(edit) == f"/incidents/{incident_id}"
    token = csrf_token(qa, f"/incidents/{incident_id}")
    forged = qa.post(f"/incidents/{incident_id}/edit", data={"csrf_token": token, "version": "1", "title": "x"})
    assert forged.status_code == 303
    assert fresh(sa.select(Incident.title).where(Incident.id == incident_id)) == "Door glass shattered during drying cycle"
    wrong = _act(qa, incident_id, "reopen", reason="Two more reports.", password="nope")
    assert wrong.status_code == 422 and "The password is not correct" in text(wrong)
    assert _act(qa, incident_id, "reopen", reason="Two more reports.", password=PASSWORD).status_code == 302
    assert fresh(sa.select(Incident.status).where(Incident.id == incident_id)) == "triaged"
    shown = text(qa.get(f"/incidents/{incident_id}"))
    assert "reopened the closed incident" in shown and "Edit facts" in shown


def test_a_review_is_not_started_on_an_untriaged_incident(browser_as, fresh):
    qa = browser_as(QA)
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == "Door glass shattered during drying cycle"))
    assert "Start a review" not in text(qa.get(f"/incidents/{incident_id}"))
    page = qa.get(f"/reviews/new?incident={incident_id}")
    assert page.status_code == 303
    assert any("Triage the incident first" in f for f in flashes(qa.get(location_path(page))))
    assert _triage(qa, incident_id).status_code == 302
    assert "Start a review" in text(qa.get(f"/incidents/{incident_id}"))
    assert qa.get(f"/reviews/new?incident={incident_id}").status_code == 200


def test_a_submission_time_before_the_approval_is_refused(browser_as, fresh, clock):
    qa, hq = browser_as(QA), browser_as(HQ)
    assert _triage(qa, 1, severity="S1", reason="").status_code == 302
    record_id = fresh(sa.select(NotificationRecord.id).where(NotificationRecord.regime_code == "JP-CPSA-35"))
    url = f"/incidents/1/notifications/{record_id}"
    draft = form_with(qa.get(url), "missing_explanation")
    assert qa.post(url + "/draft", data=dict(draft.values) | {"missing_explanation": "later"}).status_code == 302
    approve = form_with(hq.get(url), "approve-password")
    assert hq.post(url + "/approve", data=dict(approve.values) | {"approve-password": PASSWORD}).status_code == 302
    form = form_with(qa.get(url), "submit-channel")
    early = (clock() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")  # in UTC, earlier in any zone of the demo
    response = qa.post(url + "/submit", data=dict(form.values) | {"submit-channel": "CAA web form",
                                                                  "submit-submitted_at": early})
    assert response.status_code == 422
    assert "That is before the draft was approved" in text(response)
    assert fresh(sa.select(NotificationRecord.state).where(NotificationRecord.id == record_id)) == "approved"
