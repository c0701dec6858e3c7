"""Closing an incident needs each countermeasure's effectiveness check or a signed deferral of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.signatures import Signature, SignatureRefused
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status
from qa_incidents.reviews import service
from tests.services.test_reviews import PASSWORD, _complete_review, fire  # noqa: F401  (fixture)


@pytest.fixture
def approved(demo, demo_user, fire, clock):  # noqa: F811
    writer, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    workflow.start_review(demo, user=writer, incident_id=fire.id, now=clock())
    review, cm = _complete_review(demo, writer, fire, clock())
    service.submit_review(demo, user=writer, review_id=review.id, now=clock())
    service.approve_review(demo, user=hq, review_id=review.id, password=PASSWORD, comment="ok", now=clock())
    demo.commit()
    return writer, hq, review, cm


def test_approved_review_with_an_unchecked_countermeasure_does_not_close(demo, fire, approved, clock):  # noqa: F811
    writer, _hq, _review, _cm = approved
    assert service.unchecked_countermeasures_for(demo, fire.id) == 1
    with pytest.raises(Forbidden, match="1 countermeasure"):
        workflow.close(demo, user=writer, incident_id=fire.id, reason="Done.", now=clock())
    demo.rollback()
    assert demo.get(Incident, fire.id).status == Status.UNDER_REVIEW


def test_an_effective_check_lets_the_incident_close(demo, fire, approved, clock):  # noqa: F811
    writer, _hq, _review, cm = approved
    service.mark_implemented(demo, user=writer, countermeasure_id=cm.id, now=clock())
    service.record_check(demo, user=writer, countermeasure_id=cm.id, method="Audit 3 lots", result="No loose crimp",
                         effective=True, now=clock())
    workflow.close(demo, user=writer, incident_id=fire.id, reason="Countermeasure verified.", now=clock())
    demo.commit()
    assert demo.get(Incident, fire.id).status == Status.CLOSED


def test_a_signed_deferral_lets_the_incident_close_and_is_audited(demo, fire, approved, clock):  # noqa: F811
    writer, hq, _review, cm = approved
    later = clock().date() + timedelta(days=90)
    # The owner never signs the deferral of their own countermeasure; a reason, a later day and the password are needed.
    with pytest.raises(Forbidden):
        service.defer_check(demo, user=writer, countermeasure_id=cm.id, password=PASSWORD, reason="Wait",
                            until=later, now=clock())
    with pytest.raises(ValidationFailed) as failed:
        service.defer_check(demo, user=hq, countermeasure_id=cm.id, password=PASSWORD, reason=" ",
                            until=clock().date(), now=clock())
    assert set(failed.value.errors) == {"reason", "check_due_on"}
    with pytest.raises(SignatureRefused):
        service.defer_check(demo, user=hq, countermeasure_id=cm.id, password="wrong", reason="Field data in Q2",
                            until=later, now=clock())
    demo.rollback()
    service.defer_check(demo, user=hq, countermeasure_id=cm.id, password=PASSWORD,
                        reason="Effect shows only in field returns of the next season", until=later, now=clock())
    demo.commit()
    sig = demo.scalar(sa.select(Signature).where(Signature.entity_type == "countermeasure",
                                                 Signature.entity_id == cm.id))
    assert sig.meaning == service.DEFERRAL_MEANING and sig.signer_id == hq.id
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.action == "effectiveness check deferred",
                                                    AuditEvent.incident_id == fire.id))
    assert event.changes["signature"] == [None, sig.id] and event.actor_id == hq.id
    workflow.close(demo, user=writer, incident_id=fire.id, reason="Check deferred by head office.", now=clock())
    demo.commit()
    assert demo.get(Incident, fire.id).status == Status.CLOSED


def test_a_deferral_signed_before_an_ineffective_check_no_longer_counts(demo, fire, approved, clock):  # noqa: F811
    writer, hq, _review, cm = approved
    service.defer_check(demo, user=hq, countermeasure_id=cm.id, password=PASSWORD, reason="Season",
                        until=clock().date() + timedelta(days=30), now=clock())
    service.mark_implemented(demo, user=writer, countermeasure_id=cm.id, now=clock() + timedelta(hours=1))
    service.record_check(demo, user=writer, countermeasure_id=cm.id, method="Audit", result="Still loose",
                         effective=False, now=clock() + timedelta(hours=2))
    demo.commit()
    assert service.unchecked_countermeasures_for(demo, fire.id) == 1


def test_the_published_lesson_names_its_cause_category_once(demo, approved):
    from qa_incidents.reviews.models import Lesson

    _writer, _hq, review, _cm = approved
    lesson = demo.scalar(sa.select(Lesson).where(Lesson.review_id == review.id))
    assert lesson.cause_category == "Manufacturing"
