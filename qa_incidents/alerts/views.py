"""Pages of group-wide early alerts: send (head-office QA), read, answer (the addressed division's QA)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from qa_incidents.alerts import rules, service
from qa_incidents.alerts.forms import AlertForm, AnswerForm, PartCorrectionForm, PartForm, PartRetireForm
from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, NotFound, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.permissions import Capability
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.usecase import run_use_case
from qa_incidents.core.web import db, now, requires, size_text, viewer_timezone

bp = Blueprint("alerts", __name__)


def _today():  # type: ignore[no-untyped-def]
    return to_zone(now(), viewer_timezone()).date()


@bp.route("/incidents/<id:incident_id>/group-alert", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def new(incident_id: int):  # type: ignore[no-untyped-def]
    from qa_incidents.incidents.views import incident_or_404

    if not rules.may_send(current_user.actor):
        abort(403)
    incident = incident_or_404(incident_id)
    choices = service.suggestions(db(), incident)
    form = AlertForm()
    form.division_ids.choices = [SelectChoice(c.division.id, c.division.name) for c in choices]
    blocked = rules.send_blocked(severity=incident.severity.value if incident.severity else None,
                                 status=incident.status.value)
    status = 200

    def page(status: int):  # type: ignore[no-untyped-def]
        return render_template("alerts/new.html", incident=incident, form=form, choices=choices, blocked=blocked,
                               BASIS_WORDS=rules.BASIS_WORDS), status

    if request.method == "GET":
        form.division_ids.data = [c.division.id for c in choices if c.suggested]
        form.due_on.data = _today() + timedelta(days=rules.DEFAULT_DAYS)
        if not form.subject.data:
            from qa_incidents.incidents.rules import HAZARD_TITLES

            form.subject.data = _("Check your products for: %(hazard)s (%(category)s)",
                                  hazard=str(HAZARD_TITLES.get(incident.hazard, incident.hazard.value)),
                                  category=incident.product.category.name)
    elif not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        status = 422  # a date that is not one: shown beside the field, with everything typed kept
    else:
        return run_use_case(
            lambda s: service.send_alert(s, user=current_user, incident_id=incident.id, subject=form.subject.data or "",
                                         message=form.message.data or "", division_ids=form.division_ids.data or [],
                                         due_on=form.due_on.data, now=now(), today=_today()),
            form=form, validate=False, refused="flash",
            done=lambda alert: _("The group-wide alert went to %(n)d divisions.", n=len(alert.addressees)),
            then=lambda alert: _sent(alert, incident.id),
            again=page)
    return page(status)


def _sent(alert, incident_id: int):  # type: ignore[no-untyped-def]
    """After sending: a warning when an addressed division has nobody to receive the alert, then the incident."""
    unreceived = service.without_qa_manager(db(), [a.division_id for a in alert.addressees])
    if unreceived:
        flash(_("Nobody in %(divisions)s receives the alert: no active QA manager. Head-office QA was "
                "e-mailed instead; have an administrator assign a QA manager so that the division can answer.",
                divisions=", ".join(d.name for d in unreceived)), "warning")
    return redirect(url_for("incidents.show", incident_id=incident_id, _anchor="group-alerts"))


@bp.get("/group-alerts/")
@requires(Capability.READ_INCIDENTS)
def index():  # type: ignore[no-untyped-def]
    return render_template("alerts/index.html", alerts=service.list_alerts(db(), user=current_user), today=_today(),
                           ANSWER_TITLES=rules.ANSWER_TITLES, urgency=rules.urgency)


def _show(alert_id: int, form: AnswerForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    try:
        alert = service.get_alert(db(), user=current_user, alert_id=alert_id)
    except NotFound:
        abort(404)
    mine = next((a for a in alert.addressees if rules.may_answer(current_user.actor, a.division_id)), None)
    return render_template(
        "alerts/show.html", alert=alert, addressees=service.visible_addressees(db(), current_user, alert),
        unreceived=(service.without_qa_manager(db(), [a.division_id for a in alert.addressees])
                    if rules.may_send(current_user.actor) else []),
        reads_incident=service.reads_incident(db(), current_user, alert), mine=mine,
        form=form or AnswerForm(formdata=None), today=_today(), ANSWER_TITLES=rules.ANSWER_TITLES,
        URGENCY_TITLES=rules.URGENCY_TITLES, urgency=rules.urgency), status


@bp.get("/group-alerts/<id:alert_id>")
@login_required
def show(alert_id: int):  # type: ignore[no-untyped-def]
    return _show(alert_id)


@bp.post("/group-alerts/<id:alert_id>/answer")
@login_required
def answer(alert_id: int):  # type: ignore[no-untyped-def]
    try:
        alert = service.get_alert(db(), user=current_user, alert_id=alert_id)
    except NotFound:
        abort(404)
    if not any(rules.may_answer(current_user.actor, a.division_id) for a in alert.addressees):
        abort(403)
    form = AnswerForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _show(alert_id, form, 422)
    upload = form.file.data
    stored = None
    if upload and getattr(upload, "filename", ""):
        try:
            stored = current_app.extensions["qa_storage"].put(upload.stream)
        except TooLarge:
            form.file.errors = [_("The file is larger than %(limit)s.",
                                  limit=size_text(current_app.config["ATTACHMENT_MAX_BYTES"]))]
            return _show(alert_id, form, 422)
    return run_use_case(
        lambda s: service.answer_alert(s, user=current_user, alert_id=alert.id, answer=form.answer.data or "",
                                       evidence=form.evidence.data or "", stored=stored,
                                       filename=upload.filename if stored else "", now=now()),
        form=form, validate=False, refused="flash",
        done=lambda _answer: _("Your division's answer is recorded; head-office QA sees it."),
        then=lambda _answer: redirect(url_for("alerts.show", alert_id=alert_id)),
        again=lambda code: _show(alert_id, form, code))


@bp.get("/group-alerts/answers/<id:answer_id>/evidence")
@login_required
def evidence(answer_id: int):  # type: ignore[no-untyped-def]
    try:
        attachment = service.evidence(db(), user=current_user, answer_id=answer_id)
    except DomainError:
        abort(404)
    path = current_app.extensions["qa_storage"].path_for(attachment.sha256)
    if not path.exists():
        abort(404)
    # Always a download, never rendered inline (as the incident's attachments).
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/admin/catalogue/products/<id:product_id>/parts", methods=["GET", "POST"])
@requires(Capability.MANAGE_CATALOGUE)
def parts(product_id: int):  # type: ignore[no-untyped-def]
    """The parts (with suppliers) and design platforms of a model, from which alerts' suggestions are computed."""
    from qa_incidents.catalogue.models import Product

    product = db().get(Product, product_id) or abort(404)
    form = PartForm()
    status = 200
    if form.is_submitted():
        if not form.validate():
            abort(400)
        try:
            with transaction(db()) as s:
                part = service.add_part(s, product_id=product.id, kind=form.kind.data or "", code=form.code.data or "",
                                        name=form.name.data or "", supplier=form.supplier.data or "",
                                        actor_id=current_user.id, now=now())
        except ValidationFailed as e:
            apply_errors(form, e.errors)
            status = 422
        else:
            flash(_("%(code)s added to %(model)s.", code=part.code, model=product.model), "success")
            return redirect(url_for("alerts.parts", product_id=product.id))
    return _parts_page(product, form=form, status=status)


