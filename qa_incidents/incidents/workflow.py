"""Use cases for triage, the lifecycle, escalation, SLAs and the severity matrix.

Every state change goes through `lifecycle.check` first and writes its audit event (and any
e-mail, through the outbox) in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.accounts.service import as_recipient, people
from qa_incidents.core import audit, outbox
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, Role, can, can_work_division
from qa_incidents.core.signatures import sign
from qa_incidents.incidents import lifecycle
from qa_incidents.incidents import severity as sev
from qa_incidents.incidents.lifecycle import Action, Case, Verdict
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import STATUS_TITLES, Severity, Status
from qa_incidents.incidents.service import get_incident
from qa_incidents.incidents.sla import (
    DEFAULT_ESCALATION_HOURS,
    DEFAULT_TRIAGE_HOURS,
    DEFAULT_WARN_AT,
    Sla,
    SlaState,
    sla,
)
from qa_incidents.incidents.workflow_models import Escalation, SeverityMatrixVersion, TriageDecision


@dataclass(frozen=True)
class SlaSettings:
    triage_hours: dict[str, float]
    escalation_hours: dict[str, float]
    warn_at: float = DEFAULT_WARN_AT

    @classmethod
    def from_config(cls, config: Any) -> SlaSettings:
        return cls(config.get("TRIAGE_SLA_HOURS", DEFAULT_TRIAGE_HOURS),
                   config.get("ESCALATION_SLA_HOURS", DEFAULT_ESCALATION_HOURS),
                   float(config.get("SLA_WARN_AT", DEFAULT_WARN_AT)))


DEFAULT_SLA = SlaSettings(DEFAULT_TRIAGE_HOURS, DEFAULT_ESCALATION_HOURS)


# --- the severity matrix ---------------------------------------------------------------


def current_matrix(session: so.Session, *, now: datetime) -> sev.Matrix:
    """The newest matrix version; version 1 (the documented default) is stored on first use."""
    row = session.scalar(sa.select(SeverityMatrixVersion).order_by(SeverityMatrixVersion.version.desc()).limit(1))
    if row is None:
        row = SeverityMatrixVersion(version=1, created_at=now, created_by_id=None,
                                    definition=sev.DEFAULT_MATRIX.to_dict(), note="Default matrix")
        session.add(row)
        session.flush()
        audit.record(session, actor_id=None, entity_type="severity_matrix", entity_id=1, action="created", now=now,
                     changes={f"rule {r.id}": [None, r.describe()] for r in sev.DEFAULT_MATRIX.rules})
    return sev.Matrix.from_dict(row.version, row.definition)


def matrix_history(session: so.Session) -> list[audit.AuditEvent]:
    """The matrix's own audit trail, newest first: each version's rule changes, who and when."""
    return list(session.scalars(sa.select(audit.AuditEvent).where(audit.AuditEvent.entity_type == "severity_matrix")
                                .order_by(audit.AuditEvent.id.desc())))


def matrix_versions(session: so.Session) -> list[SeverityMatrixVersion]:
    return list(session.scalars(sa.select(SeverityMatrixVersion).order_by(SeverityMatrixVersion.version.desc())))


def save_matrix(session: so.Session, *, user: User, rules: list[sev.MatrixRule], fallback: Severity,
                similar_window_days: int, note: str, now: datetime) -> sev.Matrix:
    """Store an edited matrix as a new version; the audit event lists each rule added, changed or removed."""
    old = current_matrix(session, now=now)
    errors = sev.validate_rules(rules)
    if similar_window_days < 1:
        errors["similar_window_days"] = str(_l("At least one day."))
    if not note.strip():
        errors["note"] = str(_l("Say why the matrix changes."))
    if errors:
        raise ValidationFailed(errors)
    new = sev.Matrix(version=old.version + 1, rules=tuple(rules), fallback=fallback,
                     similar_window_days=similar_window_days)
    if new.to_dict() == old.to_dict():
        raise ValidationFailed({"note": str(_l("Nothing changed: the matrix is the same as version %(v)d.", v=old.version))})
    session.add(SeverityMatrixVersion(version=new.version, created_at=now, created_by_id=user.id,
                                      definition=new.to_dict(), note=note.strip()))
    session.flush()
    before = {f"rule {r.id}": r.describe() for r in old.rules}
    after = {f"rule {r.id}": r.describe() for r in new.rules}
    changes: dict[str, Any] = {k: [before.get(k), after.get(k)] for k in sorted(before.keys() | after.keys())
                               if before.get(k) != after.get(k)}
    if old.rules != new.rules and [r.id for r in old.rules] != [r.id for r in new.rules]:
        changes["order"] = [[r.id for r in old.rules], [r.id for r in new.rules]]
    for name in ("fallback", "similar_window_days"):
        if getattr(old, name) != getattr(new, name):
            changes[name] = [audit.jsonable(getattr(old, name)), audit.jsonable(getattr(new, name))]
    changes["note"] = [None, note.strip()]
    audit.record(session, actor_id=user.id, entity_type="severity_matrix", entity_id=new.version, action="updated",
                 now=now, changes=changes)
    return new


# --- triage ----------------------------------------------------------------------------


def similar_reports(session: so.Session, incident: Incident, *, window_days: int) -> int:
    """Other incidents of the same product whose company awareness lies within the window before this one's."""
    since = incident.aware_at - timedelta(days=window_days)
    return int(session.scalar(
        sa.select(sa.func.count(Incident.id)).where(
            Incident.product_id == incident.product_id, Incident.id != incident.id,
            Incident.aware_at >= since, Incident.aware_at <= incident.aware_at)) or 0)


