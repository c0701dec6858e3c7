"""Open notification records follow corrected rules: recomputed, audited, owners told of earlier deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records
from qa_incidents.notifications.models import NotificationRecord


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def jp(demo, clock):
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=user(demo, "division.qa@example.com"), incident_id=fire.id, severity=Severity.S1,
                    override_reason="", now=clock())
    demo.commit()
    return demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == fire.id,
                                                          NotificationRecord.regime_code == "JP-CPSA-35"))


def moved_mail(session, record_id):
    return session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"deadline-moved-earlier:{record_id}:%"))).all()


def test_a_deadline_computed_later_by_an_old_rule_is_moved_earlier_audited_and_told(demo, jp, clock):
    correct = jp.due_at
    jp.due_at = correct + timedelta(days=2)  # as an old, wrong rule had it
    demo.commit()
    changed = records.recompute_open(demo, now=clock())
    demo.commit()
    assert [(c.record_id, c.now) for c in changed] == [(jp.id, correct)]
    assert jp.due_at == correct
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_id == jp.id,
                                                    AuditEvent.action == "notification_recomputed"))
    assert event is not None and event.changes["reason"][1].startswith("recomputed: rule corrected, was ")
    assert moved_mail(demo, jp.id), "the owner is told the deadline moved earlier"


def test_a_deadline_that_moves_later_is_audited_but_nobody_is_alarmed(demo, jp, clock):
    correct = jp.due_at
    jp.due_at = correct - timedelta(days=1)
    demo.commit()
    records.recompute_open(demo, now=clock())
    demo.commit()
    assert jp.due_at == correct
    assert not moved_mail(demo, jp.id)


def test_an_unchanged_deadline_writes_nothing_and_a_rerun_is_harmless(demo, jp, clock):
    assert records.recompute_open(demo, now=clock()) == []
    assert demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "notification_recomputed")) == 0


def test_the_command_prints_what_changed(app, demo, jp, clock):
    jp.due_at = jp.due_at + timedelta(days=3)
    demo.commit()
    result = app.test_cli_runner().invoke(args=["recompute-deadlines"])
    assert result.exit_code == 0, result.output
    assert '"changed": 1' in result.output and '"moved_earlier": 1' in result.output
