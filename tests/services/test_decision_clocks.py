"""Decision clocks on notification records: a decision is due until the signed event starts the legal clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.signatures import SeparationOfDuties, Signature
from qa_incidents.incidents.models import Incident
from qa_incidents.laws.models import Obligation
from qa_incidents.notifications import records
from qa_incidents.notifications.deadlines import RULES, compute, decision_due
from qa_incidents.notifications.rules import Step

PASSWORD = "demo-password-2026"


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def cpsc(demo, clock):
    """A CPSC 15(b) notification added to the demo refrigerator fire by division QA."""
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    obligation = demo.scalar(sa.select(Obligation).where(Obligation.regime_code == "US-CPSC-15B"))
    assert obligation is not None
    record = records.add_obligation(demo, user=user(demo, "division.qa@example.com"), incident_id=fire.id,
                                    obligation_id=obligation.id, reason="Also sold in the USA", now=clock())
    demo.commit()
    return record


def test_16CFR1115_14d_record_shows_the_decision_due_until_the_event_is_signed(demo, cpsc):
    incident = cpsc.incident
    expected = decision_due(RULES["US-CPSC-15B"], start=incident.aware_at,
                            aware_timezone=incident.aware_timezone or None)
    assert records.awaiting_event(cpsc)
    assert cpsc.due_at == expected.due_at and not cpsc.is_legal_deadline
    assert "Decision due" in cpsc.due_explanation and "1115.14(d)" in cpsc.due_explanation
    hq = user(demo, "hq.qa@example.com")
    assert Step.RECORD_EVENT in records.steps_for(cpsc, hq)


def test_signing_the_event_starts_the_legal_clock_from_its_moment(demo, cpsc, clock):
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    records.request_clock_event(demo, user=qa, record=cpsc, comment="Please decide", now=clock())
    demo.commit()
    assert Step.REQUEST_EVENT not in records.steps_for(cpsc, qa)
    event_at = clock() - timedelta(hours=1)
    records.record_clock_event(demo, user=hq, record=cpsc, password=PASSWORD, comment="", event_at=event_at,
                               now=clock())
    demo.commit()
    expected = compute(RULES["US-CPSC-15B"], start=event_at, aware_timezone=cpsc.incident.aware_timezone or None)
    assert cpsc.due_at == expected.due_at and cpsc.is_legal_deadline
    assert cpsc.clock_start == event_at.astimezone(UTC)
    signature = demo.get(Signature, cpsc.clock_event_signature_id)
    assert signature.meaning == "information reasonably supports" and signature.signer_id == hq.id
    assert not records.awaiting_event(cpsc)
    assert Step.RECORD_EVENT not in records.steps_for(cpsc, hq)
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "notification_record",
                                                    AuditEvent.entity_id == cpsc.id,
                                                    AuditEvent.action == "notification_clock_started"))
    assert event is not None and "due_at" in event.changes


def test_the_requester_may_not_sign_the_decision(demo, cpsc, clock):
    hq = user(demo, "hq.qa@example.com")
    records.request_clock_event(demo, user=hq, record=cpsc, comment="", now=clock())
    demo.commit()
    assert Step.RECORD_EVENT not in records.steps_for(cpsc, hq)
    with pytest.raises(SeparationOfDuties, match="someone else must sign it"):  # the one rule in core.signatures
        records.record_clock_event(demo, user=hq, record=cpsc, password=PASSWORD, comment="", event_at=None,
                                   now=clock())
    assert cpsc.clock_event_at is None


def test_division_qa_cannot_sign_and_an_event_in_the_future_is_refused(demo, cpsc, clock):
    with pytest.raises(Forbidden):
        records.record_clock_event(demo, user=user(demo, "division.qa@example.com"), record=cpsc,
                                   password=PASSWORD, comment="", event_at=None, now=clock())
    with pytest.raises(ValidationFailed) as e:
        records.record_clock_event(demo, user=user(demo, "hq.qa@example.com"), record=cpsc, password=PASSWORD,
                                   comment="", event_at=clock() + timedelta(hours=1), now=clock())
    assert "event_at" in e.value.errors


def test_a_correction_of_aware_at_keeps_the_legal_clock_from_the_event(demo, cpsc, clock):
    from qa_incidents.notifications.records import sync_obligations

    hq = user(demo, "hq.qa@example.com")
    event_at = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    records.record_clock_event(demo, user=hq, record=cpsc, password=PASSWORD, comment="", event_at=event_at,
                               now=clock())
    due = cpsc.due_at
    sync_obligations(demo, incident=cpsc.incident, actor_id=hq.id, now=clock())
    assert cpsc.due_at == due