def suggestion_for(session: so.Session, incident: Incident, *, now: datetime) -> sev.Suggestion:
    """What the current matrix suggests for the incident's facts, and why."""
    matrix = current_matrix(session, now=now)
    harms = sev.harm_classes(deaths=incident.deaths, serious_injuries=incident.serious_injuries,
                             minor_injuries=incident.minor_injuries, fire=incident.fire, smoke=incident.smoke,
                             co_poisoning=incident.co_poisoning, property_damage=incident.property_damage)
    return sev.suggest(matrix, harms=harms, hazard=incident.hazard, units=incident.units_in_field,
                       similar=similar_reports(session, incident, window_days=matrix.similar_window_days))


def triage_decisions(session: so.Session, incident_id: int) -> list[TriageDecision]:
    return list(session.scalars(_TRIAGE_DECISIONS, {"incident_id": incident_id}))


#: Built once (read on every incident page; building the statement cost more than running it).
_TRIAGE_DECISIONS = (sa.select(TriageDecision).where(TriageDecision.incident_id == sa.bindparam("incident_id"))
                     .order_by(TriageDecision.decided_at, TriageDecision.id))


# --- the lifecycle ---------------------------------------------------------------------


#: Kinds of record a case counts; a caller that knows the incident has none of some passes them as `absent`.
CASE_CHILDREN = frozenset({"notifications", "recalls", "reviews"})


def case_of(session: so.Session, incident: Incident, *, absent: frozenset[str] = frozenset()) -> Case:
    """The facts the lifecycle guards read. Notifications, recalls and reviews report here as they arrive; a kind
    named in `absent` (the caller knows the incident has none) counts as zero without a query."""
    from qa_incidents.notifications.records import open_count
    from qa_incidents.recalls.service import open_recalls_for
    from qa_incidents.reviews.service import review_approved_for

    return Case(status=incident.status, severity=incident.severity, division_id=incident.division_id,
                open_notifications=0 if "notifications" in absent else open_count(session, incident.id),
                open_recalls=0 if "recalls" in absent else open_recalls_for(session, incident.id),
                review_approved=False if "reviews" in absent else review_approved_for(session, incident.id))


