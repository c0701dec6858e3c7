"""Group-wide early alerts: suggesting divisions from the catalogue, sending, answering with evidence, reading,
reminding. One function, one change: the caller's transaction owns it; every change is in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division, User
from qa_incidents.accounts.service import as_recipient, people
from qa_incidents.alerts import rules
from qa_incidents.alerts.models import GroupAlert, GroupAlertAnswer, GroupAlertDivision, ProductPart
from qa_incidents.alerts.rules import AlertAnswer, CatalogueProduct, Match
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core import audit, outbox
from qa_incidents.core.db import is_db_int
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Role, can_read_division, unscoped
from qa_incidents.core.storage import StoredFile
from qa_incidents.incidents.models import Attachment, Incident

# --- the catalogue's parts, suppliers and designs -----------------------------------------------------------------


def add_part(session: so.Session, *, product_id: int, kind: str, code: str, name: str = "", supplier: str = "",
             actor_id: int | None, now: datetime) -> ProductPart:
    """Record a part (with its supplier) or a design platform of a product model; audited."""
    errors: dict[str, str] = {}
    product = session.get(Product, product_id) if is_db_int(product_id) else None
    if product is None:
        raise NotFound(str(_l("No such product.")))
    if kind not in ("part", "design"):
        errors["kind"] = str(_l("Choose part or design."))
    if not code.strip() or len(code.strip()) > 80:
        errors["code"] = str(_l("Give the part number or design name (at most 80 characters)."))
    if len(name.strip()) > 200 or len(supplier.strip()) > 200:
        errors["name"] = str(_l("At most %(n)d characters.", n=200))
    if not errors and (same := session.scalar(sa.select(ProductPart).where(
            ProductPart.product_id == product.id, ProductPart.kind == kind, ProductPart.code == code.strip()))):
        errors["code"] = str(_l("This model already lists it.") if same.active
                             else _l("This model lists it as retired: reinstate it instead."))
    if errors:
        raise ValidationFailed(errors)
    part = ProductPart(product_id=product.id, kind=kind, code=code.strip(), name=name.strip(),
                       supplier=supplier.strip() if kind == "part" else "", created_at=now)
    session.add(part)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="product_part", entity_id=part.id, action="created", now=now,
                 changes={"product": [None, product.model], "kind": [None, kind], "code": [None, part.code],
                          "name": [None, part.name], "supplier": [None, part.supplier]})
    return part


def parts_of(session: so.Session, product_id: int) -> list[ProductPart]:
    """Every part and design of the model, retired ones last."""
    return list(session.scalars(sa.select(ProductPart).where(ProductPart.product_id == product_id)
                                .order_by(ProductPart.active.desc(), ProductPart.kind, ProductPart.code)))


def _part(session: so.Session, part_id: int) -> ProductPart:
    part = session.get(ProductPart, part_id) if is_db_int(part_id) else None
    if part is None:
        raise NotFound(str(_l("No such part or design.")))
    return part


def correct_part(session: so.Session, *, part_id: int, code: str, name: str, supplier: str, reason: str,
                 actor_id: int | None, now: datetime) -> ProductPart:
    """Correct a part's number, name or supplier (or a design's name), with the reason; audited before and after."""
    part = _part(session, part_id)
    errors: dict[str, str] = {}
    code, name, supplier, reason = code.strip(), name.strip(), supplier.strip(), reason.strip()
    if not code or len(code) > 80:
        errors["code"] = str(_l("Give the part number or design name (at most 80 characters)."))
    if len(name) > 200 or len(supplier) > 200:
        errors["name"] = str(_l("At most %(n)d characters.", n=200))
    if not reason:
        errors["reason"] = str(_l("Say why it is corrected."))
    if not errors and session.scalar(sa.select(ProductPart.id).where(
            ProductPart.product_id == part.product_id, ProductPart.kind == part.kind, ProductPart.code == code,
            ProductPart.id != part.id)):
        errors["code"] = str(_l("This model already lists it."))
    if errors:
        raise ValidationFailed(errors)
    new = {"code": code, "name": name, "supplier": supplier if part.kind == "part" else ""}
    changes = {k: [getattr(part, k), v] for k, v in new.items() if getattr(part, k) != v}
    if not changes:
        raise ValidationFailed({"code": str(_l("Nothing changed."))})
    for key, (_old, value) in changes.items():
        setattr(part, key, value)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="product_part", entity_id=part.id, action="corrected",
                 now=now, changes={**changes, "reason": [None, reason]})
    return part


def set_part_active(session: so.Session, *, part_id: int, active: bool, reason: str, actor_id: int | None,
                    now: datetime) -> ProductPart:
    """Retire a part or design (it stops suggesting divisions for alerts; nothing is deleted) or reinstate it."""
    part = _part(session, part_id)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why it is retired.") if not active
                                              else _l("Say why it is reinstated."))})
    if part.active == active:
        raise ValidationFailed({"reason": str(_l("It is already retired.") if not active
                                              else _l("It is already in use."))})
    part.active = active
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="product_part", entity_id=part.id,
                 action="reinstated" if active else "retired", now=now,
                 changes={"active": [not active, active], "reason": [None, reason.strip()]})
    return part


def part_history(session: so.Session, product_id: int) -> list[audit.AuditEvent]:
    """The audit events of the model's parts and designs, newest first."""
    ids = [p.id for p in parts_of(session, product_id)]
    if not ids:
        return []
    return list(session.scalars(sa.select(audit.AuditEvent).where(audit.AuditEvent.entity_type == "product_part",
                                                                  audit.AuditEvent.entity_id.in_(ids))
                                .order_by(audit.AuditEvent.id.desc())))


