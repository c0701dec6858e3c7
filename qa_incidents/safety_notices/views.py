"""Pages of safety notices: draft (division QA), approve and withdraw (head-office QA, signed), link a recall; and
the public page customers read (no log-in)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.i18n import current_language, supported_language
from qa_incidents.core.permissions import Capability
from qa_incidents.core.usecase import run_use_case
from qa_incidents.core.web import db, now, requires
from qa_incidents.incidents.service import get_incident
from qa_incidents.risk import views as risk_views
from qa_incidents.safety_notices import rules, service
from qa_incidents.safety_notices.forms import NoticeForm, RecallLinkForm, SignForm, WithdrawForm
from qa_incidents.safety_notices.models import SafetyNotice

bp = Blueprint("safety_notices", __name__, url_prefix="/safety-notices")
public_bp = Blueprint("safety_public", __name__, url_prefix="/safety-notice")

TEMPLATE_NAMES = {"STATUS_TITLES": rules.STATUS_TITLES, "KIND_TITLES": rules.KIND_TITLES,
                  "ACTION_TEXTS": rules.ACTION_TEXTS, "ACTION_TITLES": rules.ACTION_TITLES}


def _notice_or_404(notice_id: int) -> SafetyNotice:
    try:
        return service.get_notice(db(), user=current_user, notice_id=notice_id)
    except DomainError:
        abort(404)


def _refused(e: DomainError) -> None:
    if e.status_code == 404:
        abort(404)
    abort(403, description=str(e))


@bp.route("/incident/<id:incident_id>/draft", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def draft(incident_id: int):  # type: ignore[no-untyped-def]
    """Draft the incident's notice: its first version, the version being drafted, or an update or correction."""
    try:
        incident = get_incident(db(), user=current_user, incident_id=incident_id)
    except DomainError:
        abort(404)
    if not service.may_draft(current_user, incident.division_id):
        abort(403, description=_("Only the division's QA or head-office QA drafts a safety notice."))
    severity = incident.severity.value if incident.severity is not None else None
    if (why := rules.severity_refusal(severity)) is not None:
        flash(why, "error")
        return redirect(url_for("incidents.show", incident_id=incident.id), code=303)
    live = [n for n in service.notices_for_incident(db(), user=current_user, incident_id=incident.id)
            if n.status != rules.NoticeStatus.WITHDRAWN.value]
    notice = live[-1] if live else None
    pending = service.pending_draft(db(), notice.id) if notice is not None else None
    published = service.latest_published(db(), notice.id) if notice is not None else None
    form = NoticeForm()
    if not form.is_submitted():
        if pending is not None:
            form.fill(service.input_of(pending))
        elif published is not None:
            data = service.input_of(published)
            for texts in data.texts.values():
                texts["change_note"] = ""
            data.kind = ""
            form.fill(data)
        else:
            form.fill(service.defaults_for(incident, current_language()))
    first = pending.kind == rules.VersionKind.INITIAL.value if pending is not None else published is None
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                version = service.save_draft(s, user=current_user, incident_id=incident.id, data=form.to_input(),
                                             now=now())
            flash(_("Version %(n)d of the safety notice is saved. Head-office QA approves it for publication.",
                    n=version.number), "success")
            return redirect(url_for("safety_notices.show", safety_notice_id=version.notice_id), code=303)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    return render_template("safety_notices/form.html", incident=incident, notice=notice, form=form, first=first,
                           editing=pending, **TEMPLATE_NAMES), (422 if form.errors else 200)


def _show(notice: SafetyNotice, *, sign_form: SignForm | None = None, withdraw_form: WithdrawForm | None = None,
          status: int = 200) -> Any:
    s = db()
    link_form = RecallLinkForm(formdata=None)
    link_form.recall_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(r.id), f"{r.reference} {r.title}") for r in service.recall_choices(s, notice, current_user)]
    link_form.recall_id.data = str(notice.recall_id or "")
    pending = service.pending_draft(s, notice.id)
    from qa_incidents.incidents.models import Incident
    from qa_incidents.recalls.models import RecallCampaign

    return render_template(
        "safety_notices/show.html", notice=notice, incident=s.get(Incident, notice.incident_id),
        versions=service.versions(s, notice.id), pending=pending,
        pending_problems=service.problems(pending) if pending is not None else {},
        recall=s.get(RecallCampaign, notice.recall_id) if notice.recall_id else None,
        may_draft=service.may_draft(current_user, notice.division_id),
        may_approve=service.may_approve(current_user, notice.division_id),
        sign_form=sign_form or SignForm(formdata=None), withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        link_form=link_form, may_assess=service.may_assess(current_user, notice),
        **risk_views.panel_context("safety_notice", notice.id), **TEMPLATE_NAMES), status


