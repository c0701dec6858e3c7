"""A regulator notification's assignee is its owner: given to another person from the record's page by the division's
QA managers or head-office QA, audited, and found on the new owner's My work."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.notifications.models import NotificationRecord


def _open_record(browser_as, fresh):  # type: ignore[no-untyped-def]
    """Incident 1 (Home Appliances, the refrigerator fire in Japan) triaged: its JP-CPSA-35 record, required."""
    qa = browser_as("division.qa@example.com")
    token = csrf_token(qa, "/incidents/1/triage")
    assert qa.post("/incidents/1/triage", data={"csrf_token": token, "severity": "S1",
                                                "override_reason": ""}).status_code == 302
    return fresh(sa.select(NotificationRecord).where(NotificationRecord.regime_code == "JP-CPSA-35"))


def _assign(client, record, owner_id):  # type: ignore[no-untyped-def]
    return client.post(f"/incidents/{record.incident_id}/notifications/{record.id}/owner",
                       data={"csrf_token": csrf_token(client, "/notifications/inbox"), "assignee_id": str(owner_id)})


def test_head_office_gives_a_notification_to_the_divisions_qa_manager(browser_as, fresh, fresh_all):  # type: ignore[no-untyped-def]
    record = _open_record(browser_as, fresh)
    assert record is not None and record.state == "required"
    hq, qa = browser_as("hq.qa@example.com"), browser_as("division.qa@example.com")
    page = hq.get(f"/incidents/{record.incident_id}/notifications/{record.id}").get_data(as_text=True)
    assert f"/incidents/{record.incident_id}/notifications/{record.id}/owner" in page
    chooser = text(hq.get(f"/incidents/{record.incident_id}/notifications/{record.id}/owner"))
    assert "Kenji Sato (Home Appliances)" in chooser and "Aiko Tanaka" not in chooser and "Oliver Hughes" not in chooser
    kenji = fresh(sa.select(User.id).where(User.email == "division.qa@example.com"))
    yuki = fresh(sa.select(User.id).where(User.email == "hq.qa@example.com"))
    before = record.owner_id
    target = kenji if before != kenji else yuki
    assert _assign(hq, record, target).status_code == 302
    assert fresh(sa.select(NotificationRecord.owner_id).where(NotificationRecord.id == record.id)) == target
    events = fresh_all(sa.select(AuditEvent).where(AuditEvent.entity_type == "notification_record",
                                                   AuditEvent.entity_id == record.id,
                                                   AuditEvent.action == "notification_assigned"))
    assert len(events) == 1 and events[0].changes["owner_id"] == [before, target]
    owner = qa if target == kenji else hq
    assert "Regulator notifications you own" in text(owner.get("/my-work"))
    assert record.regime_code in text(owner.get("/my-work"))
    assert "assigned a regulator notification to its owner" in text(hq.get(f"/incidents/{record.incident_id}"))


def test_refused_assignments_of_a_notification(browser_as, fresh):  # type: ignore[no-untyped-def]
    record = _open_record(browser_as, fresh)
    owner = record.owner_id
    reporter = fresh(sa.select(User.id).where(User.email == "reporter@example.com"))
    cable_qa = fresh(sa.select(User.id).where(User.email == "cable.qa@example.com"))
    assert _assign(browser_as("reporter@example.com"), record, reporter).status_code == 403
    assert _assign(browser_as("executive@example.com"), record, reporter).status_code == 403
    assert _assign(browser_as("cable.qa@example.com"), record, cable_qa).status_code == 404
    hq = browser_as("hq.qa@example.com")
    for person in (reporter, cable_qa):  # a reporter, and another division's QA manager, own no notification here
        answer = _assign(hq, record, person)
        assert answer.status_code == 422 and "owns a regulator notification" in text(answer)
    assert fresh(sa.select(NotificationRecord.owner_id).where(NotificationRecord.id == record.id)) == owner
