"""Pages for the incident register, filing, the incident page, edits, comments and attachments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qa_incidents.accounts.models import Division
from qa_incidents.accounts.service import list_divisions
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.catalogue.service import list_products
from qa_incidents.core import audit, params
from qa_incidents.core.clock import localize, to_zone
from qa_incidents.core.countries import country_names
from qa_incidents.core.db import is_db_id, transaction
from qa_incidents.core.errors import DomainError, EditConflict, ValidationFailed
from qa_incidents.core.forms import FixedChoices, apply_errors, timezone_options
from qa_incidents.core.i18n import current_language
from qa_incidents.core.pagecache import remembered
from qa_incidents.core.permissions import Capability, can, can_work_division
from qa_incidents.core.signatures import signatures_for_incident
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.web import (
    db,
    localtime,
    now,
    requires,
    size_text,
    start_writing,
    viewer_timezone,
    writes_late,
)
from qa_incidents.incidents import service, workflow
from qa_incidents.incidents.forms import AttachmentForm, CommentForm, IncidentForm, RegisterFilterForm
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import (
    CONTACT_FIELDS,
    SEVERITY_TITLES,
    STATUS_TITLES,
    IncidentFacts,
    Severity,
    Status,
)
from qa_incidents.incidents.timeline import detail as event_detail
from qa_incidents.incidents.timeline import sentence as event_sentence
from qa_incidents.incidents.timeline import trail_value
from qa_incidents.notifications.records import DECISION_TITLES, decisions_from, records_of
from qa_incidents.notifications.records import urgency_of as notification_urgency
from qa_incidents.notifications.service import obligations_shown

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def incident_or_404(incident_id: int) -> Any:
    """The incident if the current user may read it, else 404 (never 403: no hint that it exists)."""
    try:
        return service.get_incident(db(), user=current_user, incident_id=incident_id)
    except DomainError:
        abort(404)


def _country_choices() -> list[tuple[str, str]]:
    return list(_sorted_countries(current_user.locale or "en"))


@functools.lru_cache(maxsize=16)
def _sorted_countries(locale: str) -> tuple[tuple[str, str], ...]:
    # Fixed for the life of the process (the CLDR names), and asked for on every register page.
    return tuple(sorted(country_names(locale).items(), key=lambda kv: kv[1]))


@functools.lru_cache(maxsize=16)
def _country_lookup(locale: str) -> dict[str, str]:
    return dict(_sorted_countries(locale))


@functools.lru_cache(maxsize=16)
def _country_options(locale: str) -> FixedChoices:
    """The incident form's country choices: the blank one (translated when shown), then the countries by name."""
    return FixedChoices((("", _l("— choose a country —")), *_sorted_countries(locale)))


def _prepare_incident_form(form: IncidentForm, *, labelled: bool = True) -> None:
    """The form's choices. Without labels (a submitted form, before it is known whether it is shown again), only
    what checking the submitted values needs: the divisions the user may file for, and the chosen product if it
    is one of theirs (naming every product with its category's path costs more than filing the incident)."""
    actor = current_user.actor
    if labelled:
        divisions = [d for d in list_divisions(db(), active_only=True)
                     if can_work_division(actor, d.id, Capability.FILE_INCIDENT)]
        form.division_id.choices = [(d.id, d.name) for d in divisions]
        products = list_products(db(), division_ids={d.id for d in divisions}, active_only=True)
        # A blank first option, chosen until the user picks one (required): no product is ever pre-selected.
        form.product_id.choices = [("", _("— choose a product —"), {})] + [
            (p.id, f"{p.model} — {p.name} ({p.category.path})", {"data-division": str(p.division_id)}) for p in products
        ]
    else:  # one query: each active division, with the chosen product beside its own division if it is active
        chosen = form.product_id.data if is_db_id(form.product_id.data) else None  # 10**30: not a choice, no 500
        rows = db().execute(sa.select(Division.id, Product.id).outerjoin(Product, sa.and_(
            Product.division_id == Division.id, Product.id == chosen, Product.active.is_(True)))
            .where(Division.active.is_(True))).all()
        division_ids = [d for d, _p in rows if can_work_division(actor, d, Capability.FILE_INCIDENT)]
        form.division_id.choices = [(d, "") for d in division_ids]
        form.product_id.choices = [("", "", {})] + [
            (p, "", {}) for d, p in rows if p is not None and d in division_ids]
    form.country.choices = _country_options(current_user.locale or "en")
    form.timezone.choices = timezone_options()
    form.aware_timezone.choices = timezone_options()
    if not form.is_submitted():
        form.timezone.data = viewer_timezone()
        form.aware_timezone.data = viewer_timezone()