def actions_for(session: so.Session, *, user: User, incident: Incident,
                absent: frozenset[str] = frozenset()) -> list[Verdict]:
    """The actions to offer this user on this incident now (allowed, or blocked with the reason)."""
    if not can_work_division(user.actor, incident.division_id):
        return []
    return lifecycle.available(case_of(session, incident, absent=absent), role=user.role, division_id=user.division_id)


def _require(session: so.Session, user: User, incident: Incident, action: Action) -> lifecycle.Transition:
    verdict = lifecycle.check(action, case_of(session, incident), role=user.role, division_id=user.division_id)
    if not verdict.allowed:
        raise Forbidden(verdict.why_not or str(_l("Not allowed.")))
    assert verdict.transition is not None
    return verdict.transition


def _move(session: so.Session, *, user: User, incident: Incident, action: Action, now: datetime,
          reason: str = "", extra: dict[str, Any] | None = None) -> None:
    """Check, change the status, and record the transition with its reason."""
    transition = _require(session, user, incident, action)
    if transition.reason_required and not reason.strip():
        raise ValidationFailed({"reason": str(_l("Give a reason."))})
    before = incident.status
    incident.status = transition.target
    incident.updated_by_id = user.id
    incident.updated_at = now
    changes: dict[str, Any] = {"status": [before.value, transition.target.value]}
    if reason.strip():
        changes["reason"] = [None, reason.strip()]
    changes.update(extra or {})
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident.id, incident_id=incident.id,
                 action=action.value, now=now, changes=changes)


def triage(session: so.Session, *, user: User, incident_id: int, severity: Severity, override_reason: str,
           now: datetime) -> TriageDecision:
    """Set the severity (first triage or a change), recording the matrix suggestion and any override reason."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    action = Action.TRIAGE if incident.status == Status.REPORTED else Action.RETRIAGE
    _require(session, user, incident, action)
    suggestion = suggestion_for(session, incident, now=now)
    override_reason = override_reason.strip()
    if severity != suggestion.severity and not override_reason:
        raise ValidationFailed({"override_reason": str(_l(
            "You chose %(chosen)s but the matrix suggests %(suggested)s: say why.",
            chosen=severity.value, suggested=suggestion.severity.value))})
    if action == Action.RETRIAGE and severity == incident.severity:
        raise ValidationFailed({"severity": str(_l("The severity is already %(s)s.", s=severity.value))})
    if action == Action.RETRIAGE and not override_reason:
        raise ValidationFailed({"override_reason": str(_l("Say why the severity changes."))})
    decision = TriageDecision(
        incident_id=incident.id, decided_by_id=user.id, decided_at=now, matrix_version=suggestion.matrix_version,
        suggested=suggestion.severity, suggested_rule=suggestion.rule_id, suggested_reason=suggestion.reason,
        similar_reports=suggestion.similar, severity=severity, override_reason=override_reason)
    session.add(decision)
    before = incident.severity
    incident.severity = severity
    _move(session, user=user, incident=incident, action=action, now=now, reason=override_reason,
          extra={"severity": [before.value if before else None, severity.value],
                 "suggested": [None, f"{suggestion.severity.value} ({suggestion.rule_id or 'fallback'}, matrix v{suggestion.matrix_version})"]})
    from qa_incidents.notifications.records import sync_obligations

    sync_obligations(session, incident=incident, actor_id=user.id, now=now)
    if action == Action.RETRIAGE:
        from qa_incidents.reports.service import Trigger, trigger

        trigger(session, incident=incident, kind=Trigger.SEVERITY_CHANGED, now=now,
                detail=f"{before.value if before else '—'} → {severity.value}")
    return decision


def request_escalation(session: so.Session, *, user: User, incident_id: int, reason: str, now: datetime,
                       base_url: str = "") -> Escalation:
    """A division asks head office to take a severe case on; head-office QA is told by e-mail."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _move(session, user=user, incident=incident, action=Action.REQUEST_ESCALATION, now=now, reason=reason)
    assert incident.severity is not None
    escalation = Escalation(incident_id=incident.id, severity=incident.severity, requested_by_id=user.id,
                            requested_at=now, reason=reason.strip())
    session.add(escalation)
    session.flush()
    severity = incident.severity.value
    queue = f"{base_url}/escalations/"

    def compose(reader: outbox.Reader) -> tuple[str, str]:
        return (gettext("[%(severity)s] Escalation requested: %(ref)s %(title)s", severity=severity,
                        ref=incident.reference, title=incident.title),
                gettext("%(name)s (%(division)s) requests escalation of %(ref)s.", name=user.name,
                        division=incident.division.name, ref=incident.reference) + "\n\n"
                + gettext("Severity: %(severity)s", severity=severity) + "\n"
                + gettext("Requested at: %(when)s", when=reader.datetime(now)) + "\n"
                + gettext("Reason: %(reason)s", reason=reason.strip()) + "\n\n"
                + gettext("Decide in the approval queue: %(link)s", link=queue) + "\n")

    outbox.enqueue_localised(session, people=people(session, roles={Role.HEAD_OFFICE_QA}), compose=compose, now=now,
                             incident_id=incident.id, dedupe_key=f"escalation-requested:{escalation.id}")
    return escalation


