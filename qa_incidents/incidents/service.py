"""Use cases for incidents: file, edit, comment, attach, find. One call, one transaction's work.

Services flush but never commit: the caller (a view or a CLI command) owns the transaction,
so the change and its audit events land together or not at all.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from qa_incidents.accounts.models import User
from qa_incidents.catalogue.models import Product
from qa_incidents.catalogue.service import CategoryTree
from qa_incidents.core import audit, events, freshness, params
from qa_incidents.core.countries import country_codes
from qa_incidents.core.db import is_db_id, is_db_int
from qa_incidents.core.errors import DomainError, EditConflict, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import (
    Capability,
    can,
    can_read_division,
    can_work_division,
    readable_divisions,
    scope_key,
    scoped,
    unscoped,
)
from qa_incidents.core.sequences import next_value
from qa_incidents.core.storage import StoredFile
from qa_incidents.incidents.models import Attachment, Comment, Incident, IncidentTally
from qa_incidents.incidents.rules import (
    CONTACT_FIELDS,
    IncidentFacts,
    Severity,
    Status,
    format_reference,
    validate_contact,
    validate_facts,
)

FACT_FIELDS = IncidentFacts.field_names()
#: Contact values are audited like any fact; the incident page shows them only to READ_CUSTOMER_CONTACT roles.
AUDITED_FIELDS = (*FACT_FIELDS, "category_id", *CONTACT_FIELDS)


def may_read_contact(user: User) -> bool:
    """Whether the user may see (and record) customer contact data of the incidents they can read."""
    return can(user.actor, Capability.READ_CUSTOMER_CONTACT)


def contact_of(incident: Incident) -> dict[str, str]:
    return {name: getattr(incident, name) or "" for name in CONTACT_FIELDS}


def _check_contact(user: User, contact: dict[str, str] | None) -> dict[str, str]:
    """The cleaned contact fields to store ({} when none given); refused for roles that may not read them."""
    if contact is None:
        return {}
    contact = {name: str(contact.get(name) or "").strip() for name in CONTACT_FIELDS}
    if any(contact.values()) and not may_read_contact(user):
        raise ValidationFailed({"customer_name": str(_l("Your role may not record customer contact data."))})
    errors = validate_contact(contact)
    if errors:
        raise ValidationFailed(errors)
    return contact if may_read_contact(user) else {}


# --- reading ---------------------------------------------------------------------------


def visible(stmt: sa.Select[Any], user: User) -> sa.Select[Any]:
    """Restrict a query over incidents to what the user may read (division scoping)."""
    return scoped(stmt, user.actor, Incident.division_id)


#: An incident with what its pages show (its division, product and category path, who filed and last changed it),
#: in one statement; the product's and the users' own divisions are not shown there and load only if asked for
#: (usually from the session, without a query). Nine tables joined instead of twelve: on PostgreSQL the planner's
#: time grows fast with the joins and was most of the incident page's database time.
#: The statement is built once (building it, with its options, cost more than running it).
_INCIDENT_SHOWN = unscoped(sa.select(Incident).where(Incident.id == sa.bindparam("incident_id"))
                           .options(so.joinedload(Incident.product).lazyload(Product.division),
                                    so.joinedload(Incident.created_by).lazyload(User.division),
                                    so.joinedload(Incident.updated_by).lazyload(User.division)),
                           "one incident by id: get_incident checks the reader's division")


def get_incident(session: so.Session, *, user: User, incident_id: int) -> Incident:
    """The incident if the user may read it; otherwise NotFound, never a hint that it exists."""
    incident = (session.scalars(_INCIDENT_SHOWN, {"incident_id": incident_id}).one_or_none()
                if is_db_id(incident_id) else None)
    if incident is None or not can_read_division(user.actor, incident.division_id):
        raise NotFound(str(_l("No such incident.")))
    return incident


def get_incident_by_reference(session: so.Session, *, user: User, reference: str) -> Incident:
    incident_id = session.scalar(unscoped(sa.select(Incident.id).where(Incident.reference == reference.strip().upper()),
                                          "one incident by reference: get_incident checks the reader"))
    if incident_id is None:
        raise NotFound(str(_l("No such incident.")))
    return get_incident(session, user=user, incident_id=incident_id)


def _require_work(user: User, incident: Incident) -> None:
    if not can_work_division(user.actor, incident.division_id):
        raise Forbidden(str(_l("You may read this incident but not change it.")))


class RecordEnded(DomainError):
    """A closed (or imported, historical) incident's facts are frozen: it changes only by reopening it."""

    status_code = 409


def editable_why_not(incident: Incident) -> str | None:
    """Why the incident's facts cannot be edited now (None when they can)."""
    if incident.status == Status.CLOSED:
        return str(_l("This incident is closed: its facts change only by reopening it (with a reason and your "
                      "electronic signature) from the Workflow panel."))
    if incident.status == Status.HISTORICAL:
        return str(_l("This incident is imported history: its facts are kept as the source gave them. Head-office "
                      "QA may reopen it as live work, with a reason."))
    return None


def facts_of(incident: Incident) -> IncidentFacts:
    """The stated facts of a stored incident (to fill the edit form or compare versions)."""
    return IncidentFacts(**{name: getattr(incident, name) for name in FACT_FIELDS})


# --- filing and editing ----------------------------------------------------------------


_PRODUCT_TO_FILE = sa.select(Product.active, Product.division_id, Product.category_id).where(
    Product.id == sa.bindparam("product_id"))


def product_to_file(session: so.Session, product_id: int) -> sa.Row[Any] | None:
    """The product's own columns a filing checks and copies, read afresh (never a copy already in the session)."""
    return session.execute(_PRODUCT_TO_FILE, {"product_id": product_id}).first()


def filing_errors(facts: IncidentFacts, *, product: sa.Row[Any] | None, may_file: bool, now: datetime,
                  known_countries: Any) -> dict[str, str]:
    """What refuses these facts as a new incident (file_incident, and the import's batches): the facts' own
    problems, a division the filer may not file for, a product not in the catalogue or of another division."""
    errors = validate_facts(facts, now=now, known_countries=known_countries)
    if not may_file:
        errors["division_id"] = str(_l("You may file incidents only for your own division."))
    if product is None or not product.active:
        errors["product_id"] = str(_l("Choose a product from the catalogue."))
    elif product.division_id != facts.division_id:
        errors["product_id"] = str(_l("This product belongs to another division."))
    return errors