def _catalogue(session: so.Session) -> list[CatalogueProduct]:
    """Every active product as the suggestion rules read it (three queries, whatever the catalogue's size)."""
    categories = {c.id: c for c in session.scalars(sa.select(ProductCategory))}
    parts: dict[int, list[ProductPart]] = {}
    for part in session.scalars(sa.select(ProductPart).where(ProductPart.active.is_(True))):
        parts.setdefault(part.product_id, []).append(part)

    def line(category_id: int) -> tuple[int, ...]:
        found, node = [], categories.get(category_id)
        while node is not None and node.id not in found:
            found.append(node.id)
            node = categories.get(node.parent_id) if node.parent_id else None
        return tuple(found)

    return [CatalogueProduct(
        id=p.id, division_id=p.division_id, model=p.model, category_id=p.category_id, category_line=line(p.category_id),
        category_name=categories[p.category_id].path if p.category_id in categories else "",
        parts={x.code: x.supplier for x in parts.get(p.id, []) if x.kind == "part"},
        designs=frozenset(x.code for x in parts.get(p.id, []) if x.kind == "design"))
        for p in session.scalars(sa.select(Product).where(Product.active.is_(True)))]


@dataclass
class DivisionChoice:
    """A division head office may address, with what the catalogue says it shares with the incident's product."""

    division: Division
    matches: list[Match]

    @property
    def suggested(self) -> bool:
        return bool(self.matches)


def suggestions(session: so.Session, incident: Incident) -> list[DivisionChoice]:
    """Every active division but the incident's own and head office's, suggested ones first."""
    catalogue = _catalogue(session)
    own = next((p for p in catalogue if p.id == incident.product_id), None)
    found = rules.suggest(own, catalogue) if own is not None else {}
    divisions = session.scalars(sa.select(Division).where(Division.active.is_(True), Division.id != incident.division_id)
                                .order_by(Division.name))
    choices = [DivisionChoice(d, found.get(d.id, [])) for d in divisions if not d.is_head_office]
    return sorted(choices, key=lambda c: (not c.suggested, c.division.name))


