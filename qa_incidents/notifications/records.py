"""Regulator notification records: derived from the laws map, drafted, signed, submitted, acknowledged.

Every function takes the session and the acting user, checks the rules in `notifications/rules.py`,
changes the record and writes the audit event in the caller's transaction.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division, User
from qa_incidents.accounts.service import as_recipient, people
from qa_incidents.core import audit, events, freshness, outbox
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.i18n import (
    LANGUAGES,
    Reader,
    Recipient,
    document_datetime,
    document_language,
)
from qa_incidents.core.permissions import (
    Capability,
    Role,
    can,
    can_work_division,
    scope_key,
    scoped,
    unscoped,
)
from qa_incidents.core.signatures import sign
from qa_incidents.core.storage import Storage, StoredFile
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.service import add_attachment, get_incident
from qa_incidents.incidents.workflow_models import TriageDecision
from qa_incidents.laws.models import Law, Obligation
from qa_incidents.notifications import deadlines, rules
from qa_incidents.notifications.deadlines import RULES, Deadline
from qa_incidents.notifications.documents import ReportDocument, render_pdf, stamp
from qa_incidents.notifications.drafts import DraftFacts, prefill
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.obligations import Assessment, Verdict
from qa_incidents.notifications.rules import State, Step
from qa_incidents.notifications.service import IncidentObligation, incident_deadline, obligations_shown

AUDITED = ("state", "due_at", "is_legal_deadline", "clock_start", "clock_event_at", "owner_id", "attention", "channel", "authority_reference", "submitted_at",
           "acknowledged_at", "acknowledgement", "document_sha256", "not_required_reason", "missing_explanation")
ENTITY = "notification_record"


# --- reading ---------------------------------------------------------------------------


def records_of(session: so.Session, incident_id: int) -> list[NotificationRecord]:
    """The incident's notification records, soonest due first. Each record's `incident` is the one the caller has
    in the session already (not joined again with everything an incident loads)."""
    return list(session.scalars(_RECORDS_OF, {"incident_id": incident_id}))


#: Built once (read on every incident page).
_RECORDS_OF = unscoped(sa.select(NotificationRecord).where(NotificationRecord.incident_id == sa.bindparam("incident_id"))
                       .order_by(NotificationRecord.due_at.is_(None), NotificationRecord.due_at, NotificationRecord.id)
                       .options(so.lazyload(NotificationRecord.incident)),
                       "the records of one incident, which its caller read through get_incident")


def get_record(session: so.Session, *, user: User, incident_id: int, record_id: int) -> NotificationRecord:
    """The record if the user may read its incident (404 otherwise, as for the incident)."""
    get_incident(session, user=user, incident_id=incident_id)
    record = session.get(NotificationRecord, record_id) if is_db_id(record_id) else None
    if record is None or record.incident_id != incident_id:
        raise NotFound(str(_l("No such notification.")))
    return record


def open_count(session: so.Session, incident_id: int) -> int:
    """Reports still owed (required, drafted or approved): an incident cannot close while any is open."""
    return session.scalar(unscoped(sa.select(sa.func.count()).select_from(NotificationRecord).where(
        NotificationRecord.incident_id == incident_id, NotificationRecord.state.in_([s.value for s in rules.OPEN_STATES])),
        "a rule of one incident's lifecycle (closing waits for its reports), whoever asks")) or 0


def urgency_of(record: NotificationRecord, *, now: datetime) -> rules.Urgency | None:
    """How urgent a report still owed is; None once it is submitted, acknowledged or not required."""
    if State(record.state) not in rules.OPEN_STATES:
        return None
    return rules.urgency(start=record.clock_start, due=deadlines.warn_due(record.due_at, record.target_at), now=now)


def required_fields(record: NotificationRecord) -> list[str]:
    return list(record.obligation.required_fields or []) if record.obligation else []


def missing(record: NotificationRecord) -> list[str]:
    return rules.missing_fields(required_fields(record), record.draft or {})


def awaiting_event(record: NotificationRecord) -> bool:
    """Whether the record's legal clock starts at a decision or action not yet signed (a decision is due)."""
    rule = RULES.get(record.regime_code)
    return bool(rule and rule.decision_working_days and record.kind == "initial" and record.clock_event_at is None)


def steps_for(record: NotificationRecord, user: User) -> list[Step]:
    found = rules.available(state=State(record.state), actor=user.actor, division_id=record.incident.division_id)
    found = [s for s in found if not (record.decision_pending and s in rules.AFTER_DECISION)
             and (record.decision_pending or s is not Step.DECIDE_REPORTABLE)]
    if not awaiting_event(record):
        return [s for s in found if s not in rules.EVENT_STEPS]
    if record.clock_event_requested_by_id is not None:
        found = [s for s in found if s is not Step.REQUEST_EVENT]
    if rules.event_signer_refusal(signer_id=user.id, requested_by_id=record.clock_event_requested_by_id):
        found = [s for s in found if s is not Step.RECORD_EVENT]
    return found


def _require(record: NotificationRecord, user: User, step: Step) -> rules.Move:
    verdict = rules.check(step, state=State(record.state), actor=user.actor, division_id=record.incident.division_id)
    if not verdict.allowed:
        raise Forbidden(verdict.why_not)
    if record.decision_pending and step in rules.AFTER_DECISION:
        raise Forbidden(str(_l("Decide first whether this obligation is reportable.")))
    return rules.MOVES[step]


def _audit(session: so.Session, record: NotificationRecord, *, user_id: int | None, action: str, now: datetime,
           before: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    changes = audit.field_changes(before or {}, audit.snapshot(record, AUDITED)) if before is not None else {}
    changes.update(extra or {})
    audit.record(session, actor_id=user_id, entity_type=ENTITY, entity_id=record.id, incident_id=record.incident_id,
                 action=action, now=now, changes=changes)


# --- assignee ---------------------------------------------------------------------------

#: States in which a record still waits for someone's work (its owner is then its assignee).
OWNED_STATES = frozenset({State.REQUIRED.value, State.DRAFTED.value, State.APPROVED.value})


def may_assign_owner(user: User, record: NotificationRecord) -> bool:
    """Whether the user may give the record to someone: the division's QA managers and head-office QA."""
    return can_work_division(user.actor, record.incident.division_id, Capability.WORK_NOTIFICATIONS)


def owner_candidates(session: so.Session, record: NotificationRecord) -> list[User]:
    """Who may own a notification record of this division: its QA managers and head-office QA (active), by name."""
    people = session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name, User.id))
    return [p for p in people
            if can_work_division(p.actor, record.incident.division_id, Capability.WORK_NOTIFICATIONS)]


def assign_owner(session: so.Session, *, user: User, record: NotificationRecord, owner_id: int,
                 now: datetime) -> NotificationRecord:
    """Give the record to another owner (its assignee: warnings and My work follow the owner); audited."""
    if not may_assign_owner(user, record):
        raise Forbidden(str(_l("Only the division's QA managers and head-office QA assign regulator notifications.")))
    if record.state not in OWNED_STATES:
        raise ValidationFailed({"assignee_id": str(_l("This notification is no longer worked on: it takes no new "
                                                        "owner."))})
    owner = session.get(User, owner_id) if is_db_id(owner_id) else None
    if owner is None or not owner.active or not can_work_division(owner.actor, record.incident.division_id,
                                                                   Capability.WORK_NOTIFICATIONS):
        raise ValidationFailed({"assignee_id": str(_l("Only an active QA manager of the division or head-office QA "
                                                        "owns a regulator notification."))})
    if record.owner_id == owner.id:
        return record
    before = audit.snapshot(record, AUDITED)
    record.owner_id = owner.id
    session.flush()
    session.expire(record, ["owner"])
    _audit(session, record, user_id=user.id, action="notification_assigned", now=now, before=before)
    return record


# --- derivation ------------------------------------------------------------------------


