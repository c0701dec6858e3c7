"""The rules of regulator notification records, in plain Python (no Flask, no database).

- the states and who may move a record from one to the next (one table);
- which draft fields are still missing;
- how urgent an open record is (the board's colours);
- which warnings are due at a moment (50 % of the time used, 24 h and 4 h before, overdue);
- which follow-up reports a submitted report brings with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.core.permissions import Actor, Capability, can_work_division


class State(TitledEnum):
    REQUIRED = "required", _l("Required")
    DRAFTED = "drafted", _l("Drafted")
    APPROVED = "approved", _l("Approved")
    SUBMITTED = "submitted", _l("Submitted")
    ACKNOWLEDGED = "acknowledged", _l("Acknowledged")
    NOT_REQUIRED = "not_required", _l("Not required")


STATE_TITLES = titles(State)

#: States in which the company still owes the authority the report.
OPEN_STATES = frozenset({State.REQUIRED, State.DRAFTED, State.APPROVED})

#: What every list of records (deadline board, incident page, My work, exports, status reports, API) shows for an
#: open record whose reportability is still to be decided: it is not a report owed until a signed "reportable"
#: decision (or facts that apply) makes it "Required".
TO_DECIDE = "to_decide"
SHOWN_STATE_TITLES = {TO_DECIDE: _l("To decide"), **{s.value: t for s, t in STATE_TITLES.items()}}


def shown_state(state: str, *, decision_pending: bool) -> str:
    """The state a list shows for a record: "to_decide" while its reportability decision is pending, else its own."""
    return TO_DECIDE if decision_pending and state in {s.value for s in OPEN_STATES} else state


class Step(TitledEnum):
    DRAFT = "draft", _l("Edit draft")
    APPROVE = "approve", _l("Approve for submission")
    SUBMIT = "submit", _l("Record submission")
    ACKNOWLEDGE = "acknowledge", _l("Record acknowledgement")
    NOT_REQUIRED = "not_required", _l("Mark not required")
    REOPEN = "reopen", _l("Reopen")
    #: Ask for the decision that starts a legal clock (CPSC, NHTSA, FDA 806).
    REQUEST_EVENT = "request_event", _l("Request the decision")
    #: Sign the decision or action that starts the legal clock.
    RECORD_EVENT = "record_event", _l("Sign the decision that starts the legal clock")
    #: Sign that a "to decide" candidate obligation is reportable ("not reportable" is NOT_REQUIRED).
    DECIDE_REPORTABLE = "decide_reportable", _l("Decide: reportable")


STEP_TITLES = titles(Step)


@dataclass(frozen=True)
class Move:
    step: Step
    sources: frozenset[State]
    target: State
    capability: Capability
    #: The meaning of the electronic signature the step needs, if any.
    signature: str | None = None
    #: The step records something on the record without moving it to another state.
    keeps_state: bool = False


C = Capability
S = State
#: Every allowed move. Division QA prepares and submits for its own division; head-office QA signs.
MOVES: dict[Step, Move] = {
    Step.DRAFT: Move(Step.DRAFT, frozenset({S.REQUIRED, S.DRAFTED, S.APPROVED}), S.DRAFTED, C.WORK_NOTIFICATIONS),
    Step.APPROVE: Move(Step.APPROVE, frozenset({S.DRAFTED}), S.APPROVED, C.APPROVE,
                       signature="approved regulator notification for submission"),
    Step.SUBMIT: Move(Step.SUBMIT, frozenset({S.APPROVED}), S.SUBMITTED, C.WORK_NOTIFICATIONS),
    Step.ACKNOWLEDGE: Move(Step.ACKNOWLEDGE, frozenset({S.SUBMITTED}), S.ACKNOWLEDGED, C.WORK_NOTIFICATIONS),
    Step.NOT_REQUIRED: Move(Step.NOT_REQUIRED, frozenset({S.REQUIRED, S.DRAFTED}), S.NOT_REQUIRED, C.APPROVE,
                            signature="determined regulator notification not required"),
    Step.REOPEN: Move(Step.REOPEN, frozenset({S.NOT_REQUIRED}), S.REQUIRED, C.APPROVE),
    # The meaning signed is the regime's own (DeadlineRule.event_signature), e.g. "defect determined".
    Step.REQUEST_EVENT: Move(Step.REQUEST_EVENT, OPEN_STATES, S.REQUIRED, C.WORK_NOTIFICATIONS, keeps_state=True),
    Step.RECORD_EVENT: Move(Step.RECORD_EVENT, OPEN_STATES, S.REQUIRED, C.APPROVE, keeps_state=True),
    Step.DECIDE_REPORTABLE: Move(Step.DECIDE_REPORTABLE, frozenset({S.REQUIRED}), S.REQUIRED, C.APPROVE,
                                 signature="decided regulator notification reportable", keeps_state=True),
}

#: Steps of a report owed (the legal clock's starting event included), refused while its reportability is to be decided.
AFTER_DECISION = frozenset({Step.DRAFT, Step.APPROVE, Step.SUBMIT, Step.RECORD_EVENT})

#: Steps offered only on a record whose legal clock starts at a decision not yet recorded.
EVENT_STEPS = frozenset({Step.REQUEST_EVENT, Step.RECORD_EVENT})


def event_signer_refusal(*, signer_id: int, requested_by_id: int | None) -> str | None:
    """Why this person may not sign the starting event (separation of duties), or None."""
    if requested_by_id is not None and signer_id == requested_by_id:
        return str(_l("You requested this decision: another person must sign it."))
    return None


@dataclass(frozen=True)
class StepVerdict:
    step: Step
    allowed: bool
    why_not: str = ""


def check(step: Step, *, state: State, actor: Actor, division_id: int) -> StepVerdict:
    """Whether the actor may take the step on a record of this state in this division, and if not, why."""
    move = MOVES[step]
    if not can_work_division(actor, division_id, move.capability):
        return StepVerdict(step, False, str(_l("Your role may not do this.")))
    if state not in move.sources:
        return StepVerdict(step, False, str(_l(
            "Not possible while the notification is %(state)s.", state=str(STATE_TITLES[state]).lower())))
    return StepVerdict(step, True)


def available(*, state: State, actor: Actor, division_id: int) -> list[Step]:
    """The steps to offer this actor now."""
    return [step for step in Step if check(step, state=state, actor=actor, division_id=division_id).allowed]


def missing_fields(required: Sequence[str], draft: Mapping[str, str]) -> list[str]:
    """The authority's required fields that the draft leaves empty, in the authority's order."""
    return [name for name in required if not str(draft.get(name, "") or "").strip()]


class Urgency(TitledEnum):
    OVERDUE = "overdue", _l("Overdue")
    CRITICAL = "critical", _l("Due within 4 hours")  # 4 hours or less left
    SOON = "soon", _l("Due within 24 hours")  # 24 hours or less left
    WATCH = "watch", _l("More than half the time used")  # more than half the time used
    OK = "ok", _l("On time")
    NO_DEADLINE = "no_deadline", _l("No deadline set")


URGENCY_TITLES = titles(Urgency)


def urgency(*, start: datetime | None, due: datetime | None, now: datetime) -> Urgency:
    if due is None:
        return Urgency.NO_DEADLINE
    left = due - now
    if left <= timedelta(0):
        return Urgency.OVERDUE
    if left <= timedelta(hours=4):
        return Urgency.CRITICAL
    if left <= timedelta(hours=24):
        return Urgency.SOON
    if start is not None and due > start and (now - start) >= (due - start) / 2:
        return Urgency.WATCH
    return Urgency.OK


@dataclass(frozen=True)
class WarningPoint:
    """A moment before (or at) the deadline at which the owner is told. `key` names it in the outbox."""

    key: str
    #: Fraction of the time from clock start to deadline, or a fixed time before the deadline.
    fraction: float | None = None
    before: timedelta | None = None
    overdue: bool = False


def parse_points(spec: str) -> tuple[WarningPoint, ...]:
    """Warning points from configuration, e.g. "50%,24h,4h": percentages of the time used, hours before."""
    points = []
    for part in (p.strip().lower() for p in spec.split(",")):
        if not part:
            continue
        if part.endswith("%"):
            points.append(WarningPoint(key=f"{float(part[:-1]):g}pct", fraction=float(part[:-1]) / 100))
        elif part.endswith("h"):
            points.append(WarningPoint(key=f"{float(part[:-1]):g}h", before=timedelta(hours=float(part[:-1]))))
        else:
            raise ValueError(f"warning point {part!r}: write a percentage (50%) or hours before the deadline (24h)")
    return (*points, WarningPoint(key="overdue", overdue=True))


DEFAULT_POINTS = parse_points("50%,24h,4h")


def point_moment(point: WarningPoint, *, start: datetime | None, due: datetime) -> datetime | None:
    if point.overdue:
        return due
    if point.before is not None:
        return due - point.before
    if point.fraction is not None and start is not None and due > start:
        return start + (due - start) * point.fraction
    return None


def due_warning(points: Sequence[WarningPoint], *, start: datetime | None, due: datetime | None,
                now: datetime) -> WarningPoint | None:
    """The latest warning point reached at `now` (only the latest: a scan after a pause sends one notice, not a burst).

    A point that falls before the clock started (a 24-hour rule has no "24 h before" warning apart from
    its start) is skipped.
    """
    if due is None:
        return None
    reached = []
    for point in points:
        moment = point_moment(point, start=start, due=due)
        if moment is None or (start is not None and moment < start and not point.overdue):
            continue
        if moment <= now:
            reached.append((moment, point))
    return max(reached, key=lambda pair: pair[0])[1] if reached else None


@dataclass(frozen=True)
class FollowUp:
    """A report that a submitted report brings with it."""

    regime_code: str
    kind: str
    title: str
    #: Due this long after the parent's submission (an internal target where the law gives none).
    after: timedelta
    is_legal_deadline: bool
    explanation: str
    unconfirmed: str = ""


#: Follow-ups per regime code. Periodic recall progress reports (US-CPSC-MPR) are scheduled by the recall.
#: The kinds of report a record can be, in words (the stored code is never shown).
REPORT_KIND_TITLES = {
    "initial": _l("initial report"),
    "follow_up": _l("follow-up report"),
    "final": _l("final report"),
    "progress_report": _l("progress report"),
}


FOLLOW_UPS: dict[str, tuple[FollowUp, ...]] = {
    "CA-CCPSA-14-2": (FollowUp("CA-CCPSA-14-3", "follow_up", "Written incident report (CCPSA s.14(3))",
                               timedelta(days=8), False,
                               "Written report 10 days after the day of awareness; the derived CA-CCPSA-14-3 record "
                               "carries the legal deadline, this one tracks it as the follow-up of the 2-day report."),),
    "EU-MDR-87-15": (FollowUp("EU-MDR-87-15", "final", "Final report (MDR Art. 87, MIR form)", timedelta(days=60), False,
                              "Internal target: final report 60 days after the initial report.",
                              "The final-report period is set by the investigation; confirm with the legal department."),),
    "EU-MDR-87-10": (FollowUp("EU-MDR-87-10", "final", "Final report (MDR Art. 87, MIR form)", timedelta(days=60), False,
                              "Internal target: final report 60 days after the initial report.",
                              "The final-report period is set by the investigation; confirm with the legal department."),),
    "EU-MDR-87-2": (FollowUp("EU-MDR-87-2", "final", "Final report (MDR Art. 87, MIR form)", timedelta(days=60), False,
                             "Internal target: final report 60 days after the initial report.",
                             "The final-report period is set by the investigation; confirm with the legal department."),),
    "US-NHTSA-573": (FollowUp("US-NHTSA-573", "progress_report", "Quarterly report 1 of 8 (49 CFR 573.7)",
                              timedelta(days=120), False,
                              "Quarterly reports for 8 quarters, then annual reports for 3 years (49 USC 30118(f)).",
                              "Quarterly due dates are UNCONFIRMED: confirm with the legal department."),),
}
