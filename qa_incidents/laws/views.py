"""Pages of the laws map: the matrix, a law's page, upcoming changes, "What applied?" and the editors' forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectChoice

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.catalogue.service import list_categories
from qa_incidents.core.clock import to_zone
from qa_incidents.core.countries import country_names
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors, timezone_choices
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now, requires, viewer_timezone
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.service import visible
from qa_incidents.incidents.severity import HARM_CLASS_TITLES
from qa_incidents.laws import compliance, service
from qa_incidents.laws.forms import (
    LAW_STATUS_TITLES,
    AmendmentForm,
    ApplicableForm,
    JurisdictionForm,
    LawForm,
    MapFilterForm,
    ObligationForm,
)
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, Obligation, TechnicalLaw
from qa_incidents.notifications.deadlines import KIND_TITLES, RULES, UNCONFIRMED_LABEL, compute

bp = Blueprint("laws", __name__, url_prefix="/laws")

ALL_LINES = "all"
HORIZON_DAYS = 365
PAST_INCIDENTS_SHOWN = 20

#: Names of audited fields, for the history on a law's page.
FIELD_TITLES: dict[str, Any] = {
    "jurisdiction_id": _l("Jurisdiction"), "short_name": _l("Short name"), "name_original": _l("Name (original language)"),
    "name_en": _l("Name (English)"), "citation": _l("Citation"), "authority": _l("Authority"), "url": _l("Link"),
    "status": _l("Status"), "in_force_from": _l("In force from"), "repealed_on": _l("Repealed on"),
    "source": _l("Source"), "unconfirmed": _l("To be confirmed"), "notes": _l("Notes"),
    "categories added": _l("Categories added"), "categories removed": _l("Categories removed"),
    "law_id": _l("Law"), "regime_code": _l("Regime code"), "title": _l("Title"),
    "trigger_harms": _l("Harm classes that trigger it"), "trigger_text": _l("Trigger"),
    "applies_to_markets": _l("Also applies where sold"), "required_fields": _l("Required report fields"),
    "follow_ups": _l("Follow-ups"), "channel": _l("Channel"), "valid_from": _l("Applies from"),
    "valid_to": _l("No longer applies from"), "promulgated_on": _l("Promulgated on"), "enforced_on": _l("Enforced on"),
    "summary": _l("Summary"), "affected_categories": _l("Affected categories"),
}
ACTION_TITLES: dict[str, Any] = {"created": _l("created"), "updated": _l("changed"), "coverage": _l("coverage changed")}


# --- small helpers ------------------------------------------------------------------------


def _today() -> dt.date:
    """Today in the viewer's time zone."""
    return to_zone(now(), viewer_timezone()).date()


def _law_or_404(law_id: int) -> Law:
    try:
        return service.get_law(db(), law_id)
    except DomainError:
        abort(404)


def _depth(category: ProductCategory) -> int:
    depth, node, seen = 0, category.parent, {category.id}
    while node is not None and node.id not in seen:
        seen.add(node.id)
        depth, node = depth + 1, node.parent
    return depth


def _category_paths() -> dict[str, str]:
    """Category code → full path, for amendments (which name categories by code)."""
    return {c.code: c.path for c in list_categories(db())}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@dataclass(frozen=True)
class DeadlineText:
    """An obligation's deadline rule in words, from the deadline engine."""

    kind: str
    reading: str
    time_zone: str
    source: str
    example: str
    unconfirmed: tuple[str, ...]


def _deadline_text(regime_code: str) -> DeadlineText | None:
    rule = RULES.get(regime_code)
    if rule is None:
        return None
    try:
        example = compute(rule, start=now()).explanation
    except (ValueError, OverflowError):  # a calendar the engine cannot use: the words still stand
        example = ""
    return DeadlineText(str(KIND_TITLES[rule.kind]), rule.reading, rule.time_zone, rule.source, example,
                        rule.unconfirmed)


def _error_status(form: Any, failed: bool = False) -> int:
    return 422 if failed or form.errors else 200


# --- the map -------------------------------------------------------------------------------


def _product_lines() -> dict[int, str]:
    """Divisions that sell active products: id → name."""
    rows = db().execute(sa.select(Division.id, Division.name).where(
        Division.id.in_(sa.select(Product.division_id).where(Product.active.is_(True)))).order_by(Division.name))
    return {r.id: r.name for r in rows}