def new_incident_row(facts: IncidentFacts, *, user: User, product: sa.Row[Any], now: datetime,
                     contact: dict[str, str], status: Status = Status.REPORTED) -> dict[str, Any]:
    """The incident's columns as filing writes them (all but its reference)."""
    row = {name: _clean(getattr(facts, name)) for name in FACT_FIELDS}
    row["aware_timezone"] = row["aware_timezone"] or user.timezone  # the filer's zone when none is given
    row.update({name: contact.get(name, "") for name in CONTACT_FIELDS})
    row.update(version=1, status=status, severity=None, category_id=product.category_id, created_by_id=user.id,
               created_at=now, updated_by_id=user.id, updated_at=now)
    return row


def _check_facts(session: so.Session, user: User, facts: IncidentFacts, now: datetime) -> sa.Row[Any]:
    """The facts' problems as a ValidationFailed; else the chosen product's row (its category, for the incident)."""
    product = product_to_file(session, facts.product_id)
    errors = filing_errors(facts, product=product, now=now, known_countries=country_codes(),
                           may_file=can_work_division(user.actor, facts.division_id, Capability.FILE_INCIDENT))
    if errors or product is None:
        raise ValidationFailed(errors)
    return product


_INSERT_INCIDENT = sa.insert(Incident).returning(Incident.id)


def file_incident(session: so.Session, *, user: User, facts: IncidentFacts, now: datetime,
                  contact: dict[str, str] | None = None, history: bool = False) -> Incident:
    """Record a new incident with a fresh reference number; audited. `contact`: the customer contact fields. Each of
    its candidate regulator obligations gets its record at once (a "to decide" one a decision due date), before
    triage; `history`: an import about to record it as history, which gets none."""
    product = _check_facts(session, user, facts, now)
    contact = _check_contact(user, contact)
    year = now.year
    number = next_value(session, f"incident-{year}")
    row = new_incident_row(facts, user=user, product=product, now=now, contact=contact)
    row["reference"] = format_reference(year, number)
    # A plain INSERT, then the incident as an object of the session made from the row it wrote (every column given,
    # so none is read back): a fifth of the cost of the ORM's unit of work, paid while SQLite's write lock is held.
    incident = Incident(id=session.connection().execute(_INSERT_INCIDENT, row).scalar_one(), **row)
    so.make_transient_to_detached(incident)
    session.add(incident)
    audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident.id, incident_id=incident.id,
                 action="created", now=now, changes=audit.field_changes({}, audit.snapshot(incident, AUDITED_FIELDS)))
    if not history:
        events.announce(events.incident_filed, session, incident=incident, user=user, now=now)
    return incident


def _clean(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def last_change(session: so.Session, incident_id: int) -> audit.AuditEvent | None:
    """The newest audit event about the incident record itself."""
    return session.scalar(
        sa.select(audit.AuditEvent)
        .where(audit.AuditEvent.entity_type == "incident", audit.AuditEvent.entity_id == incident_id)
        .order_by(audit.AuditEvent.id.desc())
        .limit(1)
    )


def _conflict(session: so.Session, incident: Incident) -> EditConflict:
    session.refresh(incident)
    event = last_change(session, incident.id)
    who = event.actor.name if event and event.actor else incident.updated_by.name
    when = event.occurred_at if event else incident.updated_at
    return EditConflict(current=facts_of(incident), changed_by=who, changed_at=when, current_version=incident.version)


#: Fact fields whose increase is "new harm" (counts grow, a flag turns on).
HARM_FIELDS = ("deaths", "serious_injuries", "minor_injuries", "fire", "smoke", "co_poisoning", "property_damage")


def update_incident(
    session: so.Session, *, user: User, incident_id: int, facts: IncidentFacts, expected_version: int, now: datetime,
    contact: dict[str, str] | None = None,
) -> Incident:
    """Change the stated facts (and the customer contact fields, when given), refusing to overwrite a newer version
    saved by someone else."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _require_work(user, incident)
    if (why := editable_why_not(incident)) is not None:
        raise RecordEnded(why)
    if incident.version != expected_version:
        raise _conflict(session, incident)
    product = _check_facts(session, user, facts, now)
    contact = _check_contact(user, contact)
    assert product is not None
    before = audit.snapshot(incident, AUDITED_FIELDS)
    if not facts.aware_timezone:  # a caller that does not give it keeps the stored one
        facts = dataclasses.replace(facts, aware_timezone=incident.aware_timezone)
    for name in FACT_FIELDS:
        setattr(incident, name, _clean(getattr(facts, name)))
    incident.category_id = product.category_id
    for name, value in contact.items():
        setattr(incident, name, value)
    changes = audit.field_changes(before, audit.snapshot(incident, AUDITED_FIELDS))
    if not changes:
        return incident
    incident.updated_by_id = user.id
    incident.updated_at = now
    try:
        session.flush()  # the version column makes a concurrent save fail here, not silently win
    except StaleDataError:
        session.rollback()
        raise _conflict(session, session.get(Incident, incident_id)) from None  # type: ignore[arg-type]
    audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident.id, incident_id=incident.id,
                 action="updated", now=now, changes=changes)
    events.announce(events.facts_changed, session, incident=incident, user=user, now=now)
    more_harm = [name for name in HARM_FIELDS if name in changes and (changes[name][1] or 0) > (changes[name][0] or 0)]
    if more_harm:
        events.announce(events.harm_increased, session, incident=incident, fields=more_harm, now=now)
    return incident


def add_comment(session: so.Session, *, user: User, incident_id: int, body: str, now: datetime) -> Comment:
    """Add a comment to an incident; audited."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _require_work(user, incident)
    body = body.strip()
    if not body:
        raise ValidationFailed({"body": str(_l("Write something before posting."))})
    if len(body) > 10000:
        raise ValidationFailed({"body": str(_l("At most %(n)d characters.", n=10000))})
    comment = Comment(incident_id=incident.id, author_id=user.id, body=body, created_at=now)
    session.add(comment)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="comment", entity_id=comment.id, incident_id=incident.id,
                 action="commented", now=now, changes={"body": [None, body]})
    events.announce(events.comment_added, session, incident=incident, author=user, comment_id=comment.id, body=body,
                    now=now)
    return comment