def _new_record(incident: Incident, *, item: IncidentObligation | None, regime_code: str, authority: str, title: str,
                origin: str, reason: str, owner_id: int | None, now: datetime) -> NotificationRecord:
    deadline = item.deadline if item else None
    start = deadline.start if deadline else incident.aware_at
    return NotificationRecord(
        incident_id=incident.id, obligation_id=item.obligation.id if item else None, regime_code=regime_code,
        authority=authority, title=title, kind="initial", period_label="", origin=origin, origin_reason=reason,
        state=State.REQUIRED.value, clock_start=deadline.start if deadline else incident.aware_at,
        due_at=deadline.due_at if deadline else None, due_timezone=deadline.rule.time_zone if deadline else "", due_explanation=deadline.explanation if deadline else "",
        is_legal_deadline=deadline.is_legal_deadline if deadline else False, owner_id=owner_id, draft={},
        target_at=deadlines.target_at(regime_code, start) if deadline else None,
        created_at=now, updated_at=now)


def _apply_deadline(record: NotificationRecord, deadline: Deadline) -> None:
    """The computed deadline onto the record (its clock start, due time, zone, explanation and kind)."""
    record.clock_start = deadline.start
    record.due_at = deadline.due_at
    record.due_timezone = deadline.rule.time_zone
    record.due_explanation = deadline.explanation
    record.is_legal_deadline = deadline.is_legal_deadline
    record.target_at = deadlines.target_at(record.regime_code, deadline.start)


def sync_obligations(session: so.Session, *, incident: Incident, actor_id: int | None, now: datetime,
                     new: bool = False) -> list[str]:
    """Bring the records in line with the laws map and the current facts; returns what changed, in words.

    A new applying obligation gets a `required` record with its deadline; an open record whose deadline moved
    (aware_at corrected) gets the new one; a derived open record the facts no longer trigger is flagged for a
    person to decide (never silently dropped). Submitted and closed records are evidence and stay as they are.
    The laws map is read as remembered (`obligations_shown`, the same obligations and assessments as
    `obligations_for`); `new`: the incident was filed in this transaction and has no record yet.
    """
    existing = {} if new else {(r.regime_code, r.kind, r.period_label): r for r in records_of(session, incident.id)}
    said: list[str] = []
    for item in obligations_shown(session, incident):
        code = item.obligation.regime_code
        record = existing.get((code, "initial", ""))
        applies = item.assessment.verdict == Verdict.APPLIES
        decide = item.assessment.verdict == Verdict.DECIDE
        if record is None and decide:
            _new_decision_record(session, incident=incident, item=item, actor_id=actor_id, now=now)
            said.append(str(_l("%(code)s awaits a reportability decision", code=code)))
            continue
        if record is None:
            if applies:
                record = _new_record(incident, item=item, regime_code=code, authority=item.law.authority or item.law.name_en,
                                     title=item.obligation.title, origin="derived", reason=item.assessment.reason,
                                     owner_id=_report_owner(session, incident, actor_id), now=now)
                session.add(record)
                session.flush()
                _audit(session, record, user_id=actor_id, action="notification_required", now=now,
                       extra={"regime": [None, code], "due_at": [None, record.due_at], "reason": [None, item.assessment.reason]})
                said.append(str(_l("%(code)s is required", code=code)))
            continue
        if State(record.state) not in rules.OPEN_STATES:
            continue
        before = audit.snapshot(record, AUDITED)
        if record.decision_pending and applies:  # the facts now decide it: a report is owed
            record.decision_pending = False
        deadline = incident_deadline(incident, code, event_at=record.clock_event_at) if applies else None
        if deadline and (deadline.due_at != record.due_at or deadline.is_legal_deadline != record.is_legal_deadline):
            _apply_deadline(record, deadline)
        if record.origin == "derived":
            record.attention = "" if applies or (decide and record.decision_pending) else str(_l(
                "The current facts no longer trigger this obligation (%(reason)s) Decide whether it is still required.",
                reason=item.assessment.reason))
        if audit.field_changes(before, audit.snapshot(record, AUDITED)):
            record.updated_at = now
            session.flush()
            _audit(session, record, user_id=actor_id, action="notification_rederived", now=now, before=before)
            said.append(str(_l("%(code)s updated", code=code)))
    return said


def derive(session: so.Session, *, incident: Incident, user: User | None, now: datetime, base_url: str = "",
           new: bool = False) -> list[str]:
    """The one derivation of an incident's records, called at filing, at triage, whenever the facts change and when
    imported history becomes live work: every candidate obligation gets its record (`sync_obligations`), and the
    first one that stands as reportable issues top management's status report. Imported history (the historical
    state) is not live work and gets none. `new`: just filed, in this transaction (nothing to read back). Returns
    what changed, in words."""
    from qa_incidents.incidents.rules import Status

    if incident.status == Status.HISTORICAL:
        return []
    before = set() if new else reportable_record_ids(session, incident.id)
    said = sync_obligations(session, incident=incident, actor_id=user.id if user else None, now=now, new=new)
    if said:  # nothing changed: nothing became reportable
        obligations_changed(session, incident=incident, reportable_before=before, user=user, now=now, base_url=base_url)
    return said


def reportable_record_ids(session: so.Session, incident_id: int) -> set[int]:
    """The incident's initial regulator notifications that stand as required (not marked "not required")."""
    return set(session.scalars(sa.select(NotificationRecord.id).where(
        NotificationRecord.incident_id == incident_id, NotificationRecord.kind == "initial",
        NotificationRecord.state != "not_required", NotificationRecord.decision_pending.is_(False))))


def obligations_changed(session: so.Session, *, incident: Incident, reportable_before: set[int], user: User | None,
                        now: datetime, base_url: str = "") -> None:
    """Announce that the incident's obligations changed; `reportable_before`: `reportable_record_ids` read just
    before the change (the first obligation that stands as reportable issues top management's status report)."""
    events.announce(events.obligations_changed, session, incident=incident, reportable_before=reportable_before,
                    user=user, now=now, base_url=base_url)


def _report_owner(session: so.Session, incident: Incident, actor_id: int | None) -> int | None:
    """Who owns a report derived by the facts: whoever caused the derivation if they may work the incident's reports
    (the person who triaged, or corrected the facts), else the division's QA (e.g. for an incident a reporter filed)."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and rules.check(Step.DRAFT, state=State.REQUIRED, actor=actor.actor,
                                         division_id=incident.division_id).allowed:
        return actor.id
    return _decision_owner(session, incident, actor_id)


#: Days from awareness to decide a "to decide" candidate whose regime has no legal clock to count from (a company
#: target, not a legal deadline; DECISION_DAYS in the configuration changes it).
DECISION_DAYS = 10
REPORTABLE_MEANING = "decided regulator notification reportable"


def _decision_owner(session: so.Session, incident: Incident, actor_id: int | None) -> int | None:
    """The division's QA (its first active member), else whoever caused the derivation."""
    found = session.scalar(sa.select(User.id).where(User.role == Role.DIVISION_QA, User.division_id == incident.division_id,
                                                    User.active.is_(True)).order_by(User.id).limit(1))
    return found or actor_id


def _decision_days() -> int:
    from flask import current_app, has_app_context

    return int(current_app.config.get("DECISION_DAYS", DECISION_DAYS)) if has_app_context() else DECISION_DAYS


