"""Use cases of the technical-law compliance register: which technical laws apply to a product model where it is
sold, its evidence and state per law, the products × laws matrix, and the re-assessment tasks an amendment opens.

Reading is scoped like incidents (`core.permissions.scoped`); evidence and tasks are changed by those who do a
division's regulatory work (division QA managers for their division, head-office QA for every division); which laws
are technical is kept by those who edit the laws map. Every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.catalogue.models import Product
from qa_incidents.catalogue.service import CategoryTree
from qa_incidents.core import audit
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import (
    Actor,
    Capability,
    can,
    can_read_division,
    can_work_division,
    scoped,
    unscoped,
)
from qa_incidents.core.storage import StoredFile
from qa_incidents.laws.compliance_rules import (
    DEFAULT_WARN_DAYS,
    EVIDENCE_KINDS,
    Assessment,
    EvidenceFacts,
    State,
    assess,
    due_before,
    in_scope,
    reaches,
)
from qa_incidents.laws.models import (
    Amendment,
    ComplianceEvidence,
    Law,
    ReassessmentTask,
    TechnicalLaw,
    in_force,
)

#: Who records evidence and closes re-assessments for a division: its regulatory work (division QA, head-office QA).
WORK = Capability.WORK_NOTIFICATIONS
EVIDENCE_FIELDS = ("product_id", "law_id", "kind", "issuer", "number", "issued_on", "expires_on", "note", "filename",
                   "sha256")
TECHNICAL_FIELDS = ("law_id", "evidence_expected", "active")


def can_read(actor: Actor) -> bool:
    return can(actor, Capability.READ_INCIDENTS)


def can_manage(actor: Actor, division_id: int) -> bool:
    """Whether the actor records evidence and closes re-assessments of the division's products."""
    return can_work_division(actor, division_id, WORK)


# --- which laws apply ------------------------------------------------------------------------------------------


def technical_laws(session: so.Session, *, active_only: bool = True) -> list[TechnicalLaw]:
    stmt = sa.select(TechnicalLaw).join(Law).order_by(Law.short_name)
    if active_only:
        stmt = stmt.where(TechnicalLaw.active.is_(True))
    return list(session.scalars(stmt))


def law_applies(law: Law, product: Product, *, lineage: list[int], on: dt.date) -> bool:
    """A technical law applies to a product model on a day when the law is in force, covers the model's category (or
    an ancestor) then, and its jurisdiction includes a country the model is sold in."""
    if law.status == "repealed" and law.repealed_on is None:
        return False
    if not in_force(law.in_force_from, law.repealed_on, on):
        return False
    if not reaches(law.jurisdiction.member_codes, product.market_codes):
        return False
    return any(c.category_id in lineage and in_force(c.valid_from, c.valid_to, on) for c in law.coverage)


def applicable_laws(product: Product, laws: Iterable[Law], *, tree: CategoryTree, on: dt.date) -> list[Law]:
    lineage = tree.ancestors(product.category_id)
    return [law for law in laws if law_applies(law, product, lineage=lineage, on=on)]


def _facts(evidence: Iterable[ComplianceEvidence]) -> list[EvidenceFacts]:
    return [EvidenceFacts(e.issued_on, e.expires_on) for e in evidence if e.withdrawn_at is None]


# --- the matrix ------------------------------------------------------------------------------------------------


@dataclass
class MatrixRow:
    product: Product
    #: law id -> the product's state for that law; laws that do not apply are absent.
    cells: dict[int, Assessment] = field(default_factory=dict)
    open_tasks: set[int] = field(default_factory=set)  # law ids with an open re-assessment


@dataclass
class Matrix:
    laws: list[Law]
    rows: list[MatrixRow]
    today: dt.date
    warn_days: int

    def counts(self) -> dict[State, int]:
        found = {s: 0 for s in State}
        for row in self.rows:
            for cell in row.cells.values():
                found[cell.state] += 1
        return found