def _parts_page(product: Any, *, form: PartForm | None = None, retire_form: PartRetireForm | None = None,
                retire_part_id: int | None = None, status: int = 200) -> Any:
    parts = service.parts_of(db(), product.id)
    return render_template("alerts/parts.html", product=product, parts=parts, part_codes={p.id: p.code for p in parts},
                           form=form or PartForm(formdata=None), retire_form=retire_form,
                           retire_part_id=retire_part_id, history=service.part_history(db(), product.id)), status


def _part_or_404(part_id: int) -> Any:
    from qa_incidents.alerts.models import ProductPart

    return db().get(ProductPart, part_id) or abort(404)


@bp.route("/admin/catalogue/parts/<id:part_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_CATALOGUE)
def part_edit(part_id: int):  # type: ignore[no-untyped-def]
    """Correct a part's number, name or supplier, or a design's name (with the reason)."""
    part = _part_or_404(part_id)
    form = PartCorrectionForm(obj=part if request.method == "GET" else None)
    if request.method == "GET":
        form.reason.data = ""
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.correct_part(s, part_id=part.id, code=form.code.data or "", name=form.name.data or "",
                                     supplier=form.supplier.data or "", reason=form.reason.data or "",
                                     actor_id=current_user.id, now=now())
            flash(_("%(code)s corrected.", code=form.code.data), "success")
            return redirect(url_for("alerts.parts", product_id=part.product_id), code=303)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("alerts/part_edit.html", part=part, form=form), (422 if form.errors else 200)


@bp.post("/admin/catalogue/parts/<id:part_id>/retire", defaults={"active": False}, endpoint="part_retire")
@bp.post("/admin/catalogue/parts/<id:part_id>/reinstate", defaults={"active": True}, endpoint="part_reinstate")
@requires(Capability.MANAGE_CATALOGUE)
def part_active(part_id: int, active: bool):  # type: ignore[no-untyped-def]
    """Retire a part or design (never deleted) or reinstate it, with the reason."""
    part = _part_or_404(part_id)
    form = PartRetireForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.set_part_active(s, part_id=part.id, active=active, reason=form.reason.data or "",
                                        actor_id=current_user.id, now=now())
            flash(_("%(code)s reinstated.", code=part.code) if active else _("%(code)s retired.", code=part.code),
                  "success")
            return redirect(url_for("alerts.parts", product_id=part.product_id), code=303)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return _parts_page(part.product, retire_form=form, retire_part_id=part.id, status=422)