def _fill_form(form: IncidentForm, facts: IncidentFacts, tz: str) -> None:
    for name in IncidentFacts.field_names():
        value = getattr(facts, name)
        if isinstance(value, datetime):
            value = to_zone(value, tz).replace(tzinfo=None)
        elif hasattr(value, "value"):
            value = value.value
        getattr(form, name).data = value
    form.timezone.data = tz


@bp.get("/")
@requires(Capability.READ_INCIDENTS)
@remembered(service.REGISTER_PAGE_MARKER)
def register():  # type: ignore[no-untyped-def]
    form = RegisterFilterForm(request.args)
    lists = service.register_lists(db(), current_user)
    divisions, categories = lists.divisions, lists.categories
    fixed = _register_choices(current_language())
    form.status.choices = list(fixed["status"])
    form.severity.choices = list(fixed["severity"])
    if can(current_user.actor, Capability.READ_ALL_DIVISIONS):
        form.division.choices = [("", fixed["all_divisions"][0][1])] + [(str(d.id), d.name) for d in divisions]
    else:
        form.division.choices = list(fixed["my_division"])
    form.category.choices = [("", fixed["any_category"][0][1])] + [(str(c.id), c.name) for c in categories]
    form.country.choices = [("", fixed["any_country"][0][1])] + _country_choices()
    form.sort.choices = list(fixed["sort"])
    form.assigned.choices = list(fixed["assigned"])
    errors: list[str] = []
    if not form.validate():
        errors = [f"{form[name].label.text}: {', '.join(msgs)}" for name, msgs in form.errors.items()]

    filters = service.RegisterFilter(text=form.q.data or "")
    if form.status.data and not form.status.errors:
        filters.status = Status(form.status.data)
    if form.severity.data and not form.severity.errors:
        filters.severity = Severity(form.severity.data)
    if form.division.data and not form.division.errors:
        filters.division_id = int(form.division.data)
    if form.category.data and not form.category.errors:
        filters.category_id = int(form.category.data)
    if form.country.data and not form.country.errors:
        filters.country = form.country.data
    if form.assigned.data == "me" and not form.assigned.errors:
        filters.assignee_id = current_user.id
    elif form.assigned.data == "nobody" and not form.assigned.errors:
        filters.unassigned = True
    tz = viewer_timezone()
    for name, shift in (("aware_from", 0), ("aware_to", 1)):
        raw = getattr(form, name).data
        if raw:
            day = params.day(raw)  # year 1 or 9999 would overflow when shifted or converted: a bad date
            if day is not None:
                setattr(filters, name, localize(datetime.combine(day + timedelta(days=shift), datetime.min.time()), tz))
            else:
                errors.append(_("%(field)s: use the form YYYY-MM-DD.", field=getattr(form, name).label.text))
    try:
        page = service.register(db(), user=current_user, filters=filters, sort=form.sort.data or "aware_desc",
                                after=request.args.get("after"), before=request.args.get("before"),
                                limit=current_app.config["REGISTER_PAGE_SIZE"], count_cap=service.COUNT_CAP,
                                listing=True)
    except ValueError:
        abort(400)
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    status = 200 if not errors else 422
    return render_template("incidents/register.html", form=form, page=page, args=args, errors=errors,
                           **_register_tools(args, lists.saved_views),
                           divisions={d.id: d for d in divisions},
                           countries=_country_lookup(current_user.locale or "en"), titles=_translated), status


def _register_tools(args: dict[str, str], views: tuple[service.Listed, ...]) -> dict[str, Any]:
    """The reader's saved views, the filters a new view would keep, and whether rows may be selected for bulk work."""
    from urllib.parse import urlencode

    from qa_incidents.incidents import assignment, saved_views

    return {"saved_views": views,
            "view_query": saved_views.normalised(urlencode(args)),
            "may_bulk": can(current_user.actor, assignment.ASSIGNING),
            "may_bulk_triage": can(current_user.actor, Capability.WORK_NOTIFICATIONS)}