def matrix(session: so.Session, *, actor: Actor, today: dt.date, warn_days: int = DEFAULT_WARN_DAYS,
           division_id: int | None = None, law_id: int | None = None, state: State | None = None,
           category_id: int | None = None, query: str = "") -> Matrix:
    """Active product models × technical laws, for the divisions the actor reads: each cell the model's state for a
    law that applies where it is sold. Filters: a division, a law (column), a category (sub-categories included), a
    state (rows with at least one such cell, and only those cells), model or name text."""
    tree = CategoryTree.load(session)
    laws = [t.law for t in technical_laws(session)]
    if law_id is not None:
        laws = [law for law in laws if law.id == law_id]
    stmt = sa.select(Product).where(Product.active.is_(True)).order_by(Product.division_id, Product.model)
    if division_id is not None:
        stmt = stmt.where(Product.division_id == division_id)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(sa.or_(Product.model.ilike(like), Product.name.ilike(like)))
    products = list(session.scalars(scoped(stmt, actor, Product.division_id)))
    if category_id is not None:
        wanted = tree.descendants(category_id)
        products = [p for p in products if p.category_id in wanted]
    ids = [p.id for p in products] or [-1]
    evidence: dict[tuple[int, int], list[ComplianceEvidence]] = {}
    for e in session.scalars(scoped(sa.select(ComplianceEvidence).where(
            ComplianceEvidence.product_id.in_(ids), ComplianceEvidence.withdrawn_at.is_(None)),
            actor, ComplianceEvidence.division_id)):
        evidence.setdefault((e.product_id, e.law_id), []).append(e)
    open_tasks: dict[int, set[int]] = {}
    for product_id, task_law in session.execute(scoped(sa.select(ReassessmentTask.product_id, ReassessmentTask.law_id)
                                                       .where(ReassessmentTask.status == "open",
                                                              ReassessmentTask.product_id.in_(ids)),
                                                       actor, ReassessmentTask.division_id)):
        open_tasks.setdefault(product_id, set()).add(task_law)
    rows = []
    for product in products:
        row = MatrixRow(product, open_tasks=open_tasks.get(product.id, set()))
        for law in applicable_laws(product, laws, tree=tree, on=today):
            cell = assess(_facts(evidence.get((product.id, law.id), [])), today=today, warn_days=warn_days)
            if state is None or cell.state == state:
                row.cells[law.id] = cell
        if row.cells or (state is None and law_id is None):
            rows.append(row)
    shown = {shown_id for row in rows for shown_id in row.cells}
    return Matrix([law for law in laws if law.id in shown or law_id is not None], rows, today, warn_days)


# --- one product -----------------------------------------------------------------------------------------------


@dataclass
class ProductLaw:
    law: Law
    technical: TechnicalLaw
    assessment: Assessment
    evidence: list[ComplianceEvidence]


@dataclass
class ProductCompliance:
    product: Product
    laws: list[ProductLaw]
    withdrawn: list[ComplianceEvidence]
    tasks: list[ReassessmentTask]