def _new_decision_record(session: so.Session, *, incident: Incident, item: IncidentObligation, actor_id: int | None,
                         now: datetime) -> NotificationRecord:
    """A "to decide" candidate as a record awaiting its signed reportability decision: due when the report would
    be (the legal clock from awareness, when one can be computed), else DECISION_DAYS after awareness (a company
    target); owned by the division's QA; on the board and in the warning scan like any open record."""
    code = item.obligation.regime_code
    record = _new_record(incident, item=None, regime_code=code, authority=item.law.authority or item.law.name_en,
                         title=item.obligation.title, origin="derived", reason=item.assessment.reason,
                         owner_id=_decision_owner(session, incident, actor_id), now=now)
    record.decision_pending = True
    record.obligation_id = item.obligation.id  # its form's items: the draft once it is decided reportable
    deadline = incident_deadline(incident, code)
    if deadline is not None:
        _apply_deadline(record, deadline)
        record.due_explanation = str(_l("Decision due by the legal deadline: %(why)s", why=deadline.explanation))
    else:
        days = _decision_days()
        record.clock_start, record.due_at = incident.aware_at, incident.aware_at + timedelta(days=days)
        record.is_legal_deadline = False
        record.due_explanation = str(_l(
            "Decision due %(days)d days after awareness (company target, not a legal deadline).", days=days))
    session.add(record)
    session.flush()
    _audit(session, record, user_id=actor_id, action="notification_decision_due", now=now,
           extra={"regime": [None, code], "due_at": [None, record.due_at], "reason": [None, item.assessment.reason]})
    return record


def decision_facts(session: so.Session, record: NotificationRecord) -> dict[str, Any]:
    """What a reportability decision rests on: the incident's facts and the regime's assessment, as signed."""
    from dataclasses import asdict

    return {"facts": asdict(draft_facts(session, record)), "assessment": record.origin_reason}


def decide_reportable(session: so.Session, *, user: User, record: NotificationRecord, reasons: str, password: str,
                      now: datetime, base_url: str = "") -> NotificationRecord:
    """Head-office QA signs that a "to decide" candidate is reportable: the report is owed from now on (and the
    first reportable obligation of an incident brings top management's status report). Whoever requested the
    decision may not sign it."""
    move = _require(record, user, Step.DECIDE_REPORTABLE)
    if not record.decision_pending:
        raise ValidationFailed({"decision": str(_l("This obligation is not awaiting a reportability decision."))})
    if not reasons.strip():
        raise ValidationFailed({"reasons": str(_l("Give the reasons: they are signed and kept as evidence."))})
    before_ids = reportable_record_ids(session, record.incident_id)
    assert move.signature is not None
    content = signed_content(record) | {"decision": "reportable", "reasons": reasons.strip()} | decision_facts(session, record)
    signature = sign(session, user=user, password=password, meaning=move.signature, entity_type=ENTITY,
                     entity_id=record.id, content=content, now=now, comment=reasons, incident_id=record.incident_id,
                     prepared_by=(record.clock_event_requested_by_id,))
    before = audit.snapshot(record, AUDITED)
    record.decision_pending = False
    record.decision_signature_id = signature.id
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_decided_reportable", now=now, before=before,
           extra={"signature": [None, f"{move.signature} · {signature.content_sha256[:16]}…"],
                  "reasons": [None, reasons.strip()]})
    obligations_changed(session, incident=record.incident, reportable_before=before_ids, user=user, now=now,
                        base_url=base_url)
    return record


@dataclass(frozen=True)
class Decision:
    """One row of an incident's decisions table."""

    record: NotificationRecord
    verdict: str  # pending | reportable | not_reportable
    signature: Any  # the Signature, or None (pending, or required by the facts without a judgement)


def decisions_of(session: so.Session, incident_id: int) -> list[Decision]:
    """The reportability decision of each initial notification record of the incident."""
    return decisions_from(records_of(session, incident_id))


def decisions_from(loaded: list[NotificationRecord]) -> list[Decision]:
    found = []
    for record in loaded:
        if record.kind != "initial":
            continue
        if record.decision_pending:
            found.append(Decision(record, "pending", None))
        elif record.state == State.NOT_REQUIRED.value:
            found.append(Decision(record, "not_reportable", record.not_required_signature))
        else:
            found.append(Decision(record, "reportable", record.decision_signature))
    return found


DECISION_TITLES = {"pending": _l("To decide"), "reportable": _l("Reportable"),
                   "not_reportable": _l("Not reportable")}


def decision_file(session: so.Session, *, user: User, incident_id: int, storage: Storage, reader: Reader,
                  now: datetime) -> tuple[bytes, str]:
    """The incident's decision file as PDF, kept as an incident attachment (audited) each time it is generated."""
    from qa_incidents.core.signatures import meaning_title

    incident = get_incident(session, user=user, incident_id=incident_id)
    rows = []
    for d in decisions_of(session, incident.id):
        r, sig = d.record, d.signature
        lines = [_("Authority: %(authority)s", authority=r.authority), str(DECISION_TITLES[d.verdict]),
                 _("Assessment: %(reason)s", reason=r.origin_reason or "—")]
        if d.verdict == "pending":
            lines.append(_("Decision due %(due)s", due=reader.datetime(r.due_at) if r.due_at else "—"))
        if sig is not None:
            lines += [_("Signed by %(name)s at %(when)s: %(meaning)s", name=sig.signer_name,
                        when=reader.datetime(sig.signed_at), meaning=meaning_title(sig.meaning)),
                      _("Reasons: %(reasons)s", reasons=sig.comment or "—"), f"SHA-256 {sig.content_sha256}"]
        elif d.verdict == "reportable":
            lines.append(_("Required by the facts (no judgement needed)."))
        rows.append((f"{r.regime_code} — {r.title}", lines))
    from qa_incidents.notifications.documents import render_decision_file

    data = render_decision_file(reference=incident.reference, title=incident.title, rows=rows,
                                generated=_("Generated at %(when)s by %(name)s", when=reader.datetime(now), name=user.name))
    name = f"{incident.reference}-reportability-decisions-{now:%Y%m%d%H%M%S}.pdf"
    add_attachment(session, user=user, incident_id=incident.id, filename=name, stored=storage.put(io.BytesIO(data)),
                   now=now)
    return data, name


def derive_all(session: so.Session, *, now: datetime, batch: int = 200) -> int:
    """Bring the records of every incident still worked on (triaged or not; imported history and closed incidents
    excepted) in line with the rules: existing incidents get their decision records, as filing, triage and every
    facts change give them. No status report is issued for what it finds. Returns the incidents changed."""
    from qa_incidents.incidents.rules import ENDED_STATUSES

    skipped = [s.value for s in ENDED_STATUSES]
    changed, last_id = 0, 0
    while True:
        chunk = list(session.scalars(sa.select(Incident).where(Incident.id > last_id, Incident.status.not_in(skipped))
                                     .order_by(Incident.id).limit(batch)))
        if not chunk:
            return changed
        last_id = chunk[-1].id
        for incident in chunk:
            if sync_obligations(session, incident=incident, actor_id=None, now=now):
                changed += 1


@dataclass(frozen=True)
class Recomputed:
    record_id: int
    regime_code: str
    was: datetime | None
    now: datetime


def _computed(record: NotificationRecord) -> bool:
    """Whether the record's deadline is the engine's (not entered by a person, not a follow-up's target)."""
    return (record.kind == "initial" and record.regime_code in RULES
            and not (record.origin == "added" and record.obligation_id is None))


def recompute_open(session: so.Session, *, now: datetime, actor_id: int | None = None, base_url: str = "",
                   batch: int = 500) -> list[Recomputed]:
    """Recompute the deadline of every open record under the rules as they are now (after a rule was corrected).

    Each changed deadline gets an audit event ("recomputed: rule corrected, was …, now …"); the owner and the
    division's QA managers are told (outbox) of every deadline that moved earlier. Records are read in batches
    of `batch` ids; the caller commits. Returns what changed.
    """
    changed: list[Recomputed] = []
    earlier: list[NotificationRecord] = []
    last_id = 0
    open_states = [s.value for s in rules.OPEN_STATES]
    while True:
        chunk = list(session.scalars(
            sa.select(NotificationRecord).where(NotificationRecord.state.in_(open_states),
                                                NotificationRecord.id > last_id)
            .order_by(NotificationRecord.id).limit(batch)))
        if not chunk:
            break
        last_id = chunk[-1].id
        for record in chunk:
            if not _computed(record):
                continue
            deadline = incident_deadline(record.incident, record.regime_code, event_at=record.clock_event_at)
            if deadline is None or (deadline.due_at == record.due_at
                                    and deadline.is_legal_deadline == record.is_legal_deadline):
                continue
            before = audit.snapshot(record, AUDITED)
            was = record.due_at
            _apply_deadline(record, deadline)
            record.updated_at = now
            session.flush()
            why = (f"recomputed: rule corrected, was {was.isoformat() if was else 'none'}, "
                   f"now {deadline.due_at.isoformat()} ({deadline.calendar_version})")
            _audit(session, record, user_id=actor_id, action="notification_recomputed", now=now, before=before,
                   extra={"reason": [None, why]})
            changed.append(Recomputed(record.id, record.regime_code, was, deadline.due_at))
            if was is not None and deadline.due_at < was:
                earlier.append(record)
    _tell_moved_earlier(session, earlier, changed, now=now, base_url=base_url)
    return changed