def add_attachment(
    session: so.Session, *, user: User, incident_id: int, filename: str, stored: StoredFile, now: datetime
) -> Attachment:
    """Attach an already stored file to an incident; audited."""
    incident = get_incident(session, user=user, incident_id=incident_id)
    _require_work(user, incident)
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or f"attachment-{stored.sha256[:12]}"
    attachment = Attachment(incident_id=incident.id, sha256=stored.sha256, filename=name,
                            content_type=stored.content_type, size=stored.size, uploaded_by_id=user.id, created_at=now)
    session.add(attachment)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="attachment", entity_id=attachment.id,
                 incident_id=incident.id, action="attached", now=now,
                 changes={"file": [None, name], "sha256": [None, stored.sha256], "size": [None, stored.size],
                          "content_type": [None, stored.content_type]})
    return attachment


def get_attachment(session: so.Session, *, user: User, incident_id: int, attachment_id: int) -> Attachment:
    """The attachment if the user may read its incident."""
    get_incident(session, user=user, incident_id=incident_id)
    attachment = session.get(Attachment, attachment_id) if is_db_id(attachment_id) else None
    if attachment is None or attachment.incident_id != incident_id:
        raise NotFound(str(_l("No such attachment.")))
    return attachment


def comments_of(session: so.Session, incident_id: int) -> list[Comment]:
    return list(session.scalars(sa.select(Comment).where(Comment.incident_id == incident_id).order_by(Comment.id)))


def attachments_of(session: so.Session, incident_id: int) -> list[Attachment]:
    return list(session.scalars(sa.select(Attachment).where(Attachment.incident_id == incident_id).order_by(Attachment.id)))


def comments_and_attachments(session: so.Session, incident_id: int) -> tuple[list[Comment], list[Attachment]]:
    return comments_of(session, incident_id), attachments_of(session, incident_id)


def children_present(session: so.Session, incident_id: int) -> frozenset[str]:
    """Which kinds of record hang off the incident at all (comments, attachments, notifications, events, triage
    decisions, escalations, signatures, status reports, pending report, reviews, recalls, watchers, safety notices,
    group alerts, linked complaints), in one query.

    The incident page reads only the kinds that are there: most incidents have two or three of them, and reading an
    empty kind costs as much as the query that finds the incident."""
    from qa_incidents.alerts.models import GroupAlert
    from qa_incidents.core.audit import AuditEvent
    from qa_incidents.core.signatures import Signature
    from qa_incidents.inbox.models import IncidentWatcher
    from qa_incidents.incidents.workflow_models import Escalation, TriageDecision
    from qa_incidents.notifications.models import NotificationRecord
    from qa_incidents.recalls.models import RecallIncident
    from qa_incidents.reports.models import PendingStatusReport, StatusReport
    from qa_incidents.reviews.models import ReviewIncident
    from qa_incidents.safety_notices.models import SafetyNotice

    kinds = {"comments": Comment.incident_id, "attachments": Attachment.incident_id,
             "notifications": NotificationRecord.incident_id, "events": AuditEvent.incident_id,
             "triage_decisions": TriageDecision.incident_id, "escalations": Escalation.incident_id,
             "signatures": Signature.incident_id, "status_reports": StatusReport.incident_id,
             "pending_reports": PendingStatusReport.incident_id, "reviews": ReviewIncident.incident_id,
             "recalls": RecallIncident.incident_id, "watchers": IncidentWatcher.incident_id,
             "safety_notices": SafetyNotice.incident_id,
             "group_alerts": GroupAlert.incident_id,
             # By name: the complaints feature builds on incidents, not the other way round.
             "complaints": sa.table("complaint", sa.column("incident_id", sa.Integer)).c.incident_id}
    global _CHILDREN_PRESENT
    if _CHILDREN_PRESENT is None:  # built and compiled once: as a statement object it cost more than running it
        _CHILDREN_PRESENT = sa.select(*(sa.exists().where(column == sa.bindparam("incident_id")).label(kind)
                                        for kind, column in kinds.items()))
    row = session.execute(_CHILDREN_PRESENT, {"incident_id": incident_id}).one()
    return frozenset(kind for kind, there in zip(kinds, row, strict=True) if there)


_CHILDREN_PRESENT: sa.Select[Any] | None = None


# --- the register ----------------------------------------------------------------------


@dataclass
class RegisterFilter:
    status: Status | None = None
    severity: Severity | None = None
    division_id: int | None = None
    category_id: int | None = None
    country: str | None = None
    aware_from: datetime | None = None  # inclusive
    aware_to: datetime | None = None  # exclusive
    text: str = ""
    assignee_id: int | None = None  # assigned to this person
    unassigned: bool = False  # assigned to nobody


#: Sort name → (column, descending). Every sort is completed by the id, so keys are unique.
SORTS: dict[str, tuple[Any, bool]] = {
    "aware_desc": (Incident.aware_at, True),
    "aware_asc": (Incident.aware_at, False),
    "occurred_desc": (Incident.occurred_at, True),
    "occurred_asc": (Incident.occurred_at, False),
    "reference_desc": (Incident.id, True),
    "reference_asc": (Incident.id, False),
}
SORT_TITLES = {
    "aware_desc": _l("Became aware: newest first"),
    "aware_asc": _l("Became aware: oldest first"),
    "occurred_desc": _l("Occurred: newest first"),
    "occurred_asc": _l("Occurred: oldest first"),
    "reference_desc": _l("Reference: newest first"),
    "reference_asc": _l("Reference: oldest first"),
}


#: What a listing shows of an incident (the register's table): its own columns and the product's model, read as
#: plain rows. Whole incidents would bring a dozen eagerly joined tables (people, their divisions, the category
#: tree) and cost more to build than the rest of the page; the division's name comes from the page's divisions.
LISTING_COLUMNS = (Incident.id, Incident.reference, Incident.title, Incident.status, Incident.severity,
                   Incident.division_id, Incident.country, Incident.aware_at, Incident.occurred_at,
                   Product.model.label("product_model"))


@dataclass
class RegisterPage:
    items: list[Incident]  # with `listing`: rows of LISTING_COLUMNS
    total: int
    by_status: dict[str, int]
    next_cursor: str | None
    prev_cursor: str | None
    sort: str
    filters: RegisterFilter = field(default_factory=RegisterFilter)
    #: True when `total` (or a status count named in `capped`) is a lower bound: "at least this many".
    total_capped: bool = False
    capped: frozenset[str] = frozenset()