def get_product(session: so.Session, *, actor: Actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or not can_read(actor) or not can_read_division(actor, product.division_id):
        raise NotFound(str(_l("No such product.")))
    return product


def product_compliance(session: so.Session, *, actor: Actor, product_id: int, today: dt.date,
                       warn_days: int = DEFAULT_WARN_DAYS) -> ProductCompliance:
    product = get_product(session, actor=actor, product_id=product_id)
    tree = CategoryTree.load(session)
    technical = {t.law_id: t for t in technical_laws(session)}
    all_evidence = list(session.scalars(unscoped(
        sa.select(ComplianceEvidence).where(ComplianceEvidence.product_id == product.id)
        .order_by(ComplianceEvidence.issued_on.desc(), ComplianceEvidence.id.desc()),
        "one product's evidence; the caller checked the product's division")))
    laws = []
    for law in applicable_laws(product, [t.law for t in technical.values()], tree=tree, on=today):
        mine = [e for e in all_evidence if e.law_id == law.id and e.withdrawn_at is None]
        laws.append(ProductLaw(law, technical[law.id], assess(_facts(mine), today=today, warn_days=warn_days), mine))
    tasks = list(session.scalars(unscoped(
        sa.select(ReassessmentTask).where(ReassessmentTask.product_id == product.id)
        .order_by(ReassessmentTask.status.desc(), ReassessmentTask.due_on),
        "one product's re-assessments; the caller checked the product's division")))
    return ProductCompliance(product, laws, [e for e in all_evidence if e.withdrawn_at is not None], tasks)


# --- evidence --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceInput:
    law_id: int | None
    kind: str
    issuer: str
    number: str
    issued_on: dt.date | None
    expires_on: dt.date | None = None
    note: str = ""


def add_evidence(session: so.Session, *, actor: Actor, product_id: int, data: EvidenceInput,
                 stored: StoredFile | None, filename: str, now: dt.datetime) -> ComplianceEvidence:
    """Record a certificate, test report or declaration for a product model and one technical law that applies to
    it where it is sold (a file is required from the form; seed data may come without)."""
    product = get_product(session, actor=actor, product_id=product_id)
    if not can_manage(actor, product.division_id):
        raise Forbidden(str(_l("Only the division's QA manager or head-office QA records evidence.")))
    errors: dict[str, str] = {}
    tree = CategoryTree.load(session)
    technical = {t.law_id: t.law for t in technical_laws(session)}
    law = technical.get(data.law_id or 0)
    if law is None:
        errors["law_id"] = str(_l("Choose a technical law."))
    elif not law_applies(law, product, lineage=tree.ancestors(product.category_id), on=now.date()):
        errors["law_id"] = str(_l("This law does not apply to the model where it is sold."))
    if data.kind not in EVIDENCE_KINDS:
        errors["kind"] = str(_l("Choose the kind of document."))
    for name in ("issuer", "number"):
        if not getattr(data, name).strip():
            errors[name] = str(_l("Required."))
    if data.issued_on is None:
        errors["issued_on"] = str(_l("Give the day the document was issued."))
    elif data.expires_on is not None and data.expires_on < data.issued_on:
        errors["expires_on"] = str(_l("A document expires on or after the day it was issued."))
    if errors:
        raise ValidationFailed(errors)
    evidence = ComplianceEvidence(
        product_id=product.id, law_id=law.id, division_id=product.division_id, kind=data.kind,  # type: ignore[union-attr]
        issuer=data.issuer.strip(), number=data.number.strip(), issued_on=data.issued_on, expires_on=data.expires_on,
        note=data.note.strip(), sha256=stored.sha256 if stored else None, filename=filename if stored else "",
        size=stored.size if stored else 0, content_type=stored.content_type if stored else "",
        created_by_id=actor.id or None, created_at=now, withdrawn_reason="")
    session.add(evidence)
    session.flush()
    audit.record(session, actor_id=actor.id or None, entity_type="compliance_evidence", entity_id=evidence.id,
                 action="created", now=now,
                 changes={k: [None, v] for k, v in audit.snapshot(evidence, EVIDENCE_FIELDS).items() if v not in (None, "")})
    return evidence


def get_evidence(session: so.Session, *, actor: Actor, evidence_id: int) -> ComplianceEvidence:
    evidence = session.get(ComplianceEvidence, evidence_id)
    if evidence is None or not can_read(actor) or not can_read_division(actor, evidence.division_id):
        raise NotFound(str(_l("No such evidence.")))
    return evidence


def withdraw_evidence(session: so.Session, *, actor: Actor, evidence_id: int, reason: str,
                      now: dt.datetime) -> ComplianceEvidence:
    """Withdraw a wrong or superseded document (it stays listed as withdrawn and no longer counts)."""
    evidence = get_evidence(session, actor=actor, evidence_id=evidence_id)
    if not can_manage(actor, evidence.division_id):
        raise Forbidden(str(_l("Only the division's QA manager or head-office QA records evidence.")))
    if evidence.withdrawn_at is not None:
        raise ValidationFailed({"reason": str(_l("This document is already withdrawn."))})
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the document is withdrawn."))})
    evidence.withdrawn_at, evidence.withdrawn_by_id, evidence.withdrawn_reason = now, actor.id or None, reason.strip()
    session.flush()
    audit.record(session, actor_id=actor.id or None, entity_type="compliance_evidence", entity_id=evidence.id,
                 action="withdrawn", now=now, changes={"withdrawn_reason": [None, reason.strip()]})
    return evidence


# --- which laws are technical ----------------------------------------------------------------------------------


def save_technical(session: so.Session, *, law_id: int | None, evidence_expected: str, active: bool,
                   actor_id: int | None, now: dt.datetime) -> TechnicalLaw:
    """Mark a law of the map as a technical law (or change what shows conformity, or stop treating it as one)."""
    law = session.get(Law, law_id or 0)
    if law is None:
        raise ValidationFailed({"law_id": str(_l("Choose a law."))})
    if not evidence_expected.strip():
        raise ValidationFailed({"evidence_expected": str(_l("Say what shows conformity."))})
    row = session.scalar(sa.select(TechnicalLaw).where(TechnicalLaw.law_id == law.id))
    before = audit.snapshot(row, TECHNICAL_FIELDS) if row else {}
    if row is None:
        row = TechnicalLaw(law_id=law.id, created_at=now)
        session.add(row)
    row.evidence_expected, row.active = evidence_expected.strip(), active
    session.flush()
    if changes := audit.field_changes(before, audit.snapshot(row, TECHNICAL_FIELDS)):
        audit.record(session, actor_id=actor_id, entity_type="technical_law", entity_id=row.id,
                     action="created" if not before else "updated", now=now, changes=changes)
    return row


def is_technical(session: so.Session, law_id: int) -> bool:
    return session.scalar(sa.select(TechnicalLaw.id).where(TechnicalLaw.law_id == law_id,
                                                           TechnicalLaw.active.is_(True))) is not None


# --- amendments → re-assessment tasks --------------------------------------------------------------------------


def affected_products(session: so.Session, amendment: Amendment, *, tree: CategoryTree | None = None) -> list[Product]:
    """The active product models an amendment of a technical law reaches: sold in a country of the law's
    jurisdiction, in a category the amendment names (sub-categories included) or, when it names none, one the law
    covers on the enforcement date."""
    tree = tree or CategoryTree.load(session)
    law = amendment.law
    if amendment.affected_categories:
        scope = {tree.by_code[c] for c in amendment.affected_categories if c in tree.by_code}
    else:
        scope = {c.category_id for c in law.coverage if in_force(c.valid_from, c.valid_to, amendment.enforced_on)}
    products = session.scalars(unscoped(sa.select(Product).where(Product.active.is_(True)).order_by(Product.id),
                                        "work done for the system: every division's products an amendment reaches"))
    return [p for p in products
            if reaches(law.jurisdiction.member_codes, p.market_codes) and in_scope(tree.ancestors(p.category_id), scope)]


def open_reassessments(session: so.Session, *, amendment: Amendment, actor_id: int | None,
                       now: dt.datetime) -> list[ReassessmentTask]:
    """One re-assessment task per product model the amendment of a technical law reaches, for the model's division,
    due the day before the enforcement date; none for an amendment already enforced. Idempotent: a model with a
    task for the amendment gets no second one; an open task follows a changed enforcement date. Returns the
    tasks created."""
    if not is_technical(session, amendment.law_id) or amendment.enforced_on <= now.date():
        return []
    due = due_before(amendment.enforced_on)
    existing = {t.product_id: t for t in session.scalars(unscoped(
        sa.select(ReassessmentTask).where(ReassessmentTask.amendment_id == amendment.id),
        "work done for the system: the tasks an amendment already opened"))}
    for task in existing.values():
        if task.status == "open" and task.due_on != due:
            audit.record(session, actor_id=actor_id, entity_type="reassessment_task", entity_id=task.id,
                         action="updated", now=now, changes={"due_on": [audit.jsonable(task.due_on), due.isoformat()]})
            task.due_on = due
    created = []
    for product in affected_products(session, amendment):
        if product.id in existing:
            continue
        task = ReassessmentTask(amendment_id=amendment.id, product_id=product.id, law_id=amendment.law_id,
                                division_id=product.division_id, due_on=due, status="open", created_at=now,
                                conclusion="")
        session.add(task)
        session.flush()
        audit.record(session, actor_id=actor_id, entity_type="reassessment_task", entity_id=task.id, action="created",
                     now=now, changes={"amendment": [None, amendment.title], "product": [None, product.model],
                                       "due_on": [None, due.isoformat()]})
        created.append(task)
    return created


def sync_reassessments(session: so.Session, *, now: dt.datetime) -> int:
    """Open the tasks of every amendment of a technical law not yet enforced (after loading the map, or a product
    newly sold where an amended law applies). Returns how many were created."""
    amendments = session.scalars(sa.select(Amendment).join(TechnicalLaw, TechnicalLaw.law_id == Amendment.law_id)
                                 .where(TechnicalLaw.active.is_(True), Amendment.enforced_on > now.date())
                                 .order_by(Amendment.id))
    return sum(len(open_reassessments(session, amendment=a, actor_id=None, now=now)) for a in list(amendments))


def get_task(session: so.Session, *, actor: Actor, task_id: int) -> ReassessmentTask:
    task = session.get(ReassessmentTask, task_id)
    if task is None or not can_read(actor) or not can_read_division(actor, task.division_id):
        raise NotFound(str(_l("No such re-assessment.")))
    return task


def close_task(session: so.Session, *, actor: Actor, task_id: int, conclusion: str, evidence_id: int | None,
               now: dt.datetime) -> ReassessmentTask:
    """Close a re-assessment with evidence of the model for the law (recorded before or since), or a recorded
    conclusion ("not affected because …"); at least one of them."""
    task = get_task(session, actor=actor, task_id=task_id)
    if not can_manage(actor, task.division_id):
        raise Forbidden(str(_l("Only the division's QA manager or head-office QA closes re-assessments.")))
    if task.status != "open":
        raise ValidationFailed({"conclusion": str(_l("This re-assessment is already closed."))})
    errors: dict[str, str] = {}
    evidence = None
    if evidence_id:
        evidence = session.get(ComplianceEvidence, evidence_id)
        if (evidence is None or evidence.product_id != task.product_id or evidence.law_id != task.law_id
                or evidence.withdrawn_at is not None):
            errors["evidence_id"] = str(_l("Choose evidence of this model for this law."))
    if not conclusion.strip() and not evidence_id:
        errors["conclusion"] = str(_l("Attach evidence or record the conclusion (e.g. \"not affected because …\")."))
    if errors:
        raise ValidationFailed(errors)
    task.status, task.closed_at, task.closed_by_id = "closed", now, actor.id or None
    task.conclusion, task.evidence_id = conclusion.strip(), evidence.id if evidence else None
    session.flush()
    audit.record(session, actor_id=actor.id or None, entity_type="reassessment_task", entity_id=task.id,
                 action="closed", now=now, changes={"status": ["open", "closed"],
                                                    "conclusion": [None, task.conclusion] if task.conclusion else None,
                                                    "evidence": [None, evidence.number] if evidence else None})
    return task


def tasks(session: so.Session, *, actor: Actor, status: str = "open", division_id: int | None = None,
          limit: int | None = None) -> list[ReassessmentTask]:
    stmt = sa.select(ReassessmentTask).order_by(ReassessmentTask.due_on, ReassessmentTask.id)
    if status in ("open", "closed"):
        stmt = stmt.where(ReassessmentTask.status == status)
    if division_id is not None:
        stmt = stmt.where(ReassessmentTask.division_id == division_id)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(scoped(stmt, actor, ReassessmentTask.division_id)))