def _tell_moved_earlier(session: so.Session, moved: list[NotificationRecord], changed: list[Recomputed], *,
                        now: datetime, base_url: str) -> None:
    was = {c.record_id: c.was for c in changed}
    notices = []
    division_qa: dict[int, list[Recipient]] = {}
    for record in moved:
        incident = record.incident
        if incident.division_id not in division_qa:
            division_qa[incident.division_id] = people(session, roles={Role.DIVISION_QA},
                                                       division_id=incident.division_id)
        to = list(division_qa[incident.division_id])
        if record.owner is not None and record.owner.active:
            to.append(as_recipient(record.owner))
        notices.append(outbox.Notice(people=to, compose=_moved_letter(record, incident, was[record.id], base_url),
                                     incident_id=incident.id,
                                     dedupe_key=f"deadline-moved-earlier:{record.id}:{int(record.due_at.timestamp())}"))
    if notices:
        outbox.enqueue_localised_many(session, notices, now=now)


def _moved_letter(record: NotificationRecord, incident: Incident, was: datetime | None,
                  base_url: str) -> Callable[[Reader], tuple[str, str]]:
    def compose(reader: Reader) -> tuple[str, str]:
        due = record.due_at
        assert due is not None
        subject = _("EARLIER DEADLINE: %(regime)s report for %(ref)s is now due %(due)s",
                    regime=record.regime_code, ref=incident.reference, due=reader.datetime(due))
        body = (f"{incident.reference} {incident.title}\n"
                + _("The deadline rule was corrected: the deadline moved from %(was)s to %(now)s.",
                    was=reader.datetime(was) if was else "—", now=reader.datetime(due)) + "\n"
                + (_("Internal target: %(target)s; legal deadline: %(legal)s", target=reader.datetime(due),
                     legal=reader.datetime(record.due_at)) + "\n" if record.due_at and due < record.due_at else "")
                + f"{record.due_explanation}\n\n{base_url}/incidents/{incident.id}/notifications/{record.id}\n")
        return subject, body

    return compose


