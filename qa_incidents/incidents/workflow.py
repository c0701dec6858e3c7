"""Use cases for triage, the lifecycle, escalation, SLAs and the severity matrix.

Every state change goes through `lifecycle.check` first and writes its audit event (and any
e-mail, through the outbox) in the caller's transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.accounts.service import as_recipient, people
from qa_incidents.core import audit, events, outbox
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Actor, Role, can_work_division, scoped, unscoped
from qa_incidents.core.signatures import sign
from qa_incidents.incidents import lifecycle
from qa_incidents.incidents import severity as sev
from qa_incidents.incidents.lifecycle import Action, Case, Verdict
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import ENDED_STATUSES, STATUS_TITLES, Hazard, Severity, Status
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


def has_matrix(session: so.Session) -> bool:
    """Whether a matrix version is stored (version 1 is stored by current_matrix on first use)."""
    return session.scalar(sa.select(SeverityMatrixVersion.version).limit(1)) is not None


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
    return int(session.scalar(unscoped(
        sa.select(sa.func.count(Incident.id)).where(
            Incident.product_id == incident.product_id, Incident.id != incident.id,
            Incident.aware_at >= since, Incident.aware_at <= incident.aware_at),
        "a figure of the severity matrix: the product's reports, whoever triages")) or 0)


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
                     .order_by(TriageDecision.decided_at, TriageDecision.id)
                     .options(so.joinedload(TriageDecision.decided_by).lazyload(User.division)))


# --- the lifecycle ---------------------------------------------------------------------


#: Kinds of record a case counts; a caller that knows the incident has none of some passes them as `absent`.
CASE_CHILDREN = frozenset({"notifications", "recalls", "reviews"})


def case_of(session: so.Session, incident: Incident, *, absent: frozenset[str] = frozenset()) -> Case:
    """The facts the lifecycle guards read. Notifications, recalls and reviews report here as they arrive; a kind
    named in `absent` (the caller knows the incident has none) counts as zero without a query."""
    known = events.gather(events.case_facts, session, incident_id=incident.id, absent=absent)
    return Case(status=incident.status, severity=incident.severity, division_id=incident.division_id, **known)


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
    if transition.signature is not None and "signature" not in (extra or {}):
        # The lifecycle table says this move takes an electronic signature: no path reaches it without one.
        raise Forbidden(str(_l("This step takes an electronic signature.")))
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
    events.announce(events.facts_changed, session, incident=incident, user=user, now=now)
    if action == Action.RETRIAGE:
        events.announce(events.severity_changed, session, incident=incident, before=before, after=severity, now=now)
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
                     entity_id=escalation.id, content=content, now=now, comment=comment, incident_id=incident.id,
                     prepared_by=[escalation.requested_by_id])
    escalation.decision = "approved" if approve else "rejected"
    escalation.decided_by_id = user.id
    escalation.decided_at = now
    escalation.decision_comment = comment.strip()
    escalation.signature_id = signature.id
    _move(session, user=user, incident=incident, action=action, now=now, reason=comment,
          extra={"signature": [None, f"{transition.signature} · {signature.content_sha256[:16]}…"]})
    events.announce(events.escalation_decided, session, incident=incident, escalation=escalation, approved=approve,
                    comment=comment, now=now)
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


def reopen(session: so.Session, *, user: User, incident_id: int, reason: str, password: str, now: datetime) -> None:
    """A closed incident changes only this way: back to triage, with a reason and the signer's electronic signature
    (a wrong password signs and changes nothing)."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    transition = _require(session, user, incident, Action.REOPEN)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Give a reason."))})
    assert transition.signature is not None
    content = {"incident": incident.reference, "title": incident.title, "severity": incident.severity,
               "status": incident.status, "reason": reason.strip(), "incident_version": incident.version}
    signature = sign(session, user=user, password=password, meaning=transition.signature, entity_type="incident",
                     entity_id=incident.id, content=content, now=now, comment=reason, incident_id=incident.id,
                     prepared_by=())  # the signer asks for the reopening and signs it: nobody prepared it for them
    _move(session, user=user, incident=incident, action=Action.REOPEN, now=now, reason=reason,
          extra={"signature": [None, f"{transition.signature} · {signature.content_sha256[:16]}…"]})


