"""Use cases for recall campaigns: prepare, launch, notify customers, record progress, report, close.

Services flush but never commit: the caller (a view, a command, a job) owns the transaction,
so a change and its audit events land together or not at all.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from qa_incidents.accounts.models import User
from qa_incidents.accounts.service import as_recipient
from qa_incidents.core import audit, events
from qa_incidents.core.countries import country_codes
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.outbox import Reader, enqueue_localised
from qa_incidents.core.permissions import (
    Capability,
    can,
    can_read_division,
    can_work_division,
    scoped,
    unscoped,
)
from qa_incidents.core.sequences import next_value
from qa_incidents.core.signatures import Signature, sign
from qa_incidents.core.storage import StoredFile
from qa_incidents.incidents.models import Incident
from qa_incidents.recalls import rules
from qa_incidents.recalls.models import (
    LookupDay,
    Mailing,
    NewspaperAdvert,
    PopulationLine,
    ProgressEntry,
    RecallCampaign,
    RecallIncident,
    WebNotice,
)
from qa_incidents.recalls.rules import Channel, MailingKind, RecallStatus, Remedy
from qa_incidents.risk import service as risk

LAUNCH_MEANING = "approved recall launch"
CLOSURE_MEANING = "approved recall closure"
CAMPAIGN_FIELDS = ("title", "remedy", "description", "countries", "units_affected", "target_percent", "target_date",
                   "stall_weeks", "report_regimes", "owner_id")
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


# --- reading -----------------------------------------------------------------------------------


def visible(stmt: sa.Select[Any], user: User) -> sa.Select[Any]:
    """Restrict a query over campaigns to what the user may read (division scoping)."""
    return scoped(stmt, user.actor, RecallCampaign.division_id)


def _recall_filters(stmt: sa.Select[Any], *, incident_id: int | None = None, status: str | None = None,
                    division_id: int | None = None, remedy: str | None = None, text: str = "") -> sa.Select[Any]:
    if incident_id is not None:
        stmt = stmt.where(RecallCampaign.id.in_(
            sa.select(RecallIncident.recall_id).where(RecallIncident.incident_id == incident_id)))
    if status:
        stmt = stmt.where(RecallCampaign.status == status)
    if division_id:
        stmt = stmt.where(RecallCampaign.division_id == division_id)
    if remedy:
        stmt = stmt.where(RecallCampaign.remedy == remedy)
    for term in text.split()[:8]:
        stmt = stmt.where(sa.or_(RecallCampaign.reference.icontains(term, autoescape=True),
                                 RecallCampaign.title.icontains(term, autoescape=True)))
    return stmt


def list_recalls(session: so.Session, *, user: User, incident_id: int | None = None,
                 status: str | None = None) -> list[RecallCampaign]:
    """The campaigns the user may read, newest first; optionally those linked to one incident."""
    stmt = _recall_filters(visible(sa.select(RecallCampaign), user), incident_id=incident_id, status=status)
    return list(session.scalars(stmt.order_by(RecallCampaign.id.desc())))


@dataclass
class RecallPage:
    items: list[RecallCampaign]
    total: int
    next_cursor: str | None
    prev_cursor: str | None


def recall_page(session: so.Session, *, user: User, incident_id: int | None = None, status: str | None = None,
                division_id: int | None = None, remedy: str | None = None, text: str = "",
                after: str | None = None, before: str | None = None, limit: int = 50) -> RecallPage:
    """One page of the campaigns the user may read, newest first, by the register's keyset cursors (no OFFSET).

    A tampered cursor raises ValueError (the view answers 400)."""
    from qa_incidents.incidents.service import decode_cursor, encode_cursor

    base = _recall_filters(visible(sa.select(RecallCampaign), user), incident_id=incident_id, status=status,
                           division_id=division_id, remedy=remedy, text=text)
    backwards = before is not None and after is None
    cursor = before if backwards else after
    stmt = base
    if cursor:
        _value, ident = decode_cursor(cursor, RecallCampaign.id)
        stmt = stmt.where(RecallCampaign.id > ident) if backwards else stmt.where(RecallCampaign.id < ident)
    order = RecallCampaign.id.asc() if backwards else RecallCampaign.id.desc()
    rows = list(session.scalars(stmt.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    total = int(session.scalar(sa.select(sa.func.count()).select_from(base.with_only_columns(RecallCampaign.id)
                                                                       .subquery())) or 0)
    has_next = more if not backwards else True
    has_prev = (cursor is not None) if not backwards else more
    return RecallPage(items=rows, total=total,
                      next_cursor=encode_cursor(rows[-1].id, rows[-1].id) if rows and has_next else None,
                      prev_cursor=encode_cursor(rows[0].id, rows[0].id) if rows and has_prev else None)


def get_recall(session: so.Session, *, user: User, recall_id: int) -> RecallCampaign:
    """The campaign if the user may read it; otherwise NotFound, never a hint that it exists."""
    recall = session.get(RecallCampaign, recall_id)
    if recall is None or not can_read_division(user.actor, recall.division_id):
        raise NotFound(str(_l("No such recall.")))
    return recall


def may_manage(user: User, recall: RecallCampaign) -> bool:
    """Whether the user prepares and runs this campaign (division QA of its division, or head office)."""
    return can_work_division(user.actor, recall.division_id, Capability.MANAGE_RECALLS)


def _require_manage(user: User, recall: RecallCampaign) -> None:
    if not may_manage(user, recall):
        raise Forbidden(str(_l("You may read this recall but not change it.")))


def _require_status(recall: RecallCampaign, *allowed: RecallStatus) -> None:
    if recall.status not in {s.value for s in allowed}:
        raise Forbidden(str(_l("Not possible while the recall is %(status)s.",
                               status=rules.RECALL_STATUS_TITLES[RecallStatus(recall.status)])))


def linked_incidents(session: so.Session, recall_id: int, *, user: User | None = None) -> list[Incident]:
    """The recall's incidents (all of its division), those the user may read when a user is given."""
    stmt = (sa.select(Incident).join(RecallIncident, RecallIncident.incident_id == Incident.id)
            .where(RecallIncident.recall_id == recall_id).order_by(RecallIncident.id))
    stmt = (scoped(stmt, user.actor, Incident.division_id) if user is not None
            else unscoped(stmt, "the incidents of one recall, for the recall's own work (drafts, reports, checks)"))
    return list(session.scalars(stmt))


def _primary_incident_id(session: so.Session, recall_id: int) -> int | None:
    """The first linked incident: audit events and follow-up reports hang on its timeline."""
    return session.scalar(sa.select(RecallIncident.incident_id).where(RecallIncident.recall_id == recall_id)
                          .order_by(RecallIncident.id).limit(1))


def _audit(session: so.Session, recall: RecallCampaign, *, user_id: int | None, entity_type: str, entity_id: int,
           action: str, now: datetime, changes: dict[str, Any]) -> None:
    audit.record(session, actor_id=user_id, entity_type=entity_type, entity_id=entity_id, action=action, now=now,
                 changes=changes, incident_id=_primary_incident_id(session, recall.id))