@dataclass(frozen=True)
class TaskCounts:
    open: int
    overdue: int


def task_counts(session: so.Session, *, actor: Actor, today: dt.date) -> TaskCounts:
    """Open re-assessments the actor may read, and those past their due day."""
    T = ReassessmentTask
    stmt = sa.select(sa.func.count(T.id), sa.func.count(T.id).filter(T.due_on < today)).where(T.status == "open")
    row = session.execute(scoped(stmt, actor, T.division_id)).one()
    return TaskCounts(int(row[0] or 0), int(row[1] or 0))


def my_reassessments(session: so.Session, *, actor: Actor, limit: int = 50) -> tuple[list[ReassessmentTask], int]:
    """The open re-assessments waiting for the actor (those they may close: their division's, or every division's
    for head-office QA), most urgent first, and how many there are."""
    if not can(actor, WORK):
        return [], 0
    T = ReassessmentTask
    where = [T.status == "open"]
    if not can(actor, Capability.WORK_ALL_DIVISIONS):
        where.append(T.division_id == actor.division_id)
    rows = list(session.scalars(scoped(sa.select(T).where(*where).order_by(T.due_on, T.id).limit(limit), actor,
                                       T.division_id)))
    total = session.scalar(scoped(sa.select(sa.func.count(T.id)).where(*where), actor, T.division_id))
    return rows, int(total or 0)


