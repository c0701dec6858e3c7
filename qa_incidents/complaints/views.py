"""Pages for complaints: the list of flagged complaints, intake, a complaint, signals, and filing either as an incident."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qa_incidents.complaints import rules, service
from qa_incidents.complaints.forms import ComplaintForm, DismissForm
from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.permissions import Capability, can, can_work_division
from qa_incidents.core.svgchart import Series, line_chart
from qa_incidents.core.web import db, now, requires, start_writing, viewer_timezone, writes_late

bp = Blueprint("complaints", __name__, url_prefix="/complaints")


@bp.record_once
def _template_globals(state: Any) -> None:
    state.app.jinja_env.globals["SIGNAL_STATUS_TITLES"] = {s.value: t for s, t in rules.SIGNAL_STATUS_TITLES.items()}


def _may_see_contact() -> bool:
    return can(current_user.actor, Capability.READ_CUSTOMER_CONTACT)


def _may_work(division_id: int) -> bool:
    return can_work_division(current_user.actor, division_id, Capability.WORK_COMPLAINTS)


@bp.app_template_global()
def complaints_for_incident(incident_id: int) -> list[Any]:
    """The complaints linked to an incident (the incident page lists them)."""
    return service.complaints_of_incident(db(), incident_id)


@bp.app_template_global()
def complaint_work() -> service.Work | None:
    """Flagged complaints and open signals waiting for the current user (My work lists them)."""
    return service.work_for(db(), user=current_user)


@bp.get("/")
@requires(Capability.READ_INCIDENTS)
def index():  # type: ignore[no-untyped-def]
    s = db()
    return render_template("complaints/index.html",
                           flagged=service.list_complaints(s, user=current_user, flagged=True, open_only=True),
                           recent=service.list_complaints(s, user=current_user, limit=50),
                           may_file=_may_work)


@bp.route("/new", methods=["GET", "POST"])
@requires(Capability.LOG_COMPLAINTS)
@writes_late
def new():  # type: ignore[no-untyped-def]
    form = ComplaintForm()
    if form.validate_on_submit():
        data = rules.ComplaintIn(
            source="web", external_id=f"web-{uuid.uuid4().hex[:20]}", model=form.model.data or "",
            received_at=now(), text=form.text.data or "", symptom=form.symptom.data or "",
            serial=form.serial.data or "", country=(form.country.data or "").upper(), place=form.place.data or "",
            channel=form.channel.data, kind=form.kind.data, occurred_on=form.occurred_on.data,
            customer_name=form.customer_name.data or "", customer_contact=form.customer_contact.data or "")
        try:
            with transaction(start_writing()) as s:
                complaint = service.log_complaint(s, user=current_user, data=data, now=now())
            if complaint.flagged:
                flash(_("Complaint recorded and flagged for QA: it mentions %(terms)s.", terms=complaint.safety_terms),
                      "warning")
            else:
                flash(_("Complaint recorded."), "success")
            return redirect(url_for("complaints.show", complaint_id=complaint.id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if form.errors:
        flash(_("The complaint was not recorded: correct the fields marked below."), "error")
    return render_template("complaints/form.html", form=form), (422 if form.errors else 200)


def _complaint_or_404(complaint_id: int) -> Any:
    try:
        return service.get_complaint(db(), user=current_user, complaint_id=complaint_id)
    except DomainError:
        abort(404)


def _signal_or_404(signal_id: int) -> Any:
    try:
        return service.get_signal(db(), user=current_user, signal_id=signal_id)
    except DomainError:
        abort(404)


@bp.get("/<id:complaint_id>")
@requires(Capability.READ_INCIDENTS)
def show(complaint_id: int):  # type: ignore[no-untyped-def]
    complaint = _complaint_or_404(complaint_id)
    return render_template("complaints/show.html", complaint=complaint, show_contact=_may_see_contact(),
                           may_work=_may_work(complaint.division_id))


def _incident_form(prefill: dict[str, Any] | None) -> Any:
    from qa_incidents.incidents.forms import IncidentForm
    from qa_incidents.incidents.views import _prepare_incident_form

    form = IncidentForm()
    _prepare_incident_form(form, labelled=True)
    if prefill is not None and not form.is_submitted():
        tz = viewer_timezone()
        for name, value in prefill.items():
            if isinstance(value, datetime):
                value = to_zone(value, tz).replace(tzinfo=None)
            getattr(form, name).data = value
        form.timezone.data = tz
    return form


def _file(kind: str, division_id: int, prefill: dict[str, Any], do: Any, back: str):  # type: ignore[no-untyped-def]
    if not _may_work(division_id):
        abort(403)
    form = _incident_form(prefill)
    if form.validate_on_submit():
        try:
            with transaction(start_writing()) as s:
                incident = do(s, form.to_facts())
            flash(_("Incident %(ref)s filed; the complaints are linked to it.", ref=incident.reference), "success")
            return redirect(url_for("incidents.show", incident_id=incident.id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if form.errors:
        flash(_("The incident was not filed: correct the fields marked below."), "error")
    return render_template("complaints/file.html", form=form, kind=kind, back=back), (422 if form.errors else 200)


@bp.route("/<id:complaint_id>/file", methods=["GET", "POST"])
@requires(Capability.WORK_COMPLAINTS)
@writes_late
def file_incident(complaint_id: int):  # type: ignore[no-untyped-def]
    complaint = _complaint_or_404(complaint_id)
    if complaint.incident_id is not None:
        flash(_("This complaint is already linked to an incident."), "info")
        return redirect(url_for("incidents.show", incident_id=complaint.incident_id))
    return _file("complaint", complaint.division_id, service.incident_prefill([complaint]),
                 lambda s, facts: service.file_from_complaint(s, user=current_user, complaint=s.merge(complaint),
                                                               facts=facts, now=now()),
                 url_for("complaints.show", complaint_id=complaint.id))


@bp.get("/signals")
@requires(Capability.READ_INCIDENTS)
def signals():  # type: ignore[no-untyped-def]
    s = db()
    return render_template("complaints/signals.html", open_signals=service.list_signals(s, user=current_user),
                           decided=[x for x in service.list_signals(s, user=current_user, status=None, limit=100)
                                    if x.status != "open"])


def _chart(signal: Any) -> Any:
    points = [(date.fromisoformat(w), n) for w, n, _e in signal.series]
    expected = [(date.fromisoformat(w), e) for w, _n, e in signal.series if e is not None]
    series = [Series(_("Complaints per week"), points)]
    if expected:
        series.append(Series(_("Baseline (expected per week)"), expected))
    return line_chart(series, title=_("%(model)s — %(symptom)s: complaints per week", model=signal.model,
                                      symptom=signal.symptom),
                      description=_("Weekly complaints against the baseline from the model's own history."),
                      y_label=_("complaints"), chart_id=f"signal-{signal.id}")


@bp.get("/signals/<id:signal_id>")
@requires(Capability.READ_INCIDENTS)
def signal(signal_id: int):  # type: ignore[no-untyped-def]
    sig = _signal_or_404(signal_id)
    lessons: list[Any] = []
    if can(current_user.actor, Capability.READ_LESSONS):
        from qa_incidents.reviews import search

        words = " ".join(c.text for c in service.signal_complaints(db(), sig.id, limit=5))
        lessons = search.similar_lessons(db(), text=f"{sig.symptom} {words}"[:2000], limit=5)
    return render_template("complaints/signal.html", signal=sig, chart=_chart(sig),
                           complaints=service.signal_complaints(db(), sig.id), may_work=_may_work(sig.division_id),
                           dismiss_form=DismissForm(), lessons=lessons)


@bp.route("/signals/<id:signal_id>/promote", methods=["GET", "POST"])
@requires(Capability.WORK_COMPLAINTS)
@writes_late
def promote(signal_id: int):  # type: ignore[no-untyped-def]
    sig = _signal_or_404(signal_id)
    if sig.status != "open":
        flash(_("Only an open signal can be promoted or dismissed."), "error")
        return redirect(url_for("complaints.signal", signal_id=sig.id))
    members = service.signal_complaints(db(), sig.id, limit=10_000)
    prefill = service.incident_prefill(members, title=_("Rising complaints: %(model)s — %(symptom)s", model=sig.model,
                                                         symptom=sig.symptom)) if members else {}
    return _file("signal", sig.division_id, prefill,
                 lambda s, facts: service.promote_signal(s, user=current_user, signal=s.merge(sig), facts=facts,
                                                         now=now()),
                 url_for("complaints.signal", signal_id=sig.id))


@bp.post("/signals/<id:signal_id>/dismiss")
@requires(Capability.WORK_COMPLAINTS)
def dismiss(signal_id: int):  # type: ignore[no-untyped-def]
    sig = _signal_or_404(signal_id)
    if not _may_work(sig.division_id):
        abort(403)
    form = DismissForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.dismiss_signal(s, user=current_user, signal=sig, reason=form.reason.data or "", now=now())
            flash(_("Signal dismissed. It comes back only if the complaints behind it grow."), "success")
            return redirect(url_for("complaints.signals"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("complaints/signal.html", signal=sig, chart=_chart(sig),
                           complaints=service.signal_complaints(db(), sig.id), may_work=True, dismiss_form=form,
                           lessons=[]), 422
