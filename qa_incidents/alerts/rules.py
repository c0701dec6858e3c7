"""The rules of group-wide early alerts, in plain Python: when one may be sent, who sends and who answers, what an
answer needs, when it is late, and which divisions the catalogue suggests asking."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from qa_incidents.core.permissions import Actor, Role, can_read_division


class AlertAnswer(enum.StrEnum):
    PENDING = "pending"
    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    INVESTIGATING = "investigating"


ANSWER_TITLES = {
    AlertAnswer.PENDING: _l("Not answered yet"),
    AlertAnswer.AFFECTED: _l("Affected"),
    AlertAnswer.NOT_AFFECTED: _l("Not affected"),
    AlertAnswer.INVESTIGATING: _l("Investigating"),
}

#: What a division may answer. "Investigating" is an interim answer: the alert stays open (and is late after the
#: due date) until the division says affected or not affected.
GIVEN_ANSWERS = (AlertAnswer.AFFECTED, AlertAnswer.NOT_AFFECTED, AlertAnswer.INVESTIGATING)
FINAL_ANSWERS = frozenset({AlertAnswer.AFFECTED, AlertAnswer.NOT_AFFECTED})

#: Alerts go out about severe incidents that head office has taken on (escalated), until they are closed.
SEVERE = frozenset({"S1", "S2"})
SENDABLE_STATUSES = frozenset({"escalated", "contained", "under_review"})

#: Days the divisions get by default, and the longest a due date may be set ahead.
DEFAULT_DAYS = 7
MAX_DAYS = 90
#: A reminder goes out this many days before the due date (and an overdue notice the day after it).
REMIND_DAYS_BEFORE = 1

SUBJECT_MAX = 200
TEXT_MAX = 4000


def may_send(actor: Actor) -> bool:
    """Only head-office QA sends a group-wide alert."""
    return actor.role == Role.HEAD_OFFICE_QA


def may_answer(actor: Actor, division_id: int) -> bool:
    """Only the QA manager of the addressed division answers for it (head office does not answer on its behalf)."""
    return actor.role == Role.DIVISION_QA and actor.division_id == division_id


def may_read(actor: Actor, *, incident_division_id: int, addressed: Iterable[int]) -> bool:
    """Those who read the incident read its alerts; an addressed division's QA reads the alert (not the incident)."""
    return can_read_division(actor, incident_division_id) or any(may_answer(actor, d) for d in addressed)


def send_blocked(*, severity: str | None, status: str) -> str | None:
    """Why no alert may be sent about the incident now (None: it may)."""
    if severity not in SEVERE:
        return str(_l("Group-wide alerts are sent about S1 and S2 incidents only."))
    if status not in SENDABLE_STATUSES:
        return str(_l("A group-wide alert is sent once head office has approved the escalation, until the incident "
                      "is closed."))
    return None


def send_errors(*, subject: str, message: str, division_ids: Iterable[int], incident_division_id: int,
                due_on: date | None, today: date, known_divisions: Iterable[int]) -> dict[str, str]:
    """What is wrong with an alert about to be sent, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    chosen = set(division_ids)
    if not subject.strip():
        errors["subject"] = str(_l("Say in a line what the divisions should check."))
    elif len(subject.strip()) > SUBJECT_MAX:
        errors["subject"] = str(_l("At most %(n)d characters.", n=SUBJECT_MAX))
    if not message.strip():
        errors["message"] = str(_l("Describe the failure and what to check (part, supplier, design, lots)."))
    elif len(message.strip()) > TEXT_MAX:
        errors["message"] = str(_l("At most %(n)d characters.", n=TEXT_MAX))
    if not chosen:
        errors["division_ids"] = str(_l("Choose at least one division."))
    elif incident_division_id in chosen:
        errors["division_ids"] = str(_l("The incident's own division already works the case: choose other divisions."))
    elif chosen - set(known_divisions):
        errors["division_ids"] = str(_l("Choose among the active divisions listed."))
    if due_on is None:
        errors["due_on"] = str(_l("Give the date by which the divisions answer."))
    elif due_on < today:
        errors["due_on"] = str(_l("The due date cannot be in the past."))
    elif (due_on - today).days > MAX_DAYS:
        errors["due_on"] = str(_l("At most %(n)d days ahead: this is an early alert.", n=MAX_DAYS))
    return errors


def answer_errors(*, answer: str, evidence: str) -> dict[str, str]:
    """What is wrong with a division's answer, by field (empty: nothing). Every answer states its evidence."""
    errors: dict[str, str] = {}
    if answer not in {a.value for a in GIVEN_ANSWERS}:
        errors["answer"] = str(_l("Answer affected, not affected or investigating."))
    if not evidence.strip():
        errors["evidence"] = str(_l("Give the evidence: what you checked and what you found (or are checking)."))
    elif len(evidence.strip()) > TEXT_MAX:
        errors["evidence"] = str(_l("At most %(n)d characters.", n=TEXT_MAX))
    return errors