def reopen_as_live(session: so.Session, *, user: User, incident_id: int, reason: str, now: datetime) -> None:
    """Imported history becomes live work (reported, so it is triaged like any new report); head-office QA says why."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _move(session, user=user, incident=incident, action=Action.REOPEN_AS_LIVE, now=now, reason=reason)
    events.announce(events.facts_changed, session, incident=incident, user=user, now=now)


def record_as_history(session: so.Session, *, user: User, incident: Incident, source: str, now: datetime) -> None:
    """An incident just filed by an import of public or legacy data becomes history: not work for anyone, dated by
    when it happened (its occurred/aware times from the source), never by the import. Only an import that has just
    filed the incident calls this; no workflow action leads here."""
    if incident.status != Status.REPORTED or incident.severity is not None:
        raise ValidationFailed({"status": str(_l("Only an incident just imported can be recorded as history."))})
    incident.status = Status.HISTORICAL
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident.id, incident_id=incident.id,
                 action="imported_history", now=now,
                 changes={"status": [Status.REPORTED.value, Status.HISTORICAL.value], "source": [None, source]})


# --- queues and SLAs -------------------------------------------------------------------


#: How many entries of each list My work shows (the rest are in the register), as on the deadline board.
MY_WORK_ROWS = 50


@dataclass
class QueueItem:
    incident: Incident
    escalation: Escalation | None
    sla: Sla
    state: SlaState
    age: timedelta


def triage_sla(session: so.Session, incident: Incident, *, now: datetime, settings: SlaSettings) -> Sla:
    """One incident's triage SLA, from the matrix's suggestion (a queue works them all out at once: _triage_clocks)."""
    suggested = suggestion_for(session, incident, now=now).severity
    return sla(incident.aware_at, suggested, settings.triage_hours, settings.warn_at)


def _days_before(moment: Any, days: int, dialect: str) -> Any:
    """`moment - timedelta(days=days)`, computed by the database, to the microsecond."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: datetime() moves the date and time and drops the fraction,
        # which whole days leave as it was.
        return sa.func.datetime(moment, f"-{days} days").op("||")(sa.func.substr(moment, 20))
    return moment - sa.func.make_interval(0, 0, 0, 0, days * 24)  # hours: a day is 24 h here, whatever the zone


def _similar_at_most(session: so.Session, matrix: sev.Matrix) -> Any:
    """`similar_reports` of the queried incident, counted only up to the largest `min_similar` of the matrix: a rule
    compares the count with its threshold and nothing else, so the suggestion is the same, and each count is a probe
    of a few entries of the (product_id, aware_at) index instead of a walk over a year of the product's incidents."""
    cap = max((r.min_similar for r in matrix.rules if r.min_similar is not None), default=0)
    if cap == 0:
        return sa.literal(0)
    other = so.aliased(Incident)
    since = _days_before(Incident.aware_at, matrix.similar_window_days, session.get_bind().dialect.name)
    near = (sa.select(sa.literal(1)).where(other.product_id == Incident.product_id, other.id != Incident.id,
                                           other.aware_at >= since, other.aware_at <= Incident.aware_at)
            .limit(cap).correlate(Incident).subquery())
    return sa.select(sa.func.count()).select_from(near).scalar_subquery()


@dataclass(frozen=True)
class _Clock:
    incident_id: int
    aware_at: datetime
    sla: Sla


def _triage_clocks(session: so.Session, *, reader: Actor | None = None, division_id: int | None, now: datetime,
                   settings: SlaSettings) -> list[_Clock]:
    """Every reported incident's triage SLA (of what the reader may read, of one division, or all when neither is
    given: the SLA scan), most urgent first, from one query: the matrix is read once, and the suggestion each SLA
    depends on is worked out from the columns it reads."""
    matrix = current_matrix(session, now=now)
    i = Incident
    stmt = sa.select(i.id, i.aware_at, i.hazard, i.units_in_field, i.deaths, i.serious_injuries, i.minor_injuries,
                     i.fire, i.smoke, i.co_poisoning, i.property_damage,
                     _similar_at_most(session, matrix)).where(i.status == Status.REPORTED)
    stmt = (scoped(stmt, reader, i.division_id) if reader is not None
            else unscoped(stmt, "the SLA scan and the triage queue of a division named by the system"))
    if division_id is not None:
        stmt = stmt.where(i.division_id == division_id)
    # Units, like similar reports, only meet thresholds: above the largest they all suggest the same, so the
    # suggestion is worked out once per combination of facts, not once per incident.
    units_cap = max((r.min_units for r in matrix.rules if r.min_units is not None), default=0)

    @functools.cache
    def severity_of(hazard: Hazard, units: int, similar: int, deaths: int, serious: int, minor: int, fire: bool,
                    smoke: bool, co: bool, damage: bool) -> Severity:
        harms = sev.harm_classes(deaths=deaths, serious_injuries=serious, minor_injuries=minor, fire=fire, smoke=smoke,
                                 co_poisoning=co, property_damage=damage)
        return sev.suggested_severity(matrix, harms=harms, hazard=hazard, units=units, similar=similar)

    clocks = []
    for ident, aware_at, hazard, units, *harm_facts, similar in session.execute(stmt):
        severity = severity_of(hazard, min(units, units_cap), similar, *harm_facts)
        clocks.append(_Clock(ident, aware_at, sla(aware_at, severity, settings.triage_hours, settings.warn_at)))
    # Equal due times: the incident the company knew of first, then the lower id.
    return sorted(clocks, key=lambda c: (c.sla.due_at, c.aware_at, c.incident_id))