def add_obligation(session: so.Session, *, user: User, incident_id: int, obligation_id: int | None, reason: str,
                   now: datetime, regime_code: str = "", authority: str = "", title: str = "",
                   due_at: datetime | None = None) -> NotificationRecord:
    """A person adds an obligation the rules did not derive: one from the laws map, or an authority it does not list."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    verdict = rules.check(Step.DRAFT, state=State.REQUIRED, actor=user.actor, division_id=incident.division_id)
    if not verdict.allowed:
        raise Forbidden(verdict.why_not)
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = str(_l("Say why this report is required."))
    item: IncidentObligation | None = None
    if obligation_id is not None:
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            errors["obligation_id"] = str(_l("Choose an obligation from the list."))
        else:
            regime_code, title = obligation.regime_code, obligation.title
            law = session.get(Law, obligation.law_id)
            assert law is not None
            authority = law.authority or law.name_en
            deadline = incident_deadline(incident, regime_code)
            item = IncidentObligation(obligation, law, Assessment(regime_code, Verdict.APPLIES, reason.strip()), deadline)
    else:
        regime_code = regime_code.strip().upper()
        if not regime_code:
            errors["regime_code"] = str(_l("Give the regime (a short code such as KR-PSA-13)."))
        if not authority.strip():
            errors["authority"] = str(_l("Name the authority."))
        if not title.strip():
            errors["title"] = str(_l("Say what is to be reported."))
        if due_at is None:
            errors["due_at"] = str(_l("Give the deadline: an authority the laws map does not know has no computed one."))
    if not errors and session.scalar(sa.select(NotificationRecord.id).where(
            NotificationRecord.incident_id == incident.id, NotificationRecord.regime_code == regime_code,
            NotificationRecord.kind == "initial", NotificationRecord.period_label == "")):
        errors["obligation_id" if obligation_id is not None else "regime_code"] = str(_l(
            "This incident already has a %(code)s notification.", code=regime_code))
    if errors:
        raise ValidationFailed(errors)
    record = _new_record(incident, item=item, regime_code=regime_code, authority=authority.strip(), title=title.strip(),
                         origin="added", reason=reason.strip(), owner_id=user.id, now=now)
    if record.due_at is None and due_at is not None:
        record.due_at = due_at
        record.due_explanation = str(_l("Deadline entered by %(name)s.", name=user.name))
        record.is_legal_deadline = True
    session.add(record)
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_added", now=now,
           extra={"regime": [None, regime_code], "due_at": [None, record.due_at], "reason": [None, reason.strip()]})
    return record


def schedule_follow_up(session: so.Session, *, incident_id: int, regime_code: str, kind: str, period_label: str,
                       title: str, due_at: datetime | None, actor_id: int | None, recall_id: int | None = None,
                       authority: str = "", explanation: str = "", is_legal_deadline: bool = True,
                       now: datetime, parent_id: int | None = None) -> NotificationRecord:
    """A follow-up report (progress report for a period, final report) as its own record; idempotent per
    (incident, regime, kind, period): calling it again returns the record already scheduled."""
    found = session.scalar(sa.select(NotificationRecord).where(
        NotificationRecord.incident_id == incident_id, NotificationRecord.regime_code == regime_code,
        NotificationRecord.kind == kind, NotificationRecord.period_label == period_label))
    if found is not None:
        return found
    moment = now
    obligation = session.scalar(sa.select(Obligation).where(Obligation.regime_code == regime_code))
    if not authority and obligation is not None:
        law = session.get(Law, obligation.law_id)
        authority = (law.authority or law.name_en) if law else ""
    record = NotificationRecord(
        incident_id=incident_id, obligation_id=obligation.id if obligation else None, regime_code=regime_code,
        authority=authority or regime_code, title=title, kind=kind, period_label=period_label, parent_id=parent_id,
        recall_id=recall_id, origin="follow_up", origin_reason=explanation, state=State.REQUIRED.value,
        clock_start=moment, due_at=due_at, due_timezone=RULES[regime_code].time_zone if regime_code in RULES else "",
        due_explanation=explanation, is_legal_deadline=is_legal_deadline, owner_id=actor_id, draft={},
        created_at=moment, updated_at=moment)
    session.add(record)
    session.flush()
    _audit(session, record, user_id=actor_id, action="notification_scheduled", now=moment,
           extra={"regime": [None, regime_code], "kind": [None, kind], "period": [None, period_label],
                  "due_at": [None, due_at]})
    return record


# --- the record's steps ----------------------------------------------------------------


def draft_facts(session: so.Session, record: NotificationRecord) -> DraftFacts:
    incident = record.incident
    last = session.scalar(sa.select(TriageDecision).where(TriageDecision.incident_id == incident.id)
                          .order_by(TriageDecision.id.desc()).limit(1))
    return DraftFacts(
        reference=incident.reference, title=incident.title, division=incident.division.name,
        product_name=incident.product.name, model=incident.product.model, category=incident.product.category.path,
        lot_numbers=incident.lot_numbers, serial_numbers=incident.serial_numbers, country=incident.country,
        place=incident.place, occurred_at=incident.occurred_at, aware_at=incident.aware_at,
        source=incident.source.value.replace("_", " "), description=incident.description, deaths=incident.deaths,
        serious_injuries=incident.serious_injuries, minor_injuries=incident.minor_injuries, fire=incident.fire,
        smoke=incident.smoke, co_poisoning=incident.co_poisoning, property_damage=incident.property_damage,
        units_in_field=incident.units_in_field, similar_reports=last.similar_reports if last else 0,
        severity=incident.severity.value if incident.severity else "", timezone=record.due_timezone or "UTC",
        injury_care=incident.injury_care.value)


def proposed_draft(session: so.Session, record: NotificationRecord) -> dict[str, str]:
    """The saved draft, or for a record not drafted yet, the fields pre-filled from the incident."""
    if record.draft:
        return {name: record.draft.get(name, "") for name in required_fields(record)} | {
            k: v for k, v in record.draft.items() if k not in required_fields(record)}
    return prefill(required_fields(record), draft_facts(session, record))


def save_draft(session: so.Session, *, user: User, record: NotificationRecord, fields: Mapping[str, str],
               missing_explanation: str, expected_version: int, now: datetime) -> NotificationRecord:
    """Save the draft (a saved draft after approval goes back to drafted: it must be signed again)."""
    _require(record, user, Step.DRAFT)
    if record.version != expected_version:
        raise ValidationFailed({"conflict": str(_l(
            "Someone else saved this notification in the meantime: reload the page to see their version."))})
    cleaned = {str(k): str(v).strip() for k, v in fields.items()}
    before = audit.snapshot(record, AUDITED)
    changed = {k: [(record.draft or {}).get(k, ""), v] for k, v in cleaned.items() if (record.draft or {}).get(k, "") != v}
    record.draft = cleaned
    record.missing_explanation = missing_explanation.strip()
    record.state = State.DRAFTED.value
    record.drafted_at, record.drafted_by_id, record.updated_at = now, user.id, now
    record.approval_signature_id = None
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_drafted", now=now, before=before,
           extra={f"draft: {k}": v for k, v in changed.items()})
    return record


def signed_content(record: NotificationRecord) -> dict[str, Any]:
    return {"incident": record.incident.reference, "regime": record.regime_code, "authority": record.authority,
            "kind": record.kind, "period": record.period_label, "due_at": record.due_at, "draft": record.draft,
            "missing": missing(record), "missing_explanation": record.missing_explanation, "version": record.version}


def approve(session: so.Session, *, user: User, record: NotificationRecord, password: str, comment: str,
            now: datetime) -> NotificationRecord:
    """Head-office QA signs the draft for submission. Missing fields need a word on when they will follow."""
    move = _require(record, user, Step.APPROVE)
    gaps = missing(record)
    if gaps and not record.missing_explanation.strip():
        raise ValidationFailed({"missing": str(_l(
            "The draft lacks %(fields)s: fill them in, or say in the draft when they will follow.",
            fields=", ".join(gaps)))})
    assert move.signature is not None
    signature = sign(session, user=user, password=password, meaning=move.signature, entity_type=ENTITY,
                     entity_id=record.id, content=signed_content(record), now=now, comment=comment,
                     incident_id=record.incident_id, prepared_by=[record.drafted_by_id])
    before = audit.snapshot(record, AUDITED)
    record.state = State.APPROVED.value
    record.approval_signature_id = signature.id
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_approved", now=now, before=before,
           extra={"signature": [None, f"{move.signature} · {signature.content_sha256[:16]}…"]})
    return record


def request_clock_event(session: so.Session, *, user: User, record: NotificationRecord, comment: str,
                        now: datetime) -> NotificationRecord:
    """Ask for the decision that starts the legal clock (e.g. whether a defect is safety-related): the person who
    asks may not sign it."""
    _require(record, user, Step.REQUEST_EVENT)
    if not awaiting_event(record):
        raise ValidationFailed({"event": str(_l("This notification's clock is not waiting for a decision."))})
    before = audit.snapshot(record, AUDITED)
    record.clock_event_requested_by_id = user.id
    record.clock_event_requested_at = now
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_decision_requested", now=now, before=before,
           extra={"decision": [None, RULES[record.regime_code].decision], "comment": [None, comment.strip()]})
    return record


def record_clock_event(session: so.Session, *, user: User, record: NotificationRecord, password: str, comment: str,
                       event_at: datetime | None, now: datetime) -> NotificationRecord:
    """Sign the decision or action that starts the legal clock ("defect determined", "correction initiated",
    "information reasonably supports"); the legal deadline then runs from the moment it happened (`event_at`,
    not later than now, not before awareness). Whoever requested the decision may not sign it."""
    _require(record, user, Step.RECORD_EVENT)
    rule = RULES.get(record.regime_code)
    if rule is None or not awaiting_event(record):
        raise ValidationFailed({"event": str(_l("This notification's clock is not waiting for a decision."))})
    moment = event_at or now
    if moment > now:
        raise ValidationFailed({"event_at": str(_l("The decision cannot be in the future."))})
    if moment < record.incident.aware_at:
        raise ValidationFailed({"event_at": str(_l("The decision cannot come before the company became aware."))})
    signature = sign(session, user=user, password=password, meaning=rule.event_signature, entity_type=ENTITY,
                     entity_id=record.id, now=now, comment=comment, incident_id=record.incident_id,
                     content={"regime": record.regime_code, "incident": record.incident.reference,
                              "decision": rule.decision, "event_at": moment},
                     prepared_by=(record.clock_event_requested_by_id,))  # whoever asked may not decide
    deadline = incident_deadline(record.incident, record.regime_code, event_at=moment)
    assert deadline is not None
    before = audit.snapshot(record, AUDITED)
    record.clock_event_at = moment
    record.clock_event_signature_id = signature.id
    _apply_deadline(record, deadline)
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_clock_started", now=now, before=before,
           extra={"signature": [None, f"{rule.event_signature} · {signature.content_sha256[:16]}…"],
                  "clock_event_at": [None, moment]})
    return record


def document_for(session: so.Session, record: NotificationRecord) -> ReportDocument:
    draft = proposed_draft(session, record)
    zone = record.due_timezone or "UTC"
    signature = record.approval_signature
    language = document_language(record.regime_code)
    with force_locale(language):
        status = (_("Approved for submission by %(name)s at %(when)s (SHA-256 %(hash)s…)", name=signature.signer_name,
                    when=document_datetime(signature.signed_at, zone, language), hash=signature.content_sha256[:16])
                  if signature and record.state != State.DRAFTED.value else _("DRAFT: not approved for submission"))
        prepared = (_("Prepared by %(name)s at %(when)s", name=record.drafted_by.name,
                      when=document_datetime(record.drafted_at, zone, language))
                    if record.drafted_by and record.drafted_at else _("Pre-filled from the incident record"))
        due = document_datetime(record.due_at, zone, language) if record.due_at else _("no deadline set")
    return ReportDocument(
        title=record.title, authority=record.authority, regime_code=record.regime_code,
        incident_reference=record.incident.reference,
        due=due, fields=draft,
        missing=rules.missing_fields(required_fields(record), draft), missing_explanation=record.missing_explanation,
        prepared=prepared, status_line=status, language=language)


def submit(session: so.Session, *, user: User, record: NotificationRecord, channel: str, authority_reference: str,
           submitted_at: datetime | None, now: datetime, storage: Storage, upload: StoredFile | None = None,
           filename: str = "") -> NotificationRecord:
    """Record what was sent, how and when. The document sent is kept as an incident attachment (the uploaded
    file, or else the approved draft as PDF) and its SHA-256 on the record; follow-up reports are scheduled."""
    _require(record, user, Step.SUBMIT)
    errors: dict[str, str] = {}
    if not channel.strip():
        errors["channel"] = str(_l("Say how it was sent (portal, e-mail, fax…)."))
    if submitted_at is None:
        errors["submitted_at"] = str(_l("Give the date and time it was sent."))
    elif submitted_at > now + timedelta(minutes=5):
        errors["submitted_at"] = str(_l("That is in the future: record a submission once it is made."))
    elif record.clock_start and submitted_at < record.clock_start - timedelta(days=1):
        errors["submitted_at"] = str(_l("That is before the company became aware: check the date."))
    if errors:
        raise ValidationFailed(errors)
    assert submitted_at is not None
    if upload is None:
        data = render_pdf(document_for(session, record))
        upload = storage.put(io.BytesIO(data))
        filename = f"{record.incident.reference}-{record.regime_code}-{record.kind}{'-' + record.period_label if record.period_label else ''}.pdf"
    attachment = add_attachment(session, user=user, incident_id=record.incident_id, filename=filename, stored=upload,
                                now=now)
    before = audit.snapshot(record, AUDITED)
    record.state = State.SUBMITTED.value
    record.channel = channel.strip()[:200]
    record.authority_reference = authority_reference.strip()[:120]
    record.submitted_at, record.submitted_by_id = submitted_at, user.id
    record.document_id, record.document_sha256 = attachment.id, upload.sha256
    record.updated_at = now
    session.flush()
    late = record.due_at is not None and submitted_at > record.due_at
    _audit(session, record, user_id=user.id, action="notification_submitted", now=now, before=before,
           extra={"on_time": [None, "late" if late else "on time"]})
    events.announce(events.notification_submitted, session, record=record, late=late, now=now)
    for follow in rules.FOLLOW_UPS.get(record.regime_code, ()) if record.kind == "initial" else ():
        schedule_follow_up(session, incident_id=record.incident_id, regime_code=follow.regime_code, kind=follow.kind,
                           period_label="", title=follow.title, due_at=submitted_at + follow.after, actor_id=user.id,
                           explanation=follow.explanation + (f" {follow.unconfirmed}" if follow.unconfirmed else ""),
                           is_legal_deadline=follow.is_legal_deadline, parent_id=record.id, now=now,
                           authority=record.authority)
    return record


def acknowledge(session: so.Session, *, user: User, record: NotificationRecord, acknowledged_at: datetime | None,
                text: str, now: datetime) -> NotificationRecord:
    _require(record, user, Step.ACKNOWLEDGE)
    errors = {}
    if acknowledged_at is None:
        errors["acknowledged_at"] = str(_l("Give the date and time the authority acknowledged."))
    elif acknowledged_at > now + timedelta(minutes=5):
        errors["acknowledged_at"] = str(_l("That is in the future."))
    elif record.submitted_at and acknowledged_at < record.submitted_at:
        errors["acknowledged_at"] = str(_l("That is before the submission."))
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(record, AUDITED)
    record.state = State.ACKNOWLEDGED.value
    record.acknowledged_at = acknowledged_at
    record.acknowledgement = text.strip()
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_acknowledged", now=now, before=before)
    return record


def mark_not_required(session: so.Session, *, user: User, record: NotificationRecord, reason: str, password: str,
                      now: datetime) -> NotificationRecord:
    """Head-office QA determines, with a signed justification, that the report is not required."""
    move = _require(record, user, Step.NOT_REQUIRED)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Give the justification: it is signed and kept as evidence."))})
    assert move.signature is not None
    content = signed_content(record) | {"justification": reason.strip()}
    if record.decision_pending:  # a reportability decision: "not reportable", with the facts it rested on
        content |= {"decision": "not reportable"} | decision_facts(session, record)
    signature = sign(session, user=user, password=password, meaning=move.signature, entity_type=ENTITY,
                     entity_id=record.id, content=content, now=now, comment=reason, incident_id=record.incident_id,
                     prepared_by=(record.clock_event_requested_by_id,) if record.decision_pending else ())
    before = audit.snapshot(record, AUDITED)
    record.state = State.NOT_REQUIRED.value
    record.decision_pending = False
    record.not_required_reason = reason.strip()
    record.not_required_signature_id = signature.id
    record.attention = ""
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_not_required", now=now, before=before,
           extra={"signature": [None, f"{move.signature} · {signature.content_sha256[:16]}…"]})
    return record


def reopen(session: so.Session, *, user: User, record: NotificationRecord, reason: str, now: datetime) -> NotificationRecord:
    _require(record, user, Step.REOPEN)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the report is required after all."))})
    before = audit.snapshot(record, AUDITED)
    record.state = State.REQUIRED.value
    record.updated_at = now
    session.flush()
    _audit(session, record, user_id=user.id, action="notification_reopened", now=now, before=before,
           extra={"reason": [None, reason.strip()]})
    return record


def history(session: so.Session, record: NotificationRecord) -> list[audit.AuditEvent]:
    return list(session.scalars(sa.select(audit.AuditEvent).where(
        audit.AuditEvent.entity_type == ENTITY, audit.AuditEvent.entity_id == record.id).order_by(audit.AuditEvent.id)))


# --- the deadline board ----------------------------------------------------------------


@dataclass(frozen=True)
class BoardEntry:
    """What the board shows of one open record (read as columns: loading 500 whole records and their incidents
    costs more than counting every open record)."""

    id: int
    incident_id: int
    regime_code: str
    kind: str
    period_label: str
    authority: str
    state: str
    clock_start: datetime | None
    due_at: datetime | None
    due_timezone: str
    target_at: datetime | None
    reference: str
    title: str
    division: str
    owner: str
    #: Its reportability is still to be decided: due_at is the decision's due date, owner the decision's owner.
    decision_pending: bool = False

    @property
    def shown_state(self) -> str:
        return rules.shown_state(self.state, decision_pending=self.decision_pending)


@dataclass
class BoardRow:
    record: BoardEntry
    urgency: rules.Urgency


@dataclass
class Board:
    rows: list[BoardRow]
    counts: dict[rules.Urgency, int] = field(default_factory=dict)
    authorities: list[str] = field(default_factory=list)
    #: Every open record matching the filters (the rows are the first `limit` of them).
    total: int = 0


URGENCY_ORDER = list(rules.Urgency)
#: Rows the board lists: the most urgent; the counts cover every open record, and the filters narrow the list.
BOARD_ROWS = 50


def open_records(stmt: sa.Select[Any], *, user: User, authority: str = "", division_id: int | None = None,
                 regime_code: str = "", states: frozenset[State] = rules.OPEN_STATES,
                 owner_id: int | None = None) -> sa.Select[Any]:
    """Open records the user may see, filtered. Scoped on the division the database copies onto each record
    (the same rule as incidents.service.visible), so no incident is read."""
    stmt = stmt.where(NotificationRecord.state.in_([s.value for s in sorted(states)]))
    stmt = scoped(stmt, user.actor, NotificationRecord.division_id)
    if division_id is not None:
        stmt = stmt.where(NotificationRecord.division_id == division_id)
    if authority:
        stmt = stmt.where(NotificationRecord.authority == authority)
    if regime_code:
        stmt = stmt.where(NotificationRecord.regime_code == regime_code)
    if owner_id is not None:
        stmt = stmt.where(NotificationRecord.owner_id == owner_id)
    return stmt


# --- the board's counts, remembered ----------------------------------------------------------------------
#
# Counting every open record is the part of the board whose cost grows with the table (100,000 open records: an
# index scan of every one). Only two counts need it, and neither moves with the clock: how many open records the
# viewer may see, and how many of them have no deadline (the authorities list is the same kind of figure). They are
# kept under the `notification-board` marker by the rule of core/freshness.py (the marker moves on every insert or
# delete of a record and every change of a column the board filters or counts on: state, deadline, division,
# authority, regime, owner). The key holds the reader's scope and the filters. A missing marker row (an upgraded
# database no record was written to since, or emptied tables) is given a first value for the next view.
# The counts by urgency move with the clock and are counted at every view, along the indexes, over the records
# near or past their deadline only (due within 24 hours, or past half their time): the rest are "on track".

BOARD_MARKER = "notification-board"
_BOARD_CACHE = freshness.Kept(BOARD_MARKER, size=256)


def _remembered(session: so.Session, reading: freshness.Reading | None, key: tuple[Any, ...],
                count: Callable[[], Any]) -> Any:
    """What `count` returns, kept under the board marker as read first (`reading`; None: never kept)."""
    found = _BOARD_CACHE.peek(reading, key)
    if found is None:
        found = count()
        _BOARD_CACHE.keep(session, reading, key, found)
    return found


def _scope(user: User) -> str:
    return scope_key(user.actor)


def board(session: so.Session, *, user: User, now: datetime, authority: str = "", division_id: int | None = None,
          regime_code: str = "", owner_id: int | None = None, limit: int = BOARD_ROWS) -> Board:
    """The open records the user may see, overdue first, then by time left (the first `limit`); counts by urgency
    of all of them, counted in the database. `owner_id` narrows it to one person's records ("My work")."""
    def narrowed(stmt: sa.Select[Any], states: frozenset[State] = rules.OPEN_STATES) -> sa.Select[Any]:
        return open_records(stmt, user=user, authority=authority, division_id=division_id, regime_code=regime_code,
                             states=states, owner_id=owner_id)

    reading = _BOARD_CACHE.read(session)  # first: what is counted after it is at least as new
    # Those with a deadline in deadline order, then those without: no sort of every open record. Each open state
    # is walked on its own along the (state, due_at) index and the three walks merged; one walk along due_at
    # alone would first step over every submitted record, most of them due long ago.
    R = NotificationRecord
    # (Equal deadlines: the earlier clock start first, as the index keeps them.)
    walks = [narrowed(sa.select(R.id, R.due_at, R.clock_start).where(R.due_at.is_not(None))
                    .order_by(R.due_at, R.clock_start, R.id).limit(limit), frozenset({state})).subquery()
             for state in sorted(rules.OPEN_STATES)]
    merged = sa.union_all(*[sa.select(w.c.id, w.c.due_at, w.c.clock_start) for w in walks]).subquery()
    ids = list(session.scalars(sa.select(merged.c.id).order_by(merged.c.due_at, merged.c.clock_start, merged.c.id)
                               .limit(limit)))
    if len(ids) < limit:
        ids += session.scalars(narrowed(sa.select(NotificationRecord.id).where(NotificationRecord.due_at.is_(None))
                                      .order_by(NotificationRecord.id).limit(limit - len(ids))))
    columns = sa.select(R.id, R.incident_id, R.regime_code, R.kind, R.period_label, R.authority, R.state, R.clock_start,
                        R.due_at, R.due_timezone, R.target_at, Incident.reference, Incident.title, Division.name,
                        sa.func.coalesce(User.name, ""), R.decision_pending).join(Incident, Incident.id == R.incident_id) \
        .join(Division, Division.id == Incident.division_id).outerjoin(User, User.id == R.owner_id)
    columns = scoped(columns.where(R.id.in_(ids)), user.actor, R.division_id)
    loaded = {row[0]: BoardEntry(*row) for row in session.execute(columns)} if ids else {}
    rows = [BoardRow(loaded[i], rules.urgency(start=loaded[i].clock_start,
                                              due=deadlines.warn_due(loaded[i].due_at, loaded[i].target_at), now=now))
            for i in ids]
    # Counted along the indexes, one range per urgency (rules.urgency, in ranges of due_at; "more than half the
    # time used" is half_time_at, which the database keeps, reached).
    due = R.due_at

    def count(*where: Any) -> Any:
        return narrowed(sa.select(sa.func.count()).select_from(R).where(*where)).scalar_subquery()

    filters = (_scope(user), authority, division_id, regime_code, owner_id)
    total, undated = _remembered(session, reading, ("counts", *filters),
                                 lambda: tuple(session.execute(sa.select(count(), count(due.is_(None)))).one()))
    U = rules.Urgency
    soon, critical = now + timedelta(hours=24), now + timedelta(hours=4)
    found = session.execute(sa.select(
        count(due <= now), count(due > now, due <= critical), count(due > critical, due <= soon),
        count(due > soon, R.half_time_at <= now))).one()
    counts = dict(zip([U.OVERDUE, U.CRITICAL, U.SOON, U.WATCH], found, strict=True))
    counts[U.NO_DEADLINE] = undated
    # Never below 0: on PostgreSQL a record committed between the two statements is in one count only.
    counts[U.OK] = max(0, total - sum(counts.values()))
    counts = {u: counts[u] for u in U}
    authorities = _remembered(session, reading, ("authorities", _scope(user), division_id),
                              lambda: _authorities(session, user=user, division_id=division_id))
    return Board(rows, counts, list(authorities), total=total)