class Urgency(enum.StrEnum):
    ANSWERED = "answered"
    OPEN = "open"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


URGENCY_TITLES = {
    Urgency.ANSWERED: _l("answered"),
    Urgency.OPEN: _l("open"),
    Urgency.DUE_SOON: _l("due soon"),
    Urgency.OVERDUE: _l("overdue"),
}


def urgency(*, answer: AlertAnswer, due_on: date, today: date) -> Urgency:
    """Where a division's answer stands: a final answer closes it; otherwise it is late after the due date."""
    if answer in FINAL_ANSWERS:
        return Urgency.ANSWERED
    if today > due_on:
        return Urgency.OVERDUE
    if (due_on - today).days <= REMIND_DAYS_BEFORE:
        return Urgency.DUE_SOON
    return Urgency.OPEN


def days_overdue(*, due_on: date, today: date) -> int:
    return max(0, (today - due_on).days)


def notice_due(*, answer: AlertAnswer, due_on: date, today: date) -> str | None:
    """The e-mail (and bell item) the division's QA gets today: "reminder" the day before, "overdue" after."""
    state = urgency(answer=answer, due_on=due_on, today=today)
    if state == Urgency.OVERDUE:
        return "overdue"
    if state == Urgency.DUE_SOON:
        return "reminder"
    return None


# --- suggestions from the catalogue -------------------------------------------------------------------------------


class Basis(enum.StrEnum):
    CATEGORY = "category"
    PART = "part"
    SUPPLIER = "supplier"
    DESIGN = "design"


@dataclass(frozen=True)
class CatalogueProduct:
    """What the suggestions need to know of a product model."""

    id: int
    division_id: int
    model: str
    category_id: int
    #: The category and its ancestors, nearest first.
    category_line: tuple[int, ...]
    category_name: str = ""
    parts: Mapping[str, str] = field(default_factory=dict)  # part code (as written) -> supplier
    designs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    basis: Basis
    model: str  # the other division's product that matches
    value: str  # the category, part number, supplier or design they share


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def matches(incident_product: CatalogueProduct, other: CatalogueProduct) -> list[Match]:
    """How another product may share the incident's cause: the same category (or one within the other), a part of
    the same number, a part from the same supplier, or the same design platform."""
    found = []
    if (other.category_id == incident_product.category_id or other.category_id in incident_product.category_line
            or incident_product.category_id in other.category_line):
        found.append(Match(Basis.CATEGORY, other.model, incident_product.category_name or other.category_name))
    their_parts = {_key(code): code for code in other.parts}
    for code in sorted(incident_product.parts):
        if _key(code) in their_parts:
            found.append(Match(Basis.PART, other.model, code))
    their_suppliers = {_key(s) for s in other.parts.values() if s.strip()}
    for supplier in sorted({s for s in incident_product.parts.values() if s.strip()}):
        if _key(supplier) in their_suppliers:
            found.append(Match(Basis.SUPPLIER, other.model, supplier))
    their_designs = {_key(d) for d in other.designs}
    for design in sorted(incident_product.designs):
        if _key(design) in their_designs:
            found.append(Match(Basis.DESIGN, other.model, design))
    return found


def suggest(incident_product: CatalogueProduct, catalogue: Iterable[CatalogueProduct]) -> dict[int, list[Match]]:
    """Division id -> what its products share with the incident's product (divisions other than the incident's own,
    which works the case already). A division with no match is not suggested; head office may still choose it."""
    found: dict[int, list[Match]] = {}
    for other in catalogue:
        if other.division_id == incident_product.division_id or other.id == incident_product.id:
            continue
        if hits := matches(incident_product, other):
            found.setdefault(other.division_id, []).extend(hits)
    return found


BASIS_WORDS = {
    Basis.CATEGORY: _l("same category"),
    Basis.PART: _l("same part"),
    Basis.SUPPLIER: _l("same supplier"),
    Basis.DESIGN: _l("same design"),
}


def basis_text(found: Iterable[Match]) -> str:
    """The matches as the alert keeps them, in English: "same part PR-7 (R-S38); same supplier Kanto Relay (R-S38)"."""
    words = {Basis.CATEGORY: "same category", Basis.PART: "same part", Basis.SUPPLIER: "same supplier",
             Basis.DESIGN: "same design"}
    return "; ".join(f"{words[m.basis]} {m.value} ({m.model})" for m in found)[:500]
