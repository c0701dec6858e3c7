"""My work lists what waits for this person: notification drafts to approve (never one they drafted), and only the
newest status report of an incident to acknowledge."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, form_with

from qa_incidents.notifications.models import NotificationRecord

QA, HQ = "division.qa@example.com", "hq.qa@example.com"


@pytest.fixture
def record_url(browser_as, fresh):
    """Incident 1 (the refrigerator fire in Japan) triaged by division QA; the URL of its JP-CPSA-35 record."""
    qa = browser_as(QA)
    token = csrf_token(qa, "/incidents/1/triage")
    assert qa.post("/incidents/1/triage", data={"csrf_token": token, "severity": "S1", "override_reason": ""}).status_code == 302
    record_id = fresh(sa.select(NotificationRecord.id).where(NotificationRecord.regime_code == "JP-CPSA-35"))
    return f"/incidents/1/notifications/{record_id}"


def _draft(client, url):
    form = form_with(client.get(url), "missing_explanation")
    assert client.post(url + "/draft", data=dict(form.values)).status_code == 302


def _to_approve(client) -> str:
    page = client.get("/my-work")
    assert page.status_code == 200
    section = page.get_data(as_text=True).split('id="notifications-to-approve"')
    return re.sub(r"<[^>]+>|\s+", " ", section[1].split("</section>")[0]) if len(section) > 1 else ""


def test_head_office_sees_a_division_draft_to_approve(browser_as, record_url):
    assert "JP-CPSA-35" not in _to_approve(browser_as(HQ))  # not drafted yet: nothing to approve
    _draft(browser_as(QA), record_url)
    shown = _to_approve(browser_as(HQ))
    assert "JP-CPSA-35" in shown and "drafted by Kenji Sato" in shown
    assert "JP-CPSA-35" not in _to_approve(browser_as(QA))  # the drafter is never asked to approve it


def test_an_approver_is_not_asked_to_approve_their_own_draft(browser_as, record_url):
    _draft(browser_as(HQ), record_url)
    assert "JP-CPSA-35" not in _to_approve(browser_as(HQ))
