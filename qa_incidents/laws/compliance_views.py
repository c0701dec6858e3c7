"""Pages of the technical-law compliance register: the products × laws matrix (and its CSV), a product model's
laws, evidence and re-assessments, the re-assessment tasks, and the list of technical laws."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.service import list_categories
from qa_incidents.core import csvsafe
from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, Forbidden, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.permissions import Capability, scoped
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.web import db, now, requires, viewer_timezone
from qa_incidents.laws import compliance
from qa_incidents.laws.compliance_forms import (
    ALL,
    CloseTaskForm,
    EvidenceForm,
    MatrixFilterForm,
    TechnicalLawForm,
    WithdrawEvidenceForm,
)
from qa_incidents.laws.compliance_rules import (
    DEFAULT_WARN_DAYS,
    EVIDENCE_KIND_TITLES,
    STATE_TITLES,
    UNCONFIRMED_LABEL,
    State,
)
from qa_incidents.laws.models import Law, TechnicalLaw

bp = Blueprint("compliance", __name__, url_prefix="/laws/compliance")


def _today() -> dt.date:
    return to_zone(now(), viewer_timezone()).date()


def _reader() -> None:
    if not compliance.can_read(current_user.actor):
        abort(403)


def _warn_days() -> int:
    return int(current_app.config.get("COMPLIANCE_WARN_DAYS", DEFAULT_WARN_DAYS))


def _globals() -> dict[str, Any]:
    return {"STATE_TITLES": STATE_TITLES, "EVIDENCE_KIND_TITLES": EVIDENCE_KIND_TITLES, "State": State,
            "UNCONFIRMED_LABEL": UNCONFIRMED_LABEL}


# --- the matrix ------------------------------------------------------------------------------------------------


def _matrix_from_request() -> tuple[MatrixFilterForm, compliance.Matrix | None]:
    actor = current_user.actor
    form = MatrixFilterForm(request.args)
    divisions = list(db().scalars(scoped(sa.select(Division).order_by(Division.name), actor, Division.id)))
    form.division.choices = [SelectChoice(ALL, _("All divisions you may see"))] + [
        SelectChoice(str(d.id), d.name) for d in divisions]
    form.law.choices = [SelectChoice(ALL, _("Every technical law"))] + [
        SelectChoice(str(t.law_id), f"{t.law.short_name} — {t.law.name_en}") for t in compliance.technical_laws(db())]
    form.category.choices = [SelectChoice(ALL, _("Every category"))] + [
        SelectChoice(str(c.id), c.path) for c in list_categories(db(), active_only=True)]
    form.validate()
    if form.errors:
        return form, None
    warn = form.warn_days.data if form.warn_days.data is not None else _warn_days()
    matrix = compliance.matrix(
        db(), actor=actor, today=_today(), warn_days=warn,
        division_id=int(form.division.data) if form.division.data else None,
        law_id=int(form.law.data) if form.law.data else None, state=State(form.state.data) if form.state.data else None,
        category_id=int(form.category.data) if form.category.data else None, query=form.q.data or "")
    return form, matrix


@bp.get("/")
@login_required
def matrix():  # type: ignore[no-untyped-def]
    _reader()
    form, grid = _matrix_from_request()
    counts = compliance.task_counts(db(), actor=current_user.actor, today=_today())
    return render_template("laws/compliance/matrix.html", form=form, grid=grid, counts=counts,
                           **_globals()), 422 if form.errors else 200


@bp.get("/export.csv")
@login_required
def matrix_csv():  # type: ignore[no-untyped-def]
    _reader()
    form, grid = _matrix_from_request()
    if grid is None:
        return Response("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in form.errors.items()), status=422,
                        mimetype="text/plain")
    header = [_("Division"), _("Model"), _("Name"), _("Category"), _("Countries of sale"), _("Law"), _("Citation"),
              _("State"), _("Expires on"), _("Re-assessment open")]
    rows = []
    for row in grid.rows:
        for law in grid.laws:
            cell = row.cells.get(law.id)
            if cell is None:
                continue
            rows.append([row.product.division.name, row.product.model, row.product.name, row.product.category.path,
                         row.product.markets, law.short_name, law.citation, str(STATE_TITLES[cell.state]),
                         cell.expires_on.isoformat() if cell.expires_on else "",
                         _("yes") if law.id in row.open_tasks else ""])
    body = csvsafe.text(header, rows)
    return Response("\ufeff" + body, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="technical-compliance-{grid.today.isoformat()}.csv"'})


# --- one product model -----------------------------------------------------------------------------------------


def _product_page(product_id: int, *, evidence_form: EvidenceForm | None = None,
                  withdraw_form: WithdrawEvidenceForm | None = None, withdraw_id: int | None = None,
                  status: int = 200) -> Any:
    try:
        found = compliance.product_compliance(db(), actor=current_user.actor, product_id=product_id, today=_today(),
                                              warn_days=_warn_days())
    except DomainError:
        abort(404)
    manage = compliance.can_manage(current_user.actor, found.product.division_id)
    if manage and evidence_form is None:
        evidence_form = EvidenceForm()
    if evidence_form is not None:
        evidence_form.law_id.choices = [SelectChoice("", _("Choose…"))] + [
            SelectChoice(str(pl.law.id), f"{pl.law.short_name} — {pl.law.name_en}") for pl in found.laws]
    return render_template("laws/compliance/product.html", found=found, manage=manage, form=evidence_form,
                           withdraw_form=withdraw_form or (WithdrawEvidenceForm(formdata=None) if manage else None),
                           withdraw_id=withdraw_id, today=_today(), **_globals()), status


@bp.get("/products/<id:product_id>")
@login_required
def product(product_id: int):  # type: ignore[no-untyped-def]
    _reader()
    return _product_page(product_id)


@bp.post("/products/<id:product_id>/evidence")
@login_required
def add_evidence(product_id: int):  # type: ignore[no-untyped-def]
    _reader()
    try:
        product = compliance.get_product(db(), actor=current_user.actor, product_id=product_id)
    except DomainError:
        abort(404)
    if not compliance.can_manage(current_user.actor, product.division_id):
        abort(403)
    form = EvidenceForm()
    form.law_id.choices = [SelectChoice(str(t.law_id), t.law.short_name) for t in compliance.technical_laws(db())]
    if not form.validate_on_submit():
        return _product_page(product_id, evidence_form=form, status=422)
    upload = form.file.data
    try:
        stored = current_app.extensions["qa_storage"].put(upload.stream)
    except TooLarge:
        form.file.errors = [*form.file.errors, _("The file is too large.")]
        return _product_page(product_id, evidence_form=form, status=422)
    data = compliance.EvidenceInput(law_id=int(form.law_id.data), kind=form.kind.data or "",
                                    issuer=form.issuer.data or "", number=form.number.data or "",
                                    issued_on=form.issued_on.data, expires_on=form.expires_on.data,
                                    note=form.note.data or "")
    try:
        with transaction(db()) as s:
            evidence = compliance.add_evidence(s, actor=current_user.actor, product_id=product_id, data=data,
                                               stored=stored, filename=upload.filename or "document", now=now())
    except ValidationFailed as e:
        for message in apply_errors(form, e.errors):
            flash(message, "error")
        return _product_page(product_id, evidence_form=form, status=422)
    except Forbidden:
        abort(403)
    flash(_("Evidence recorded: %(number)s", number=evidence.number), "success")
    return redirect(url_for("compliance.product", product_id=product_id, _anchor=f"law-{evidence.law_id}"))


@bp.get("/evidence/<id:evidence_id>/file")
@login_required
def evidence_file(evidence_id: int):  # type: ignore[no-untyped-def]
    _reader()
    try:
        evidence = compliance.get_evidence(db(), actor=current_user.actor, evidence_id=evidence_id)
    except DomainError:
        abort(404)
    if not evidence.sha256:
        abort(404)
    path = current_app.extensions["qa_storage"].path_for(evidence.sha256)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=evidence.content_type or "application/octet-stream", as_attachment=True,
                         download_name=evidence.filename or "document", max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/evidence/<id:evidence_id>/withdraw")
@login_required
def withdraw_evidence(evidence_id: int):  # type: ignore[no-untyped-def]
    _reader()
    try:
        evidence = compliance.get_evidence(db(), actor=current_user.actor, evidence_id=evidence_id)
    except DomainError:
        abort(404)
    if not compliance.can_manage(current_user.actor, evidence.division_id):
        abort(403)
    product_id = evidence.product_id
    form = WithdrawEvidenceForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                compliance.withdraw_evidence(s, actor=current_user.actor, evidence_id=evidence_id,
                                             reason=form.reason.data or "", now=now())
            flash(_("Evidence withdrawn."), "success")
            return redirect(url_for("compliance.product", product_id=product_id, _anchor="withdrawn"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return _product_page(product_id, withdraw_form=form, withdraw_id=evidence_id, status=422)


# --- re-assessments --------------------------------------------------------------------------------------------


@bp.get("/tasks")
@login_required
def tasks():  # type: ignore[no-untyped-def]
    _reader()
    status = request.args.get("status", "open")
    if status not in ("open", "closed", "all"):
        status = "open"
    rows = compliance.tasks(db(), actor=current_user.actor, status=status)
    return render_template("laws/compliance/tasks.html", rows=rows, status=status, today=_today(),
                           counts=compliance.task_counts(db(), actor=current_user.actor, today=_today()), **_globals())


@bp.route("/tasks/<id:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):  # type: ignore[no-untyped-def]
    _reader()
    try:
        found = compliance.get_task(db(), actor=current_user.actor, task_id=task_id)
    except DomainError:
        abort(404)
    manage = compliance.can_manage(current_user.actor, found.division_id)
    if request.method == "POST" and not manage:
        abort(403)
    form = CloseTaskForm() if manage and found.status == "open" else None
    if form is not None:
        evidence = compliance.product_compliance(db(), actor=current_user.actor, product_id=found.product_id,
                                                 today=_today())
        form.evidence_id.choices = [SelectChoice("", _("No evidence: record the conclusion"))] + [
            SelectChoice(str(e.id), f"{EVIDENCE_KIND_TITLES.get(e.kind, e.kind)} {e.number} ({e.issuer})")
            for pl in evidence.laws if pl.law.id == found.law_id for e in pl.evidence]
    status = 200
    if request.method == "POST":
        if found.status != "open":
            flash(_("This re-assessment is already closed."), "error")
            status = 422
        elif form is not None and form.validate_on_submit():
            try:
                with transaction(db()) as s:
                    compliance.close_task(s, actor=current_user.actor, task_id=task_id,
                                          conclusion=form.conclusion.data or "",
                                          evidence_id=int(form.evidence_id.data) if form.evidence_id.data else None,
                                          now=now())
                flash(_("Re-assessment closed."), "success")
                return redirect(url_for("compliance.task", task_id=task_id))
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    flash(message, "error")
                status = 422
        else:
            status = 422
    return render_template("laws/compliance/task.html", task=found, form=form, manage=manage, today=_today(),
                           **_globals()), status


# --- technical laws --------------------------------------------------------------------------------------------


@bp.get("/technical")
@login_required
def technical():  # type: ignore[no-untyped-def]
    rows = compliance.technical_laws(db(), active_only=False)
    return render_template("laws/compliance/technical.html", rows=rows, **_globals())


@bp.route("/technical/new", methods=["GET", "POST"], defaults={"law_id": None})
@bp.route("/technical/<id:law_id>/edit", methods=["GET", "POST"])
@requires(Capability.EDIT_LAWS_MAP)
def technical_form(law_id: int | None):  # type: ignore[no-untyped-def]
    existing = None
    if law_id is not None:
        existing = db().scalar(sa.select(TechnicalLaw).where(TechnicalLaw.law_id == law_id))
        if existing is None:
            abort(404)
    form = TechnicalLawForm(data={"law_id": str(existing.law_id), "evidence_expected": existing.evidence_expected,
                                  "active": existing.active} if existing else None)
    laws = list(db().scalars(sa.select(Law).order_by(Law.short_name)))
    form.law_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(law.id), f"{law.short_name} — {law.name_en}") for law in laws]
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                row = compliance.save_technical(s, law_id=int(form.law_id.data), active=bool(form.active.data),
                                                evidence_expected=form.evidence_expected.data or "",
                                                actor_id=current_user.id, now=now())
                name = row.law.short_name
            flash(_("Technical law saved: %(law)s", law=name), "success")
            return redirect(url_for("compliance.technical"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
            status = 422
    elif form.errors:
        status = 422
    return render_template("laws/compliance/technical_form.html", form=form, existing=existing), status


# --- My work and the dashboard -----------------------------------------------------------------------------------


@bp.app_template_global("reassessments_for_me")
def reassessments_for_me() -> tuple[list[Any], int]:
    """The open re-assessments waiting for the current user (My work)."""
    if not current_user.is_authenticated:
        return [], 0
    return compliance.my_reassessments(db(), actor=current_user.actor)


@bp.app_template_global("reassessment_counts")
def reassessment_counts() -> compliance.TaskCounts | None:
    """Open and overdue re-assessments the current user may read (the dashboard)."""
    if not current_user.is_authenticated or not compliance.can_read(current_user.actor):
        return None
    return compliance.task_counts(db(), actor=current_user.actor, today=_today())


@bp.app_template_global("today_for_reassessments")
def today_for_reassessments() -> dt.date:
    """Today in the reader's time zone (due days are days)."""
    return _today()