@bp.post("/views")
@requires(Capability.READ_INCIDENTS)
def save_view():  # type: ignore[no-untyped-def]
    """Keep the register's current filters under a name (shown again with the reason when refused)."""
    from qa_incidents.core.forms import EmptyForm
    from qa_incidents.incidents import saved_views

    if not EmptyForm().validate_on_submit():
        abort(400)
    name, query = request.form.get("name", ""), request.form.get("query", "")
    try:
        with transaction(db()) as s:
            view = saved_views.save(s, user=current_user, name=name, query=query, now=now())
    except ValidationFailed as e:
        return render_template("incidents/save_view.html", name=name, query=saved_views.normalised(query),
                               error=e.errors.get("name", ""), saved_views=saved_views.views_of(db(), current_user)), 422
    flash(_("View “%(name)s” saved.", name=view.name), "success")
    return redirect(url_for("incidents.register") + (f"?{view.query}" if view.query else ""))


@bp.post("/views/<id:view_id>/delete")
@requires(Capability.READ_INCIDENTS)
def delete_view(view_id: int):  # type: ignore[no-untyped-def]
    """Delete one of your own saved views."""
    from qa_incidents.core.forms import EmptyForm
    from qa_incidents.incidents import saved_views

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            view = saved_views.delete(s, user=current_user, view_id=view_id, now=now())
    except DomainError:
        abort(404)
    flash(_("View “%(name)s” deleted.", name=view.name), "success")
    return redirect(url_for("incidents.register"))


