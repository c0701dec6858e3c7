"""Use cases of the laws map: what applied where and when, the matrix, edits, enforcement alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.service import people
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.catalogue.service import CategoryTree as Tree
from qa_incidents.core import audit, outbox
from qa_incidents.core.countries import country_codes
from qa_incidents.core.errors import NotFound, ValidationFailed
from qa_incidents.core.permissions import Role
from qa_incidents.laws import compliance
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, LawCategory, Obligation, in_force

DEFAULT_ALERT_DAYS = (90, 30, 7)
LAW_FIELDS = ("jurisdiction_id", "short_name", "name_original", "name_en", "citation", "authority", "url", "status",
              "in_force_from", "repealed_on", "source", "unconfirmed", "notes")
OBLIGATION_FIELDS = ("law_id", "regime_code", "title", "trigger_harms", "trigger_text", "applies_to_markets",
                     "required_fields", "follow_ups", "channel", "valid_from", "valid_to", "source", "unconfirmed")
AMENDMENT_FIELDS = ("law_id", "title", "promulgated_on", "enforced_on", "summary", "affected_categories", "source")
JURISDICTION_FIELDS = ("code", "name", "is_bloc", "members", "timezone", "holiday_country", "holiday_subdiv", "active")


# --- what applies --------------------------------------------------------------------


@dataclass
class Applicable:
    law: Law
    obligations: list[Obligation]
    via_category: ProductCategory
    #: The bloc or country through which the law reaches the country asked about.
    jurisdiction: Jurisdiction


def jurisdictions_for(session: so.Session, country: str) -> list[Jurisdiction]:
    """The country's own jurisdiction and every bloc it belongs to."""
    return reaching(active_jurisdictions(session), country)


def active_jurisdictions(session: so.Session) -> list[Jurisdiction]:
    """Every active jurisdiction: countries first, then blocs, by code."""
    return list(session.scalars(sa.select(Jurisdiction).where(Jurisdiction.active.is_(True))
                                .order_by(Jurisdiction.is_bloc, Jurisdiction.code)))


def reaching(jurisdictions: Iterable[Any], country: str) -> list[Any]:
    """Of the jurisdictions (rows or plain copies), the country's own and the blocs it belongs to."""
    return [j for j in jurisdictions if country in j.member_codes]


def applicable(session: so.Session, *, category_id: int, country: str, on: dt.date,
               tree: Tree | None = None) -> list[Applicable]:
    """The laws (and their obligations) that applied to the category in the country on the date."""
    return in_force_on(candidates(session, category_id=category_id, country=country, tree=tree), on)


@dataclass
class Candidate:
    """A law that reaches a country and covers a category (or an ancestor) on some date: what `in_force_on`
    picks from. Its parts need only the attributes read below, so plain copies serve as well as rows."""

    law: Any
    jurisdiction: Any
    #: The law's coverage entries for the category or one of its ancestors, each with `category`.
    coverage: list[Any]
    obligations: list[Any]


def candidates(session: so.Session, *, category_id: int, country: str, tree: Tree | None = None) -> list[Candidate]:
    """Every law of the country's jurisdictions (its own, then its blocs; by short name) that covers the
    category or an ancestor at some time, whatever the date."""
    tree = tree or Tree.load(session)
    return collect_candidates(tree.ancestors(category_id), jurisdictions_for(session, country), lambda j: session.scalars(
        sa.select(Law).where(Law.jurisdiction_id == j.id).order_by(Law.short_name, Law.id)))


def collect_candidates(lineage: list[int], jurisdictions: Iterable[Any],
                       laws_of: Callable[[Any], Iterable[Any]]) -> list[Candidate]:
    """candidates' rule: of the laws of each jurisdiction reaching the country (`laws_of`, by short name), those
    covering one of the categories in `lineage`. Rows or plain copies with the same attributes serve alike."""
    found = []
    for jurisdiction in jurisdictions:
        for law in laws_of(jurisdiction):
            coverage = [c for c in law.coverage if c.category_id in lineage]
            if coverage:
                found.append(Candidate(law, jurisdiction, coverage, list(law.obligations)))
    return found