# --- the scheduler's scan ----------------------------------------------------------------------------------------


def scan(session: so.Session, *, now: dt.datetime, warn_days: int = DEFAULT_WARN_DAYS, base_url: str = "") -> int:
    """Open any re-assessment an amendment now reaches (a model newly sold where an amended law applies), and tell
    the division's QA managers once when a model's best evidence for a law comes within the warning period, when it
    has expired, and when a re-assessment passes its due day. Returns how many messages were queued."""
    from flask_babel import gettext

    from qa_incidents.accounts.service import people
    from qa_incidents.core import outbox
    from qa_incidents.core.permissions import Role

    sync_reassessments(session, now=now)
    today = now.date()
    E = ComplianceEvidence
    current = list(session.scalars(unscoped(sa.select(E).where(E.withdrawn_at.is_(None), E.issued_on <= today),
                                            "work done for the system: every division's evidence, for its expiry")))
    best: dict[tuple[int, int], ComplianceEvidence] = {}
    for e in current:
        key = (e.product_id, e.law_id)
        held = best.get(key)
        if held is None or (held.expires_on is not None and (e.expires_on is None or e.expires_on > held.expires_on)):
            best[key] = e
    queued = 0
    for e in best.values():
        state = assess([EvidenceFacts(e.issued_on, e.expires_on)], today=today, warn_days=warn_days)
        if state.state not in (State.EXPIRING, State.EXPIRED) or not e.product.active:
            continue
        to = people(session, roles={Role.DIVISION_QA}, division_id=e.division_id)

        def letter(reader: outbox.Reader, e: ComplianceEvidence = e, expired: bool = state.state == State.EXPIRED
                   ) -> tuple[str, str]:
            subject = (gettext("Evidence expired: %(model)s, %(law)s", model=e.product.model, law=e.law.short_name)
                       if expired else gettext("Evidence expiring: %(model)s, %(law)s", model=e.product.model,
                                               law=e.law.short_name))
            body = gettext("%(number)s (%(issuer)s) expires on %(day)s.", number=e.number, issuer=e.issuer,
                           day=reader.date(e.expires_on))
            return subject, f"{body}\n\n{base_url}/laws/compliance/products/{e.product_id}\n"

        key = f"compliance-evidence:{e.id}:{state.state.value}"
        queued += bool(outbox.enqueue_localised(session, people=to, now=now, compose=letter, dedupe_key=key))
    overdue = session.scalars(unscoped(
        sa.select(ReassessmentTask).where(ReassessmentTask.status == "open", ReassessmentTask.due_on < today),
        "work done for the system: every division's overdue re-assessments"))
    for task in overdue:
        to = people(session, roles={Role.DIVISION_QA}, division_id=task.division_id)

        def overdue_letter(reader: outbox.Reader, task: ReassessmentTask = task) -> tuple[str, str]:
            subject = gettext("Re-assessment overdue: %(model)s, %(law)s", model=task.product.model,
                              law=task.law.short_name)
            body = gettext("Due on %(day)s: %(amendment)s", day=reader.date(task.due_on), amendment=task.amendment.title)
            return subject, f"{body}\n\n{base_url}/laws/compliance/tasks/{task.id}\n"

        queued += bool(outbox.enqueue_localised(session, people=to, now=now, compose=overdue_letter,
                                                dedupe_key=f"compliance-task-overdue:{task.id}"))
    return queued