def pending_escalation(session: so.Session, incident_id: int) -> Escalation | None:
    return session.scalar(sa.select(Escalation).where(Escalation.incident_id == incident_id,
                                                      Escalation.decision.is_(None)).order_by(Escalation.id.desc()))


def escalations_of(session: so.Session, incident_id: int) -> list[Escalation]:
    return list(session.scalars(sa.select(Escalation).where(Escalation.incident_id == incident_id)
                                .order_by(Escalation.id)))


def decide_escalation(session: so.Session, *, user: User, incident_id: int, approve: bool, password: str,
                      comment: str, now: datetime, base_url: str = "") -> Escalation:
    """Head-office QA approves or rejects with an electronic signature; a wrong password signs and changes nothing."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    action = Action.APPROVE_ESCALATION if approve else Action.REJECT_ESCALATION
    transition = _require(session, user, incident, action)
    if not approve and not comment.strip():
        raise ValidationFailed({"comment": str(_l("Say why the escalation is rejected."))})
    escalation = pending_escalation(session, incident.id)
    if escalation is None:
        raise NotFound(str(_l("There is no pending escalation request.")))
    assert transition.signature is not None
    content = {"incident": incident.reference, "title": incident.title, "severity": incident.severity,
               "escalation_id": escalation.id, "requested_by": escalation.requested_by.name,
               "requested_at": escalation.requested_at, "request_reason": escalation.reason,
               "decision": "approved" if approve else "rejected", "incident_version": incident.version}
    signature = sign(session, user=user, password=password, meaning=transition.signature, entity_type="escalation",
                     entity_id=escalation.id, content=content, now=now, comment=comment, incident_id=incident.id)
    escalation.decision = "approved" if approve else "rejected"
    escalation.decided_by_id = user.id
    escalation.decided_at = now
    escalation.decision_comment = comment.strip()
    escalation.signature_id = signature.id
    _move(session, user=user, incident=incident, action=action, now=now, reason=comment,
          extra={"signature": [None, f"{transition.signature} · {signature.content_sha256[:16]}…"]})
    if approve:
        from qa_incidents.reports.service import Trigger, trigger

        trigger(session, incident=incident, kind=Trigger.ESCALATION_APPROVED, now=now, detail=comment.strip()[:200])
    recipients = [as_recipient(escalation.requested_by),
                  *people(session, roles={Role.DIVISION_QA}, division_id=incident.division_id)]
    meaning = transition.signature

    def compose(reader: outbox.Reader) -> tuple[str, str]:
        if approve:
            subject = gettext("Escalation APPROVED: %(ref)s %(title)s", ref=incident.reference, title=incident.title)
            said = gettext('%(name)s approved the escalation of %(ref)s on %(when)s (signed: "%(meaning)s").',
                           name=user.name, ref=incident.reference, when=reader.datetime(now), meaning=meaning)
        else:
            subject = gettext("Escalation REJECTED: %(ref)s %(title)s", ref=incident.reference, title=incident.title)
            said = gettext('%(name)s rejected the escalation of %(ref)s on %(when)s (signed: "%(meaning)s").',
                           name=user.name, ref=incident.reference, when=reader.datetime(now), meaning=meaning)
        remark = gettext("Comment: %(comment)s", comment=comment.strip()) + "\n" if comment.strip() else ""
        return subject, f"{said}\n{remark}\n{base_url}/incidents/{incident.id}\n"

    outbox.enqueue_localised(session, people=recipients, compose=compose, now=now, incident_id=incident.id,
                             dedupe_key=f"escalation-decided:{escalation.id}")
    return escalation


def contain(session: so.Session, *, user: User, incident_id: int, reason: str, now: datetime) -> None:
    """Record the containment actions taken (stop shipment, quarantine lots, field inspection…)."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _move(session, user=user, incident=incident, action=Action.CONTAIN, now=now, reason=reason)