def open_recalls_for(session: so.Session, incident_id: int) -> int:
    """How many recalls linked to the incident are still open (being prepared or launched).

    The incident lifecycle refuses to close an incident while this is not zero.
    """
    return int(session.scalar(unscoped(
        sa.select(sa.func.count(RecallCampaign.id))
        .join(RecallIncident, RecallIncident.recall_id == RecallCampaign.id)
        .where(RecallIncident.incident_id == incident_id,
               RecallCampaign.status.in_([s.value for s in rules.OPEN_STATUSES])),
        "a rule of one incident's lifecycle (closing waits for its recalls), whoever asks")) or 0)


def history(session: so.Session, recall: RecallCampaign) -> list[audit.AuditEvent]:
    """The campaign's own audit events and its children's, newest first."""
    kinds = {"recall": [recall.id]}
    for model, name in ((PopulationLine, "recall_population"), (NewspaperAdvert, "recall_advert"),
                        (WebNotice, "recall_web_notice"), (Mailing, "recall_mailing"),
                        (ProgressEntry, "recall_progress")):
        kinds[name] = list(session.scalars(sa.select(model.id).where(model.recall_id == recall.id)))
    kinds["risk_assessment"] = [a.id for a in risk.history(session, "recall", recall.id)]
    conditions = [sa.and_(audit.AuditEvent.entity_type == k, audit.AuditEvent.entity_id.in_(ids))
                  for k, ids in kinds.items() if ids]
    sig_ids = [i for i in (recall.launch_signature_id, recall.closure_signature_id) if i]
    if sig_ids:
        conditions.append(sa.and_(audit.AuditEvent.entity_type == "signature", audit.AuditEvent.entity_id.in_(sig_ids)))
    return list(session.scalars(sa.select(audit.AuditEvent).where(sa.or_(*conditions))
                                .order_by(audit.AuditEvent.id.desc()).limit(300)))


# --- preparing ------------------------------------------------------------------------------------


@dataclass
class CampaignInput:
    title: str
    remedy: str
    description: str = ""
    countries: list[str] = field(default_factory=list)
    units_affected: int = 0
    target_percent: int = 100
    target_date: date | None = None
    stall_weeks: int = 4
    report_regimes: list[str] = field(default_factory=list)
    owner_id: int | None = None


def _validate(session: so.Session, data: CampaignInput, division_id: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = str(_l("Give the recall a title."))
    elif len(data.title.strip()) > 200:
        errors["title"] = str(_l("At most %(n)d characters.", n=200))
    if data.remedy not in {r.value for r in Remedy}:
        errors["remedy"] = str(_l("Choose a remedy."))
    unknown = [c for c in data.countries if c not in country_codes()]
    if unknown:
        errors["countries"] = str(_l("Unknown country codes: %(codes)s.", codes=", ".join(unknown)))
    if not 0 <= data.units_affected <= 10**12:
        errors["units_affected"] = str(_l("Enter the number of affected units (0 or more)."))
    if not 1 <= data.target_percent <= 100:
        errors["target_percent"] = str(_l("The target is a percentage from 1 to 100."))
    if not 1 <= data.stall_weeks <= 52:
        errors["stall_weeks"] = str(_l("Between 1 and 52 weeks."))
    bad = [r for r in data.report_regimes if r not in rules.REPORT_SCHEDULES]
    if bad:
        errors["report_regimes"] = str(_l("No report schedule is known for %(codes)s.", codes=", ".join(bad)))
    owner = session.get(User, data.owner_id) if data.owner_id else None
    if owner is None or not owner.active or not can_work_division(owner.actor, division_id, Capability.MANAGE_RECALLS):
        errors["owner_id"] = str(_l("Choose an owner who runs recalls for this division."))
    return errors


def owner_candidates(session: so.Session, division_id: int) -> list[User]:
    """Active users who may run recalls for the division."""
    users = session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name))
    return [u for u in users if can_work_division(u.actor, division_id, Capability.MANAGE_RECALLS)]


def create_campaign(session: so.Session, *, user: User, data: CampaignInput, incident_ids: list[int],
                    now: datetime) -> RecallCampaign:
    """Start preparing a recall for one or more incidents of one division; audited."""
    if not incident_ids:
        raise ValidationFailed({"incident": str(_l("A recall starts from at least one incident."))})
    incidents = []
    for incident_id in incident_ids:
        incident = session.get(Incident, incident_id)
        if incident is None or not can_read_division(user.actor, incident.division_id):
            raise NotFound(str(_l("No such incident.")))
        incidents.append(incident)
    division_id = incidents[0].division_id
    if any(i.division_id != division_id for i in incidents):
        raise ValidationFailed({"incident": str(_l("All incidents of a recall belong to one division."))})
    if not can_work_division(user.actor, division_id, Capability.MANAGE_RECALLS):
        raise Forbidden(str(_l("Only QA managers of this division or head-office QA prepare recalls.")))
    errors = _validate(session, data, division_id)
    if errors:
        raise ValidationFailed(errors)
    number = next_value(session, f"recall-{now.year}")
    recall = RecallCampaign(
        reference=f"RC-{now.year}-{number:04d}", status=RecallStatus.DRAFT.value, division_id=division_id,
        title=data.title.strip(), remedy=data.remedy, description=data.description.strip(),
        countries=sorted(set(data.countries)), units_affected=data.units_affected, target_percent=data.target_percent,
        target_date=data.target_date, stall_weeks=data.stall_weeks, report_regimes=sorted(set(data.report_regimes)),
        owner_id=data.owner_id, created_by_id=user.id, created_at=now, updated_by_id=user.id, updated_at=now)
    session.add(recall)
    session.flush()
    for incident in incidents:
        session.add(RecallIncident(recall_id=recall.id, incident_id=incident.id, linked_by_id=user.id, linked_at=now))
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="created", now=now,
           changes={**audit.field_changes({}, audit.snapshot(recall, ("reference", *CAMPAIGN_FIELDS))),
                    "incidents": [None, [i.reference for i in incidents]]})
    for incident in incidents[1:]:
        audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall.id, action="incident_linked",
                     now=now, incident_id=incident.id, changes={"recall": [None, recall.reference]})
    return recall