@bp.route("/<id:safety_notice_id>/risk-assessment", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def risk_assessment(safety_notice_id: int):  # type: ignore[no-untyped-def]
    """Assess the risk the notice warns of (R-Map or the EU method), or record why no assessment is made."""
    notice = _notice_or_404(safety_notice_id)
    if not service.may_assess(current_user, notice):
        abort(403, description=_("Only the division's QA or head-office QA assesses the risk of a notice being "
                                 "drafted or published."))

    def save(s, *, data, now):  # type: ignore[no-untyped-def]
        return service.record_risk_assessment(s, user=current_user, notice_id=notice.id, data=data, now=now)

    url = url_for("safety_notices.show", safety_notice_id=notice.id)
    return risk_views.assessment_page(subject_type="safety_notice", subject_id=notice.id, save=save,
                                      heading=_("Risk assessment of %(ref)s", ref=notice.reference),
                                      back_url=url, done_url=url)


@bp.get("/<id:safety_notice_id>")
@requires(Capability.READ_INCIDENTS)
def show(safety_notice_id: int):  # type: ignore[no-untyped-def]
    return _show(_notice_or_404(safety_notice_id))


@bp.post("/<id:safety_notice_id>/approve")
@requires(Capability.APPROVE)
def approve(safety_notice_id: int):  # type: ignore[no-untyped-def]
    notice = _notice_or_404(safety_notice_id)
    form = SignForm()
    return run_use_case(
        lambda s: service.approve(s, user=current_user, notice_id=notice.id, password=form.password.data or "",
                                  comment=form.comment.data or "", now=now()),
        form=form, refusal_field="password",
        done=lambda version: _("Version %(n)d of %(ref)s is signed and on the public page.", n=version.number,
                               ref=notice.reference),
        then=lambda _version: redirect(url_for("safety_notices.show", safety_notice_id=notice.id), code=303),
        again=lambda status: _show(notice, sign_form=form, status=status))


@bp.post("/<id:safety_notice_id>/withdraw")
@requires(Capability.APPROVE)
def withdraw(safety_notice_id: int):  # type: ignore[no-untyped-def]
    notice = _notice_or_404(safety_notice_id)
    form = WithdrawForm()
    return run_use_case(
        lambda s: service.withdraw(s, user=current_user, notice_id=notice.id, reason=form.reason.data or "",
                                   password=form.password.data or "", now=now()),
        form=form, refusal_field="password",
        done=lambda _notice: _("%(ref)s is withdrawn: its public page says so, with the reason.",
                               ref=notice.reference),
        then=lambda _notice: redirect(url_for("safety_notices.show", safety_notice_id=notice.id), code=303),
        again=lambda status: _show(notice, withdraw_form=form, status=status))


@bp.post("/<id:safety_notice_id>/recall")
@requires(Capability.MANAGE_RECALLS)
def link_recall(safety_notice_id: int):  # type: ignore[no-untyped-def]
    notice = _notice_or_404(safety_notice_id)
    if not service.may_draft(current_user, notice.division_id):
        abort(403, description=_("Only the division's QA or head-office QA links a recall to the notice."))
    form = RecallLinkForm()
    form.recall_id.choices = [SelectChoice("", "")] + [SelectChoice(str(r.id), r.reference)
                                                       for r in service.recall_choices(db(), notice, current_user)]
    if form.validate_on_submit():
        chosen = form.recall_id.data or ""
        try:
            with transaction(db()) as s:
                service.link_recall(s, user=current_user, notice_id=notice.id,
                                    recall_id=int(chosen) if chosen.isdigit() else None, now=now())
            flash(_("The recall link is saved."), "success")
            return redirect(url_for("safety_notices.show", safety_notice_id=notice.id), code=303)
        except DomainError as e:
            if e.status_code in (403, 404):
                _refused(e)
            flash(str(e), "error")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return _show(notice, status=422)


# --- the public page ------------------------------------------------------------------------------------


@public_bp.get("/<safety_reference>")
def public(safety_reference: str):  # type: ignore[no-untyped-def]
    """The notice as customers read it, wholly in one of its languages, with its history."""
    wanted = supported_language(request.args.get("lang")) or current_language()
    found = service.public_notice(db(), safety_reference, wanted)
    if found is None:
        abort(404)
    with force_locale(found.language):
        return render_template("safety_notices/public.html", found=found, notice=found.notice, version=found.version,
                               lang=found.language, languages=found.languages, **TEMPLATE_NAMES)