def _authorities(session: so.Session, *, user: User, division_id: int | None) -> list[str]:
    """The authorities of the open records the user may see: a skip along the (state, authority) index, one seek
    per authority (a recursive walk), where SELECT DISTINCT would read an index entry per open record."""
    R = NotificationRecord
    state = sa.bindparam("state")

    def least(*where: Any) -> Any:
        stmt = sa.select(sa.func.min(R.authority)).where(R.state == state, *where)
        if division_id is not None:
            stmt = stmt.where(R.division_id == division_id)
        return scoped(stmt, user.actor, R.division_id).scalar_subquery()

    walk = sa.select(least().label("authority")).cte("walk", recursive=True)
    walk = walk.union_all(sa.select(least(R.authority > walk.c.authority)).where(walk.c.authority.is_not(None)))
    stmt = sa.select(walk.c.authority).where(walk.c.authority.is_not(None))
    found: set[str] = set()
    for open_state in rules.OPEN_STATES:
        found.update(session.scalars(stmt, {"state": open_state.value}))
    return sorted(found)


# --- warnings --------------------------------------------------------------------------


WARNING_KEY = "notification-warning"
#: How far apart two moments must be for the database's arithmetic (SQLite: Julian days in a double) to tell them
#: apart with certainty; anything closer is left to `rules.due_warning`, which decides exactly.
_MARGIN_SECONDS = 1.0
#: What warnings follow: the earlier of the internal target and the legal deadline (deadlines.warn_due, in SQL).
_WARN_DUE = sa.case((sa.and_(NotificationRecord.target_at.is_not(None),
                             NotificationRecord.target_at < NotificationRecord.due_at), NotificationRecord.target_at),
                    else_=NotificationRecord.due_at)


