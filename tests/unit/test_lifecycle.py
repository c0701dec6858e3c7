"""The lifecycle table: every action × state × role, and the guards that protect people."""

import pytest

from qa_incidents.core.permissions import Role
from qa_incidents.incidents.lifecycle import TRANSITIONS, Action, Case, available, check
from qa_incidents.incidents.rules import Severity, Status

OWN, OTHER = 2, 5

#: The expected table: (action, from state) → roles that may take it (for a case of their own division).
EXPECTED = {
    (Action.TRIAGE, Status.REPORTED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.RETRIAGE, Status.TRIAGED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.REQUEST_ESCALATION, Status.TRIAGED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.APPROVE_ESCALATION, Status.ESCALATION_REQUESTED): {Role.HEAD_OFFICE_QA},
    (Action.REJECT_ESCALATION, Status.ESCALATION_REQUESTED): {Role.HEAD_OFFICE_QA},
    (Action.CONTAIN, Status.ESCALATED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.START_REVIEW, Status.CONTAINED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.CLOSE, Status.UNDER_REVIEW): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.CLOSE, Status.CONTAINED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.REOPEN, Status.CLOSED): {Role.DIVISION_QA, Role.HEAD_OFFICE_QA},
    (Action.REOPEN_AS_LIVE, Status.HISTORICAL): {Role.HEAD_OFFICE_QA},
}
#: Severity that lets each guard pass (so the table above is about roles and states only).
PASSING_SEVERITY = {Action.REQUEST_ESCALATION: Severity.S1}


def case(status, severity=Severity.S3, **kw):
    return Case(status=status, severity=severity, division_id=OWN, **kw)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("role", list(Role))
def test_every_action_state_and_role(action, status, role):
    severity = PASSING_SEVERITY.get(action, Severity.S3)
    if action == Action.CLOSE and status == Status.UNDER_REVIEW:
        severity = Severity.S4
    verdict = check(action, case(status, severity), role=role, division_id=OWN)
    expected = role in EXPECTED.get((action, status), set())
    if (action, status) == (Action.START_REVIEW, Status.TRIAGED) or (action, status) == (Action.CLOSE, Status.TRIAGED):
        expected = role in {Role.DIVISION_QA, Role.HEAD_OFFICE_QA}  # allowed for S3/S4 straight from triage
    assert verdict.allowed is expected, verdict.why_not


def test_targets():
    assert TRANSITIONS[Action.APPROVE_ESCALATION].target == Status.ESCALATED
    assert TRANSITIONS[Action.REJECT_ESCALATION].target == Status.TRIAGED
    assert TRANSITIONS[Action.APPROVE_ESCALATION].signature == "approved escalation"
    assert TRANSITIONS[Action.REJECT_ESCALATION].signature == "rejected escalation"
    assert TRANSITIONS[Action.REJECT_ESCALATION].reason_required


def test_closed_and_historical_records_leave_their_state_only_by_reopening():
    """Nothing but a signed reopening moves a closed incident; imported history moves only when head office says so."""
    for status in (Status.CLOSED, Status.HISTORICAL):
        moves = [t.action for t in TRANSITIONS.values() if status in t.sources]
        assert moves == [Action.REOPEN if status == Status.CLOSED else Action.REOPEN_AS_LIVE]
    reopen = TRANSITIONS[Action.REOPEN]
    assert reopen.signature and reopen.reason_required and reopen.target == Status.TRIAGED
    live = TRANSITIONS[Action.REOPEN_AS_LIVE]
    assert live.reason_required and live.target == Status.REPORTED and live.roles == {Role.HEAD_OFFICE_QA}
    # No transition leads into history: only an import records it.
    assert all(t.target != Status.HISTORICAL for t in TRANSITIONS.values())


def test_no_review_is_started_once_the_review_is_approved():
    approved = case(Status.CONTAINED, Severity.S1, review_approved=True)
    offered = [v.action for v in available(approved, role=Role.DIVISION_QA, division_id=OWN)]
    assert Action.START_REVIEW not in offered and Action.CLOSE in offered
    assert not check(Action.START_REVIEW, approved, role=Role.DIVISION_QA, division_id=OWN).allowed
    assert check(Action.CLOSE, approved, role=Role.DIVISION_QA, division_id=OWN).allowed
    pending = case(Status.CONTAINED, Severity.S1)
    assert not check(Action.CLOSE, pending, role=Role.DIVISION_QA, division_id=OWN).allowed  # review not approved


def test_division_qa_of_another_division_is_refused():
    verdict = check(Action.TRIAGE, case(Status.REPORTED), role=Role.DIVISION_QA, division_id=OTHER)
    assert not verdict.allowed and "own division" in verdict.why_not


def test_head_office_works_any_division():
    assert check(Action.TRIAGE, case(Status.REPORTED), role=Role.HEAD_OFFICE_QA, division_id=OTHER).allowed


@pytest.mark.parametrize("severity, allowed", [(Severity.S1, True), (Severity.S2, True), (Severity.S3, False), (Severity.S4, False)])
def test_only_severe_cases_are_escalated(severity, allowed):
    verdict = check(Action.REQUEST_ESCALATION, case(Status.TRIAGED, severity), role=Role.DIVISION_QA, division_id=OWN)
    assert verdict.allowed is allowed


def test_severe_case_cannot_skip_escalation():
    for action in (Action.START_REVIEW, Action.CLOSE):
        verdict = check(action, case(Status.TRIAGED, Severity.S2), role=Role.DIVISION_QA, division_id=OWN)
        assert not verdict.allowed and "escalation first" in verdict.why_not


def test_severe_case_cannot_close_before_review_approved():
    verdict = check(Action.CLOSE, case(Status.UNDER_REVIEW, Severity.S1), role=Role.HEAD_OFFICE_QA, division_id=OWN)
    assert not verdict.allowed and "review is not approved" in verdict.why_not
    approved = case(Status.UNDER_REVIEW, Severity.S1, review_approved=True)
    assert check(Action.CLOSE, approved, role=Role.HEAD_OFFICE_QA, division_id=OWN).allowed


def test_open_notifications_and_recalls_block_closing_any_case():
    blocked = case(Status.UNDER_REVIEW, Severity.S4, open_notifications=2, open_recalls=1)
    verdict = check(Action.CLOSE, blocked, role=Role.DIVISION_QA, division_id=OWN)
    assert not verdict.allowed
    assert "2 regulator notification(s) still due" in verdict.why_not and "1 recall campaign(s) still open" in verdict.why_not


def test_available_lists_only_actions_of_the_role_from_this_state():
    actions = {v.action: v for v in available(case(Status.TRIAGED, Severity.S1), role=Role.DIVISION_QA, division_id=OWN)}
    assert set(actions) == {Action.RETRIAGE, Action.REQUEST_ESCALATION, Action.START_REVIEW, Action.CLOSE}
    assert actions[Action.REQUEST_ESCALATION].allowed and not actions[Action.CLOSE].allowed
    assert available(case(Status.TRIAGED), role=Role.REPORTER, division_id=OWN) == []
    assert available(case(Status.REPORTED), role=Role.EXECUTIVE, division_id=OWN) == []