# --- sending ------------------------------------------------------------------------------------------------------


def send_alert(session: so.Session, *, user: User, incident_id: int, subject: str, message: str,
               division_ids: list[int], due_on: date | None, now: datetime, today: date) -> GroupAlert:
    """Head-office QA asks the chosen divisions' QA to check their products; each is e-mailed (and sees it on the bell
    and My work). `today` is the sender's calendar day, against which the due date is checked."""
    from qa_incidents.incidents.service import get_incident

    if not rules.may_send(user.actor):
        raise Forbidden(str(_l("Only head-office QA sends group-wide alerts.")))
    incident = get_incident(session, user=user, incident_id=incident_id)
    why_not = rules.send_blocked(severity=incident.severity.value if incident.severity else None,
                                 status=incident.status.value)
    if why_not:
        raise DomainError(why_not)
    choices = {c.division.id: c for c in suggestions(session, incident)}
    errors = rules.send_errors(subject=subject, message=message, division_ids=division_ids,
                               incident_division_id=incident.division_id, due_on=due_on, today=today,
                               known_divisions=choices)
    if errors:
        raise ValidationFailed(errors)
    assert due_on is not None
    alert = GroupAlert(incident_id=incident.id, subject=subject.strip(), message=message.strip(), due_on=due_on,
                       created_by_id=user.id, created_at=now)
    session.add(alert)
    session.flush()
    for division_id in sorted(set(division_ids)):
        session.add(GroupAlertDivision(alert_id=alert.id, division_id=division_id, answer=AlertAnswer.PENDING,
                                       basis=rules.basis_text(choices[division_id].matches)))
    session.flush()
    names = [choices[d].division.name for d in sorted(set(division_ids))]
    unreceived = [d.name for d in without_qa_manager(session, sorted(set(division_ids)))]
    audit.record(session, actor_id=user.id, entity_type="group_alert", entity_id=alert.id, incident_id=incident.id,
                 action="group alert sent", now=now,
                 changes={"subject": [None, alert.subject], "divisions": [None, ", ".join(names)],
                          "due_on": [None, due_on], "message": [None, alert.message],
                          # Nobody there receives it: head-office QA is told instead (and the sender on the page).
                          **({"no_qa_manager": [None, ", ".join(unreceived)]} if unreceived else {})})
    for division_id in sorted(set(division_ids)):
        _tell_division(session, alert=alert, division_id=division_id, kind="sent", now=now)
    return alert


def _tell_division(session: so.Session, *, alert: GroupAlert, division_id: int, kind: str, now: datetime) -> int:
    """E-mail (and so the bell of) the addressed division's QA. Without the incident's id: they may not read it."""
    subjects = {
        "sent": lambda: gettext("Group-wide alert: check your products: %(subject)s", subject=alert.subject),
        "reminder": lambda: gettext("Reminder: group-wide alert due %(day)s: %(subject)s", day=alert.due_on.isoformat(),
                                    subject=alert.subject),
        "overdue": lambda: gettext("Overdue: group-wide alert was due %(day)s: %(subject)s",
                                   day=alert.due_on.isoformat(), subject=alert.subject),
    }
    receivers = people(session, roles={Role.DIVISION_QA}, division_id=division_id)
    if not receivers:  # nobody would hear of it: head-office QA does, and finds a QA manager for the division
        division = session.get(Division, division_id)
        name = division.name if division is not None else str(division_id)
        queued = outbox.enqueue_localised(
            session, people=people(session, roles={Role.HEAD_OFFICE_QA}), now=now,
            dedupe_key=f"group-alert-{kind}-unreceived:{alert.id}:{division_id}:{alert.due_on.isoformat()}",
            compose=lambda reader: (
                gettext("Nobody in %(division)s receives the group-wide alert: %(subject)s",
                        division=name, subject=alert.subject),
                gettext("%(division)s has no active QA manager, so nobody there was told of this alert (%(kind)s). "
                        "Have an administrator assign one, or ask the division yourself; answers are due by %(day)s.",
                        division=name, kind=kind, day=reader.date(alert.due_on))
                + f"\n\n/group-alerts/{alert.id}\n"))
        return len(queued)
    queued = outbox.enqueue_localised(
        session, people=receivers, now=now,
        dedupe_key=f"group-alert-{kind}:{alert.id}:{division_id}:{alert.due_on.isoformat()}",
        compose=lambda reader: (
            subjects[kind](),
            gettext("Head-office QA asks your division to check its products and answer affected, not affected or "
                    "investigating, with the evidence, by %(day)s.", day=reader.date(alert.due_on))
            + f"\n\n{alert.message}\n\n/group-alerts/{alert.id}\n"))
    return len(queued)


