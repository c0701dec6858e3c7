"""The incident lifecycle: every allowed move, who may make it, and what must hold first.

One table, plain Python. Views show only the actions `available()` allows; services call
`check()` again before changing anything, so a forged request is refused on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.core.permissions import Role
from qa_incidents.incidents.rules import Severity, Status, review_needed_to_close


class Action(TitledEnum):
    TRIAGE = "triage", _l("Triage")
    RETRIAGE = "retriage", _l("Change severity")
    REQUEST_ESCALATION = "request_escalation", _l("Request escalation")
    APPROVE_ESCALATION = "approve_escalation", _l("Approve escalation")
    REJECT_ESCALATION = "reject_escalation", _l("Reject escalation")
    CONTAIN = "contain", _l("Record containment")
    START_REVIEW = "start_review", _l("Start OCHIBO-HIROI review")
    CLOSE = "close", _l("Close the incident")
    REOPEN = "reopen", _l("Reopen the incident")
    REOPEN_AS_LIVE = "reopen_as_live", _l("Reopen as live work")


ACTION_TITLES = titles(Action)

SEVERE = frozenset({Severity.S1, Severity.S2})


@dataclass(frozen=True)
class Case:
    """What the guards need to know about an incident (filled by the service from every feature)."""

    status: Status
    severity: Severity | None
    division_id: int
    #: Regulator notifications required and not yet submitted or justified as not required.
    open_notifications: int = 0
    #: Recall campaigns linked to the incident and not yet closed.
    open_recalls: int = 0
    #: Whether an OCHIBO-HIROI review of the depth the severity needs has been approved.
    review_approved: bool = False
    #: Whether a review of the incident is started (draft or submitted) and not yet approved.
    review_started: bool = False
    #: Countermeasures of the incident's reviews neither verified effective nor with a signed deferral of the check.
    unchecked_countermeasures: int = 0


Guard = Callable[[Case], str | None]


def _severe(case: Case) -> str | None:
    if case.severity not in SEVERE:
        return str(_l("Only S1 and S2 incidents are escalated to head office."))
    return None


def _not_severe(case: Case) -> str | None:
    if case.severity in SEVERE:
        return str(_l("An S1 or S2 incident goes through escalation first."))
    return None


def _may_close(case: Case) -> str | None:
    """People first: a severe case stays open until authorities, customers and the lesson are dealt with."""
    reasons = []
    if case.open_notifications:
        reasons.append(str(_l("%(n)d regulator notification(s) still due", n=case.open_notifications)))
    if case.open_recalls:
        reasons.append(str(_l("%(n)d recall campaign(s) still open", n=case.open_recalls)))
    severity = case.severity.value if case.severity else None
    if review_needed_to_close(severity) and not case.review_approved:
        reasons.append(str(_l("the OCHIBO-HIROI review is not approved yet")))
    elif case.review_started and not case.review_approved:
        # An S3/S4 case may close without a review (a gap the dashboard shows), but a review once started is finished.
        reasons.append(str(_l("the review started on it is not approved yet")))
    if case.unchecked_countermeasures:
        reasons.append(str(_l("%(n)d countermeasure(s) without an effectiveness check or a signed deferral",
                              n=case.unchecked_countermeasures)))
    if reasons:
        return str(_l("Cannot close: %(why)s.", why="; ".join(reasons)))
    return None


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status
    roles: frozenset[Role]
    guards: tuple[Guard, ...] = ()
    #: The meaning recorded with the electronic signature this transition requires, if any.
    signature: str | None = None
    reason_required: bool = False
    #: Whether a user of any division may take it (head office) or only the incident's own division.
    own_division_only: bool = True
    #: Why the action no longer makes sense for this case (it is then neither offered nor allowed), e.g. starting a
    #: review whose review is already approved; None while it does.
    moot: Guard | None = None


def _review_done(case: Case) -> str | None:
    if case.review_approved:
        return str(_l("The OCHIBO-HIROI review is already approved: close the incident."))
    return None


def _severe_skip_escalation(case: Case) -> str | None:
    """From 'triaged', only S3/S4 cases may go straight to review or closure."""
    return _not_severe(case) if case.status == Status.TRIAGED else None


DQA, HOQA = Role.DIVISION_QA, Role.HEAD_OFFICE_QA
WORKERS = frozenset({DQA, HOQA})

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(Action.TRIAGE, frozenset({Status.REPORTED}), Status.TRIAGED, WORKERS),
        Transition(Action.RETRIAGE, frozenset({Status.TRIAGED}), Status.TRIAGED, WORKERS, reason_required=True),
        Transition(Action.REQUEST_ESCALATION, frozenset({Status.TRIAGED}), Status.ESCALATION_REQUESTED, WORKERS,
                   guards=(_severe,), reason_required=True),
        Transition(Action.APPROVE_ESCALATION, frozenset({Status.ESCALATION_REQUESTED}), Status.ESCALATED,
                   frozenset({HOQA}), signature="approved escalation", own_division_only=False),
        Transition(Action.REJECT_ESCALATION, frozenset({Status.ESCALATION_REQUESTED}), Status.TRIAGED,
                   frozenset({HOQA}), signature="rejected escalation", reason_required=True, own_division_only=False),
        Transition(Action.CONTAIN, frozenset({Status.ESCALATED}), Status.CONTAINED, WORKERS, reason_required=True),
        Transition(Action.START_REVIEW, frozenset({Status.CONTAINED, Status.TRIAGED}), Status.UNDER_REVIEW, WORKERS,
                   guards=(_severe_skip_escalation,), moot=_review_done),
        # A contained case whose review was approved (written while contained) closes without another step.
        Transition(Action.CLOSE, frozenset({Status.UNDER_REVIEW, Status.TRIAGED, Status.CONTAINED}), Status.CLOSED, WORKERS,
                   guards=(_severe_skip_escalation, _may_close), reason_required=True),
        # A closed record changes only by reopening it: a reason and the signer's electronic signature; it goes
        # back to triage, so its severity and escalation are decided again on the corrected facts.
        Transition(Action.REOPEN, frozenset({Status.CLOSED}), Status.TRIAGED, WORKERS,
                   signature="reopened closed incident", reason_required=True),
        # Imported history becomes live work only when head-office QA says why (e.g. the case is back in the field).
        Transition(Action.REOPEN_AS_LIVE, frozenset({Status.HISTORICAL}), Status.REPORTED, frozenset({HOQA}),
                   reason_required=True, own_division_only=False),
    )
}


@dataclass(frozen=True)
class Verdict:
    """Whether an action may be taken now, and if not, why (in words for the user)."""

    action: Action
    allowed: bool
    why_not: str | None = None
    transition: Transition | None = field(default=None, compare=False)


def check(action: Action, case: Case, *, role: Role, division_id: int) -> Verdict:
    """May a user with this role and division take this action on this case now?"""
    t = TRANSITIONS.get(action)
    if t is None:
        return Verdict(action, False, str(_l("Unknown action.")))
    if case.status not in t.sources:
        return Verdict(action, False, str(_l("Not possible while the incident is %(status)s.", status=case.status.value)), t)
    if role not in t.roles:
        return Verdict(action, False, str(_l("Your role may not do this.")), t)
    if t.moot is not None and (why := t.moot(case)) is not None:
        return Verdict(action, False, why, t)
    if t.own_division_only and role != HOQA and division_id != case.division_id:
        return Verdict(action, False, str(_l("Only the incident's own division may do this.")), t)
    for guard in t.guards:
        if (why := guard(case)) is not None:
            return Verdict(action, False, why, t)
    return Verdict(action, True, None, t)


def may_take(role: Role, action: Action) -> bool:
    """Whether the role may ever take the action (in some state): for menus, queues and page guards."""
    return role in TRANSITIONS[action].roles


def available(case: Case, *, role: Role, division_id: int) -> list[Verdict]:
    """The actions this user could take from the case's state: allowed ones, and blocked ones with the reason.

    Actions the role can never take, or that do not start from this state, are left out.
    """
    verdicts = []
    for action, t in TRANSITIONS.items():
        if case.status in t.sources and role in t.roles and (t.moot is None or t.moot(case) is None):
            verdicts.append(check(action, case, role=role, division_id=division_id))
    return verdicts