def update_campaign(session: so.Session, *, user: User, recall_id: int, data: CampaignInput, expected_version: int,
                    now: datetime) -> RecallCampaign:
    """Change the campaign's details (not after closure); refuses to overwrite a newer version."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT, RecallStatus.LAUNCHED)
    if recall.version != expected_version:
        raise ValidationFailed({"version": str(_l("Someone else changed this recall since you opened it. "
                                                  "Reload the page to see their changes."))})
    errors = _validate(session, data, recall.division_id)
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(recall, CAMPAIGN_FIELDS)
    recall.title, recall.remedy, recall.description = data.title.strip(), data.remedy, data.description.strip()
    recall.countries, recall.units_affected = sorted(set(data.countries)), data.units_affected
    recall.target_percent, recall.target_date, recall.stall_weeks = data.target_percent, data.target_date, data.stall_weeks
    recall.report_regimes, recall.owner_id = sorted(set(data.report_regimes)), data.owner_id
    changes = audit.field_changes(before, audit.snapshot(recall, CAMPAIGN_FIELDS))
    if not changes:
        return recall
    recall.updated_by_id, recall.updated_at = user.id, now
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ValidationFailed({"version": str(_l("Someone else changed this recall since you opened it. "
                                                  "Reload the page to see their changes."))}) from None
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="updated", now=now,
           changes=changes)
    return recall


def link_incident(session: so.Session, *, user: User, recall_id: int, reference: str, now: datetime) -> Incident:
    """Link one more incident of the same division to the campaign; audited on both timelines."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT, RecallStatus.LAUNCHED)
    incident = session.scalar(unscoped(sa.select(Incident).where(Incident.reference == reference.strip().upper()),
                                       "one incident by reference: the reader's division is checked below"))
    if incident is None or not can_read_division(user.actor, incident.division_id):
        raise ValidationFailed({"reference": str(_l("No incident with this reference."))})
    if incident.division_id != recall.division_id:
        raise ValidationFailed({"reference": str(_l("This incident belongs to another division."))})
    exists = session.scalar(sa.select(RecallIncident.id).where(RecallIncident.recall_id == recall.id,
                                                               RecallIncident.incident_id == incident.id))
    if exists:
        raise ValidationFailed({"reference": str(_l("This incident is already linked."))})
    session.add(RecallIncident(recall_id=recall.id, incident_id=incident.id, linked_by_id=user.id, linked_at=now))
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall.id, action="incident_linked",
                 now=now, incident_id=incident.id, changes={"incident": [None, incident.reference],
                                                            "recall": [None, recall.reference]})
    return incident


# --- the affected population -------------------------------------------------------------------


def population(session: so.Session, recall_id: int, *, active_only: bool = True) -> list[PopulationLine]:
    stmt = sa.select(PopulationLine).where(PopulationLine.recall_id == recall_id)
    if active_only:
        stmt = stmt.where(PopulationLine.active.is_(True))
    return list(session.scalars(stmt.order_by(PopulationLine.exclude, PopulationLine.model, PopulationLine.id)))


def population_rules(lines: list[PopulationLine]) -> list[rules.PopulationRule]:
    """The stored lines as matching rules (lines that no longer parse are skipped, never guessed)."""
    out = []
    for line in lines:
        try:
            serials = rules.SerialRange.parse(line.serial_first, line.serial_last) if line.serial_first else None
        except rules.RangeError:
            continue
        out.append(rules.PopulationRule(model=rules.normalise_code(line.model), exclude=line.exclude,
                                        lot=rules.normalise_code(line.lot), serials=serials))
    return out


def add_population_line(session: so.Session, *, user: User, recall_id: int, exclude: bool, model: str, lot: str,
                        serial_first: str, serial_last: str, units: int, note: str, now: datetime) -> PopulationLine:
    """Add a model/lot/serial-range line (or an exclusion) to the affected population; audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT, RecallStatus.LAUNCHED)
    errors: dict[str, str] = {}
    model_n = rules.normalise_code(model)
    if not rules.is_well_formed(model_n):
        errors["model"] = str(_l("Enter the model number (letters and digits)."))
    if lot.strip() and not rules.is_well_formed(rules.normalise_code(lot)):
        errors["lot"] = str(_l("A lot number has letters and digits only (dashes and spaces are ignored)."))
    if serial_last.strip() and not serial_first.strip():
        errors["serial_first"] = str(_l("Enter the first serial number of the range."))
    elif serial_first.strip():
        try:
            rules.SerialRange.parse(serial_first, serial_last)
        except rules.RangeError as e:
            errors["serial_last" if "after" in str(e) or "pattern" in str(e) else "serial_first"] = str(e)
    if exclude and not (lot.strip() or serial_first.strip()):
        errors["serial_first"] = str(_l("An exclusion names a lot or serial numbers (to drop a whole model, "
                                        "leave it out of the population)."))
    if units < 0:
        errors["units"] = str(_l("Units cannot be negative."))
    if errors:
        raise ValidationFailed(errors)
    line = PopulationLine(recall_id=recall.id, exclude=exclude, model=model.strip()[:80], lot=lot.strip()[:80],
                          serial_first=serial_first.strip()[:80],
                          serial_last=(serial_last.strip() or serial_first.strip())[:80] if serial_first.strip() else "",
                          units=units, note=note.strip(), created_by_id=user.id, created_at=now)
    session.add(line)
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall_population", entity_id=line.id, action="created",
           now=now, changes=audit.field_changes({}, audit.snapshot(
               line, ("exclude", "model", "lot", "serial_first", "serial_last", "units", "note"))))
    return line


def retire_population_line(session: so.Session, *, user: User, recall_id: int, line_id: int,
                           now: datetime) -> PopulationLine:
    """Take a population line out of use (kept for the record, never deleted); audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT, RecallStatus.LAUNCHED)
    line = session.get(PopulationLine, line_id)
    if line is None or line.recall_id != recall.id:
        raise NotFound(str(_l("No such population line.")))
    if line.active:
        line.active = False
        session.flush()
        _audit(session, recall, user_id=user.id, entity_type="recall_population", entity_id=line.id,
               action="retired", now=now, changes={"active": [True, False]})
    return line


# --- launch and withdrawal ---------------------------------------------------------------------


def launch_problems(session: so.Session, recall: RecallCampaign) -> list[str]:
    """What must be in place before head-office QA can sign the launch."""
    problems = []
    if not linked_incidents(session, recall.id):
        problems.append(str(_l("Link at least one incident.")))
    lines = population(session, recall.id)
    if not any(not line.exclude for line in lines):
        problems.append(str(_l("Describe the affected population (at least one model).")))
    if recall.units_affected <= 0:
        problems.append(str(_l("Enter the number of affected units.")))
    if not recall.countries:
        problems.append(str(_l("Name the countries where affected units were sold.")))
    if (missing := risk.missing_problem(risk.latest(session, "recall", recall.id))) is not None:
        problems.append(missing)
    return problems


def _signed_content(session: so.Session, recall: RecallCampaign) -> dict[str, Any]:
    return {
        "reference": recall.reference, "title": recall.title, "remedy": recall.remedy,
        "countries": recall.countries, "units_affected": recall.units_affected,
        "target_percent": recall.target_percent, "incidents": [i.reference for i in linked_incidents(session, recall.id)],
        "population": [{"exclude": p.exclude, "model": p.model, "lot": p.lot, "serials": [p.serial_first, p.serial_last]}
                       for p in population(session, recall.id)],
        "risk_assessment": risk.signed_summary(risk.latest(session, "recall", recall.id)),
    }