def in_force_on(found: list[Candidate], on: dt.date) -> list[Applicable]:
    """The candidates that applied on the date: the law in force (a law repealed without a date never applies),
    one of its coverage entries in force, and of its obligations those in force; each law once."""
    picked: dict[int, Applicable] = {}
    for candidate in found:
        law = candidate.law
        if law.status == "repealed" and law.repealed_on is None:
            continue
        if not in_force(law.in_force_from, law.repealed_on, on):
            continue
        covering = [c for c in candidate.coverage if in_force(c.valid_from, c.valid_to, on)]
        if not covering or law.id in picked:
            continue
        obligations = [o for o in candidate.obligations if in_force(o.valid_from, o.valid_to, on)]
        picked[law.id] = Applicable(law, obligations, covering[0].category, candidate.jurisdiction)
    return list(picked.values())


@dataclass
class Cell:
    laws: list[Law] = field(default_factory=list)
    upcoming: list[Amendment] = field(default_factory=list)


@dataclass
class MapMatrix:
    categories: list[ProductCategory]
    jurisdictions: list[Jurisdiction]
    cells: dict[tuple[int, int], Cell]
    on: dt.date


def matrix(session: so.Session, *, on: dt.date, category_ids: set[int] | None = None,
           horizon_days: int = 365) -> MapMatrix:
    """Categories × jurisdictions: the laws in force on the date, and amendments coming within the horizon."""
    tree = Tree.load(session)
    categories = sorted(session.scalars(sa.select(ProductCategory).where(ProductCategory.active.is_(True))),
                        key=lambda c: c.path.lower())
    if category_ids is not None:
        wanted = set()
        for cid in category_ids:
            wanted.update(tree.ancestors(cid))
        categories = [c for c in categories if c.id in wanted]
    jurisdictions = list(session.scalars(sa.select(Jurisdiction).where(Jurisdiction.active.is_(True))
                                         .order_by(Jurisdiction.is_bloc, Jurisdiction.code)))
    laws = list(session.scalars(sa.select(Law)))
    cells: dict[tuple[int, int], Cell] = {}
    until = on + dt.timedelta(days=horizon_days)
    for category in categories:
        lineage = tree.ancestors(category.id)
        for jurisdiction in jurisdictions:
            cell = Cell()
            for law in laws:
                if law.jurisdiction_id != jurisdiction.id:
                    continue
                # As in applicable(): a law repealed without a date never applies.
                never = law.status == "repealed" and law.repealed_on is None
                covers_now = not never and in_force(law.in_force_from, law.repealed_on, on) and any(
                    c.category_id in lineage and in_force(c.valid_from, c.valid_to, on) for c in law.coverage)
                covers_ever = any(c.category_id in lineage for c in law.coverage)
                if covers_now:
                    cell.laws.append(law)
                if covers_ever:
                    for amendment in law.amendments:
                        affected = {tree.by_code.get(code) for code in amendment.affected_categories}
                        touches = not amendment.affected_categories or bool(affected & set(lineage)) or any(
                            category.id in tree.descendants(a) for a in affected if a is not None)
                        if on < amendment.enforced_on <= until and touches:
                            cell.upcoming.append(amendment)
            cells[(category.id, jurisdiction.id)] = cell
    return MapMatrix(categories, jurisdictions, cells, on)


def division_category_ids(session: so.Session, division_id: int) -> set[int]:
    """The categories of a division's active products."""
    return set(session.scalars(sa.select(Product.category_id).where(Product.division_id == division_id,
                                                                    Product.active.is_(True))))


def get_law(session: so.Session, law_id: int) -> Law:
    law = session.get(Law, law_id)
    if law is None:
        raise NotFound(str(_l("No such law.")))
    return law


def upcoming_amendments(session: so.Session, *, today: dt.date, horizon_days: int = 365) -> list[Amendment]:
    return list(session.scalars(
        sa.select(Amendment).where(Amendment.enforced_on > today,
                                   Amendment.enforced_on <= today + dt.timedelta(days=horizon_days))
        .order_by(Amendment.enforced_on, Amendment.id)))


