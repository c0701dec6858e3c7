"""SLA clocks: due time, warning time, state."""

from datetime import UTC, datetime, timedelta

from qa_incidents.incidents.rules import Severity
from qa_incidents.incidents.sla import DEFAULT_TRIAGE_HOURS, SlaState, sla

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_s1_triage_due_four_hours_after_awareness():
    clock = sla(START, Severity.S1, DEFAULT_TRIAGE_HOURS)
    assert clock.due_at == START + timedelta(hours=4)
    assert clock.warn_at == START + timedelta(hours=3)


def test_states_over_time():
    clock = sla(START, Severity.S1, DEFAULT_TRIAGE_HOURS)
    assert clock.state(START + timedelta(hours=2, minutes=59)) == SlaState.OK
    assert clock.state(START + timedelta(hours=3)) == SlaState.DUE_SOON
    assert clock.state(START + timedelta(hours=4)) == SlaState.BREACHED


def test_hours_are_configurable():
    clock = sla(START, Severity.S2, {"S2": 1.5}, warn_at=0.5)
    assert clock.due_at == START + timedelta(minutes=90) and clock.warn_at == START + timedelta(minutes=45)
