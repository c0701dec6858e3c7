"""Internal targets per regime (warnings follow the earlier of target and legal deadline; the legal deadline never
moves) and administrators' holiday calendar days (audited, versioned, read by the engine)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.outbox import OutboxAttachment, OutboxMessage
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import deadlines, policy, records
from qa_incidents.notifications.deadlines import RULES, compute
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import Urgency, parse_points

TOKYO = ZoneInfo("Asia/Tokyo")


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture(autouse=True)
def _clean_engine_policy():
    yield
    deadlines.INTERNAL_TARGETS.clear()
    deadlines.CALENDAR_ADJUSTMENTS.clear()
    deadlines.CALENDAR_ADJUSTMENT_VERSIONS.clear()


@pytest.fixture
def record(demo, clock):
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=user(demo, "division.qa@example.com"), incident_id=fire.id, severity=Severity.S1,
                    override_reason="", now=clock())
    demo.commit()
    found = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == fire.id,
                                                            NotificationRecord.regime_code == "JP-CPSA-35"))
    demo.execute(sa.delete(OutboxAttachment))
    demo.execute(sa.delete(OutboxAttachment))
    demo.execute(sa.delete(OutboxMessage))
    demo.commit()
    return found


def _set(demo, clock, amount, unit="days", email="hq.qa@example.com"):
    policy.set_target(demo, user=user(demo, email), regime_code="JP-CPSA-35", amount=amount, unit=unit,
                      note="Company rule QA-07", now=clock())
    demo.commit()


def test_a_target_earlier_than_the_legal_deadline_drives_warnings_and_urgency(demo, clock, record):
    legal = record.due_at
    _set(demo, clock, 2)
    demo.refresh(record)
    assert record.due_at == legal  # the legal deadline is never changed by policy
    assert record.target_at == record.clock_start + timedelta(days=2) < legal
    points = parse_points("4h")
    assert records.warning_scan(demo, now=record.target_at - timedelta(hours=5), points=points) == 0
    assert records.warning_scan(demo, now=record.target_at - timedelta(hours=3), points=points) == 1
    demo.commit()
    message = demo.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert "Internal target" in message.body_text
    after_target = record.target_at + timedelta(minutes=1)
    assert after_target < legal
    assert records.urgency_of(record, now=after_target) is Urgency.OVERDUE


def test_a_target_later_than_the_legal_deadline_leaves_warnings_on_the_legal_deadline(demo, clock, record):
    legal = record.due_at
    _set(demo, clock, 30)
    demo.refresh(record)
    assert record.due_at == legal and record.target_at > legal
    points = parse_points("4h")
    assert records.warning_scan(demo, now=legal - timedelta(hours=5), points=points) == 0
    assert records.warning_scan(demo, now=legal - timedelta(hours=3), points=points) == 1
    assert records.urgency_of(record, now=legal + timedelta(minutes=1)) is Urgency.OVERDUE
    assert records.urgency_of(record, now=legal - timedelta(minutes=1)) is not Urgency.OVERDUE


def test_new_records_carry_the_target_set_before(demo, clock):
    _set(demo, clock, 36, unit="hours")
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=user(demo, "division.qa@example.com"), incident_id=fire.id, severity=Severity.S1,
                    override_reason="", now=clock())
    demo.commit()
    found = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == fire.id,
                                                            NotificationRecord.regime_code == "JP-CPSA-35"))
    assert found.target_at == found.clock_start + timedelta(hours=36)


def test_setting_a_target_is_audited_and_kept_with_its_history(demo, clock):
    _set(demo, clock, 7)
    _set(demo, clock, 5)
    assert deadlines.INTERNAL_TARGETS["JP-CPSA-35"] == 5 * 24
    assert [t.hours for t in policy.target_history(demo, "JP-CPSA-35")] == [120, 168]
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.action == "internal_target_set")
                               .order_by(AuditEvent.id)))
    assert [e.changes["hours"] for e in events] == [[None, 168], [168, 120]]
    assert events[-1].actor_id == user(demo, "hq.qa@example.com").id


@pytest.mark.parametrize("email", ["division.qa@example.com", "reporter@example.com", "executive@example.com"])
def test_only_head_office_qa_and_admins_set_targets(demo, clock, email):
    with pytest.raises(Forbidden):
        _set(demo, clock, 7, email=email)


def test_a_bad_target_is_refused_with_the_reason(demo, clock):
    with pytest.raises(ValidationFailed) as refused:
        policy.set_target(demo, user=user(demo, "hq.qa@example.com"), regime_code="JP-CPSA-35", amount=0,
                          unit="days", note="", now=clock())
    assert set(refused.value.errors) == {"amount", "note"}


# --- holiday calendars --------------------------------------------------------------------------------------------

AWARE = datetime(2026, 3, 2, 10, 0, tzinfo=TOKYO)  # Monday: 10 days counting the day = Wednesday 11 March


def _change(demo, clock, action, email="admin@example.com"):
    policy.change_day(demo, user=user(demo, email), calendar_code="JP-ADMIN-HOLIDAYS", day=date(2026, 3, 11),
                      action=action, name="Day of mourning (test)", source="Cabinet Order (test)", now=clock())
    demo.commit()


def test_adding_a_japanese_day_moves_the_deadline_and_removing_it_moves_it_back(demo, clock):
    before = compute(RULES["JP-CPSA-35"], start=AWARE)
    assert before.due_at.astimezone(TOKYO).date() == date(2026, 3, 11)
    _change(demo, clock, "add")
    added = compute(RULES["JP-CPSA-35"], start=AWARE)
    assert added.due_at.astimezone(TOKYO).date() == date(2026, 3, 12)
    assert "adjustments v1" in added.calendar_version and "adjustments" not in before.calendar_version
    _change(demo, clock, "remove")
    removed = compute(RULES["JP-CPSA-35"], start=AWARE)
    assert removed.due_at == before.due_at
    assert "adjustments v2" in removed.calendar_version
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.action == "calendar_day_changed")))
    assert [e.changes["action"][1] for e in events] == ["add", "remove"]
    assert events[0].changes["source"] == [None, "Cabinet Order (test)"]


def test_only_administrators_change_calendars(demo, clock):
    with pytest.raises(Forbidden):
        _change(demo, clock, "add", email="hq.qa@example.com")


def test_withdrawing_a_target_clears_it_from_open_records(demo, clock, record):
    _set(demo, clock, 2)
    _set(demo, clock, None)
    demo.refresh(record)
    assert record.target_at is None and "JP-CPSA-35" not in deadlines.INTERNAL_TARGETS
    assert records.urgency_of(record, now=record.clock_start + timedelta(days=3)) is not Urgency.OVERDUE