def _moments(session: so.Session, points: tuple[rules.WarningPoint, ...], now: datetime) -> tuple[Any, Any, list[Any]]:
    """Each point's moment (and whether it applies) as SQL, on one numeric scale: seconds since the epoch on
    PostgreSQL, Julian days on SQLite (both doubles: exact to well under the margin). Returns (now, the margin,
    [(moment, applies)] per point)."""
    R = NotificationRecord
    if session.get_bind().dialect.name == "postgresql":
        def at(column: Any) -> Any:
            return sa.func.date_part("epoch", column)  # a double: EXTRACT's exact numeric is far slower here

        day = 86400.0
        now_n: Any = sa.literal(now.timestamp(), sa.Float)
    else:
        def at(column: Any) -> Any:
            return sa.func.julianday(column)

        day = 1.0
        now_n = sa.literal(now.timestamp() / 86400.0 + 2440587.5, sa.Float)
    margin = _MARGIN_SECONDS / 86400.0 * day
    due, start = at(_WARN_DUE), at(R.clock_start)
    found = []
    for point in points:
        if point.overdue:
            found.append((due, sa.true()))
        elif point.before is not None:
            moment = due - point.before.total_seconds() / 86400.0 * day
            # A point before the clock started is skipped; near the start, let the exact rule decide.
            found.append((moment, sa.or_(R.clock_start.is_(None), moment >= start - margin)))
        else:
            assert point.fraction is not None
            found.append((start + (due - start) * point.fraction,
                          sa.and_(R.clock_start.is_not(None), _WARN_DUE > R.clock_start)))
    return now_n, margin, found