@bp.route("/bulk-assign", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def bulk_assign():  # type: ignore[no-untyped-def]
    """The incidents selected on the register (GET: which, and to whom), then assigned one by one (POST): each is
    checked and audited on its own, and each refusal is listed with its reason."""
    from qa_incidents.core.forms import EmptyForm
    from qa_incidents.incidents import assignment

    if not can(current_user.actor, assignment.ASSIGNING):
        abort(403)
    from qa_incidents.incidents.workflow_views import matrix_stored

    matrix_stored()
    source = request.form if request.method == "POST" else request.args
    raw_ids = source.getlist("incident_id")
    raw = (source.get("assignee_id") or "").strip()
    if any(not r.isdigit() for r in raw_ids) or (raw and not raw.isdigit()):
        abort(400)
    ids = list(dict.fromkeys(int(r) for r in raw_ids))[:assignment.BULK_LIMIT + 1]
    back = source.get("query", "")
    division = None if can(current_user.actor, Capability.WORK_ALL_DIVISIONS) else current_user.division_id

    def chooser(status: int = 200):  # type: ignore[no-untyped-def]
        chosen = list(db().scalars(service.visible(sa.select(Incident), current_user).where(Incident.id.in_(ids))
                                   .order_by(Incident.id))) if ids else []
        return render_template("incidents/bulk_assign.html", incidents=chosen, query=back, chosen=raw,
                               people=assignment.candidates(db(), division), result=None), status

    if request.method == "GET":
        if not ids:
            flash(_("Select at least one incident."), "error")
        return chooser(200 if ids else 422)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            result = assignment.assign_many(s, user=current_user, incident_ids=ids, assignee_id=int(raw) if raw else None,
                                            now=now())
    except ValidationFailed as e:
        for message in e.errors.values():
            flash(message, "error")
        return chooser(422)
    status = 422 if result.refused and not (result.changed or result.unchanged) else 200
    return render_template("incidents/bulk_assign.html", incidents=[], query=back, chosen=raw, people=[],
                           result=result), status


@bp.route("/bulk-triage", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def bulk_triage():  # type: ignore[no-untyped-def]
    """Several new reports triaged S3 or S4 with one rationale (GET: the selected incidents, each with its matrix
    suggestion and a place for its own override reason; POST: each triaged as on its own page, or refused with the
    reason)."""
    from qa_incidents.core.forms import EmptyForm
    from qa_incidents.incidents import bulk_triage as bulk

    if not can(current_user.actor, bulk.TRIAGING):
        abort(403)
    source = request.form if request.method == "POST" else request.args
    raw_ids = source.getlist("incident_id")
    if any(not (r.isascii() and r.isdigit() and is_db_id(int(r))) for r in raw_ids):
        abort(400)  # not an incident's id (a word, or a number no id column holds)
    ids = list(dict.fromkeys(int(r) for r in raw_ids))[:bulk.BULK_LIMIT + 1]
    back = source.get("query", "")
    typed = {"severity": source.get("severity", ""), "rationale": source.get("rationale", ""),
             "overrides": {i: source.get(f"override_{i}", "") for i in ids}}

    def chooser(status: int = 200, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        chosen = list(db().scalars(service.visible(sa.select(Incident), current_user).where(Incident.id.in_(ids))
                                   .order_by(Incident.id))) if ids else []
        return render_template("incidents/bulk_triage.html", incidents=chosen, query=back, typed=typed,
                               suggested=bulk.suggestions(db(), chosen, now=now()), errors=errors or {},
                               severities=bulk.BULK_SEVERITIES, result=None), status

    if request.method == "GET":
        if not ids:
            flash(_("Select at least one incident."), "error")
        return chooser(200 if ids else 422)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        severity = Severity(typed["severity"])
    except ValueError:
        return chooser(422, {"severity": _("Choose S3 or S4.")})
    try:
        with transaction(db()) as s:
            result = bulk.triage_many(s, user=current_user, incident_ids=ids, severity=severity,
                                      rationale=typed["rationale"], overrides=typed["overrides"], now=now())
    except ValidationFailed as e:
        return chooser(422, {k: str(v) for k, v in e.errors.items()})
    except DomainError as e:
        abort(e.status_code if e.status_code in (403, 404) else 400)
    status = 422 if result.refused and not result.triaged else 200
    return render_template("incidents/bulk_triage.html", incidents=[], query=back, typed=typed, suggested={},
                           errors={}, severities=bulk.BULK_SEVERITIES, result=result), status


@functools.lru_cache(maxsize=8)
def _register_choices(language: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The register's fixed filter choices, translated once per language for the life of the process (some forty
    lookups of the catalogue on every page otherwise). `language` is the request's, which gettext translates into."""
    del language  # the cache key only: gettext reads the request's language itself
    return {
        "status": (("", _("Any status")), *((s.value, str(t)) for s, t in STATUS_TITLES.items())),
        "severity": (("", _("Any severity")), *((s.value, str(t)) for s, t in SEVERITY_TITLES.items())),
        "all_divisions": (("", _("All divisions")),),
        "my_division": (("", _("My division")),),
        "any_category": (("", _("Any category")),),
        "any_country": (("", _("Any country")),),
        "sort": tuple((k, str(v)) for k, v in service.SORT_TITLES.items()),
        "assigned": (("", _("Anyone or nobody")), ("me", _("Assigned to me")), ("nobody", _("Unassigned"))),
    }


def _translated(titles: dict[Any, Any]) -> dict[Any, str]:
    """A table of lazily translated titles, translated now (once, for a whole page of rows)."""
    return {key: str(title) for key, title in titles.items()}


@bp.route("/new", methods=["GET", "POST"])
@requires(Capability.FILE_INCIDENT)
@writes_late
def new():  # type: ignore[no-untyped-def]
    form = IncidentForm()
    _prepare_incident_form(form, labelled=not form.is_submitted())
    if not form.is_submitted():
        form.division_id.data = current_user.division_id
    if form.validate_on_submit():
        try:
            with transaction(start_writing()) as s:
                incident = service.file_incident(s, user=current_user, facts=form.to_facts(), now=now(),
                                                 contact=_contact_input(form))
            flash(_("Incident %(ref)s filed.", ref=incident.reference), "success")
            _warn_contact_in_description(form)
            return redirect(url_for("incidents.show", incident_id=incident.id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if form.is_submitted():
        _prepare_incident_form(form)  # shown again: now with the products' names
    if form.errors:
        flash(_("The incident was not filed: correct the fields marked below."), "error")
    return render_template("incidents/form.html", form=form, incident=None), (422 if form.errors else 200)


@bp.get("/<id:incident_id>")
@requires(Capability.READ_INCIDENTS)
def show(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    return render_template("incidents/show.html", **_page_context(incident))


def _page_context(incident: Any, comment_form: CommentForm | None = None) -> dict[str, Any]:
    """Everything the incident page shows, for the page itself and its re-renders.

    `comment_form` is the comment the user sent back with its errors; without one the page shows blank comment
    and attachment fields, the same for every reader in a language, rendered once per process (see show.html).

    Only the kinds of record the incident has are read (one query finds which): an incident with no comments,
    reports or recalls costs no query for each of them."""
    s = db()
    present = service.children_present(s, incident.id)

    def read(kind: str, load: Callable[[], Any], empty: Any = ()) -> Any:
        return load() if kind in present else (list(empty) if isinstance(empty, tuple) else empty)

    comments = read("comments", lambda: service.comments_of(s, incident.id))
    attachments = read("attachments", lambda: service.attachments_of(s, incident.id))
    records = read("notifications", lambda: records_of(s, incident.id))
    escalations = read("escalations", lambda: workflow.escalations_of(s, incident.id))
    return {
        "incident": incident, "comments": comments, "attachments": attachments,
        "timeline": _timeline(read("events", lambda: audit.events_for_incident(s, incident.id))),
        "may_work": can_work_division(current_user.actor, incident.division_id),
        "may_edit": service.editable_why_not(incident) is None,
        "preview_types": PREVIEW_TYPES,
        "comment_form": comment_form, "blank_comment_form": CommentForm, "blank_attachment_form": AttachmentForm,
        **_watching(incident, read("watchers", lambda: True, False)),
        **_assignment(incident),
        "actions": workflow.actions_for(db(), user=current_user, incident=incident,
                                        absent=workflow.CASE_CHILDREN - present),
        "decisions": read("triage_decisions", lambda: workflow.triage_decisions(s, incident.id)),
        "escalations": escalations,
        "signatures": read("signatures", lambda: signatures_for_incident(s, incident.id)),
        "obligations": obligations_shown(s, incident),
        "notification_records": records,
        "reportability_decisions": decisions_from(records), "DECISION_TITLES": DECISION_TITLES,
        # The initial report of each regime, for the obligations table (the last one, if there were several).
        "record_for_regime": {r.regime_code: r for r in records if r.kind == "initial"},
        "notification_urgency": {r.id: notification_urgency(r, now=now()) for r in records},
        "may_add_notification": can_work_division(current_user.actor, incident.division_id, Capability.WORK_NOTIFICATIONS),
        **_follow_through(incident, escalations, present, read),
    }


def _assignment(incident: Any) -> dict[str, Any]:
    """Who the incident is assigned to, and whether the reader may change it (the people are listed on the assign
    page: the incident page reads no list of users)."""
    from qa_incidents.incidents import assignment

    live = incident.status not in assignment.NOT_WORKED
    return {"assignee": incident.assignee if incident.assignee_id is not None else None,
            "may_assign": assignment.may_assign(current_user, incident.division_id)
                          and (live or incident.assignee_id is not None)}


@bp.route("/<id:incident_id>/assignee", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def assign(incident_id: int):  # type: ignore[no-untyped-def]
    """Set (or clear) the incident's assignee: the division's QA managers and head-office QA."""
    from qa_incidents.core.forms import EmptyForm
    from qa_incidents.incidents import assignment

    incident = incident_or_404(incident_id)
    if not assignment.may_assign(current_user, incident.division_id):
        abort(403)

    def page(error: str = "", chosen: str = "", status: int = 200):  # type: ignore[no-untyped-def]
        people = [p for p in assignment.candidates(db(), incident.division_id)
                  if assignment.may_be_assigned(p, incident.division_id)]
        return render_template(
            "incidents/assign.html", ref=incident.reference, people=people, error=error, may_clear=True,
            chosen=chosen or str(incident.assignee_id or ""), heading=_("Assign %(ref)s", ref=incident.reference),
            subject=incident.title, action=url_for("incidents.assign", incident_id=incident.id),
            back=url_for("incidents.show", incident_id=incident.id),
            note=_("Those who work this division's incidents: its reporters and QA managers, and head-office QA.")), status

    if request.method == "GET":
        return page()
    if not EmptyForm().validate_on_submit():
        abort(400)
    raw = (request.form.get("assignee_id") or "").strip()
    if raw and not raw.isdigit():
        abort(400)
    try:
        with transaction(db()) as s:
            changed = assignment.assign(s, user=current_user, incident_id=incident_id,
                                        assignee_id=int(raw) if raw else None, now=now())
    except ValidationFailed as e:
        incident = incident_or_404(incident_id)
        return page(error="; ".join(e.errors.values()), chosen=raw, status=422)
    except DomainError:
        abort(404)
    flash(_("Assigned to %(name)s.", name=changed.assignee.name) if changed.assignee_id is not None
          else _("The incident is assigned to nobody now."), "success")
    return redirect(url_for("incidents.show", incident_id=incident_id))


def _watching(incident: Any, any_watcher: bool) -> dict[str, Any]:
    """Who watches the incident and whether the viewer does (read only when someone ever watched it)."""
    from qa_incidents.inbox import service as inbox

    watchers = inbox.watchers(db(), incident.id) if any_watcher else []
    return {"watchers": watchers, "watching": any(u.id == current_user.id for u in watchers)}


def _follow_through(incident: Any, escalations: list[Any], present: frozenset[str], read: Any) -> dict[str, Any]:
    """Status reports, reviews and similar lessons shown on the incident page."""
    from qa_incidents.recalls import service as recalls
    from qa_incidents.reports import service as reports
    from qa_incidents.reviews import service as reviews

    s = db()
    status_reports = read("status_reports", lambda: reports.reports_of(s, incident.id))
    return {
        "status_reports": status_reports,
        "pending_report": read("pending_reports", lambda: reports.pending_for(s, incident.id), None),
        "reported_to_management": reports.reported(s, incident, escalations=escalations, issued=bool(status_reports)),
        "reviews": read("reviews", lambda: reviews.reviews_for_incident(s, incident.id, user=current_user)),
        "may_write_review": (can_work_division(current_user.actor, incident.division_id, Capability.WRITE_REVIEWS)
                             and reviews.review_blocked_for(incident) is None),
        # Found on a page of their own (a full-text ranking over the whole library takes longer than the rest of
        # this page together): the page links to it, and static/app.js may load it into place.
        "similar_url": (url_for("incidents.similar_lessons", incident_id=incident.id)
                        if can(current_user.actor, Capability.READ_LESSONS) else None),
        "recalls": read("recalls", lambda: recalls.list_recalls(s, user=current_user, incident_id=incident.id)),
        "may_start_recall": can_work_division(current_user.actor, incident.division_id, Capability.MANAGE_RECALLS),
        **_safety_notices(incident, read),
        **_group_alerts(incident, read),
        "has_complaints": "complaints" in present,  # complaints/_for_incident.html reads them only then
    }


def _safety_notices(incident: Any, read: Any) -> dict[str, Any]:
    """The incident's public safety notices and whether the viewer may draft one (S1/S2 incidents only)."""
    from qa_incidents.safety_notices import rules as notice_rules
    from qa_incidents.safety_notices import service as notices

    severity = incident.severity.value if incident.severity is not None else None
    return {
        "safety_notices": read("safety_notices",
                               lambda: notices.notices_for_incident(db(), user=current_user, incident_id=incident.id)),
        "SAFETY_NOTICE_STATUS_TITLES": notice_rules.STATUS_TITLES,
        "may_draft_safety_notice": (notices.may_draft(current_user, incident.division_id)
                                    and notice_rules.severity_refusal(severity) is None),
    }


def _group_alerts(incident: Any, read: Any) -> dict[str, Any]:
    """The incident's group-wide alerts with every division's answer, and whether the viewer may send one."""
    from qa_incidents.alerts import rules as alert_rules
    from qa_incidents.alerts import service as alerts

    may_send = alert_rules.may_send(current_user.actor)
    return {"group_alerts": read("group_alerts", lambda: alerts.alerts_of(db(), incident.id)),
            "may_send_alert": may_send,
            "alert_blocked": alert_rules.send_blocked(severity=incident.severity.value if incident.severity else None,
                                                      status=incident.status.value) if may_send else None,
            "ANSWER_TITLES": alert_rules.ANSWER_TITLES, "urgency": alert_rules.urgency,
            "today": to_zone(now(), viewer_timezone()).date()}


@bp.get("/<id:incident_id>/similar-lessons")
@requires(Capability.READ_INCIDENTS)
def similar_lessons(incident_id: int):  # type: ignore[no-untyped-def]
    """Lessons learned from incidents like this one (the whole page, or with ?fragment=1 only its list)."""
    from qa_incidents.reviews import search as lessons

    incident = incident_or_404(incident_id)
    similar = (lessons.similar_lessons(db(), text=f"{incident.title} {incident.description}", limit=5)
               if can(current_user.actor, Capability.READ_LESSONS) else [])
    if request.args.get("fragment"):
        return render_template("incidents/_similar_lessons.html", incident=incident, similar=similar)
    return render_template("incidents/similar_lessons.html", incident=incident, similar=similar)


@bp.route("/<id:incident_id>/edit", methods=["GET", "POST"])
@requires(Capability.EDIT_INCIDENT)
def edit(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    if not can_work_division(current_user.actor, incident.division_id):
        abort(403)
    if (why := service.editable_why_not(incident)) is not None:
        flash(why, "error")
        return redirect(url_for("incidents.show", incident_id=incident.id), code=303)
    form = IncidentForm()
    _prepare_incident_form(form)
    if not form.is_submitted():
        _fill_form(form, service.facts_of(incident), viewer_timezone())
        if service.may_read_contact(current_user):
            for name, value in service.contact_of(incident).items():
                getattr(form, name).data = value
        form.version.data = str(incident.version)
    conflict = None
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.update_incident(s, user=current_user, incident_id=incident.id, facts=form.to_facts(),
                                        expected_version=_version_of(form), now=now(), contact=_contact_input(form))
            flash(_("Incident %(ref)s saved.", ref=incident.reference), "success")
            _warn_contact_in_description(form)
            return redirect(url_for("incidents.show", incident_id=incident.id))
        except service.RecordEnded as e:
            flash(str(e), "error")
            return redirect(url_for("incidents.show", incident_id=incident.id), code=303)
        except EditConflict as e:
            conflict = _conflict_rows(e, form)
            # The next save is a deliberate overwrite of the version the user has now seen.
            form.version.data = str(e.current_version)
            flash(_("Not saved: this incident was changed by %(who)s at %(when)s. Your input is kept below; "
                    "compare it with the saved version and save again to keep yours.",
                    who=e.changed_by, when=localtime(e.changed_at)), "error")
            return render_template("incidents/form.html", form=form, incident=incident, conflict=conflict), 409
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if form.errors:
        flash(_("Not saved: correct the fields marked below."), "error")
    return render_template("incidents/form.html", form=form, incident=incident, conflict=conflict), (422 if form.errors else 200)


def _contact_input(form: IncidentForm) -> dict[str, str] | None:
    """The contact fields, from roles that see them (the form shows them to no one else)."""
    return form.contact() if service.may_read_contact(current_user) else None


def _warn_contact_in_description(form: IncidentForm) -> None:
    """A warning (never a refusal) when the description holds a phone number or e-mail address."""
    from qa_incidents.reviews.rules import PERSONAL_DATA_TITLES, PersonalData, find_personal_data

    kinds = {f.kind for f in find_personal_data(form.description.data or "")} & {PersonalData.PHONE, PersonalData.EMAIL}
    if kinds:
        flash(_("The description seems to contain personal data (%(kinds)s). Customer contact data belongs in the "
                "fields \"Customer contact (visible to QA only)\": move it there and remove it from the description.",
                kinds=", ".join(str(PERSONAL_DATA_TITLES[k]) for k in sorted(kinds))), "warning")


def _version_of(form: IncidentForm) -> int:
    """The version the user's form was loaded at; 0 (so a conflict, never a crash) if tampered with."""
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def _conflict_rows(e: EditConflict, form: IncidentForm) -> list[dict[str, str]]:
    """Field by field, the user's input beside the newer saved version, where they differ."""
    try:
        mine = form.to_facts()
    except (TypeError, ValueError):
        mine = None
    rows = []
    for name in IncidentFacts.field_names():
        theirs = getattr(e.current, name)
        ours = getattr(mine, name) if mine else getattr(form, name).data
        if theirs != ours:
            rows.append({"label": str(getattr(form, name).label.text), "mine": _display(name, ours),
                         "theirs": _display(name, theirs)})
    return rows


def _display(name: str, value: Any) -> str:
    """A stored or typed value as a person reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return localtime(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name in ("occurred_at", "aware_at") and isinstance(value, str):
        try:
            return localtime(datetime.fromisoformat(value))
        except ValueError:
            return value
    if name == "division_id":
        d = db().get(Division, value)
        return d.name if d else str(value)
    if name == "product_id":
        p = db().get(Product, value)
        return p.label if p else str(value)
    if name == "category_id":
        c = db().get(ProductCategory, value)
        return c.path if c else str(value)
    if name == "status":
        try:
            return str(STATUS_TITLES[Status(value)])
        except ValueError:
            return str(value)
    if name == "country":
        return country_names(current_user.locale or "en").get(value, value)
    if isinstance(value, str):
        return trail_value(name, value)
    return str(getattr(value, "value", value))


FIELD_LABELS = {name: field.args[0] if field.args else name for name, field in vars(IncidentForm).items()
                if hasattr(field, "field_class")}
FIELD_LABELS.update({"status": _l("Status"), "reason": _l("Reason"), "severity": _l("Severity"),
                     "suggested": _l("Matrix suggestion"), "signature": _l("Signature"), "meaning": _l("Meaning"),
                     "sha256": "SHA-256", "comment": _l("Comment"),
                     "authentication": _l("Authentication"), "category_id": _l("Product category")})


def _timeline(events: list[audit.AuditEvent]) -> list[dict[str, Any]]:
    hidden = () if service.may_read_contact(current_user) else CONTACT_FIELDS  # audited, shown to QA only
    return [
        {
            "at": event.occurred_at,
            "actor": event.actor.name if event.actor else _("system"),
            "action": event.action,
            "entity": event.entity_type,
            "sentence": event_sentence(event.entity_type, event.action),
            "detail": event_detail(event.entity_type, event.action, event.changes or {}),
            "changes": [
                {"field": str(FIELD_LABELS.get(name, name.replace("_", " "))),
                 "before": _display(name, before), "after": _display(name, after)}
                for name, (before, after) in event.changes.items() if name not in hidden
            ],
        }
        for event in events
    ]


@bp.post("/<id:incident_id>/comments")
@requires(Capability.EDIT_INCIDENT)
def comment(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.add_comment(s, user=current_user, incident_id=incident.id, body=form.body.data or "", now=now())
            flash(_("Comment added."), "success")
            return redirect(url_for("incidents.show", incident_id=incident.id) + "#comments")
        except DomainError as e:
            if e.status_code == 403:
                abort(403)
            apply_errors(form, getattr(e, "errors", {"body": str(e)}))
    flash(_("The comment was not added: %(why)s", why="; ".join(map(str, form.body.errors))), "error")
    return render_template("incidents/show.html", **_page_context(incident, form)), 422


@bp.post("/<id:incident_id>/attachments")
@requires(Capability.EDIT_INCIDENT)
def attach(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    if not can_work_division(current_user.actor, incident.division_id):
        abort(403)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("Nothing attached: %(why)s", why="; ".join(map(str, form.file.errors)) or _("choose a file.")), "error")
        return redirect(url_for("incidents.show", incident_id=incident.id) + "#attachments")
    upload = form.file.data
    try:
        stored = current_app.extensions["qa_storage"].put(upload.stream)
    except TooLarge:
        flash(_("Nothing attached: the file is larger than %(limit)s.",
                limit=size_text(current_app.config["ATTACHMENT_MAX_BYTES"])), "error")
        return redirect(url_for("incidents.show", incident_id=incident.id) + "#attachments")
    with transaction(db()) as s:
        attachment = service.add_attachment(s, user=current_user, incident_id=incident.id,
                                            filename=upload.filename or "", stored=stored, now=now())
    flash(_("Attached %(name)s.", name=attachment.filename), "success")
    return redirect(url_for("incidents.show", incident_id=incident.id) + "#attachments")


#: The types shown in the page (decided from the bytes at upload, never the name): raster images and PDF. SVG, HTML
#: and every other type are only ever downloaded.
PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


@bp.get("/<id:incident_id>/attachments/<id:attachment_id>/preview")
@requires(Capability.READ_INCIDENTS)
def preview(incident_id: int, attachment_id: int):  # type: ignore[no-untyped-def]
    """An image or PDF attachment shown inline, for the incident page's <img> or sandboxed iframe; any other type 415.

    Sandboxed by the response itself: CSP `sandbox` (a PDF: `sandbox allow-scripts`, which the browser's PDF viewer
    needs; without allow-same-origin the document runs in an opaque origin, with no access to the application or its
    cookies), nothing fetched (`default-src 'none'`), framed only by the application's own pages."""
    try:
        attachment = service.get_attachment(db(), user=current_user, incident_id=incident_id, attachment_id=attachment_id)
    except DomainError:
        abort(404)
    if attachment.content_type not in PREVIEW_TYPES:  # the reader may have it, as a download only
        abort(415, _("Only images and PDFs are shown in the page; download this file instead."))
    path = current_app.extensions["qa_storage"].path_for(attachment.sha256)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=False,
                         download_name=attachment.filename, max_age=0)
    sandbox = "sandbox allow-scripts" if attachment.content_type == "application/pdf" else "sandbox"
    response.headers["Content-Security-Policy"] = f"default-src 'none'; {sandbox}; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<id:incident_id>/attachments/<id:attachment_id>")
@requires(Capability.READ_INCIDENTS)
def download(incident_id: int, attachment_id: int):  # type: ignore[no-untyped-def]
    try:
        attachment = service.get_attachment(db(), user=current_user, incident_id=incident_id, attachment_id=attachment_id)
    except DomainError:
        abort(404)
    path = current_app.extensions["qa_storage"].path_for(attachment.sha256)
    if not path.exists():
        abort(404)
    # Always a download, never rendered inline: an uploaded HTML or SVG can carry script.
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