def without_qa_manager(session: so.Session, division_ids: list[int]) -> list[Division]:
    """The divisions among these with no active QA manager: nobody there receives or may answer an alert."""
    if not division_ids:
        return []
    staffed = set(session.scalars(sa.select(User.division_id).where(
        User.role == Role.DIVISION_QA, User.active.is_(True), User.division_id.in_(division_ids))))
    return list(session.scalars(sa.select(Division).where(Division.id.in_(set(division_ids) - staffed))
                                .order_by(Division.name)))


# --- answering ----------------------------------------------------------------------------------------------------


def answer_alert(session: so.Session, *, user: User, alert_id: int, answer: str, evidence: str, now: datetime,
                 stored: StoredFile | None = None, filename: str = "") -> GroupAlertAnswer:
    """The addressed division's QA answers (again, if the answer changes: the earlier answer is kept as it was).
    A file of evidence is kept with the incident's attachments (uploaded by the answering user)."""
    alert = get_alert(session, user=user, alert_id=alert_id)
    addressee = next((a for a in alert.addressees if a.division_id == user.division_id), None)
    if addressee is None or not rules.may_answer(user.actor, addressee.division_id):
        raise Forbidden(str(_l("Only the QA of a division the alert addresses answers it.")))
    errors = rules.answer_errors(answer=answer, evidence=evidence)
    if errors:
        raise ValidationFailed(errors)
    attachment = None
    if stored is not None:
        name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or f"evidence-{stored.sha256[:12]}"
        attachment = Attachment(incident_id=alert.incident_id, sha256=stored.sha256, filename=name,
                                content_type=stored.content_type, size=stored.size, uploaded_by_id=user.id,
                                created_at=now)
        session.add(attachment)
        session.flush()
        audit.record(session, actor_id=user.id, entity_type="attachment", entity_id=attachment.id,
                     incident_id=alert.incident_id, action="attached", now=now,
                     changes={"file": [None, name], "sha256": [None, stored.sha256], "size": [None, stored.size],
                              "content_type": [None, stored.content_type],
                              "group_alert": [None, alert.id]})
    previous = addressee.answers[-1] if addressee.answers else None
    row = GroupAlertAnswer(addressee_id=addressee.id, answer=AlertAnswer(answer), evidence=evidence.strip(),
                           attachment_id=attachment.id if attachment else None, answered_by_id=user.id,
                           answered_at=now)
    addressee.answers.append(row)
    addressee.answer, addressee.answered_by_id, addressee.answered_at = AlertAnswer(answer), user.id, now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="group_alert", entity_id=alert.id, incident_id=alert.incident_id,
                 action="group alert answered", now=now,
                 changes={"division": [None, addressee.division.name],
                          "answer": [previous.answer.value if previous else "pending", row.answer.value],
                          "evidence": [previous.evidence if previous else None, row.evidence],
                          "file": [None, attachment.filename if attachment else None]})
    outbox.enqueue_localised(
        session, people=[as_recipient(alert.created_by)], now=now, incident_id=alert.incident_id,
        dedupe_key=f"group-alert-answer:{row.id}",
        compose=lambda reader: (
            gettext("%(division)s answered the group-wide alert: %(answer)s", division=addressee.division.name,
                    answer=str(rules.ANSWER_TITLES[row.answer])),
            f"{alert.subject}\n\n{row.evidence}\n\n/group-alerts/{alert.id}\n"))
    if row.answer == AlertAnswer.AFFECTED:  # top management hears that the problem reaches another division
        from qa_incidents.reports import service as reports
        from qa_incidents.reports.rules import Trigger

        incident = session.get(Incident, alert.incident_id)
        if incident is not None:
            reports.trigger(session, incident=incident, kind=Trigger.GROUP_ALERT_AFFECTED, now=now,
                            detail=addressee.division.name)
    return row