def start_review(session: so.Session, *, user: User, incident_id: int, now: datetime) -> None:
    incident = get_incident(session, user=user, incident_id=incident_id)
    _move(session, user=user, incident=incident, action=Action.START_REVIEW, now=now)


def close(session: so.Session, *, user: User, incident_id: int, reason: str, now: datetime) -> None:
    incident = get_incident(session, user=user, incident_id=incident_id)
    _move(session, user=user, incident=incident, action=Action.CLOSE, now=now, reason=reason)


# --- queues and SLAs -------------------------------------------------------------------


@dataclass
class QueueItem:
    incident: Incident
    escalation: Escalation | None
    sla: Sla
    state: SlaState
    age: timedelta


def triage_sla(session: so.Session, incident: Incident, *, now: datetime, settings: SlaSettings) -> Sla:
    suggested = suggestion_for(session, incident, now=now).severity
    return sla(incident.aware_at, suggested, settings.triage_hours, settings.warn_at)


def escalation_queue(session: so.Session, *, now: datetime, settings: SlaSettings = DEFAULT_SLA) -> list[QueueItem]:
    """Pending escalation requests, oldest first, with their decision SLA."""
    rows = session.execute(
        sa.select(Escalation, Incident).join(Incident, Incident.id == Escalation.incident_id)
        .where(Escalation.decision.is_(None), Incident.status == Status.ESCALATION_REQUESTED)
        .order_by(Escalation.requested_at, Escalation.id)).all()
    items = []
    for escalation, incident in rows:
        clock = sla(escalation.requested_at, escalation.severity, settings.escalation_hours, settings.warn_at)
        items.append(QueueItem(incident, escalation, clock, clock.state(now), now - escalation.requested_at))
    return items


def triage_queue(session: so.Session, *, division_id: int | None, now: datetime,
                 settings: SlaSettings = DEFAULT_SLA) -> list[QueueItem]:
    """Reported incidents of one division (None: all divisions), most urgent SLA first."""
    stmt = sa.select(Incident).where(Incident.status == Status.REPORTED)
    if division_id is not None:
        stmt = stmt.where(Incident.division_id == division_id)
    items = []
    for incident in session.scalars(stmt.order_by(Incident.aware_at, Incident.id)):
        clock = triage_sla(session, incident, now=now, settings=settings)
        items.append(QueueItem(incident, None, clock, clock.state(now), now - incident.aware_at))
    return sorted(items, key=lambda i: i.sla.due_at)


@dataclass
class MyWork:
    to_triage: list[QueueItem]
    escalations: list[QueueItem]
    to_contain: list[Incident]
    my_open: list[Incident]