def _filtered(session: so.Session, stmt: sa.Select[Any], f: RegisterFilter, *, with_status: bool = True,
              text_limit: int | None = None, page: bool = False) -> sa.Select[Any]:
    """The filters as conditions on `stmt`. `text_limit`: see _text_term; `page`: the statement reads a register
    page (on SQLite a very dense text term is then tested row by row as the page is read in its sort's order)."""
    if with_status and f.status:
        stmt = stmt.where(Incident.status == f.status)
    if f.severity:
        stmt = stmt.where(Incident.severity == f.severity)
    if f.division_id:
        stmt = stmt.where(Incident.division_id == f.division_id)
    if f.category_id:
        stmt = stmt.where(Incident.category_id.in_(_descendants(session, f.category_id)))
    if f.country:
        stmt = stmt.where(Incident.country == f.country)
    if f.aware_from:
        stmt = stmt.where(Incident.aware_at >= f.aware_from)
    if f.aware_to:
        stmt = stmt.where(Incident.aware_at < f.aware_to)
    if f.assignee_id is not None:
        stmt = stmt.where(Incident.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(Incident.assignee_id.is_(None))
    if text := f.text.strip():
        dialect = session.get_bind().dialect.name
        for term in text_terms(text):
            products = _products_matching(session, term)
            row_by_row = page and dialect == "sqlite" and _row_by_row(session, term)
            ids = _fts_ids(session, term) if dialect == "sqlite" and len(term) >= INDEXED_TERM else None
            stmt = stmt.where(_text_term(term, dialect, products, text_limit, row_by_row=row_by_row, ids=ids))
    return stmt


# --- the register's text filter --------------------------------------------------------
#
# Each term is a case-insensitive substring of the reference, title, description, lots, serials or place, or of the
# product's model or name; every term must match. Through an index on both databases (migration 0038): SQLite's
# FTS5 table `incident_fts` with the trigram tokenizer, PostgreSQL's trigram GIN index (pg_trgm) over the columns
# joined by a space (no term holds one, so no term matches across two columns). A trigram index finds substrings of
# three characters or more, Japanese as well as English; a shorter term (a two-kanji word such as 発火) is looked
# for by reading the rows, as before.

TEXT_COLUMNS = (Incident.reference, Incident.title, Incident.description, Incident.lot_numbers,
                Incident.serial_numbers, Incident.place)
#: Exactly the expression PostgreSQL's index holds (migration 0038 TEXT_SQL): the planner uses the index only for it.
_PG_TEXT = sa.literal_column(" || ' ' || ".join(f"incident.{c.key}" for c in TEXT_COLUMNS), sa.Text)
_FTS = sa.table("incident_fts", sa.column("rowid", sa.Integer))
_FTS_MATCH = sa.literal_column("incident_fts", sa.Text)
#: Shorter terms cannot use a trigram index.
INDEXED_TERM = 3
MAX_TERMS = 8


def text_terms(text: str) -> list[str]:
    """The terms of a text filter (at most eight, as before)."""
    return [t for t in text.split() if t][:MAX_TERMS]


def _products_matching(session: so.Session, term: str) -> list[int]:
    """The products whose model or name holds the term (the catalogue is small: read here, so the incidents' query
    holds a plain list the planner can estimate, or nothing when no product matches, as for most words)."""
    memo: dict[Any, Any] | None = session.info.get("register_terms")
    if memo is not None and ("products", term) in memo:
        return memo[("products", term)]  # type: ignore[no-any-return]
    found = list(session.scalars(sa.select(Product.id).where(sa.or_(
        Product.model.icontains(term, autoescape=True), Product.name.icontains(term, autoescape=True)))))
    if memo is not None:
        memo[("products", term)] = found
    return found


def _text_term(term: str, dialect: str, products: list[int], limit: int | None = None, *,
               row_by_row: bool = False, ids: list[int] | None = None) -> Any:
    """The condition one term of the text filter puts on incidents, given the products whose model or name holds it
    (SQLite, with `limit`: only the first `limit` incidents the index finds for it, and the first `limit` of the
    products', in id order; for counts that stop early. `row_by_row`: each row read is tested itself, see
    _row_by_row. `ids`: the index's first matches as _fts_ids read them)."""
    by_product = [Incident.product_id.in_(products)] if products else []
    if len(term) < INDEXED_TERM:
        return sa.or_(*(c.icontains(term, autoescape=True) for c in TEXT_COLUMNS), *by_product)
    if row_by_row:  # SQLite's LIKE folds ASCII case, as the trigram index does (_row_by_row asks for ASCII terms)
        return sa.or_(*(c.contains(term, autoescape=True) for c in TEXT_COLUMNS), *by_product)
    if dialect == "postgresql":
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return sa.or_(_PG_TEXT.ilike(f"%{escaped}%", escape="\\"), *by_product)
    found: Any
    if ids is not None and (len(ids) <= VERY_DENSE_TERM or (limit is not None and limit <= len(ids))):
        # The index's matches as read once for this page (_fts_ids), handed back as one JSON array.
        listed = sa.func.json_each(json.dumps(ids if limit is None else ids[:limit])).table_valued("value")
        found = sa.select(listed.c.value)
    else:
        found = sa.select(_FTS.c.rowid).where(_FTS_MATCH.op("MATCH")(_phrase(term)))
        if limit is not None:  # SQLite allows no LIMIT on a member of a compound SELECT: the limited list as a subquery
            first = found.limit(limit).subquery()
            found = sa.select(first.c.rowid)
    if not products:
        return Incident.id.in_(found)
    # The product's incidents joined to the index's as one list of ids, not OR-ed beside it: SQLite then looks each
    # id up, where an OR made it read every incident of the asked status and test each one.
    other = so.aliased(Incident)
    of_products = sa.select(other.id).where(other.product_id.in_(products))
    if limit is not None:
        firsts = of_products.limit(limit).subquery()  # any `limit` of them (in id order they would all be sorted)
        of_products = sa.select(firsts.c.id)
    return Incident.id.in_(sa.union_all(found, of_products))


def encode_cursor(value: Any, ident: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, ident])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, column: Any) -> tuple[Any, int]:
    """The (sort value, id) pair in a cursor; ValueError if it was tampered with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if column is Incident.aware_at or column is Incident.occurred_at:
            value = params.moment(value, aware=True)  # year 1 or 9999 would overflow in UTC: not a cursor
            if value is None:
                raise ValueError("not a moment")
        elif not is_db_int(value):
            raise ValueError("bad value")
        if not is_db_id(ident):
            raise ValueError("bad id")
        return value, ident
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError("invalid cursor") from e


def _descendants(session: so.Session, category_id: int) -> set[int]:
    """The category and those below it (within one register page the tree is read once)."""
    memo: dict[Any, Any] | None = session.info.get("register_terms")
    tree = memo.get(("category_tree",)) if memo is not None else None
    if tree is None:
        tree = CategoryTree.load(session)
        if memo is not None:
            memo[("category_tree",)] = tree  # a tuple: no text term is one
    return tree.descendants(category_id)


def register(
    session: so.Session,
    *,
    user: User,
    filters: RegisterFilter,
    sort: str = "aware_desc",
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
    count_cap: int | None = None,
    listing: bool = False,
) -> RegisterPage:
    """One page of the incidents the user may read, by keyset pagination (no OFFSET, so deep pages stay fast).

    The counts are exact unless `count_cap` is given (see register_counts). With `listing`, the items are
    rows of only what a listing shows (LISTING_COLUMNS), not incidents."""
    if sort not in SORTS:
        sort = "aware_desc"
    session.info["register_terms"] = {}  # each text term counted, and its products found, once a page
    try:
        return _register_of(session, user=user, filters=filters, sort=sort, after=after, before=before, limit=limit,
                            count_cap=count_cap, listing=listing)
    finally:
        session.info.pop("register_terms", None)


def _register_of(session: so.Session, *, user: User, filters: RegisterFilter, sort: str, after: str | None,
                 before: str | None, limit: int, count_cap: int | None, listing: bool) -> RegisterPage:
    column, descending = SORTS[sort]
    base = _filtered(session, visible(sa.select(Incident), user), filters, page=True)
    backwards = before is not None and after is None
    stmt = base
    cursor = after if not backwards else before
    if cursor:
        value, ident = decode_cursor(cursor, column)
        key = sa.tuple_(column, Incident.id)
        forward_is_less = descending != backwards
        stmt = stmt.where(key < (value, ident)) if forward_is_less else stmt.where(key > (value, ident))
    reverse = descending != backwards
    order = [column.desc(), Incident.id.desc()] if reverse else [column.asc(), Incident.id.asc()]
    # The page's ids first, then their rows: the ids come from one of the (filter, sort key, id) indexes alone
    # (an index-only scan), where a query for whole rows lets PostgreSQL prefer a plain sort-key index and then
    # filter thousands of rows out; the rows are then fetched by primary key.
    reading = _COUNT_CACHE.read(session) if not filters.text.strip() else None  # first (see register_counts)
    return _register_page(session, user=user, filters=filters, stmt=stmt, column=column, sort=sort,
                          backwards=backwards, cursor=cursor, order=order, limit=limit, count_cap=count_cap,
                          listing=listing, reading=reading)


def _register_page(session: so.Session, *, user: User, filters: RegisterFilter, stmt: Any, column: Any, sort: str,
                   backwards: bool, cursor: str | None, order: list[Any], limit: int, count_cap: int | None,
                   listing: bool, reading: freshness.Reading | None) -> RegisterPage:
    counts = register_counts(session, user=user, filters=filters, cap=count_cap, reading=reading)
    ids_stmt = stmt.with_only_columns(Incident.id).order_by(*order).limit(limit + 1)
    if counts.total == 0 and not counts.total_capped and tally_counts_apply(filters):
        ids: list[int] = []  # the tally says none match: nothing to look for
    else:
        index = (_sqlite_text_index(session, filters, sort) if filters.text.strip()
                 else _sqlite_index(session, user, filters, sort, counts, limit, reading))
        if index is not None:
            ids_stmt = ids_stmt.with_hint(Incident, index, "sqlite")
        ids = list(session.scalars(ids_stmt))
    fetch: Any = visible((sa.select(*LISTING_COLUMNS).join(Product, Product.id == Incident.product_id) if listing
                          else sa.select(Incident)).where(Incident.id.in_(ids)), user)
    found = session.execute(fetch).all() if listing else session.scalars(fetch)
    by_id = {incident.id: incident for incident in found} if ids else {}
    rows = [by_id[i] for i in ids]
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    def key_of(incident: Incident) -> str:
        return encode_cursor(getattr(incident, column.key), incident.id)

    has_next = more if not backwards else True
    has_prev = (cursor is not None) if not backwards else more
    return RegisterPage(
        items=rows,
        total=counts.total,
        by_status=counts.by_status,
        next_cursor=key_of(rows[-1]) if rows and has_next else None,
        prev_cursor=key_of(rows[0]) if rows and has_prev else None,
        sort=sort,
        filters=filters,
        total_capped=counts.total_capped,
        capped=counts.capped,
    )


#: SQLite's choice of index for a register page, where its planner (without statistics it assumes ten rows per
#: equality) would read a whole division or the whole sort index to find a rare combination: the exact counts of the
#: tally say how many rows each way would read. (PostgreSQL keeps statistics and plans well by itself.)
_ORDERED = {  # sort column → (index led by it, by status, by division and status)
    "aware_at": ("ix_incident_aware_id", "ix_incident_status_aware_id", "ix_incident_division_status_aware_id"),
    "occurred_at": ("ix_incident_occurred_id", "ix_incident_status_occurred_id",
                    "ix_incident_division_status_occurred_id"),
}


#: sort column → {filter: the index led by that filter, then the sort column and id} (migration 0046).
_FILTER_ORDERED = {
    "aware_at": {"country": "ix_incident_country_aware_id", "category_id": "ix_incident_category_aware_id",
                 "severity": "ix_incident_severity_aware_id"},
    "occurred_at": {"country": "ix_incident_country_occurred_id", "category_id": "ix_incident_category_occurred_id",
                    "severity": "ix_incident_severity_occurred_id"},
}


def _sqlite_index(session: so.Session, user: User, f: RegisterFilter, sort: str, counts: RegisterCounts,
                  limit: int, reading: freshness.Reading | None = None) -> str | None:
    """How SQLite should read a register page's ids: `INDEXED BY` an index, or `NOT INDEXED` (the table in id
    order); None: as its planner likes."""
    if session.get_bind().dialect.name != "sqlite" or not tally_counts_apply(f) or counts.total_capped:
        return None
    found = max(counts.total, 1)

    def rows(**only: Any) -> int:  # how many incidents the reader may see match these filters alone (kept counts)
        n = register_counts(session, user=user, filters=RegisterFilter(**only), reading=reading)
        return n.by_status.get(only["status"].value, 0) if "status" in only else n.total

    dates = {"aware_from": f.aware_from, "aware_to": f.aware_to} if f.aware_from or f.aware_to else {}
    column, _descending = SORTS[sort]
    # Read in the sort's order until the page is full: about limit × (rows in the index's range) / (rows found).
    division = f.division_id or (next(iter(readable_divisions(user.actor) or ()), None)
                                 if len(readable_divisions(user.actor) or ()) == 1 else None)
    ranged = dates if column.key == "aware_at" else {}  # the sort-led indexes hold the dates' range in order
    if column.key in _ORDERED:
        plain, by_status, by_division = _ORDERED[column.key]
        if f.status and division:
            ordered, span = by_division, rows(status=f.status, division_id=division, **ranged)
        elif f.status:
            ordered, span = by_status, rows(status=f.status, **ranged)
        else:
            ordered, span = plain, rows(**ranged)
    else:
        ordered, span = None, rows()  # the reference sorts read the table itself in id order
    # Incidents are numbered, and occur, about in the order the company learns of them: with a date range, a read in
    # id or occurrence order meets the range's rows together, not spread evenly, so its early stop cannot be counted on.
    correlated = bool(dates) and column.key != "aware_at"
    best, cost = ordered or "", span if found >= span or correlated else min(span, (limit + 1) * span // found)
    # Or an index led by one filter and then the sort key (migration 0046): the filter's rows in the sort's order.
    # (A category with sub-categories is several ranges, not one order: read whole below instead.)
    # With a date range and another sort, the same index led by the filter then aware_at holds just the rows within
    # both, to be read whole and sorted.
    for name in ("country", "category_id", "severity"):
        value = getattr(f, name)
        if value is None or (name == "category_id" and len(_descendants(session, value)) > 1):
            continue
        if column.key in _FILTER_ORDERED:
            n = rows(**{name: value}, **ranged)
            if found < n and not correlated:
                n = min(n, (limit + 1) * n // found)
            if n < cost:
                best, cost = _FILTER_ORDERED[column.key][name], n
        if dates and column.key != "aware_at":
            n = rows(**{name: value}, **dates)
            if n < cost:
                best, cost = _FILTER_ORDERED["aware_at"][name], n
    # Or read every row of one filter's index, then sort them; for the reference sorts an index of one column is in id
    # order within its value (SQLite keeps the rowid in every index), so reading it stops once the page is full.
    # (Statuses are not spread evenly: the oldest incidents are closed, so `status` leads when it is filtered.)
    by_id = column.key == "id"
    choices: list[tuple[str, dict[str, Any]]] = []
    if f.status and by_id:
        choices.append(("ix_incident_status", {"status": f.status}))
    if f.category_id:
        choices.append(("ix_incident_category_id", {"category_id": f.category_id}))
    if f.country:
        choices.append(("ix_incident_country", {"country": f.country}))
    if f.severity:
        choices.append(("ix_incident_severity", {"severity": f.severity}))
    if f.division_id:
        choices.append(("ix_incident_division_id", {"division_id": f.division_id}))
    if dates and column.key != "aware_at":
        choices.append(("ix_incident_aware_id", dates))
    for index, only in choices:
        n = rows(**only)
        ordered_here = by_id and index != "ix_incident_aware_id" and not (
            index == "ix_incident_category_id" and len(_descendants(session, f.category_id)) > 1)
        if ordered_here and found < n and not correlated:
            n = min(n, (limit + 1) * n // found)
        if n < cost or (index == "ix_incident_status" and by_id):
            best, cost = index, n
    return f"INDEXED BY {best}" if best else "NOT INDEXED"


#: A text term found in more incidents than this is dense enough to read the page in the sort's order.
DENSE_TERM = 2_000
#: A text term found in more incidents than this (one in 125 of a million) is tested on each row as the page is read
#: in the sort's order (a page is full after about 50 × incidents / matches rows), instead of listing every match
#: first: a common word such as "cord" has hundreds of thousands of them (a page took 0.2–0.3 s; row by row, 1 ms).
VERY_DENSE_TERM = 8_000
_FTS_FIRST = sa.text("SELECT rowid FROM incident_fts WHERE incident_fts MATCH :phrase LIMIT :n")


def _fts_ids(session: so.Session, term: str) -> list[int]:
    """The ids of the first VERY_DENSE_TERM + 1 incidents SQLite's text index finds for a term, in id order (all of
    them when there are no more than VERY_DENSE_TERM). A long word's phrase of trigrams costs the index tens of
    milliseconds, so within one register page (register() keeps `register_terms` in session.info for its own
    duration) it is asked once, and its counts and its page read this list."""
    memo: dict[Any, Any] | None = session.info.get("register_terms")
    if memo is not None and ("ids", term) in memo:
        return memo[("ids", term)]  # type: ignore[no-any-return]
    ids = list(session.scalars(_FTS_FIRST, {"phrase": _phrase(term), "n": VERY_DENSE_TERM + 1}))
    if memo is not None:
        memo[("ids", term)] = ids
    return ids


def _phrase(term: str) -> str:
    """FTS5: the term as one quoted string (a substring for the trigram tokenizer), its quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def _fts_matches(session: so.Session, term: str) -> int:
    """How many incidents a term matches on SQLite: those its text index finds and those of the products whose model
    or name holds it, counted up to VERY_DENSE_TERM + 1 (enough to tell a dense term, a very dense one and a count
    cut at TEXT_COUNT_CAP). Within one register page each term is counted once."""
    memo: dict[Any, Any] | None = session.info.get("register_terms")
    if memo is not None and term in memo:
        return memo[term]  # type: ignore[no-any-return]
    n = len(_fts_ids(session, term))
    if products := _products_matching(session, term):
        n += int(session.scalar(sa.select(sa.func.count()).select_from(
            sa.select(Incident.id).where(Incident.product_id.in_(products)).limit(VERY_DENSE_TERM + 1).subquery()))
            or 0)
    n = min(n, VERY_DENSE_TERM + 1)
    if memo is not None:
        memo[term] = n
    return n