# --- reading ------------------------------------------------------------------------------------------------------


def get_alert(session: so.Session, *, user: User, alert_id: int) -> GroupAlert:
    """The alert if the user may read it (NotFound otherwise, never a hint that it exists)."""
    alert = session.get(GroupAlert, alert_id) if is_db_int(alert_id) else None
    incident_division = session.scalar(unscoped(
        sa.select(Incident.division_id).where(Incident.id == alert.incident_id),
        "the alert's incident by id; rules.may_read decides below")) if alert is not None else None
    if alert is None or incident_division is None or not rules.may_read(
            user.actor, incident_division_id=incident_division, addressed=[a.division_id for a in alert.addressees]):
        raise NotFound(str(_l("No such alert.")))
    return alert


def reads_incident(session: so.Session, user: User, alert: GroupAlert, division_id: int | None = None) -> bool:
    """Whether the user reads the alert's incident (`division_id`: the incident's, when the caller has it)."""
    if division_id is None:
        division_id = session.scalar(unscoped(sa.select(Incident.division_id).where(Incident.id == alert.incident_id),
                                              "the alert's incident by id; can_read_division decides below"))
    return division_id is not None and can_read_division(user.actor, division_id)


def visible_addressees(session: so.Session, user: User, alert: GroupAlert,
                       division_id: int | None = None) -> list[GroupAlertDivision]:
    """Who reads the incident sees every division's answer; an addressed division only its own."""
    if reads_incident(session, user, alert, division_id):
        return list(alert.addressees)
    return [a for a in alert.addressees if a.division_id == user.division_id]


def alerts_of(session: so.Session, incident_id: int) -> list[GroupAlert]:
    return list(session.scalars(sa.select(GroupAlert).where(GroupAlert.incident_id == incident_id)
                                .order_by(GroupAlert.id)))


def evidence(session: so.Session, *, user: User, answer_id: int) -> Attachment:
    """The file an answer carries, for whoever may read the alert."""
    row = session.get(GroupAlertAnswer, answer_id) if is_db_int(answer_id) else None
    if row is None or row.attachment is None:
        raise NotFound(str(_l("No such file.")))
    addressee = session.get(GroupAlertDivision, row.addressee_id)
    assert addressee is not None
    get_alert(session, user=user, alert_id=addressee.alert_id)
    if not reads_incident(session, user, addressee.alert) and addressee.division_id != user.division_id:
        raise NotFound(str(_l("No such file.")))
    return row.attachment


def list_alerts(session: so.Session, *, user: User, limit: int = 200) -> list[tuple[GroupAlert, list[GroupAlertDivision]]]:
    """The alerts the user may read, newest first, each with the answers they may see."""
    from qa_incidents.core.permissions import readable_divisions

    scope = readable_divisions(user.actor)
    stmt = sa.select(GroupAlert, Incident.division_id).join(Incident, Incident.id == GroupAlert.incident_id)
    addressed = sa.select(GroupAlertDivision.alert_id).where(GroupAlertDivision.division_id == user.division_id)
    if scope is not None:
        clauses = [Incident.division_id.in_(sorted(scope))]
        if user.role == Role.DIVISION_QA:
            clauses.append(GroupAlert.id.in_(addressed))
        stmt = stmt.where(sa.or_(*clauses))
    stmt = unscoped(stmt, "alerts are read by the incident's readers and by the addressed divisions: filtered above")
    found = session.execute(stmt.order_by(GroupAlert.id.desc()).limit(limit)).all()
    return [(a, visible_addressees(session, user, a, division_id)) for a, division_id in found]