# --- risk assessment ---------------------------------------------------------------------------------------------


def may_assess(user: User, recall: RecallCampaign) -> bool:
    """Whether the user records the recall's risk assessment: whoever prepares it, while it is open."""
    return may_manage(user, recall) and recall.status in {s.value for s in rules.OPEN_STATUSES}


def suggested_frequency(session: so.Session, recall: RecallCampaign) -> str:
    """A first estimate of the accident frequency per unit-year: the linked incidents over the affected units (one
    year in use); the assessor corrects it."""
    count = len(linked_incidents(session, recall.id))
    return f"{count}/{recall.units_affected}" if count and recall.units_affected > 0 else ""


def record_risk_assessment(session: so.Session, *, user: User, recall_id: int, data: risk.AssessmentInput,
                           now: datetime) -> Any:
    """Record the recall's risk assessment (or why none is made), on the first incident's timeline."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    if not may_assess(user, recall):
        raise Forbidden(str(_l("Only whoever prepares an open recall records its risk assessment.")))
    return risk.record(session, user=user, subject_type="recall", subject_id=recall.id, subject_reference=recall.reference,
                       division_id=recall.division_id, incident_id=_primary_incident_id(session, recall.id),
                       data=data, now=now)


def launch(session: so.Session, *, user: User, recall_id: int, password: str, comment: str,
           now: datetime) -> RecallCampaign:
    """Head-office QA approves the launch with an electronic signature."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA approves a recall launch.")))
    _require_status(recall, RecallStatus.DRAFT)
    problems = launch_problems(session, recall)
    if problems:
        raise ValidationFailed({"launch": " ".join(problems)})
    assessment = risk.latest(session, "recall", recall.id)
    # Whoever assessed the risk prepared the decision too: they do not sign it.
    prepared_by = [recall.created_by_id] + ([assessment.assessed_by_id] if assessment is not None else [])
    signature = sign(session, user=user, password=password, meaning=LAUNCH_MEANING, entity_type="recall",
                     entity_id=recall.id, content=_signed_content(session, recall), now=now, comment=comment,
                     incident_id=_primary_incident_id(session, recall.id), prepared_by=prepared_by)
    recall.status, recall.launched_at, recall.launch_signature_id = RecallStatus.LAUNCHED.value, now, signature.id
    recall.updated_by_id, recall.updated_at = user.id, now
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="launched", now=now,
           changes={"status": [RecallStatus.DRAFT.value, RecallStatus.LAUNCHED.value], "signature": [None, signature.id]})
    events.announce(events.recall_launched, session, recall=recall, incidents=linked_incidents(session, recall.id),
                    now=now)
    return recall


def withdraw(session: so.Session, *, user: User, recall_id: int, reason: str, now: datetime) -> RecallCampaign:
    """Abandon a recall that was never launched (with the reason); its incidents may then close."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the recall is withdrawn."))})
    recall.status, recall.withdrawn_reason = RecallStatus.WITHDRAWN.value, reason.strip()
    recall.updated_by_id, recall.updated_at = user.id, now
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="withdrawn", now=now,
           changes={"status": [RecallStatus.DRAFT.value, RecallStatus.WITHDRAWN.value], "reason": [None, reason.strip()]})
    return recall


# --- customer notices -----------------------------------------------------------------------------


@dataclass
class AdvertInput:
    paper: str
    run_on: date | None
    text_as_run: str
    edition: str = ""
    region: str = ""
    country: str = ""
    size: str = ""
    cost: Decimal | None = None
    currency: str = ""


def _check_image(stored: StoredFile | None, field_name: str, errors: dict[str, str]) -> None:
    if stored is not None and stored.content_type not in IMAGE_TYPES:
        errors[field_name] = str(_l("Upload a picture (PNG, JPEG, GIF or WebP)."))


def add_advert(session: so.Session, *, user: User, recall_id: int, data: AdvertInput, image: StoredFile | None,
               image_name: str, now: datetime) -> NewspaperAdvert:
    """Record a newspaper advertisement as it ran (text and image); audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    errors: dict[str, str] = {}
    if not data.paper.strip():
        errors["paper"] = str(_l("Name the newspaper."))
    if data.run_on is None:
        errors["run_on"] = str(_l("Enter the day it ran."))
    if not data.text_as_run.strip():
        errors["text_as_run"] = str(_l("Paste the text as it ran."))
    if data.country and data.country not in country_codes():
        errors["country"] = str(_l("Choose a country from the list."))
    if data.cost is not None and data.cost < 0:
        errors["cost"] = str(_l("The cost cannot be negative."))
    if data.cost is not None and len(data.currency.strip()) != 3:
        errors["currency"] = str(_l("Give the currency as a three-letter code, e.g. JPY."))
    _check_image(image, "image", errors)
    if errors:
        raise ValidationFailed(errors)
    advert = NewspaperAdvert(
        recall_id=recall.id, paper=data.paper.strip()[:200], edition=data.edition.strip()[:120],
        region=data.region.strip()[:120], country=data.country, run_on=data.run_on, size=data.size.strip()[:80],
        cost=data.cost, currency=data.currency.strip().upper()[:3], text_as_run=data.text_as_run.strip(),
        image_sha256=image.sha256 if image else None, image_name=_file_name(image_name, image),
        image_type=image.content_type if image else "", created_by_id=user.id, created_at=now)
    session.add(advert)
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall_advert", entity_id=advert.id, action="created",
           now=now, changes=audit.field_changes({}, audit.snapshot(
               advert, ("paper", "edition", "region", "country", "run_on", "size", "cost", "currency", "image_sha256"))))
    return advert


