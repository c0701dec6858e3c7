"""Separation of duties: nobody signs what they requested, drafted or submitted, for every signature meaning.

The rule lives in one place (core.signatures.sign, which every signature goes through); these tests reach it
through each service that signs, the way a user would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.api import pending_lessons
from qa_incidents.api.models import PendingLesson
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.signatures import SeparationOfDuties, Signature
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.notifications import records
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.recalls import service as recalls
from qa_incidents.reviews import lessons
from qa_incidents.reviews import service as reviews
from qa_incidents.reviews.models import Lesson
from tests.risk_helpers import assess_recall

PASSWORD = "demo-password-2026"


def _user(session, email) -> User:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def fire(demo):  # type: ignore[no-untyped-def]
    return demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))


def _signatures(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count(Signature.id))) or 0


def _refused(session, call) -> str:  # type: ignore[no-untyped-def]
    before = _signatures(session)
    with pytest.raises(SeparationOfDuties) as refused:
        call()
    session.rollback()
    assert _signatures(session) == before, "nothing may be signed"
    assert "someone else must sign it" in str(refused.value)
    return str(refused.value)


def test_whoever_requests_an_escalation_cannot_approve_it(demo, fire, clock):  # type: ignore[no-untyped-def]
    hq = _user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=hq, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=hq, incident_id=fire.id, reason="Fire at home", now=clock())
    demo.commit()
    _refused(demo, lambda: workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True,
                                                      password=PASSWORD, comment="", now=clock()))
    assert workflow.pending_escalation(demo, fire.id) is not None  # still waiting for someone else


def test_whoever_drafts_a_notification_cannot_approve_it(demo, fire, clock):  # type: ignore[no-untyped-def]
    qa, hq = _user(demo, "division.qa@example.com"), _user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    record = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == fire.id,
                                                             NotificationRecord.regime_code == "JP-CPSA-35"))
    records.save_draft(demo, user=hq, record=record, fields=records.proposed_draft(demo, record),
                       missing_explanation="The rest follows within 10 days.", expected_version=record.version,
                       now=clock())
    demo.commit()
    _refused(demo, lambda: records.approve(demo, user=hq, record=demo.get(NotificationRecord, record.id),
                                           password=PASSWORD, comment="", now=clock()))
    assert demo.get(NotificationRecord, record.id).state == "drafted"


def test_whoever_drafts_a_recall_cannot_sign_its_launch_nor_whoever_checks_it_its_closure(demo, fire, clock):  # type: ignore[no-untyped-def]
    qa, hq = _user(demo, "division.qa@example.com"), _user(demo, "hq.qa@example.com")
    recall = recalls.create_campaign(demo, user=hq, incident_ids=[fire.id], now=clock(), data=recalls.CampaignInput(
        title="Relay", remedy="repair", countries=["JP"], units_affected=100, owner_id=qa.id))
    recalls.add_population_line(demo, user=hq, recall_id=recall.id, exclude=False, model="R-HW540", lot="",
                                serial_first="", serial_last="", units=100, note="", now=clock())
    assess_recall(demo, user=qa, recall_id=recall.id, now=clock())
    demo.commit()
    _refused(demo, lambda: recalls.launch(demo, user=hq, recall_id=recall.id, password=PASSWORD, comment="",
                                          now=clock()))
    assert demo.get(type(recall), recall.id).status == "draft"

    # Drafted by division QA, the same recall is launched by head office; its closure is then signed off by
    # someone other than whoever recorded the effectiveness check.
    other = recalls.create_campaign(demo, user=qa, incident_ids=[fire.id], now=clock(), data=recalls.CampaignInput(
        title="Relay 2", remedy="repair", countries=["JP"], units_affected=100, owner_id=qa.id))
    recalls.add_population_line(demo, user=qa, recall_id=other.id, exclude=False, model="R-HW540", lot="",
                                serial_first="", serial_last="", units=100, note="", now=clock())
    # Head office assessing the risk prepares the launch as much as drafting it does: it may not sign it then.
    assess_recall(demo, user=hq, recall_id=other.id, now=clock())
    demo.commit()
    _refused(demo, lambda: recalls.launch(demo, user=hq, recall_id=other.id, password=PASSWORD, comment="",
                                          now=clock()))
    assess_recall(demo, user=qa, recall_id=other.id, now=clock())  # the division's own assessment is in force
    recalls.launch(demo, user=hq, recall_id=other.id, password=PASSWORD, comment="", now=clock())
    recalls.record_effectiveness(demo, user=hq, recall_id=other.id, text="Sampled 50 homes: all remedied.",
                                 now=clock() + timedelta(days=1))
    demo.commit()
    _refused(demo, lambda: recalls.close(demo, user=hq, recall_id=other.id, password=PASSWORD,
                                         justification="Every known owner was reached; the rest were scrapped.",
                                         comment="", now=clock() + timedelta(days=2)))


def test_whoever_writes_or_submits_a_review_cannot_approve_it(demo, fire, clock):  # type: ignore[no-untyped-def]
    from test_reviews import _complete_review

    hq = _user(demo, "hq.qa@example.com")
    fire.severity, fire.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    demo.commit()
    review, _ = _complete_review(demo, hq, fire, clock())
    reviews.submit_review(demo, user=hq, review_id=review.id, now=clock())
    demo.commit()
    _refused(demo, lambda: reviews.approve_review(demo, user=hq, review_id=review.id, password=PASSWORD,
                                                  comment="", now=clock()))
    assert demo.scalar(sa.select(Lesson.id).where(Lesson.review_id == review.id)) is None


def test_an_imported_lesson_waits_for_someone_else_to_sign_its_publication(demo, fire, clock):  # type: ignore[no-untyped-def]
    reporter, qa, hq = (_user(demo, e) for e in ("reporter@example.com", "division.qa@example.com",
                                                  "hq.qa@example.com"))
    row = {**lessons.read_sample()[0], "Recall Event ID": "990001"}
    # A reporter may not write reviews, so may not import lessons either.
    assert pending_lessons.propose(demo, record=row, incident_id=fire.id, user=reporter, now=clock()).startswith(
        "rejected: your role may not")
    assert pending_lessons.propose(demo, record=row, incident_id=fire.id, user=hq, now=clock()) == "created"
    demo.commit()
    assert demo.scalar(sa.select(Lesson.id).where(Lesson.source_ref == "FDA-990001")) is None  # not published
    item = pending_lessons.waiting(demo)[0]
    _refused(demo, lambda: pending_lessons.publish(demo, user=hq, pending_id=item.id, password=PASSWORD,
                                                   comment="", now=clock()))
    # Another head-office QA member reviews it and signs.
    from qa_incidents.accounts import service as accounts

    second = accounts.create_user(demo, data=accounts.UserInput(
        email="hq.second@example.com", name="Second Approver", role=hq.role, division_id=hq.division_id,
        timezone="Asia/Tokyo"), password=PASSWORD + "x", actor_id=None, now=clock())
    lesson = pending_lessons.publish(demo, user=second, pending_id=item.id, password=PASSWORD + "x", comment="ok",
                                     now=clock())
    demo.commit()
    assert lesson.source_ref == "FDA-990001" and demo.get(PendingLesson, item.id).decision == "published"
    assert demo.scalar(sa.select(AuditEvent.id).where(AuditEvent.entity_type == "pending_lesson",
                                                      AuditEvent.action == "published")) is not None
    assert pending_lessons.propose(demo, record=row, incident_id=fire.id, user=qa, now=clock()) == "present"


def test_a_signed_transition_cannot_be_taken_without_a_signature(demo, fire, clock):  # type: ignore[no-untyped-def]
    """The lifecycle table marks the moves that take a signature; the one function that moves incidents refuses
    them unsigned, whoever calls it."""
    from qa_incidents.core.errors import Forbidden
    from qa_incidents.incidents.lifecycle import Action

    qa, hq = _user(demo, "division.qa@example.com"), _user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire at home", now=clock())
    demo.commit()
    with pytest.raises(Forbidden):
        workflow._move(demo, user=hq, incident=fire, action=Action.APPROVE_ESCALATION, now=clock())
    demo.rollback()
    assert demo.get(Incident, fire.id).status.value == "escalation_requested"