def _triage_items(session: so.Session, clocks: list[_Clock], *, now: datetime) -> list[QueueItem]:
    """The queue entries for these clocks, in their order, with their incidents loaded a thousand at a time (a
    backlog of any size stays under the databases' limits on bound parameters)."""
    ids = [c.incident_id for c in clocks]
    loaded: dict[int, Incident] = {}
    for start in range(0, len(ids), 1000):
        chunk = unscoped(sa.select(Incident).where(Incident.id.in_(ids[start:start + 1000])),
                         "the incidents of clocks _triage_clocks chose, scoped there")
        loaded.update((i.id, i) for i in session.scalars(chunk))
    return [QueueItem(loaded[c.incident_id], None, c.sla, c.sla.state(now), now - c.aware_at) for c in clocks]


def triage_queue(session: so.Session, *, division_id: int | None, now: datetime,
                 settings: SlaSettings = DEFAULT_SLA, limit: int | None = None) -> list[QueueItem]:
    """Reported incidents of one division (None: all divisions), most urgent SLA first (the first `limit`)."""
    clocks = _triage_clocks(session, reader=None, division_id=division_id, now=now, settings=settings)
    return _triage_items(session, clocks[:limit], now=now)


def _pending_escalations(*columns: Any, reader: Actor | None) -> sa.Select[Any]:
    """Requests waiting for a decision: those of the divisions the reader may read, or all (the SLA scan)."""
    stmt = (sa.select(*columns).select_from(Escalation).join(Incident, Incident.id == Escalation.incident_id)
            .where(Escalation.decision.is_(None), Incident.status == Status.ESCALATION_REQUESTED))
    return (scoped(stmt, reader, Incident.division_id) if reader is not None
            else unscoped(stmt, "the SLA scan watches every division's escalation requests"))


#: The approval queue page lists the oldest this many requests (and says how many wait in all).
QUEUE_ROWS = 200


def pending_escalation_count(session: so.Session, *, reader: Actor | None = None) -> int:
    return int(session.scalar(_pending_escalations(sa.func.count(), reader=reader)) or 0)


def escalation_queue(session: so.Session, *, now: datetime, settings: SlaSettings = DEFAULT_SLA,
                     limit: int | None = None, reader: Actor | None = None) -> list[QueueItem]:
    """Pending escalation requests (those the reader may read; all without one), oldest first (the first `limit`),
    with their decision SLA."""
    rows = session.execute(_pending_escalations(Escalation, Incident, reader=reader)
                           .order_by(Escalation.requested_at, Escalation.id).limit(limit)).all()
    items = []
    for escalation, incident in rows:
        clock = sla(escalation.requested_at, escalation.severity, settings.escalation_hours, settings.warn_at)
        items.append(QueueItem(incident, escalation, clock, clock.state(now), now - escalation.requested_at))
    return items


@dataclass
class MyWork:
    """Each list holds the first MY_WORK_ROWS entries; the *_total fields say how many there are in all."""

    to_triage: list[QueueItem]
    escalations: list[QueueItem]
    to_contain: list[Incident]
    my_open: list[Incident]
    to_triage_total: int = 0
    escalations_total: int = 0
    to_contain_total: int = 0
    #: Whether the user has more open incidents than my_open lists (not counted: a filer may have hundreds of
    #: thousands, and no index leads with the filer).
    more_open: bool = False
    #: Live incidents assigned to the user, most recently aware first (the first MY_WORK_ROWS), and how many.
    assigned: list[Incident] = field(default_factory=list)
    assigned_total: int = 0


#: The lists of incidents on My work show their own columns only: no joins to their division, product and people.
_LISTED_ONLY = so.lazyload("*")