def _file_name(name: str, stored: StoredFile | None) -> str:
    if stored is None:
        return ""
    return (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or f"picture-{stored.sha256[:12]}"


def web_notices(session: so.Session, recall_id: int) -> list[WebNotice]:
    """Every version of the website notice, newest first."""
    return list(session.scalars(sa.select(WebNotice).where(WebNotice.recall_id == recall_id)
                                .order_by(WebNotice.number.desc())))


def published_notice(session: so.Session, recall_id: int, language: str | None = None) -> WebNotice | None:
    """The version customers see: the most recently published one (in that language, when one is named)."""
    stmt = sa.select(WebNotice).where(WebNotice.recall_id == recall_id, WebNotice.published_at.is_not(None))
    if language is not None:
        stmt = stmt.where(WebNotice.language == language)
    return session.scalar(stmt.order_by(WebNotice.published_at.desc(), WebNotice.number.desc()).limit(1))


def notice_languages(session: so.Session, recall_id: int) -> list[str]:
    """The languages the campaign publishes its notice in (the customer page offers each), in the app's order."""
    from qa_incidents.core.i18n import LANGUAGES

    found = set(session.scalars(sa.select(WebNotice.language).where(WebNotice.recall_id == recall_id,
                                                                    WebNotice.published_at.is_not(None))))
    return [language for language in LANGUAGES if language in found]


def add_web_notice(session: so.Session, *, user: User, recall_id: int, content: dict[str, str],
                   picture: StoredFile | None, picture_name: str, keep_picture_from: int | None,
                   now: datetime) -> WebNotice:
    """Save a new version of the website notice (earlier versions stay as they were); audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.DRAFT, RecallStatus.LAUNCHED)
    errors: dict[str, str] = {}
    _check_image(picture, "picture", errors)
    if len((content.get("heading") or "").strip()) > 200:
        errors["heading"] = str(_l("At most %(n)d characters.", n=200))
    if errors:
        raise ValidationFailed(errors)
    number = (session.scalar(sa.select(sa.func.max(WebNotice.number)).where(WebNotice.recall_id == recall.id)) or 0) + 1
    from qa_incidents.core.i18n import DEFAULT_LANGUAGE, supported_language

    notice = WebNotice(recall_id=recall.id, number=number, created_by_id=user.id, created_at=now,
                       language=supported_language(content.get("language")) or DEFAULT_LANGUAGE,
                       **{name: (content.get(name) or "").strip() for name in rules.NOTICE_FIELDS if name != "picture"})
    if picture is not None:
        notice.picture_sha256, notice.picture_type = picture.sha256, picture.content_type
        notice.picture_name = _file_name(picture_name, picture)
    elif keep_picture_from:
        earlier = session.get(WebNotice, keep_picture_from)
        if earlier is not None and earlier.recall_id == recall.id and earlier.picture_sha256:
            notice.picture_sha256, notice.picture_type = earlier.picture_sha256, earlier.picture_type
            notice.picture_name = earlier.picture_name
    session.add(notice)
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall_web_notice", entity_id=notice.id, action="created",
           now=now, changes={"number": [None, number], "language": [None, notice.language],
                             **audit.field_changes({}, notice.content())})
    return notice


def launch_was_signed(session: so.Session, recall: RecallCampaign) -> bool:
    """Whether the launch carries head-office QA's signature of this very recall (not only the status)."""
    if recall.launch_signature_id is None:
        return False
    signature = session.get(Signature, recall.launch_signature_id)
    return (signature is not None and signature.meaning == LAUNCH_MEANING and signature.entity_type == "recall"
            and signature.entity_id == recall.id)


def publish_web_notice(session: so.Session, *, user: User, recall_id: int, notice_id: int, now: datetime) -> WebNotice:
    """Publish a version on the public page, if it says everything the laws ask for; audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    if not launch_was_signed(session, recall):
        raise Forbidden(str(_l("This recall's launch was never signed by head-office QA: its notice cannot be "
                               "published.")))
    notice = session.get(WebNotice, notice_id)
    if notice is None or notice.recall_id != recall.id:
        raise NotFound(str(_l("No such notice version.")))
    blocking = [p for p in rules.notice_problems(notice.content(), countries=recall.countries) if p.blocking]
    if blocking:
        raise ValidationFailed({"publish": " ".join(p.message for p in blocking)})
    if notice.published_at is None:
        notice.published_at, notice.published_by_id = now, user.id
        session.flush()
        _audit(session, recall, user_id=user.id, entity_type="recall_web_notice", entity_id=notice.id,
               action="published", now=now, changes={"published_at": [None, audit.jsonable(now)]})
    return notice


def add_mailing(session: so.Session, *, user: User, recall_id: int, kind: str, sent_on: date | None, recipients: int,
                country: str, description: str, now: datetime) -> Mailing:
    """Record a batch of letters or e-mails sent to known owners; audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    errors: dict[str, str] = {}
    if kind not in {k.value for k in MailingKind}:
        errors["kind"] = str(_l("Choose letters or e-mails."))
    if sent_on is None:
        errors["sent_on"] = str(_l("Enter the day the batch was sent."))
    if recipients <= 0:
        errors["recipients"] = str(_l("Enter how many owners the batch went to."))
    if country and country not in country_codes():
        errors["country"] = str(_l("Choose a country from the list."))
    if errors:
        raise ValidationFailed(errors)
    mailing = Mailing(recall_id=recall.id, kind=kind, sent_on=sent_on, recipients=recipients, country=country,
                      description=description.strip(), created_by_id=user.id, created_at=now)
    session.add(mailing)
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall_mailing", entity_id=mailing.id, action="created",
           now=now, changes=audit.field_changes({}, audit.snapshot(
               mailing, ("kind", "sent_on", "recipients", "country", "description"))))
    return mailing


def adverts(session: so.Session, recall_id: int) -> list[NewspaperAdvert]:
    return list(session.scalars(sa.select(NewspaperAdvert).where(NewspaperAdvert.recall_id == recall_id)
                                .order_by(NewspaperAdvert.run_on.desc(), NewspaperAdvert.id.desc())))


def mailings(session: so.Session, recall_id: int) -> list[Mailing]:
    return list(session.scalars(sa.select(Mailing).where(Mailing.recall_id == recall_id)
                                .order_by(Mailing.sent_on.desc(), Mailing.id.desc())))


# --- progress ---------------------------------------------------------------------------------------


@dataclass
class ProgressInput:
    recorded_on: date | None
    country: str
    channel: str
    located: int = 0
    notified: int = 0
    repaired: int = 0
    replaced: int = 0
    refunded: int = 0
    note: str = ""