def to_answer(session: so.Session, user: User) -> list[GroupAlertDivision]:
    """For a division's QA: the alerts addressed to the division without a final answer, soonest due first."""
    if user.role != Role.DIVISION_QA:
        return []
    return list(session.scalars(
        sa.select(GroupAlertDivision).join(GroupAlert, GroupAlert.id == GroupAlertDivision.alert_id)
        .where(GroupAlertDivision.division_id == user.division_id,
               GroupAlertDivision.answer.in_([AlertAnswer.PENDING, AlertAnswer.INVESTIGATING]))
        .order_by(GroupAlert.due_on, GroupAlert.id).limit(50)))


def awaiting_answers(session: so.Session, user: User) -> list[GroupAlertDivision]:
    """For head-office QA: the divisions that have not given a final answer yet, soonest due first."""
    if not rules.may_send(user.actor):
        return []
    return list(session.scalars(
        sa.select(GroupAlertDivision).join(GroupAlert, GroupAlert.id == GroupAlertDivision.alert_id)
        .where(GroupAlertDivision.answer.in_([AlertAnswer.PENDING, AlertAnswer.INVESTIGATING]))
        .order_by(GroupAlert.due_on, GroupAlert.id, GroupAlertDivision.id).limit(50)))


def report_lines(session: so.Session, incident_id: int, *, today: date) -> list[dict[str, object]]:
    """The alerts and each division's answer, as data for the status report to top management."""
    lines = []
    for alert in alerts_of(session, incident_id):
        lines.append({"subject": alert.subject, "sent_at": alert.created_at.isoformat(), "due_on": alert.due_on.isoformat(),
                      "divisions": [{
                          "division": a.division.name, "answer": a.answer.value,
                          "evidence": a.answers[-1].evidence[:300] if a.answers else "",
                          "answered_at": a.answered_at.isoformat() if a.answered_at else None,
                          "overdue": rules.urgency(answer=a.answer, due_on=alert.due_on, today=today)
                          == rules.Urgency.OVERDUE} for a in alert.addressees]})
    return lines


# --- reminders ----------------------------------------------------------------------------------------------------


def alert_scan(session: so.Session, now: datetime, base_url: str = "") -> int:
    """Remind each addressed division the day before its answer is due, and tell it (and the sender) once it is
    overdue; once per division and due date. Returns how many notices were queued."""
    today = now.date()
    queued = 0
    open_rows = session.scalars(sa.select(GroupAlertDivision).where(
        GroupAlertDivision.answer.in_([AlertAnswer.PENDING, AlertAnswer.INVESTIGATING])))
    for addressee in open_rows:
        alert = addressee.alert
        kind = rules.notice_due(answer=addressee.answer, due_on=alert.due_on, today=today)
        if kind is None:
            continue
        queued += _tell_division(session, alert=alert, division_id=addressee.division_id, kind=kind, now=now)
        if kind == "overdue":
            queued += len(outbox.enqueue_localised(
                session, people=[as_recipient(alert.created_by)], now=now, incident_id=alert.incident_id,
                dedupe_key=f"group-alert-overdue-sender:{alert.id}:{addressee.division_id}:{alert.due_on.isoformat()}",
                compose=lambda reader, a=addressee, alert=alert: (
                    gettext("Overdue: %(division)s has not answered the group-wide alert: %(subject)s",
                            division=a.division.name, subject=alert.subject),
                    f"{base_url}/group-alerts/{alert.id}\n")))
    return queued