@bp.get("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    lines = _product_lines()
    form = MapFilterForm(request.args)
    form.division.choices = [SelectChoice(ALL_LINES, _("All product lines"))] + [
        SelectChoice(str(i), name) for i, name in lines.items()]
    if "division" not in request.args:
        form.division.data = str(current_user.division_id) if current_user.division_id in lines else ALL_LINES
    if not request.args.get("on"):
        form.on.data, form.on.raw_data = _today(), []
    form.validate()
    chosen = None if form.division.errors or form.division.data in (None, "", ALL_LINES) else int(form.division.data)
    grid = None
    if not form.errors:
        category_ids = service.division_category_ids(db(), chosen) if chosen else None
        try:
            grid = service.matrix(db(), on=form.on.data, category_ids=category_ids, horizon_days=HORIZON_DAYS)
        except OverflowError:  # the horizon runs past year 9999
            form.on.errors = [*form.on.errors, _("This date is out of range.")]
    depths = {c.id: _depth(c) for c in grid.categories} if grid else {}
    return render_template("laws/map.html", form=form, grid=grid, depths=depths, line_name=lines.get(chosen or 0),
                           horizon=HORIZON_DAYS), _error_status(form)


# --- a law's page --------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    event: Any
    subject: str
    action: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def _shown(value: Any, names: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_shown(v, names) for v in value)
    return names.get(str(value), str(value))


def _history(law: Law) -> list[HistoryEntry]:
    obligations = {o.id: o.regime_code for o in law.obligations}
    amendments = {a.id: a.title for a in law.amendments}
    jurisdictions = {str(j.id): f"{j.code} — {j.name}" for j in db().scalars(sa.select(Jurisdiction))}
    harms = {h.value: str(t) for h, t in HARM_CLASS_TITLES.items()}
    statuses = {k: str(v) for k, v in LAW_STATUS_TITLES.items()}
    paths = _category_paths()
    entries = []
    for event in service.law_history(db(), law):
        if event.entity_type == "obligation":
            subject = _("Obligation %(code)s", code=obligations.get(event.entity_id, "?"))
        elif event.entity_type == "amendment":
            subject = _("Amendment “%(title)s”", title=amendments.get(event.entity_id, "?"))
        else:
            subject = _("Law %(name)s", name=law.short_name)
        entry = HistoryEntry(event, subject, str(ACTION_TITLES.get(event.action, event.action)))
        for name, pair in (event.changes or {}).items():
            if not pair or name == "law_id":  # coverage events carry None for "nothing removed"
                continue
            if event.action == "created" and pair[1] in (None, "", [], False):
                continue
            names = {"jurisdiction_id": jurisdictions, "trigger_harms": harms, "status": statuses,
                     "affected_categories": paths}.get(name, {})
            entry.changes.append((str(FIELD_TITLES.get(name, name)), _shown(pair[0], names), _shown(pair[1], names)))
        entries.append(entry)
    return entries


def _past_incidents(law: Law) -> list[Incident] | None:
    """Incidents in the categories the law covers, in its jurisdiction, that the viewer may read; None: may read none."""
    if not can(current_user.actor, Capability.READ_INCIDENTS):
        return None
    tree = service.Tree.load(db())
    category_ids: set[int] = set()
    for coverage in law.coverage:
        category_ids |= tree.descendants(coverage.category_id)
    countries = sorted(law.jurisdiction.member_codes)
    if not category_ids or not countries:
        return []
    stmt = (sa.select(Incident).where(Incident.category_id.in_(sorted(category_ids)), Incident.country.in_(countries))
            .order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(PAST_INCIDENTS_SHOWN))
    return list(db().scalars(visible(stmt, current_user)))


@bp.get("/<id:law_id>")
@login_required
def show(law_id: int):  # type: ignore[no-untyped-def]
    law = _law_or_404(law_id)
    today = _today()
    return render_template(
        "laws/show.html", law=law, today=today, paths=_category_paths(),
        deadlines={o.regime_code: _deadline_text(o.regime_code) for o in law.obligations},
        incidents=_past_incidents(law), incidents_limit=PAST_INCIDENTS_SHOWN, history=_history(law), HARM_CLASS_TITLES=HARM_CLASS_TITLES,
        harm_titles={h.value: t for h, t in HARM_CLASS_TITLES.items()}, LAW_STATUS_TITLES=LAW_STATUS_TITLES,
        UNCONFIRMED_LABEL=UNCONFIRMED_LABEL, lines=_lines,
        technical=db().scalar(sa.select(TechnicalLaw).where(TechnicalLaw.law_id == law.id, TechnicalLaw.active.is_(True))))


# --- upcoming and "What applied?" ----------------------------------------------------------


@bp.get("/upcoming")
@login_required
def upcoming():  # type: ignore[no-untyped-def]
    today = _today()
    amendments = service.upcoming_amendments(db(), today=today, horizon_days=HORIZON_DAYS)
    return render_template("laws/upcoming.html", amendments=amendments, today=today, paths=_category_paths(),
                           horizon=HORIZON_DAYS)


@bp.get("/applicable")
@login_required
def applicable():  # type: ignore[no-untyped-def]
    form = ApplicableForm(request.args)
    categories = list_categories(db(), active_only=True)
    countries = country_names(current_user.locale or "en")
    form.category.choices = [SelectChoice("", _("Choose a product category…"))] + [
        SelectChoice(str(c.id), c.path) for c in categories]
    form.country.choices = [SelectChoice("", _("Choose a country…"))] + [
        SelectChoice(code, f"{name} ({code})") for code, name in sorted(countries.items(), key=lambda kv: kv[1])]
    submitted = any(name in request.args for name in ("category", "country", "on"))
    if not submitted:
        form.on.data = _today()
    results = None
    if submitted and form.validate():
        results = service.applicable(db(), category_id=int(form.category.data), country=form.country.data,
                                     on=form.on.data)
    category = next((c for c in categories if str(c.id) == form.category.data), None)
    return render_template(
        "laws/applicable.html", form=form, results=results, category=category,
        country=countries.get(form.country.data or "", form.country.data),
        deadlines={code: _deadline_text(code) for code in RULES}, harm_titles={h.value: t for h, t in HARM_CLASS_TITLES.items()},
    ), _error_status(form)


# --- editing (admin and head-office QA) ----------------------------------------------------


def _save_failed(form: Any, e: ValidationFailed) -> None:
    for message in apply_errors(form, e.errors):
        flash(message, "error")


@bp.route("/new", methods=["GET", "POST"], defaults={"law_id": None})
@bp.route("/<id:law_id>/edit", methods=["GET", "POST"])
@requires(Capability.EDIT_LAWS_MAP)
def law_form(law_id: int | None):  # type: ignore[no-untyped-def]
    law = _law_or_404(law_id) if law_id else None
    form = LawForm(data=LawForm.initial(law) if law else {"status": "in_force"})
    form.jurisdiction_id.choices = [SelectChoice("", _("Choose a jurisdiction…"))] + [
        SelectChoice(str(j.id), f"{j.code} — {j.name}") for j in
        db().scalars(sa.select(Jurisdiction).order_by(Jurisdiction.is_bloc, Jurisdiction.code))]
    form.category_ids.choices = [SelectChoice(str(c.id), c.path) for c in list_categories(db())]
    failed = False
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                saved = service.save_law(s, data=form.service_data(), category_ids=list(form.category_ids.data or []),
                                         law_id=law_id, actor_id=current_user.id, now=now())
            flash(_("Law %(name)s saved.", name=saved.short_name), "success")
            return redirect(url_for("laws.show", law_id=saved.id))
        except ValidationFailed as e:
            _save_failed(form, e)
            failed = True
    return render_template("laws/law_form.html", form=form, law=law), _error_status(form, failed)


@bp.route("/<id:law_id>/obligations/new", methods=["GET", "POST"], defaults={"obligation_id": None})
@bp.route("/obligations/<id:obligation_id>/edit", methods=["GET", "POST"], defaults={"law_id": None})
@requires(Capability.EDIT_LAWS_MAP)
def obligation_form(law_id: int | None, obligation_id: int | None):  # type: ignore[no-untyped-def]
    obligation = (db().get(Obligation, obligation_id) or abort(404)) if obligation_id else None
    law = obligation.law if obligation else _law_or_404(law_id or 0)
    form = ObligationForm(data=ObligationForm.initial(obligation) if obligation else None)
    # Read per request: the engine's rules are data. A code names one obligation, so codes in use are offered disabled.
    used = dict(db().execute(sa.select(Obligation.regime_code, Law.short_name).join(Law)
                             .where(Obligation.id != (obligation_id or -1))).all())
    form.regime_code.choices = [SelectChoice("", _("Choose a regime code…"))] + [
        SelectChoice(code, f"{code} — {rule.regime}" + (_(" (used under %(law)s)", law=used[code]) if code in used else ""),
                     render_kw={"disabled": True} if code in used else {})
        for code, rule in sorted(RULES.items())]
    failed = False
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.save_obligation(s, data=form.service_data(law.id), obligation_id=obligation_id,
                                        actor_id=current_user.id, now=now())
            flash(_("Obligation %(code)s saved.", code=form.regime_code.data), "success")
            return redirect(url_for("laws.show", law_id=law.id, _anchor="obligations"))
        except ValidationFailed as e:
            _save_failed(form, e)
            failed = True
    return render_template("laws/obligation_form.html", form=form, law=law, obligation=obligation,
                           deadline=_deadline_text(form.regime_code.data or "")), _error_status(form, failed)


@bp.route("/<id:law_id>/amendments/new", methods=["GET", "POST"], defaults={"amendment_id": None})
@bp.route("/amendments/<id:amendment_id>/edit", methods=["GET", "POST"], defaults={"law_id": None})
@requires(Capability.EDIT_LAWS_MAP)
def amendment_form(law_id: int | None, amendment_id: int | None):  # type: ignore[no-untyped-def]
    amendment = (db().get(Amendment, amendment_id) or abort(404)) if amendment_id else None
    law = amendment.law if amendment else _law_or_404(law_id or 0)
    form = AmendmentForm(data=AmendmentForm.initial(amendment) if amendment else None)
    form.affected_categories.choices = [SelectChoice(c.code, f"{c.path} ({c.code})") for c in list_categories(db())]
    failed = False
    if form.validate_on_submit():
        source_given = _technical_source_given(form, law)
        try:
            with transaction(db()) as s:
                service.save_amendment(s, data=form.service_data(law.id), amendment_id=amendment_id,
                                       actor_id=current_user.id, now=now())
                if not source_given:  # the service's own reasons are shown too; nothing is kept
                    raise ValidationFailed({})
            flash(_("Amendment saved: %(title)s", title=form.title.data), "success")
            return redirect(url_for("laws.show", law_id=law.id, _anchor="amendments"))
        except ValidationFailed as e:
            _save_failed(form, e)
            failed = True
    return render_template("laws/amendment_form.html", form=form, law=law,
                           amendment=amendment), _error_status(form, failed)


def _technical_source_given(form: AmendmentForm, law: Law) -> bool:
    """An amendment of a technical law opens re-assessments in the divisions: it names where it is published."""
    if (form.source.data or "").strip() or not compliance.is_technical(db(), law.id):
        return True
    form.source.errors = [*form.source.errors, _("Give the source: an amendment of a technical law opens "
                                                 "re-assessments in the divisions.")]
    return False


@bp.get("/jurisdictions")
@login_required
def jurisdictions():  # type: ignore[no-untyped-def]
    rows = list(db().scalars(sa.select(Jurisdiction).order_by(Jurisdiction.is_bloc, Jurisdiction.code)))
    counts = dict(db().execute(sa.select(Law.jurisdiction_id, sa.func.count(Law.id)).group_by(Law.jurisdiction_id)).all())
    return render_template("laws/jurisdictions.html", jurisdictions=rows, counts=counts)


@bp.route("/jurisdictions/new", methods=["GET", "POST"], defaults={"jurisdiction_id": None})
@bp.route("/jurisdictions/<id:jurisdiction_id>/edit", methods=["GET", "POST"])
@requires(Capability.EDIT_LAWS_MAP)
def jurisdiction_form(jurisdiction_id: int | None):  # type: ignore[no-untyped-def]
    jurisdiction = (db().get(Jurisdiction, jurisdiction_id) or abort(404)) if jurisdiction_id else None
    form = JurisdictionForm(data=JurisdictionForm.initial(jurisdiction) if jurisdiction else None)
    form.timezone.choices = [SelectChoice("", _("Choose a time zone…"))] + [
        SelectChoice(value, label) for value, label in timezone_choices()]
    failed = False
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                saved = service.save_jurisdiction(s, data=form.service_data(), jurisdiction_id=jurisdiction_id,
                                                  actor_id=current_user.id, now=now())
            flash(_("Jurisdiction %(code)s saved.", code=saved.code), "success")
            return redirect(url_for("laws.jurisdictions"))
        except ValidationFailed as e:
            _save_failed(form, e)
            failed = True
    return render_template("laws/jurisdiction_form.html", form=form,
                           jurisdiction=jurisdiction), _error_status(form, failed)