def _progress_errors(recall: RecallCampaign, data: ProgressInput, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.recorded_on is None:
        errors["recorded_on"] = str(_l("Enter the day."))
    elif data.recorded_on > today:
        errors["recorded_on"] = str(_l("The day is in the future."))
    elif recall.launched_at and data.recorded_on < recall.launched_at.date() - timedelta(days=1):
        errors["recorded_on"] = str(_l("The day is before the recall was launched."))
    if data.country not in country_codes():
        errors["country"] = str(_l("Use a two-letter country code, e.g. JP."))
    if data.channel not in {c.value for c in Channel}:
        errors["channel"] = str(_l("Unknown channel; use one of: %(names)s.", names=", ".join(c.value for c in Channel)))
    for name in rules.TALLY_FIELDS:
        if getattr(data, name) < 0:
            errors[name] = str(_l("Counts cannot be negative."))
    if not errors and not any(getattr(data, n) for n in rules.TALLY_FIELDS):
        errors["located"] = str(_l("Enter at least one count."))
    return errors


def record_progress(session: so.Session, *, user: User, recall_id: int, data: ProgressInput, now: datetime,
                    row_key: str | None = None, source: str = "manual") -> ProgressEntry:
    """Add units located, notified and remedied; audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    errors = _progress_errors(recall, data, now.date())
    if errors:
        raise ValidationFailed(errors)
    entry = ProgressEntry(recall_id=recall.id, recorded_on=data.recorded_on, country=data.country, channel=data.channel,
                          source=source, row_key=row_key, note=data.note.strip(), created_by_id=user.id, created_at=now,
                          **{n: getattr(data, n) for n in rules.TALLY_FIELDS})
    session.add(entry)
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall_progress", entity_id=entry.id, action="created",
           now=now, changes=audit.field_changes({}, audit.snapshot(
               entry, ("recorded_on", "country", "channel", *rules.TALLY_FIELDS, "source", "row_key"))))
    return entry


CSV_COLUMNS = ("centre", "reference", "date", "country", "channel", *rules.TALLY_FIELDS)


@dataclass
class ImportResult:
    added: int = 0
    already_there: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def import_progress_csv(session: so.Session, *, user: User, recall_id: int, text: str, now: datetime) -> ImportResult:
    """Import progress rows sent by service centres: good rows kept, each bad row reported with its line.

    Columns: centre, reference, date, country, channel, located, notified, repaired, replaced, refunded.
    (centre, reference) is the row's key: a row imported before is skipped, so a file may be sent twice.
    """
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        result.rejected.append((1, str(_l("Missing columns: %(names)s. Expected: %(all)s.",
                                          names=", ".join(missing), all=",".join(CSV_COLUMNS)))))
        return result
    reader.fieldnames = header
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        if None in row:
            result.rejected.append((line, str(_l("More values than columns."))))
            continue
        centre, reference = values["centre"], values["reference"]
        if not centre or not reference:
            result.rejected.append((line, str(_l("Each row needs the centre and its own reference."))))
            continue
        key = f"csv:{centre}:{reference}"[:200]
        if key in seen or session.scalar(sa.select(ProgressEntry.id).where(ProgressEntry.recall_id == recall.id,
                                                                            ProgressEntry.row_key == key)):
            result.already_there += 1
            continue
        try:
            day = date.fromisoformat(values["date"])
        except ValueError:
            result.rejected.append((line, str(_l("Date “%(v)s” is not YYYY-MM-DD.", v=values["date"][:40]))))
            continue
        counts: dict[str, int] = {}
        bad = ""
        for name in rules.TALLY_FIELDS:
            raw = values[name].replace(",", "") or "0"
            if not raw.isdigit():
                bad = str(_l("%(column)s “%(v)s” is not a whole number of 0 or more.", column=name, v=raw[:40]))
                break
            counts[name] = int(raw)
        if bad:
            result.rejected.append((line, bad))
            continue
        data = ProgressInput(recorded_on=day, country=values["country"].upper(), channel=values["channel"].lower(),
                             note=f"{centre} {reference}", **counts)
        errors = _progress_errors(recall, data, now.date())
        if errors:
            result.rejected.append((line, " ".join(errors.values())))
            continue
        try:
            with session.begin_nested():
                record_progress(session, user=user, recall_id=recall.id, data=data, now=now, row_key=key,
                                source="import")
        except IntegrityError:  # the same row imported concurrently
            result.already_there += 1
            continue
        seen.add(key)
        result.added += 1
    return result


@dataclass
class Progress:
    """Where a campaign stands: totals, breakdowns, completion, the curve and whether it stalled."""

    totals: rules.Tally
    by_country: dict[str, rules.Tally]
    by_channel: dict[str, rules.Tally]
    rate: float
    target_met: bool
    curve: list[tuple[date, int]]
    last_progress_on: date | None
    stalled_since: date | None
    entries: list[ProgressEntry]


def _tally(entry: ProgressEntry) -> rules.Tally:
    return rules.Tally(*(getattr(entry, n) for n in rules.TALLY_FIELDS))


def progress_entries(session: so.Session, recall_id: int, *, start: date | None = None,
                     end: date | None = None) -> list[ProgressEntry]:
    return _entries(session, [recall_id], start=start, end=end)


def _entries(session: so.Session, recall_ids: list[int], *, start: date | None = None,
             end: date | None = None) -> list[ProgressEntry]:
    """The recalls' progress entries (within the dates, if given), oldest first."""
    stmt = sa.select(ProgressEntry).where(ProgressEntry.recall_id.in_(recall_ids))
    if start:
        stmt = stmt.where(ProgressEntry.recorded_on >= start)
    if end:
        stmt = stmt.where(ProgressEntry.recorded_on <= end)
    return list(session.scalars(stmt.order_by(ProgressEntry.recorded_on, ProgressEntry.id)))


def progress(session: so.Session, recall: RecallCampaign, *, today: date) -> Progress:
    """The campaign's progress as of today."""
    return progresses(session, [recall], today=today)[0]


def progresses(session: so.Session, recalls: list[RecallCampaign], *, today: date) -> list[Progress]:
    """progress() of several campaigns, their entries read in one query."""
    by_recall: dict[int, list[ProgressEntry]] = defaultdict(list)
    for entry in _entries(session, [r.id for r in recalls]) if recalls else ():
        by_recall[entry.recall_id].append(entry)
    return [_progress(recall, by_recall[recall.id], today=today) for recall in recalls]


def _progress(recall: RecallCampaign, entries: list[ProgressEntry], *, today: date) -> Progress:
    totals = rules.Tally()
    by_country: dict[str, rules.Tally] = defaultdict(rules.Tally)
    by_channel: dict[str, rules.Tally] = defaultdict(rules.Tally)
    for e in entries:
        t = _tally(e)
        totals = totals + t
        by_country[e.country] = by_country[e.country] + t
        by_channel[e.channel] = by_channel[e.channel] + t
    remedied_days = [e.recorded_on for e in entries if _tally(e).remedied > 0]
    last = max(remedied_days) if remedied_days else None
    launched_on = recall.launched_at.date() if recall.launched_at else None
    curve: list[tuple[date, int]] = []
    stalled = None
    if launched_on:
        end = recall.closed_at.date() if recall.closed_at else today
        curve = rules.cumulative_by_week(((e.recorded_on, _tally(e).remedied) for e in entries),
                                         start=launched_on, end=max(end, launched_on))
        if recall.status == RecallStatus.LAUNCHED.value and not rules.target_met(
                totals.remedied, recall.units_affected, recall.target_percent):
            stalled = rules.stalled_since(last_progress_on=last, launched_on=launched_on, today=today,
                                          weeks=recall.stall_weeks)
    return Progress(totals=totals, by_country=dict(sorted(by_country.items())), by_channel=dict(sorted(by_channel.items())),
                    rate=rules.completion_rate(totals.remedied, recall.units_affected),
                    target_met=rules.target_met(totals.remedied, recall.units_affected, recall.target_percent),
                    curve=curve, last_progress_on=last, stalled_since=stalled, entries=entries)


# --- reports to authorities -------------------------------------------------------------------------


def report_schedule(recall: RecallCampaign, *, today: date) -> list[rules.ReportPeriod]:
    """The progress-report periods of every regime the campaign reports to, begun by today."""
    if recall.launched_at is None:
        return []
    out: list[rules.ReportPeriod] = []
    for code in recall.report_regimes:
        schedule = rules.REPORT_SCHEDULES.get(code)
        if schedule is not None:
            out.extend(rules.report_periods(schedule, launched_on=recall.launched_at.date(), until=today,
                                            closed_on=recall.closed_at.date() if recall.closed_at else None))
    return sorted(out, key=lambda p: (p.due_on, p.regime_code))


def due_instant(period: rules.ReportPeriod) -> datetime:
    """The end of the due day in the authority's time zone, as an aware UTC instant."""
    zone = ZoneInfo(rules.REPORT_SCHEDULES[period.regime_code].time_zone)
    return datetime.combine(period.due_on, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def progress_report(session: so.Session, campaign: RecallCampaign, period_start: date, period_end: date) -> dict[str, Any]:
    """The content of a progress report for the period (inclusive), generated from the recorded data.

    Follows the CPSC monthly progress report: units corrected by location for the period and
    cumulatively, notices sent, advertisements, website postings and serial checks, incidents.
    """
    def rows(entries: list[ProgressEntry]) -> dict[str, dict[str, int]]:
        out: dict[str, rules.Tally] = defaultdict(rules.Tally)
        for e in entries:
            out[e.country] = out[e.country] + _tally(e)
        return {c: {**{n: getattr(t, n) for n in rules.TALLY_FIELDS}, "remedied": t.remedied}
                for c, t in sorted(out.items())}

    period = progress_entries(session, campaign.id, start=period_start, end=period_end)
    cumulative = progress_entries(session, campaign.id, end=period_end)
    total_remedied = sum(_tally(e).remedied for e in cumulative)
    mail = [m for m in mailings(session, campaign.id) if m.sent_on <= period_end]
    ads = [a for a in adverts(session, campaign.id) if a.run_on <= period_end]
    lookups = session.execute(sa.select(sa.func.coalesce(sa.func.sum(LookupDay.checks), 0),
                                        sa.func.coalesce(sa.func.sum(LookupDay.affected), 0))
                              .where(LookupDay.recall_id == campaign.id, LookupDay.day >= period_start,
                                     LookupDay.day <= period_end)).one()
    notice = published_notice(session, campaign.id)
    incidents = linked_incidents(session, campaign.id)
    launched_on = campaign.launched_at.date() if campaign.launched_at else None
    return {
        "reference": campaign.reference,
        "title": campaign.title,
        "remedy": campaign.remedy,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "launched_on": launched_on.isoformat() if launched_on else None,
        "units_affected": campaign.units_affected,
        "target_percent": campaign.target_percent,
        "period_by_country": rows(period),
        "cumulative_by_country": rows(cumulative),
        "period_remedied": sum(_tally(e).remedied for e in period),
        "cumulative_remedied": total_remedied,
        "completion_percent": round(rules.completion_rate(total_remedied, campaign.units_affected) * 100, 1),
        "notices_sent_period": sum(m.recipients for m in mail if m.sent_on >= period_start),
        "notices_sent_cumulative": sum(m.recipients for m in mail),
        "adverts_period": [{"paper": a.paper, "edition": a.edition, "region": a.region, "run_on": a.run_on.isoformat()}
                           for a in ads if a.run_on >= period_start],
        "website_notice_version": notice.number if notice else None,
        "website_published_at": notice.published_at.isoformat() if notice and notice.published_at else None,
        "serial_checks_period": int(lookups[0]),
        "serial_checks_affected_period": int(lookups[1]),
        "incidents": [{"reference": i.reference, "country": i.country, "deaths": i.deaths,
                       "serious_injuries": i.serious_injuries, "minor_injuries": i.minor_injuries,
                       "after_launch": bool(launched_on and i.aware_at.date() > launched_on)} for i in incidents],
    }


def register_due_reports(session: so.Session, *, recall: RecallCampaign, today: date, actor_id: int | None,
                         now: datetime) -> int:
    """Track each progress report that has fallen into a period as a regulator notification record (idempotent).

    Returns how many periods were passed on (records already scheduled are returned unchanged by the records service).
    """
    incident_id = _primary_incident_id(session, recall.id)
    if incident_id is None:
        return 0
    # Imported here: the records module imports the recalls' service.
    from qa_incidents.notifications.records import schedule_follow_up

    count = 0
    for period in report_schedule(recall, today=today):
        schedule = rules.REPORT_SCHEDULES[period.regime_code]
        schedule_follow_up(
            session, incident_id=incident_id, regime_code=period.regime_code, kind="progress_report",
            period_label=period.label, title=f"{schedule.title} {period.label} ({recall.reference})"[:200],
            due_at=due_instant(period), actor_id=actor_id, recall_id=recall.id,
            explanation=" ".join((schedule.source, *schedule.unconfirmed)), is_legal_deadline=not schedule.unconfirmed,
            now=now)
        count += 1
    return count


# --- effectiveness and closure -------------------------------------------------------------------------


def record_effectiveness(session: so.Session, *, user: User, recall_id: int, text: str, now: datetime) -> RecallCampaign:
    """Record the effectiveness check (how the company knows the remedy worked and reached owners); audited."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    _require_manage(user, recall)
    _require_status(recall, RecallStatus.LAUNCHED)
    if len(text.strip()) < 20:
        raise ValidationFailed({"effectiveness_check": str(_l("Describe the check and its result (at least 20 characters)."))})
    before = recall.effectiveness_check
    recall.effectiveness_check, recall.effectiveness_checked_at = text.strip(), now
    recall.effectiveness_checked_by_id = user.id
    recall.updated_by_id, recall.updated_at = user.id, now
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="effectiveness_checked",
           now=now, changes={"effectiveness_check": [before or None, recall.effectiveness_check]})
    return recall


def closure_problems(session: so.Session, recall: RecallCampaign, *, justification: str, today: date) -> dict[str, str]:
    """What stands between the campaign and closure, by form field."""
    problems: dict[str, str] = {}
    p = progress(session, recall, today=today)
    if not p.target_met and len(justification.strip()) < 20:
        problems["justification"] = str(_l(
            "The target of %(target)d %% is not reached (%(rate)s remedied): explain why the recall may close "
            "anyway (at least 20 characters); your signature covers this justification.",
            target=recall.target_percent, rate=rules.percent(p.rate)))
    if recall.effectiveness_checked_at is None:
        problems["effectiveness"] = str(_l("Record the effectiveness check first."))
    return problems


def close(session: so.Session, *, user: User, recall_id: int, password: str, justification: str, comment: str,
          now: datetime) -> RecallCampaign:
    """Head-office QA closes the campaign with an electronic signature."""
    recall = get_recall(session, user=user, recall_id=recall_id)
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA approves a recall closure.")))
    _require_status(recall, RecallStatus.LAUNCHED)
    problems = closure_problems(session, recall, justification=justification, today=now.date())
    if problems:
        raise ValidationFailed(problems)
    p = progress(session, recall, today=now.date())
    content = {**_signed_content(session, recall), "remedied": p.totals.remedied,
               "completion_percent": round(p.rate * 100, 1), "target_met": p.target_met,
               "justification": justification.strip(), "effectiveness_check": recall.effectiveness_check}
    signature = sign(session, user=user, password=password, meaning=CLOSURE_MEANING, entity_type="recall",
                     entity_id=recall.id, content=content, now=now, comment=comment,
                     incident_id=_primary_incident_id(session, recall.id),
                     prepared_by=[recall.effectiveness_checked_by_id])
    recall.status, recall.closed_at, recall.closure_signature_id = RecallStatus.CLOSED.value, now, signature.id
    recall.closure_justification = justification.strip()
    recall.updated_by_id, recall.updated_at = user.id, now
    session.flush()
    _audit(session, recall, user_id=user.id, entity_type="recall", entity_id=recall.id, action="closed", now=now,
           changes={"status": [RecallStatus.LAUNCHED.value, RecallStatus.CLOSED.value], "signature": [None, signature.id],
                    "justification": [None, recall.closure_justification or None]})
    return recall


# --- the public page -------------------------------------------------------------------------------------


def public_campaign(session: so.Session, reference: str,
                    language: str | None = None) -> tuple[RecallCampaign, WebNotice] | None:
    """A campaign customers may see: launched (or closed) with a published notice; None otherwise. The notice in
    the language asked for when the campaign publishes one in it, else its most recent."""
    recall = session.scalar(unscoped(sa.select(RecallCampaign).where(RecallCampaign.reference == reference.strip().upper()),
                                     "the public recall page: launched campaigns with a published notice only"))
    if recall is None or recall.status not in (RecallStatus.LAUNCHED.value, RecallStatus.CLOSED.value):
        return None
    notice = (language and published_notice(session, recall.id, language)) or published_notice(session, recall.id)
    return (recall, notice) if notice is not None else None


def public_campaigns(session: so.Session, language: str | None = None) -> list[tuple[RecallCampaign, WebNotice]]:
    """Every campaign with a notice on the public page, newest launch first (each in the language asked for when it
    publishes one in it)."""
    out = []
    recalls = session.scalars(unscoped(sa.select(RecallCampaign).where(RecallCampaign.status == RecallStatus.LAUNCHED.value)
                                       .order_by(RecallCampaign.launched_at.desc()),
                                       "the public recall page: launched campaigns with a published notice only"))
    for recall in recalls:
        notice = (language and published_notice(session, recall.id, language)) or published_notice(session, recall.id)
        if notice is not None:
            out.append((recall, notice))
    return out


def public_models(session: so.Session, recall_id: int) -> list[str]:
    """The model numbers customers choose from (exclusions reveal nothing: only models are listed)."""
    return sorted({line.model.strip().upper() for line in population(session, recall_id) if not line.exclude})


def check_serial(session: so.Session, *, recall: RecallCampaign, model: str, serial: str, lot: str,
                 today: date) -> rules.Verdict:
    """Whether a customer's unit is affected; counts the check (counts only, nothing about the customer)."""
    verdict = rules.match_unit(population_rules(population(session, recall.id)), model=model, serial=serial, lot=lot)
    affected = 1 if verdict.outcome is rules.Outcome.AFFECTED else 0
    for _ in range(3):
        updated = session.execute(sa.update(LookupDay).where(LookupDay.recall_id == recall.id, LookupDay.day == today)
                                  .values(checks=LookupDay.checks + 1, affected=LookupDay.affected + affected))
        if updated.rowcount:
            break
        try:
            with session.begin_nested():
                session.add(LookupDay(recall_id=recall.id, day=today, checks=1, affected=affected))
            break
        except IntegrityError:
            continue
    return verdict


# --- the scheduler's scan ------------------------------------------------------------------------------------


def status_summary(session: so.Session, incident_id: int, *, today: date) -> list[dict[str, Any]]:
    """One line per recall linked to the incident, for status reports: reference, state, completion, stall."""
    found = []
    recalls = session.scalars(unscoped(
        sa.select(RecallCampaign).join(RecallIncident, RecallIncident.recall_id == RecallCampaign.id)
        .where(RecallIncident.incident_id == incident_id).order_by(RecallCampaign.id),
        "the recalls of one incident (all of its division), for its status reports"))
    for recall in recalls:
        p = progress(session, recall, today=today)
        text = (f"{recall.reference} {recall.title}: {recall.status}, {recall.remedy}; "
                f"{p.totals.remedied:,} of {recall.units_affected:,} units remedied ({rules.percent(p.rate)}, "
                f"target {recall.target_percent} %)" + (f"; no progress since {p.stalled_since}" if p.stalled_since else ""))
        found.append({"reference": recall.reference, "status": recall.status, "rate": p.rate,
                      "stalled": p.stalled_since is not None, "text": text})
    return found


def recall_scan(session: so.Session, now: datetime, base_url: str = "") -> int:
    """E-mail each stalled campaign's owner once per stall; track due progress reports. Returns e-mails queued.

    Call inside a transaction (the scheduler commits). A stall is keyed by the day progress last moved,
    so a campaign that moves and stalls again is reported again. Only campaigns launched here (with the launch
    signature) are watched: a campaign imported as history was run elsewhere and records no progress here.
    """
    queued = 0
    today = now.date()
    recalls = list(session.scalars(sa.select(RecallCampaign).where(
        RecallCampaign.status == RecallStatus.LAUNCHED.value, RecallCampaign.launch_signature_id.is_not(None))))
    for recall in recalls:
        p = progress(session, recall, today=today)
        if p.stalled_since is not None:
            link = f"{base_url.rstrip('/')}/recalls/{recall.id}/progress" if base_url else f"/recalls/{recall.id}/progress"
            def compose(reader: Reader, recall: RecallCampaign = recall, p: Any = p, link: str = link) -> tuple[str, str]:
                return (gettext("Recall %(ref)s has made no progress for %(n)d weeks", ref=recall.reference,
                                n=recall.stall_weeks),
                        gettext("No units of recall %(ref)s (%(title)s) have been remedied since %(since)s. "
                                "Completion stands at %(rate)s against a target of %(target)d %%.\n\n%(link)s",
                                ref=recall.reference, title=recall.title, since=reader.date(p.stalled_since),
                                rate=rules.percent(p.rate), target=recall.target_percent, link=link))

            messages = enqueue_localised(session, people=[as_recipient(recall.owner)], compose=compose, now=now,
                                         incident_id=_primary_incident_id(session, recall.id),
                                         dedupe_key=f"recall-stall:{recall.id}:{p.stalled_since.isoformat()}")
            queued += 1 if messages else 0
        register_due_reports(session, recall=recall, today=today, actor_id=None, now=now)
    return queued