def _row_by_row(session: so.Session, term: str) -> bool:
    """Whether a register page tests the term on each row it reads (SQLite): a very dense term of ASCII letters
    (SQLite's LIKE folds the case of ASCII letters only; the trigram index folds every letter's)."""
    return len(term) >= INDEXED_TERM and term.isascii() and _fts_matches(session, term) > VERY_DENSE_TERM


def _sqlite_text_index(session: so.Session, f: RegisterFilter, sort: str) -> str | None:
    """How SQLite should read a text search's page: by default every match is fetched and sorted (few matches:
    cheap); when every term is found in more than DENSE_TERM incidents, in the sort's order instead, keeping the
    rows whose id the index returned (a page is full after about 50 × 1,000,000 / matches index entries)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    terms = text_terms(f.text)
    if any(len(t) < INDEXED_TERM for t in terms):
        return None
    for term in terms:
        if _fts_matches(session, term) <= DENSE_TERM:
            return None
    column, _descending = SORTS[sort]
    if column.key in _ORDERED:
        plain, by_status, _by_division = _ORDERED[column.key]
        return f"INDEXED BY {by_status if f.status else plain}"
    return "INDEXED BY ix_incident_status" if f.status else "NOT INDEXED"


def tally_counts_apply(f: RegisterFilter) -> bool:
    """Whether the tally can count these filters (a short date range is told only by tally_counts itself)."""
    return not f.text.strip() and f.assignee_id is None and not f.unassigned


# --- the register's counts --------------------------------------------------------------
#
# Counting every matching row is the one part of a register page whose cost grows with the table (a million
# incidents: ~0.1 s on SQLite for each of two COUNTs). So the counts come from `incident_tally` (migration 0038):
# per status, division and severity, at eight grains (with or without the category, the country and the month of
# awareness, UTC), kept by triggers in every writer's transaction. A page sums the rows of the one grain its filters
# need: a few hundred at most, however many incidents there are. A date range is summed over whole UTC months, each
# end moved to the nearest month boundary, and the stretch between the boundary and the end the reader asked for
# (added or taken off) is counted from the incidents themselves through the aware_at index: hours for a month asked
# in the reader's time zone, at most half a month for any date.
# What the tally cannot answer (a text search, an assignee, a range shorter than that rounding) is counted as before:
# at most `cap` rows per status (an index range scan that stops early; "more than 10,000" beyond that). Every count
# is also kept under the `incident-register` marker by the rule of core/freshness.py (the marker moves on every
# write to an incident column a count filters on). The key holds everything else the counts depend on: the
# reader's scope, the filters, the category's descendants. Free-text searches are not kept.

COUNT_CAP = 10_000
#: A text search counts at most this many matching rows ("more than 1,000" beyond): each is a row to fetch.
TEXT_COUNT_CAP = 1_000
REGISTER_MARKER = "incident-register"
#: The marker a whole register page is remembered under (core/pagecache.py).
REGISTER_PAGE_MARKER = "register-page"
_COUNT_CACHE = freshness.Kept(REGISTER_MARKER, size=4096)  # a few hundred bytes each


@dataclass(frozen=True)
class Listed:
    """A division, category or saved view as the register page lists it: plain values, shared between requests."""

    id: int
    name: str
    query: str = ""


@dataclass(frozen=True)
class RegisterLists:
    divisions: tuple[Listed, ...]  # every division, head office first, by name
    categories: tuple[Listed, ...]  # every category, by path (the name is the path)
    saved_views: tuple[Listed, ...]  # the reader's own views, by name


#: The register page's lists, read on every page that is not served whole from memory: kept under the register
#: page's own marker (which moves on every write to divisions, products, categories and saved views), not counted in
#: the cache figures (they are read beside each page's own work). The reader's views are kept per reader.
_REGISTER_LISTS = freshness.Kept(REGISTER_PAGE_MARKER, size=512, counted=False)  # small tuples; stale ones age out


def register_lists(session: so.Session, user: User) -> RegisterLists:
    """The divisions, categories and the reader's saved views the register page shows (its filters' choices)."""
    from qa_incidents.accounts.service import list_divisions
    from qa_incidents.catalogue.service import list_categories
    from qa_incidents.incidents import saved_views

    reading = _REGISTER_LISTS.read(session)
    shared = _REGISTER_LISTS.peek(reading, "catalogue")
    if shared is None:
        shared = (tuple(Listed(d.id, d.name) for d in list_divisions(session)),
                  tuple(Listed(c.id, c.path) for c in list_categories(session)))
        _REGISTER_LISTS.keep(session, reading, "catalogue", shared)
    views = _REGISTER_LISTS.peek(reading, ("views", user.id))
    if views is None:
        views = tuple(Listed(v.id, v.name, v.query) for v in saved_views.views_of(session, user))
        _REGISTER_LISTS.keep(session, reading, ("views", user.id), views)
    return RegisterLists(divisions=shared[0], categories=shared[1], saved_views=views)


@dataclass(frozen=True)
class RegisterCounts:
    total: int
    by_status: dict[str, int]
    total_capped: bool = False
    capped: frozenset[str] = frozenset()


def _capped_count(session: so.Session, stmt: sa.Select[Any], cap: int | None) -> tuple[int, bool]:
    """COUNT of the rows of `stmt` (a SELECT of Incident.id), reading at most cap + 1 of them."""
    if cap is None:
        return int(session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0), False
    n = int(session.scalar(sa.select(sa.func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0)
    return min(n, cap), n > cap


def _nearest_month(moment: datetime) -> datetime:
    """The start of the UTC month nearest to the moment (the first of its month or of the next)."""
    moment = moment.astimezone(UTC)
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return first if moment - first <= following - moment else following


def _yyyymm(moment: datetime) -> int:
    return moment.year * 100 + moment.month


def _status_counts(session: so.Session, stmt: sa.Select[Any]) -> dict[str, int]:
    return {str(s.value if hasattr(s, "value") else s): int(n) for s, n in session.execute(stmt).all()}


def tally_counts(session: so.Session, *, user: User, filters: RegisterFilter) -> dict[str, int] | None:
    """The exact count per status of the incidents the user may read that match the filters (the status filter
    ignored), from the tally; None when the tally cannot answer (text, assignee, a range under a month or so)."""
    f = filters
    if not tally_counts_apply(f):
        return None
    dated = f.aware_from is not None or f.aware_to is not None
    grain = (1 if f.category_id else 0) | (2 if f.country else 0) | (4 if dated else 0)
    t = IncidentTally
    stmt = scoped(sa.select(t.status, sa.func.sum(t.n)).where(t.grain == grain), user.actor, t.division_id)
    if f.division_id:
        stmt = stmt.where(t.division_id == f.division_id)
    if f.severity:
        stmt = stmt.where(t.severity == f.severity.value)
    # The parts a grain leaves out are 0 or '': said, so that each lookup is a range of the primary key.
    stmt = stmt.where(t.category_id.in_(sorted(_descendants(session, f.category_id)))
                      if f.category_id else t.category_id == 0)
    stmt = stmt.where(t.country == (f.country or ""))
    if not dated:
        stmt = stmt.where(t.month == 0)
    # The stretches between each asked end and its month boundary: (from, to, +1 or -1).
    edges: list[tuple[datetime, datetime, int]] = []
    low = _nearest_month(f.aware_from) if f.aware_from is not None else None
    high = _nearest_month(f.aware_to) if f.aware_to is not None else None
    if low is not None and high is not None and low >= high:
        return None
    if low is not None and f.aware_from is not None:
        stmt = stmt.where(t.month >= _yyyymm(low))
        if f.aware_from != low:
            edges.append((f.aware_from, low, 1) if f.aware_from < low else (low, f.aware_from, -1))
    if high is not None and f.aware_to is not None:
        stmt = stmt.where(t.month < _yyyymm(high))
        if f.aware_to != high:
            edges.append((high, f.aware_to, 1) if high < f.aware_to else (f.aware_to, high, -1))
    by_status = _status_counts(session, stmt.group_by(t.status))
    for start, end, sign in edges:
        stretch = dataclasses.replace(f, aware_from=start, aware_to=end)
        counted = (_filtered(session, visible(sa.select(Incident.status, sa.func.count(Incident.id)), user), stretch,
                             with_status=False).group_by(Incident.status)
                   # SQLite's planner would rather read a whole division or category than a few hours of aware_at
                   .with_hint(Incident, "INDEXED BY ix_incident_aware_id", "sqlite"))
        for status, n in _status_counts(session, counted).items():
            by_status[status] = by_status.get(status, 0) + sign * n
    return {s: n for s, n in by_status.items() if n}


_UNREAD: Any = object()


def register_counts(session: so.Session, *, user: User, filters: RegisterFilter,
                    cap: int | None = None, reading: freshness.Reading | None = _UNREAD) -> RegisterCounts:
    """How many incidents match the filters, in all and per status (the status filter ignored), for this user.

    Exact from the tally where it can answer; otherwise, with a cap, each count stops at `cap` and says so
    (total_capped, capped), and without one it is exact. Remembered until an incident changes (see above);
    `reading`: the markers as the caller read them first in this transaction (one read for several counts).
    """
    scope = scope_key(user.actor)

    def count() -> RegisterCounts:
        by_status = tally_counts(session, user=user, filters=filters)
        if by_status is not None:
            total = by_status.get(filters.status.value, 0) if filters.status else sum(by_status.values())
            return RegisterCounts(total, by_status)
        if filters.text.strip():
            return _text_counts(session, user=user, filters=filters, cap=cap)
        ids = visible(sa.select(Incident.id), user)
        by_status = {}
        capped: set[str] = set()
        if cap is None:  # exact: one GROUP BY
            rows = session.execute(_filtered(session, visible(sa.select(Incident.status, sa.func.count(Incident.id)), user),
                                             filters, with_status=False).group_by(Incident.status)).all()
            by_status = {str(s.value if hasattr(s, "value") else s): int(n) for s, n in rows if n}
        for status in Status if cap is not None else ():
            n, over = _capped_count(session, _filtered(session, ids, filters, with_status=False)
                                    .where(Incident.status == status), cap)
            if n:
                by_status[status.value] = n
            if over:
                capped.add(status.value)
        if filters.status:
            total, total_capped = by_status.get(filters.status.value, 0), filters.status.value in capped
        elif not capped:
            total, total_capped = sum(by_status.values()), False
        else:
            total, total_capped = _capped_count(session, _filtered(session, ids, filters), cap)
        return RegisterCounts(total, by_status, total_capped, frozenset(capped))

    if filters.text.strip():
        return count()
    if reading is _UNREAD:
        reading = _COUNT_CACHE.read(session)  # first: what is counted after it is at least as new
    if reading is None:
        return count()
    categories = (tuple(sorted(_descendants(session, filters.category_id)))
                  if filters.category_id else None)
    key = (cap, scope, filters.status, filters.severity, filters.division_id, categories,
           filters.country, filters.aware_from, filters.aware_to, filters.assignee_id, filters.unassigned)
    counts = _COUNT_CACHE.peek(reading, key)
    if counts is None:
        counts = count()
        _COUNT_CACHE.keep(session, reading, key, counts)
    return counts


def _text_counts(session: so.Session, *, user: User, filters: RegisterFilter, cap: int | None) -> RegisterCounts:
    """The counts of a text search: the matching rows grouped by status, reading at most cap + 1 of them (one
    query through the text index; the cap at most TEXT_COUNT_CAP). Beyond it every count is a lower bound."""
    cut = False  # whether a term's matches were cut at the cap (SQLite: the counts are then lower bounds)
    if cap is not None:
        cap = min(cap, TEXT_COUNT_CAP)
        if session.get_bind().dialect.name == "sqlite":
            cut = any(len(t) >= INDEXED_TERM and _fts_matches(session, t) > cap for t in text_terms(filters.text))
    matching = _filtered(session, visible(sa.select(Incident.status), user), filters, with_status=False,
                         text_limit=cap + 1 if cut and cap is not None else None)
    if cap is not None:
        matching = matching.limit(cap + 1)
    inner = matching.subquery()
    by_status = _status_counts(session, sa.select(inner.c.status, sa.func.count()).group_by(inner.c.status))
    over = cap is not None and (cut or sum(by_status.values()) > cap)
    if filters.status:
        total = by_status.get(filters.status.value, 0)
        if over and total:  # the sample stopped early: count the asked status alone, within the cap
            total, status_over = _capped_count(session, _filtered(session, visible(sa.select(Incident.id), user),
                                                                  filters), cap)
            by_status[filters.status.value] = total
            return RegisterCounts(total, by_status, status_over,
                                  frozenset(s for s in by_status if s != filters.status.value or status_over))
        return RegisterCounts(total, by_status, False, frozenset(by_status) if over else frozenset())
    if over:
        return RegisterCounts(cap or 0, by_status, True, frozenset(by_status))
    return RegisterCounts(sum(by_status.values()), by_status)