def _warning_candidates(session: so.Session, *, now: datetime,
                        points: tuple[rules.WarningPoint, ...]) -> list[tuple[int, datetime | None, datetime]]:
    """The open records that may owe a warning now: a point has been reached, and it is not known in the database
    that the latest point reached was already warned of. The few left in doubt (moments within a second of each
    other or of now) are returned too: `rules.due_warning` decides; this only spares reading every open record."""
    R = NotificationRecord
    now_n, margin, moments = _moments(session, points, now)
    if session.get_bind().dialect.name == "postgresql":
        due_seconds: Any = sa.cast(sa.func.floor(sa.extract("epoch", _WARN_DUE)), sa.BigInteger)
    else:
        # Whole seconds from the text: strftime() rounds to milliseconds, so .9995 s would become the next second.
        due_seconds = sa.cast(sa.func.strftime("%s", sa.func.substr(_WARN_DUE, 1, 19)), sa.BigInteger)
    maybe = [sa.and_(applies, moment <= now_n + margin) for moment, applies in moments]
    known = []
    for i, (point, (moment, applies)) in enumerate(zip(points, moments, strict=True)):
        # Certainly reached, and certainly the latest point reached...
        latest = sa.and_(applies, moment <= now_n - margin, *[
            sa.or_(sa.not_(maybe[j]), other < moment - margin) for j, (other, _a) in enumerate(moments) if j != i])
        # ...and its warning is in the outbox (in any language, or from before warnings were per language).
        key = (sa.literal(f"{WARNING_KEY}:") + sa.cast(R.id, sa.String) + f":{point.key}:"
               + sa.cast(due_seconds, sa.String))
        sent = sa.exists().where(outbox.OutboxMessage.dedupe_key.in_(
            [key, *(key + f":{language}" for language in LANGUAGES)]))
        known.append(sa.and_(latest, sent))
    stmt = (sa.select(R.id, R.clock_start, _WARN_DUE)
            .where(R.state.in_([s.value for s in rules.OPEN_STATES]), R.due_at.is_not(None), sa.or_(*maybe),
                   sa.not_(sa.or_(*known)))
            .order_by(R.id))
    if session.get_bind().dialect.name == "postgresql":
        # The planner prices the per-record checks high enough to compile the query to machine code, which takes
        # ten times longer than running it (0.8 s against 0.1 s for 100,000 open records). Off for this scan.
        session.execute(sa.text("SET LOCAL jit = off"))
    return [(i, start, due) for i, start, due in session.execute(stmt)]


def warning_key(record_id: int, point: rules.WarningPoint, due: datetime) -> str:
    return f"{WARNING_KEY}:{record_id}:{point.key}:{int(due.timestamp())}"


def warning_scan(session: so.Session, *, now: datetime, points: tuple[rules.WarningPoint, ...] = rules.DEFAULT_POINTS,
                 base_url: str = "") -> int:
    """Tell the owner (and the division's QA managers) at each warning point; tell head-office QA when overdue.

    Each (record, point, deadline) is sent once: the outbox's dedupe key makes a rerun or a restart harmless,
    and a deadline moved later earns its warnings again. Each recipient reads it in their own language (one
    message per language). The database picks out the records that may owe a warning, so a scan reads those, not
    every open record. Returns the number of warnings queued (one per record and point).
    """
    due_now: list[tuple[int, rules.WarningPoint, datetime, str]] = []
    for record_id, start, due in _warning_candidates(session, now=now, points=points):
        point = rules.due_warning(points, start=start, due=due, now=now)
        if point is not None:
            due_now.append((record_id, point, due, warning_key(record_id, point, due)))
    if not due_now:
        return 0
    loaded: dict[int, NotificationRecord] = {}
    for i in range(0, len(due_now), 500):
        chunk = [record_id for record_id, *_rest in due_now[i:i + 500]]
        loaded.update((r.id, r) for r in session.scalars(
            sa.select(NotificationRecord).where(NotificationRecord.id.in_(chunk))
            .options(so.selectinload(NotificationRecord.owner))).unique())
    division_qa: dict[int, list[Recipient]] = {}
    hq: list[Recipient] | None = None
    notices: list[outbox.Notice] = []
    for record_id, point, due, key in due_now:
        record = loaded[record_id]
        incident = record.incident
        if incident.division_id not in division_qa:
            division_qa[incident.division_id] = people(session, roles={Role.DIVISION_QA}, division_id=incident.division_id)
        to = list(division_qa[incident.division_id])
        if record.owner is not None and record.owner.active:
            to.append(as_recipient(record.owner))
        if point.overdue:
            hq = hq if hq is not None else people(session, roles={Role.HEAD_OFFICE_QA})
            to += hq
        # Warnings were per language from the start: the English one's key is "<key>:en" too.
        notices.append(outbox.Notice(people=to, compose=_warning_letter(record, incident, due, point, base_url),
                                     incident_id=incident.id, dedupe_key=key, english_key_plain=False))
    # Queued together: one look-up of the keys already used and one INSERT per thousand, not a query each.
    sent = outbox.enqueue_localised_many(session, notices, now=now)
    queued = 0
    for (record_id, point, _due, _key), messages in zip(due_now, sent, strict=True):
        if not messages:
            continue
        queued += 1
        if point.overdue:
            events.announce(events.notification_overdue, session, record=loaded[record_id], now=now)
    return queued


def _warning_letter(record: NotificationRecord, incident: Incident, due: datetime, point: rules.WarningPoint,
                    base_url: str) -> Callable[[Reader], tuple[str, str]]:
    def compose(reader: Reader) -> tuple[str, str]:
        names = {"regime": record.regime_code, "ref": incident.reference, "due": reader.datetime(due)}
        subject = (_("OVERDUE: %(regime)s report for %(ref)s was due %(due)s", **names) if point.overdue
                   else _("%(regime)s report for %(ref)s due %(due)s", **names))
        body = (f"{incident.reference} {incident.title}\n"
                + _("Division: %(division)s", division=incident.division.name) + "\n"
                + _("Report: %(title)s to %(authority)s", title=record.title, authority=record.authority) + "\n"
                + _("State: %(state)s", state=str(rules.STATE_TITLES[State(record.state)] if not record.decision_pending
                                                  else DECISION_TITLES["pending"])) + "\n"
                + _("Due: %(due)s (%(local)s at the authority)", due=reader.datetime(due),
                    local=stamp(due, record.due_timezone or "UTC")) + "\n"
                + (_("Internal target: %(target)s; legal deadline: %(legal)s", target=reader.datetime(due),
                     legal=reader.datetime(record.due_at)) + "\n" if record.due_at and due < record.due_at else "")
                + f"{record.due_explanation}\n\n{base_url}/incidents/{incident.id}/notifications/{record.id}\n")
        return subject, body

    return compose


#: At most this many drafts to approve on My work (the board lists the rest).
DRAFTS_SHOWN = 50


def drafts_to_approve(session: so.Session, user: User, *, limit: int = DRAFTS_SHOWN) -> list[NotificationRecord]:
    """Drafted records waiting for approval that the user may approve and did not draft (separation of duties: they
    could not sign it), the earliest deadline first; for the approver's My work."""
    if not can(user.actor, Capability.APPROVE):
        return []
    R = NotificationRecord
    stmt = (sa.select(R).where(R.state == rules.State.DRAFTED.value)
            .where(sa.or_(R.drafted_by_id.is_(None), R.drafted_by_id != user.id))
            .order_by(R.due_at.is_(None), R.due_at, R.id).limit(limit * 2))
    found = session.scalars(scoped(stmt, user.actor, R.division_id)).all()
    return [r for r in found if can_work_division(user.actor, r.incident.division_id, Capability.APPROVE)][:limit]