def my_work(session: so.Session, *, user: User, now: datetime, settings: SlaSettings = DEFAULT_SLA,
            limit: int = MY_WORK_ROWS) -> MyWork:
    """What is waiting for this user: what the lifecycle lets their role do, in their scope."""
    to_triage: list[QueueItem] = []
    to_triage_total = 0
    if lifecycle.may_take(user.role, Action.TRIAGE):
        clocks = _triage_clocks(session, reader=user.actor, division_id=None, now=now, settings=settings)
        to_triage, to_triage_total = _triage_items(session, clocks[:limit], now=now), len(clocks)
    escalations: list[QueueItem] = []
    escalations_total = 0
    if lifecycle.may_take(user.role, Action.APPROVE_ESCALATION):
        escalations = escalation_queue(session, now=now, settings=settings, limit=limit, reader=user.actor)
        escalations_total = pending_escalation_count(session, reader=user.actor)
    to_contain: list[Incident] = []
    to_contain_total = 0
    if lifecycle.may_take(user.role, Action.CONTAIN):
        escalated = scoped(sa.select(Incident), user.actor, Incident.division_id).where(Incident.status == Status.ESCALATED)
        to_contain = list(session.scalars(escalated.options(_LISTED_ONLY).order_by(Incident.aware_at, Incident.id)
                                          .limit(limit)))
        to_contain_total = int(session.scalar(escalated.with_only_columns(sa.func.count())) or 0)
    my_open = list(session.scalars(scoped(sa.select(Incident), user.actor, Incident.division_id).options(_LISTED_ONLY)
        .where(Incident.created_by_id == user.id, Incident.status.notin_(ENDED_STATUSES))
        .order_by(Incident.aware_at.desc(), Incident.id.desc()).limit(limit + 1)))
    assigned_where = (Incident.assignee_id == user.id, Incident.status.notin_(ENDED_STATUSES))
    assigned = list(session.scalars(scoped(sa.select(Incident), user.actor, Incident.division_id)
                                    .options(_LISTED_ONLY).where(*assigned_where)
                                    .order_by(Incident.aware_at.desc(), Incident.id.desc()).limit(limit)))
    assigned_total = len(assigned) if len(assigned) < limit else int(session.scalar(
        scoped(sa.select(sa.func.count(Incident.id)), user.actor, Incident.division_id).where(*assigned_where)) or 0)
    return MyWork(to_triage, escalations, to_contain, my_open[:limit], to_triage_total=to_triage_total,
                  escalations_total=escalations_total, to_contain_total=to_contain_total,
                  more_open=len(my_open) > limit, assigned=assigned, assigned_total=assigned_total)


def sla_scan(session: so.Session, *, now: datetime, settings: SlaSettings = DEFAULT_SLA, base_url: str = "") -> int:
    """Queue one warning before and one notice after each triage or escalation SLA is breached. Returns the count queued."""
    notices: list[outbox.Notice] = []
    hq = people(session, roles={Role.HEAD_OFFICE_QA})
    division_qa: dict[int, list[outbox.Recipient]] = {}
    clocks = _triage_clocks(session, reader=None, division_id=None, now=now, settings=settings)
    # Only a clock past its warning time can need a message: the others' incidents are not even loaded.
    for item in _triage_items(session, [c for c in clocks if c.sla.state(now) != SlaState.OK], now=now):
        division_id = item.incident.division_id
        if division_id not in division_qa:
            division_qa[division_id] = people(session, roles={Role.DIVISION_QA}, division_id=division_id)
        notices += _sla_mail(item, kind="triage", base_url=base_url, to_warn=division_qa[division_id],
                             to_breach=division_qa[division_id] + hq)
    for item in escalation_queue(session, now=now, settings=settings):
        notices += _sla_mail(item, kind="escalation decision", base_url=base_url, to_warn=hq,
                             to_breach=hq + [as_recipient(item.escalation.requested_by)] if item.escalation else hq)
    # Queued together: one look-up of the keys already used and one INSERT per thousand, not a query each.
    return sum(1 for messages in outbox.enqueue_localised_many(session, notices, now=now) if messages)


def _sla_mail(item: QueueItem, *, kind: str, base_url: str, to_warn: list[outbox.Recipient],
              to_breach: list[outbox.Recipient]) -> list[outbox.Notice]:
    """The warning or breach notice an item's SLA state calls for (none while it is on time)."""
    if item.state == SlaState.OK:
        return []
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

    return [outbox.Notice(people=to_breach if breached else to_warn, compose=compose, incident_id=incident.id,
                          dedupe_key=key)]