# --- edits (admin and head-office QA; audited) -------------------------------------------


def _save(session: so.Session, obj: Any, fields: tuple[str, ...], data: dict[str, Any], *, entity: str,
          actor_id: int | None, now: dt.datetime) -> Any:
    before = audit.snapshot(obj, fields) if obj.id is not None else {}
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])
    if obj.id is None:
        session.add(obj)
    session.flush()
    if changes := audit.field_changes(before, audit.snapshot(obj, fields)):
        audit.record(session, actor_id=actor_id, entity_type=entity, entity_id=obj.id,
                     action="created" if not before else "updated", now=now, changes=changes)
    return obj


def _load_or_new(session: so.Session, model: type, ident: int | None, missing: Any) -> Any:
    """The row to change (NotFound if the id is unknown), or a new one when no id is given."""
    if not ident:
        return model()
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(str(missing))
    return obj


def _require_text(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {n: str(_l("Required.")) for n in names if not str(data.get(n) or "").strip()}


def save_jurisdiction(session: so.Session, *, data: dict[str, Any], jurisdiction_id: int | None, actor_id: int | None,
                      now: dt.datetime) -> Jurisdiction:
    from qa_incidents.core.clock import is_valid_timezone

    errors = _require_text(data, ("code", "name", "timezone"))
    if data.get("timezone") and not is_valid_timezone(data["timezone"]):
        errors["timezone"] = str(_l("Choose a time zone from the list."))
    clash = session.scalar(sa.select(Jurisdiction.id).where(Jurisdiction.code == data.get("code"),
                                                            Jurisdiction.id != (jurisdiction_id or -1)))
    if clash:
        errors["code"] = str(_l("Another jurisdiction already has this code."))
    members = str(data.get("members") or "").upper().split()
    if unknown := sorted(set(members) - country_codes()):
        errors["members"] = str(_l("Not ISO country codes: %(codes)s.", codes=", ".join(unknown)))
    elif data.get("is_bloc") and not members:
        errors["members"] = str(_l("Name the member countries of the bloc."))
    holiday_country = str(data.get("holiday_country") or "").upper()
    if holiday_country and holiday_country not in country_codes():
        errors["holiday_country"] = str(_l("Not an ISO country code."))
    if errors:
        raise ValidationFailed(errors)
    obj = _load_or_new(session, Jurisdiction, jurisdiction_id, _l("No such jurisdiction."))
    return _save(session, obj, JURISDICTION_FIELDS, data, entity="jurisdiction", actor_id=actor_id, now=now)


def save_law(session: so.Session, *, data: dict[str, Any], category_ids: list[int] | None, law_id: int | None,
             actor_id: int | None, now: dt.datetime) -> Law:
    """Create or change a law and (optionally) the categories it covers from its entry into force."""
    errors = _require_text(data, ("short_name", "name_original", "name_en"))
    if session.get(Jurisdiction, data.get("jurisdiction_id") or 0) is None:
        errors["jurisdiction_id"] = str(_l("Choose a jurisdiction."))
    if data.get("status") not in ("in_force", "planned", "repealed"):
        errors["status"] = str(_l("Choose a status."))
    if data.get("in_force_from") and data.get("repealed_on") and data["repealed_on"] <= data["in_force_from"]:
        errors["repealed_on"] = str(_l("A law is repealed after it comes into force."))
    if data.get("status") == "repealed" and not data.get("repealed_on"):
        # Without the date a repealed law would be read as never having applied.
        errors["repealed_on"] = str(_l("Give the day from which a repealed law no longer applies."))
    url = str(data.get("url") or "").strip().lower()
    if url and not url.startswith(("https://", "http://")):
        errors["url"] = str(_l("Enter a web address starting with https://."))
    clash = session.scalar(sa.select(Law.id).where(Law.short_name == data.get("short_name"), Law.id != (law_id or -1)))
    if clash:
        errors["short_name"] = str(_l("Another law already has this short name."))
    if errors:
        raise ValidationFailed(errors)
    obj = _load_or_new(session, Law, law_id, _l("No such law."))
    law = _save(session, obj, LAW_FIELDS, data, entity="law", actor_id=actor_id, now=now)
    if category_ids is not None:
        set_coverage(session, law=law, category_ids=category_ids, actor_id=actor_id, now=now)
    return law


def set_coverage(session: so.Session, *, law: Law, category_ids: list[int], actor_id: int | None, now: dt.datetime,
                 valid_from: dt.date | None = None) -> None:
    """Make the law cover exactly these categories; removed ones end today, they are not deleted."""
    today = now.date()
    current = {c.category_id: c for c in law.coverage if c.valid_to is None}
    added = [cid for cid in category_ids if cid not in current]
    removed = [c for cid, c in current.items() if cid not in category_ids]
    ended = {c.category_id for c in law.coverage if c.valid_to is not None}
    for cid in added:
        # A category covered before and ended since starts again today: the gap stays a gap.
        start = valid_from if valid_from is not None else (today if cid in ended else None)
        session.add(LawCategory(law_id=law.id, category_id=cid, valid_from=start))
    for c in removed:
        c.valid_to = today
    session.flush()
    session.refresh(law)
    if added or removed:
        names = {c.id: c.path for c in session.scalars(sa.select(ProductCategory))}
        audit.record(session, actor_id=actor_id, entity_type="law", entity_id=law.id, action="coverage", now=now,
                     changes={"categories added": [None, [names[c] for c in added]] if added else None,
                              "categories removed": [[names[c.category_id] for c in removed], None] if removed else None})


def save_obligation(session: so.Session, *, data: dict[str, Any], obligation_id: int | None, actor_id: int | None,
                    now: dt.datetime) -> Obligation:
    from qa_incidents.incidents.severity import HarmClass
    from qa_incidents.notifications.deadlines import RULES

    errors = _require_text(data, ("regime_code", "title"))
    if data.get("regime_code") and data["regime_code"] not in RULES:
        errors["regime_code"] = str(_l("Unknown regime code: the deadline engine knows %(codes)s.",
                                       codes=", ".join(sorted(RULES))))
    bad = [h for h in data.get("trigger_harms") or [] if h not in {c.value for c in HarmClass}]
    if bad:
        errors["trigger_harms"] = str(_l("Unknown harm class: %(h)s.", h=", ".join(bad)))
    if session.get(Law, data.get("law_id") or 0) is None:
        errors["law_id"] = str(_l("Choose a law."))
    if data.get("valid_from") and data.get("valid_to") and data["valid_to"] <= data["valid_from"]:
        errors["valid_to"] = str(_l("The end comes after the start."))
    clash = session.scalar(sa.select(Obligation.id).where(Obligation.regime_code == data.get("regime_code"),
                                                          Obligation.id != (obligation_id or -1)))
    if clash:
        errors["regime_code"] = str(_l("Another obligation already has this regime code."))
    if errors:
        raise ValidationFailed(errors)
    obj = _load_or_new(session, Obligation, obligation_id, _l("No such obligation."))
    return _save(session, obj, OBLIGATION_FIELDS, data, entity="obligation", actor_id=actor_id, now=now)


def save_amendment(session: so.Session, *, data: dict[str, Any], amendment_id: int | None, actor_id: int | None,
                   now: dt.datetime) -> Amendment:
    errors = _require_text(data, ("title",))
    if not data.get("enforced_on"):
        errors["enforced_on"] = str(_l("Give the enforcement date."))
    elif data.get("promulgated_on") and data["promulgated_on"] > data["enforced_on"]:
        errors["promulgated_on"] = str(_l("Promulgation comes before enforcement."))
    if session.get(Law, data.get("law_id") or 0) is None:
        errors["law_id"] = str(_l("Choose a law."))
    known = set(session.scalars(sa.select(ProductCategory.code)))
    unknown = [c for c in data.get("affected_categories") or [] if c not in known]
    if unknown:
        errors["affected_categories"] = str(_l("Unknown category codes: %(c)s.", c=", ".join(unknown)))
    if errors:
        raise ValidationFailed(errors)
    obj = _load_or_new(session, Amendment, amendment_id, _l("No such amendment."))
    amendment = _save(session, obj, AMENDMENT_FIELDS, data, entity="amendment", actor_id=actor_id, now=now)
    # An amendment of a technical law opens a re-assessment for each product model it reaches (compliance register).
    compliance.open_reassessments(session, amendment=amendment, actor_id=actor_id, now=now)
    return amendment


def law_history(session: so.Session, law: Law) -> list[audit.AuditEvent]:
    """Every audited change to the law, its obligations and its amendments, newest first."""
    ob_ids = [o.id for o in law.obligations]
    am_ids = [a.id for a in law.amendments]
    A = audit.AuditEvent
    return list(session.scalars(sa.select(A).where(sa.or_(
        sa.and_(A.entity_type == "law", A.entity_id == law.id),
        sa.and_(A.entity_type == "obligation", A.entity_id.in_(ob_ids or [-1])),
        sa.and_(A.entity_type == "amendment", A.entity_id.in_(am_ids or [-1])),
    )).order_by(A.id.desc())))


# --- enforcement alerts ------------------------------------------------------------------


def enforcement_alerts(session: so.Session, *, now: dt.datetime, thresholds: tuple[int, ...] = DEFAULT_ALERT_DAYS,
                       base_url: str = "") -> int:
    """Tell each division whose product categories an amendment affects, at 90, 30 and 7 days before it is enforced.

    Each (amendment, division, threshold) is sent once; when the scan first sees an amendment late (say 20 days
    before), only the nearest threshold passed is sent, not every earlier one.
    """
    tree = Tree.load(session)
    queued = 0
    for amendment in session.scalars(sa.select(Amendment).where(Amendment.enforced_on > now.date())):
        zone = ZoneInfo(amendment.law.jurisdiction.timezone)
        days_left = (amendment.enforced_on - now.astimezone(zone).date()).days
        due = [t for t in sorted(thresholds) if days_left <= t]
        if not due:
            continue
        threshold = due[0]
        affected: set[int] = set()
        codes = amendment.affected_categories or [c.category.code for c in amendment.law.coverage]
        for code in codes:
            if code in tree.by_code:
                affected |= tree.descendants(tree.by_code[code])
        divisions = set(session.scalars(sa.select(Product.division_id).where(Product.category_id.in_(affected or {-1}))))
        for division_id in sorted(divisions):
            to = people(session, roles={Role.DIVISION_QA, Role.REPORTER}, division_id=division_id)
            messages = outbox.enqueue_localised(
                session, people=to, now=now, zone=amendment.law.jurisdiction.timezone,
                dedupe_key=f"law-enforcement:{amendment.id}:{division_id}:{threshold}",
                compose=lambda reader, amendment=amendment, days_left=days_left: _enforcement_letter(
                    reader, amendment=amendment, days_left=days_left, base_url=base_url))
            queued += bool(messages)
    return queued


def _enforcement_letter(reader: outbox.Reader, *, amendment: Amendment, days_left: int, base_url: str) -> tuple[str, str]:
    """The alert in the reader's language: the law's name in theirs first (both kept), the amendment as written."""
    law = amendment.law
    name = law.name_original if reader.language == "ja" and law.jurisdiction.code == "JP" else law.name_en
    other = law.name_en if name == law.name_original else law.name_original
    subject = gettext("In %(n)d days: %(law)s (%(country)s) — %(amendment)s", n=days_left, law=law.short_name,
                      country=law.jurisdiction.code, amendment=amendment.title)
    body = (f"{name} ({other})\n{amendment.title}\n"
            + gettext("Enforced on %(day)s (%(n)d days from today).", day=reader.date(amendment.enforced_on),
                      n=days_left)
            + f"\n\n{amendment.summary}\n\n{base_url}/laws/{law.id}\n")
    return subject, body


def compliance_scan(session: so.Session, *, now: dt.datetime, warn_days: int, base_url: str = "") -> int:
    """The compliance register's scheduled scan (expiring evidence, overdue re-assessments): laws/compliance.py."""
    return compliance.scan(session, now=now, warn_days=warn_days, base_url=base_url)