def my_work(session: so.Session, *, user: User, now: datetime, settings: SlaSettings = DEFAULT_SLA) -> MyWork:
    """What is waiting for this user: what the lifecycle lets their role do, in their scope."""
    scope = None if can(user.actor, Capability.WORK_ALL_DIVISIONS) else user.division_id
    to_triage = triage_queue(session, division_id=scope, now=now, settings=settings) \
        if lifecycle.may_take(user.role, Action.TRIAGE) else []
    escalations = escalation_queue(session, now=now, settings=settings) \
        if lifecycle.may_take(user.role, Action.APPROVE_ESCALATION) else []
    to_contain: list[Incident] = []
    if lifecycle.may_take(user.role, Action.CONTAIN):
        stmt = sa.select(Incident).where(Incident.status == Status.ESCALATED)
        if scope is not None:
            stmt = stmt.where(Incident.division_id == scope)
        to_contain = list(session.scalars(stmt.order_by(Incident.aware_at)))
    my_open = list(session.scalars(sa.select(Incident).where(
        Incident.created_by_id == user.id, Incident.status != Status.CLOSED).order_by(Incident.aware_at.desc()).limit(50)))
    return MyWork(to_triage, escalations, to_contain, my_open)


def sla_scan(session: so.Session, *, now: datetime, settings: SlaSettings = DEFAULT_SLA, base_url: str = "") -> int:
    """Queue one warning before and one notice after each triage or escalation SLA is breached. Returns the count queued."""
    queued = 0
    for item in triage_queue(session, division_id=None, now=now, settings=settings):
        division_qa = people(session, roles={Role.DIVISION_QA}, division_id=item.incident.division_id)
        queued += _sla_mail(session, item, kind="triage", now=now, base_url=base_url, to_warn=division_qa,
                            to_breach=division_qa + people(session, roles={Role.HEAD_OFFICE_QA}))
    for item in escalation_queue(session, now=now, settings=settings):
        hq = people(session, roles={Role.HEAD_OFFICE_QA})
        queued += _sla_mail(session, item, kind="escalation decision", now=now, base_url=base_url, to_warn=hq,
                            to_breach=hq + [as_recipient(item.escalation.requested_by)] if item.escalation else hq)
    return queued


def _sla_mail(session: so.Session, item: QueueItem, *, kind: str, now: datetime, base_url: str,
              to_warn: list[outbox.Recipient], to_breach: list[outbox.Recipient]) -> int:
    if item.state == SlaState.OK:
        return 0
    incident = item.incident
    breached = item.state == SlaState.BREACHED
    key = f"sla:{kind}:{'breached' if breached else 'warning'}:{incident.id}:{item.escalation.id if item.escalation else 0}"

    def compose(reader: outbox.Reader) -> tuple[str, str]:
        names = dict(ref=incident.reference, due=reader.datetime(item.sla.due_at))
        if kind == "triage":
            subject = (gettext("SLA BREACHED: triage of %(ref)s due %(due)s", **names) if breached
                       else gettext("SLA due soon: triage of %(ref)s due %(due)s", **names))
            said = (gettext("The triage was due at %(due)s (overdue).", **names) if breached
                    else gettext("The triage is due at %(due)s (not yet done).", **names))
        else:
            subject = (gettext("SLA BREACHED: escalation decision on %(ref)s due %(due)s", **names) if breached
                       else gettext("SLA due soon: escalation decision on %(ref)s due %(due)s", **names))
            said = (gettext("The escalation decision was due at %(due)s (overdue).", **names) if breached
                    else gettext("The escalation decision is due at %(due)s (not yet done).", **names))
        return subject, (f"{incident.reference} {incident.title}\n"
                         + gettext("Division: %(division)s", division=incident.division.name) + "\n"
                         + gettext("Status: %(status)s", status=str(STATUS_TITLES[incident.status])) + "\n"
                         + f"{said}\n\n{base_url}/incidents/{incident.id}\n")

    messages = outbox.enqueue_localised(session, people=to_breach if breached else to_warn, compose=compose, now=now,
                                        incident_id=incident.id, dedupe_key=key)
    return 1 if messages else 0
