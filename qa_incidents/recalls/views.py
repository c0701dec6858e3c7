"""Pages of recalls: campaigns, population, launch, customer notices, progress, reports, closure."""

from __future__ import annotations

from datetime import date
from typing import Any

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
from flask_login import current_user
from wtforms import SelectChoice

from qa_incidents.core import svgchart
from qa_incidents.core.clock import to_zone
from qa_incidents.core.countries import country_names
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import EmptyForm, apply_errors
from qa_incidents.core.params import arg_id
from qa_incidents.core.permissions import Capability, can, can_read_division
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.usecase import run_use_case
from qa_incidents.core.web import db, now, requires, viewer_timezone
from qa_incidents.incidents.service import get_incident
from qa_incidents.recalls import rules, service
from qa_incidents.recalls.forms import (
    AdvertForm,
    CampaignForm,
    ClosureForm,
    EffectivenessForm,
    ImportForm,
    LinkIncidentForm,
    MailingForm,
    PopulationForm,
    ProgressForm,
    SignatureForm,
    WebNoticeForm,
    WithdrawForm,
)
from qa_incidents.recalls.models import NewspaperAdvert, RecallCampaign, WebNotice
from qa_incidents.risk import views as risk_views

bp = Blueprint("recalls", __name__, url_prefix="/recalls")


def _today() -> date:
    return to_zone(now(), viewer_timezone()).date()


def recall_or_404(recall_id: int) -> RecallCampaign:
    """The campaign if the current user may read it, else 404 (never a hint that it exists)."""
    try:
        return service.get_recall(db(), user=current_user, recall_id=recall_id)
    except DomainError:
        abort(404)


def _manage_or_403(recall: RecallCampaign) -> None:
    if not service.may_manage(current_user, recall):
        abort(403, description=_("You may read this recall but not change it."))


def _country_choices(first: list[str] | None = None, blank: str | None = None) -> list[SelectChoice]:
    names = country_names(current_user.locale or "en")
    first = [c for c in (first or []) if c in names]
    rest = sorted((c for c in names if c not in first), key=lambda c: names[c])
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(c, f"{names[c]} ({c})") for c in [*first, *rest]]


def _countries_from(text: str) -> list[str]:
    return [c.strip().upper() for c in (text or "").replace(";", ",").replace(" ", ",").split(",") if c.strip()]


def _done(message: str, endpoint: str, **values: Any) -> Any:
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def _refused(e: DomainError) -> None:
    if e.status_code == 404:
        abort(404)
    abort(403, description=str(e))


# --- list and create -----------------------------------------------------------------------------


@bp.get("/")
@requires(Capability.READ_INCIDENTS)
def index():  # type: ignore[no-untyped-def]
    incident = None
    incident_id = arg_id("incident")
    if incident_id is not None:
        try:
            incident = get_incident(db(), user=current_user, incident_id=incident_id)
        except DomainError:
            abort(404)
    status = request.args.get("status") or None
    if status and status not in {s.value for s in rules.RecallStatus}:
        status = None
    remedy = request.args.get("remedy") or None
    if remedy and remedy not in {r.value for r in rules.Remedy}:
        remedy = None
    from qa_incidents.accounts.service import list_divisions

    divisions = [d for d in list_divisions(db()) if can_read_division(current_user.actor, d.id)]
    division_id = request.args.get("division", type=int)
    if division_id not in {d.id for d in divisions}:
        division_id = None
    text = (request.args.get("q") or "").strip()[:200]
    try:
        page = service.recall_page(db(), user=current_user, incident_id=incident_id, status=status, remedy=remedy,
                                   division_id=division_id, text=text, after=request.args.get("after"),
                                   before=request.args.get("before"))
    except ValueError:
        abort(400, description=_("This page link is not valid: start again from the first page."))
    rows = list(zip(page.items, service.progresses(db(), page.items, today=_today()), strict=True))
    args = {k: v for k, v in {"incident": incident_id, "status": status, "remedy": remedy, "division": division_id,
                              "q": text}.items() if v}
    return render_template("recalls/index.html", rows=rows, incident=incident, status=status, remedy=remedy,
                           division_id=division_id, divisions=divisions, q=text, page=page, args=args,
                           may_start=can(current_user.actor, Capability.MANAGE_RECALLS))


def _campaign_form(form: CampaignForm, division_id: int) -> None:
    form.owner_id.choices = [SelectChoice(u.id, f"{u.name} ({u.email})")
                             for u in service.owner_candidates(db(), division_id)]


def _campaign_input(form: CampaignForm) -> service.CampaignInput:
    return service.CampaignInput(
        title=form.title.data or "", remedy=form.remedy.data or "", description=form.description.data or "",
        countries=_countries_from(form.countries.data or ""), units_affected=form.units_affected.data or 0,
        target_percent=form.target_percent.data or 0, target_date=form.target_date.data,
        stall_weeks=form.stall_weeks.data or 0, report_regimes=list(form.report_regimes.data or []),
        owner_id=form.owner_id.data)


@bp.route("/new", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def new():  # type: ignore[no-untyped-def]
    incident_id = arg_id("incident")
    if incident_id is None:
        flash(_("A recall starts from an incident: open the incident and choose “Start a recall”."), "info")
        return redirect(url_for("incidents.register"))
    try:
        incident = get_incident(db(), user=current_user, incident_id=incident_id)
    except DomainError:
        abort(404)
    from qa_incidents.core.permissions import can_work_division

    if not can_work_division(current_user.actor, incident.division_id, Capability.MANAGE_RECALLS):
        abort(403, description=_("Only QA managers of this division or head-office QA prepare recalls."))
    form = CampaignForm()
    _campaign_form(form, incident.division_id)
    if not form.is_submitted():
        form.title.data = f"{incident.product.model}: {incident.title}"
        form.countries.data = incident.country
        form.units_affected.data = incident.units_in_field
        form.owner_id.data = current_user.id
    if not form.is_submitted():
        return render_template("recalls/form.html", form=form, incident=incident, recall=None)
    return run_use_case(
        lambda s: service.create_campaign(s, user=current_user, data=_campaign_input(form), incident_ids=[incident.id],
                                          now=now()),
        form=form,
        done=lambda recall: _("Recall %(ref)s is being prepared. Describe the affected population next.",
                              ref=recall.reference),
        then=lambda recall: redirect(url_for("recalls.population", recall_id=recall.id)),
        again=lambda status: (render_template("recalls/form.html", form=form, incident=incident, recall=None),
                              status))


# --- the campaign page ---------------------------------------------------------------------------


def _chart(recall: RecallCampaign, progress: service.Progress) -> Any:
    if not progress.curve:
        return None
    goal = svgchart.Target(_("Target %(p)d %%", p=recall.target_percent), recall.units_affected * recall.target_percent / 100)
    return svgchart.line_chart(
        [svgchart.Series(_("Units remedied (cumulative)"), progress.curve)], title=_("Completion curve"),
        description=_("Cumulative units remedied each week since launch, against the target of %(n)s units.",
                      n=f"{int(goal.value):,}"),
        target=goal, y_label=_("units"), chart_id=f"curve-{recall.id}")


@bp.get("/<id:recall_id>")
@requires(Capability.READ_INCIDENTS)
def show(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    today = _today()
    progress = service.progress(db(), recall, today=today)
    return render_template(
        "recalls/show.html", recall=recall, progress=progress, chart=_chart(recall, progress),
        incidents=service.linked_incidents(db(), recall.id, user=current_user), population=service.population(db(), recall.id),
        notice=service.published_notice(db(), recall.id), launch_problems=service.launch_problems(db(), recall),
        schedule=service.report_schedule(recall, today=today), may_manage=service.may_manage(current_user, recall),
        may_approve=can(current_user.actor, Capability.APPROVE), link_form=LinkIncidentForm(),
        history=service.history(db(), recall), today=today, may_assess=service.may_assess(current_user, recall),
        **risk_views.panel_context("recall", recall.id))


@bp.route("/<id:recall_id>/risk-assessment", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def risk_assessment(recall_id: int):  # type: ignore[no-untyped-def]
    """Assess the risk the recall answers (R-Map or the EU method), or record why no assessment is made."""
    recall = recall_or_404(recall_id)
    if not service.may_assess(current_user, recall):
        abort(403, description=_("Only whoever prepares an open recall records its risk assessment."))

    def save(s, *, data, now):  # type: ignore[no-untyped-def]
        return service.record_risk_assessment(s, user=current_user, recall_id=recall.id, data=data, now=now)

    return risk_views.assessment_page(
        subject_type="recall", subject_id=recall.id, save=save,
        heading=_("Risk assessment of %(ref)s", ref=recall.reference),
        back_url=url_for("recalls.show", recall_id=recall.id), done_url=url_for("recalls.show", recall_id=recall.id),
        suggested_frequency=service.suggested_frequency(db(), recall))


@bp.route("/<id:recall_id>/edit", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def edit(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = CampaignForm(obj=recall if request.method == "GET" else None)
    _campaign_form(form, recall.division_id)
    if not form.is_submitted():
        form.countries.data = ", ".join(recall.countries)
        form.version.data = str(recall.version)
    if not form.is_submitted():
        return render_template("recalls/form.html", form=form, incident=None, recall=recall)
    return run_use_case(
        lambda s: service.update_campaign(s, user=current_user, recall_id=recall.id, data=_campaign_input(form),
                                          expected_version=int(form.version.data or 0), now=now()),
        form=form,
        done=lambda _recall: _("Recall %(ref)s saved.", ref=recall.reference),
        then=lambda _recall: redirect(url_for("recalls.show", recall_id=recall.id)),
        again=lambda status: (render_template("recalls/form.html", form=form, incident=None, recall=recall), status))


@bp.post("/<id:recall_id>/incidents")
@requires(Capability.MANAGE_RECALLS)
def link(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = LinkIncidentForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                incident = service.link_incident(s, user=current_user, recall_id=recall.id,
                                                 reference=form.reference.data or "", now=now())
            return _done(_("%(inc)s linked to %(ref)s.", inc=incident.reference, ref=recall.reference),
                         "recalls.show", recall_id=recall.id)
        except ValidationFailed as e:
            for message in e.errors.values():
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    else:
        for messages in form.errors.values():
            flash(" ".join(str(m) for m in messages), "error")
    return redirect(url_for("recalls.show", recall_id=recall.id))


# --- population ----------------------------------------------------------------------------------


@bp.route("/<id:recall_id>/population", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def population(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    form = PopulationForm()
    if request.method == "POST":
        _manage_or_403(recall)
        if form.validate_on_submit():
            try:
                with transaction(db()) as s:
                    service.add_population_line(
                        s, user=current_user, recall_id=recall.id, exclude=bool(form.exclude.data),
                        model=form.model.data or "", lot=form.lot.data or "", serial_first=form.serial_first.data or "",
                        serial_last=form.serial_last.data or "", units=form.units.data or 0,
                        note=form.note.data or "", now=now())
                return _done(_("Population line added."), "recalls.population", recall_id=recall.id)
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    flash(message, "error")
            except DomainError as e:
                _refused(e)
    lines = service.population(db(), recall.id, active_only=False)
    return render_template("recalls/population.html", recall=recall, form=form, lines=lines,
                           may_manage=service.may_manage(current_user, recall), retire_form=EmptyForm()), \
        (422 if form.errors else 200)


@bp.post("/<id:recall_id>/population/<id:line_id>/retire")
@requires(Capability.MANAGE_RECALLS)
def retire_line(recall_id: int, line_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            service.retire_population_line(s, user=current_user, recall_id=recall.id, line_id=line_id, now=now())
    except DomainError as e:
        _refused(e)
    return _done(_("Population line taken out of use."), "recalls.population", recall_id=recall.id)


# --- launch and withdrawal ---------------------------------------------------------------------------


@bp.route("/<id:recall_id>/launch", methods=["GET", "POST"])
@requires(Capability.APPROVE)
def launch(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    if recall.status != rules.RecallStatus.DRAFT.value:
        abort(403, description=_("Only a recall being prepared can be launched."))
    form = SignatureForm()
    problems = service.launch_problems(db(), recall)
    failed = False
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.launch(s, user=current_user, recall_id=recall.id, password=form.password.data or "",
                               comment=form.comment.data or "", now=now())
            return _done(_("Recall %(ref)s launched. Publish the customer notice next.", ref=recall.reference),
                         "recalls.notices", recall_id=recall.id)
        except ValidationFailed as e:
            failed = True
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            if e.status_code in (403, 404):
                _refused(e)
            form.password.errors = [str(e)]
    return render_template("recalls/sign.html", recall=recall, form=form, problems=problems, action="launch",
                           incidents=service.linked_incidents(db(), recall.id, user=current_user),
                           population=service.population(db(), recall.id),
                           **risk_views.panel_context("recall", recall.id)), (422 if form.errors or failed else 200)


@bp.route("/<id:recall_id>/withdraw", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def withdraw(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.withdraw(s, user=current_user, recall_id=recall.id, reason=form.reason.data or "", now=now())
            return _done(_("Recall %(ref)s withdrawn.", ref=recall.reference), "recalls.show", recall_id=recall.id)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    return render_template("recalls/withdraw.html", recall=recall, form=form), (422 if form.errors else 200)


# --- customer notices -------------------------------------------------------------------------------


def _notice_page(recall: RecallCampaign, *, advert_form: AdvertForm | None = None,
                 mailing_form: MailingForm | None = None, status: int = 200) -> Any:
    advert_form = advert_form or AdvertForm(prefix="advert", formdata=None)
    mailing_form = mailing_form or MailingForm(prefix="mailing", formdata=None)
    advert_form.country.choices = _country_choices(recall.countries, blank=_("— any —"))
    mailing_form.country.choices = _country_choices(recall.countries, blank=_("— any —"))
    versions = service.web_notices(db(), recall.id)
    checks = {v.id: rules.notice_problems(v.content(), countries=recall.countries) for v in versions}
    return render_template(
        "recalls/notices.html", recall=recall, versions=versions, checks=checks,
        adverts=service.adverts(db(), recall.id), mailings=service.mailings(db(), recall.id),
        advert_form=advert_form, mailing_form=mailing_form, publish_form=EmptyForm(),
        may_manage=service.may_manage(current_user, recall),
        regimes=[rules.REGIME_TITLES[r] for r in rules.notice_regimes(recall.countries)]), status


@bp.get("/<id:recall_id>/notices")
@requires(Capability.READ_INCIDENTS)
def notices(recall_id: int):  # type: ignore[no-untyped-def]
    return _notice_page(recall_or_404(recall_id))


def _store_upload(field: Any, form: Any) -> Any:
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return current_app.extensions["qa_storage"].put(upload.stream)
    except TooLarge:
        field.errors = [*field.errors, _("The file is too large.")]
        return None


@bp.post("/<id:recall_id>/notices/adverts")
@requires(Capability.MANAGE_RECALLS)
def add_advert(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = AdvertForm(prefix="advert")
    form.country.choices = _country_choices(recall.countries, blank="")
    if form.validate_on_submit():
        stored = _store_upload(form.image, form)
        if not form.image.errors:
            data = service.AdvertInput(
                paper=form.paper.data or "", run_on=form.run_on.data, text_as_run=form.text_as_run.data or "",
                edition=form.edition.data or "", region=form.region.data or "", country=form.country.data or "",
                size=form.size.data or "", cost=form.cost.data, currency=form.currency.data or "")
            try:
                with transaction(db()) as s:
                    service.add_advert(s, user=current_user, recall_id=recall.id, data=data, image=stored,
                                       image_name=form.image.data.filename if stored else "", now=now())
                return _done(_("Advertisement recorded."), "recalls.notices", recall_id=recall.id)
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    flash(message, "error")
            except DomainError as e:
                _refused(e)
    return _notice_page(recall, advert_form=form, status=422)


@bp.post("/<id:recall_id>/notices/mailings")
@requires(Capability.MANAGE_RECALLS)
def add_mailing(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = MailingForm(prefix="mailing")
    form.country.choices = _country_choices(recall.countries, blank="")
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.add_mailing(s, user=current_user, recall_id=recall.id, kind=form.kind.data or "",
                                    sent_on=form.sent_on.data, recipients=form.recipients.data or 0,
                                    country=form.country.data or "", description=form.description.data or "", now=now())
            return _done(_("Mailing recorded."), "recalls.notices", recall_id=recall.id)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    return _notice_page(recall, mailing_form=form, status=422)


@bp.route("/<id:recall_id>/notices/web/new", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def new_web_notice(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    latest = next(iter(service.web_notices(db(), recall.id)), None)
    form = WebNoticeForm(obj=latest if request.method == "GET" and latest else None)
    if not form.is_submitted() and latest is not None:
        form.keep_picture_from.data = str(latest.id)
    if form.validate_on_submit():
        stored = _store_upload(form.picture, form)
        if not form.picture.errors:
            content = {name: getattr(form, name).data or "" for name in rules.NOTICE_FIELDS if name != "picture"}
            content["language"] = form.language.data or ""
            keep = form.keep_picture_from.data
            try:
                with transaction(db()) as s:
                    notice = service.add_web_notice(
                        s, user=current_user, recall_id=recall.id, content=content, picture=stored,
                        picture_name=form.picture.data.filename if stored else "",
                        keep_picture_from=int(keep) if keep and keep.isdigit() else None, now=now())
                return _done(_("Version %(n)d of the website notice saved.", n=notice.number), "recalls.web_notice",
                             recall_id=recall.id, notice_id=notice.id)
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    flash(message, "error")
            except DomainError as e:
                _refused(e)
    return render_template("recalls/web_notice_form.html", recall=recall, form=form, latest=latest), \
        (422 if form.errors else 200)


@bp.get("/<id:recall_id>/notices/web/<id:notice_id>")
@requires(Capability.READ_INCIDENTS)
def web_notice(recall_id: int, notice_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    notice = db().get(WebNotice, notice_id)
    if notice is None or notice.recall_id != recall.id:
        abort(404)
    problems = rules.notice_problems(notice.content(), countries=recall.countries)
    return render_template("recalls/web_notice.html", recall=recall, notice=notice, problems=problems,
                           publish_form=EmptyForm(), may_manage=service.may_manage(current_user, recall),
                           picture_url=url_for("recalls.file", recall_id=recall.id, sha256=notice.picture_sha256)
                           if notice.picture_sha256 else None)


@bp.post("/<id:recall_id>/notices/web/<id:notice_id>/publish")
@requires(Capability.MANAGE_RECALLS)
def publish(recall_id: int, notice_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            notice = service.publish_web_notice(s, user=current_user, recall_id=recall.id, notice_id=notice_id, now=now())
        return _done(_("Version %(n)d is now on the public page.", n=notice.number), "recalls.web_notice",
                     recall_id=recall.id, notice_id=notice_id)
    except ValidationFailed as e:
        flash(_("Not published: %(why)s", why=" ".join(map(str, e.errors.values()))), "error")
    except DomainError as e:
        _refused(e)
    return redirect(url_for("recalls.web_notice", recall_id=recall.id, notice_id=notice_id))


@bp.get("/<id:recall_id>/files/<sha256>")
@requires(Capability.READ_INCIDENTS)
def file(recall_id: int, sha256: str):  # type: ignore[no-untyped-def]
    """A picture of the campaign's notices or advertisements (only those; any other file is 404)."""
    recall = recall_or_404(recall_id)
    import sqlalchemy as sa

    found = db().execute(sa.select(WebNotice.picture_type).where(
        WebNotice.recall_id == recall.id, WebNotice.picture_sha256 == sha256).limit(1)).scalar() or db().execute(
        sa.select(NewspaperAdvert.image_type).where(NewspaperAdvert.recall_id == recall.id,
                                                    NewspaperAdvert.image_sha256 == sha256).limit(1)).scalar()
    if not found:
        abort(404)
    return send_file(current_app.extensions["qa_storage"].path_for(sha256), mimetype=found)


# --- progress -----------------------------------------------------------------------------------------


def _progress_page(recall: RecallCampaign, *, form: ProgressForm | None = None, import_form: ImportForm | None = None,
                   result: service.ImportResult | None = None, status: int = 200) -> Any:
    form = form or ProgressForm(prefix="entry", formdata=None)
    form.country.choices = _country_choices(recall.countries)
    if not form.is_submitted() and form.recorded_on.data is None:
        form.recorded_on.data = _today()
    progress = service.progress(db(), recall, today=_today())
    return render_template("recalls/progress.html", recall=recall, progress=progress, chart=_chart(recall, progress),
                           form=form, import_form=import_form or ImportForm(prefix="csv", formdata=None), result=result,
                           may_manage=service.may_manage(current_user, recall), columns=service.CSV_COLUMNS,
                           CHANNEL_TITLES={c.value: t for c, t in rules.CHANNEL_TITLES.items()}), status


@bp.get("/<id:recall_id>/progress")
@requires(Capability.READ_INCIDENTS)
def progress(recall_id: int):  # type: ignore[no-untyped-def]
    return _progress_page(recall_or_404(recall_id))


@bp.post("/<id:recall_id>/progress")
@requires(Capability.MANAGE_RECALLS)
def add_progress(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = ProgressForm(prefix="entry")
    form.country.choices = _country_choices(recall.countries)
    if form.validate_on_submit():
        data = service.ProgressInput(recorded_on=form.recorded_on.data, country=form.country.data or "",
                                     channel=form.channel.data or "", note=form.note.data or "",
                                     **{n: getattr(form, n).data or 0 for n in rules.TALLY_FIELDS})
        try:
            with transaction(db()) as s:
                service.record_progress(s, user=current_user, recall_id=recall.id, data=data, now=now())
            return _done(_("Progress recorded."), "recalls.progress", recall_id=recall.id)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    return _progress_page(recall, form=form, status=422)


@bp.post("/<id:recall_id>/progress/import")
@requires(Capability.MANAGE_RECALLS)
def import_progress(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = ImportForm(prefix="csv")
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    if upload is None or not upload.filename:
        form.file.errors = [_("Choose a CSV file.")]
        return _progress_page(recall, import_form=form, status=422)
    raw = upload.read(5 * 1024 * 1024 + 1)
    if len(raw) > 5 * 1024 * 1024:
        form.file.errors = [_("The file is larger than 5 MB; split it.")]
        return _progress_page(recall, import_form=form, status=422)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = [_("The file is not UTF-8 text. Save it as “CSV UTF-8”.")]
        return _progress_page(recall, import_form=form, status=422)
    try:
        with transaction(db()) as s:
            result = service.import_progress_csv(s, user=current_user, recall_id=recall.id, text=text, now=now())
    except DomainError as e:
        _refused(e)
    flash(_("%(added)d rows added, %(dup)d already imported, %(bad)d rejected.", added=result.added,
            dup=result.already_there, bad=len(result.rejected)), "success" if not result.rejected else "warning")
    return _progress_page(recall, result=result, status=200)


@bp.get("/<id:recall_id>/progress.csv")
@requires(Capability.READ_INCIDENTS)
def progress_csv(recall_id: int):  # type: ignore[no-untyped-def]
    """The table behind the completion curve."""
    recall = recall_or_404(recall_id)
    progress = service.progress(db(), recall, today=_today())
    body = svgchart.csv_text([svgchart.Series("remedied_cumulative", progress.curve)], date_header="week_ending")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={recall.reference}-completion.csv"})


# --- reports to authorities -------------------------------------------------------------------------------


@bp.get("/<id:recall_id>/reports")
@requires(Capability.READ_INCIDENTS)
def reports(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    today = _today()
    return render_template("recalls/reports.html", recall=recall, schedule=service.report_schedule(recall, today=today),
                           schedules=rules.REPORT_SCHEDULES, today=today, track_form=EmptyForm(),
                           may_manage=service.may_manage(current_user, recall))


@bp.post("/<id:recall_id>/reports/track")
@requires(Capability.MANAGE_RECALLS)
def track_reports(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with transaction(db()) as s:
        n = service.register_due_reports(s, recall=recall, today=_today(), actor_id=current_user.id, now=now())
    return _done(_("%(n)d report periods are tracked as regulator notifications.", n=n), "recalls.reports",
                 recall_id=recall.id)


@bp.get("/<id:recall_id>/reports/<regime>/<label>")
@requires(Capability.READ_INCIDENTS)
def report(recall_id: int, regime: str, label: str):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    period = next((p for p in service.report_schedule(recall, today=_today())
                   if p.regime_code == regime and p.label == label), None)
    if period is None:
        abort(404)
    content = service.progress_report(db(), recall, period.start, period.end)
    return render_template("recalls/report.html", recall=recall, period=period, content=content,
                           schedule=rules.REPORT_SCHEDULES[regime])


# --- effectiveness and closure ------------------------------------------------------------------------------


@bp.route("/<id:recall_id>/effectiveness", methods=["GET", "POST"])
@requires(Capability.MANAGE_RECALLS)
def effectiveness(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    _manage_or_403(recall)
    form = EffectivenessForm(data={"effectiveness_check": recall.effectiveness_check} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.record_effectiveness(s, user=current_user, recall_id=recall.id,
                                             text=form.effectiveness_check.data or "", now=now())
            return _done(_("Effectiveness check recorded."), "recalls.show", recall_id=recall.id)
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _refused(e)
    return render_template("recalls/effectiveness.html", recall=recall, form=form,
                           progress=service.progress(db(), recall, today=_today())), (422 if form.errors else 200)


@bp.route("/<id:recall_id>/close", methods=["GET", "POST"])
@requires(Capability.APPROVE)
def close(recall_id: int):  # type: ignore[no-untyped-def]
    recall = recall_or_404(recall_id)
    if recall.status != rules.RecallStatus.LAUNCHED.value:
        abort(403, description=_("Only a launched recall can be closed."))
    form = ClosureForm()
    failed = False
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.close(s, user=current_user, recall_id=recall.id, password=form.password.data or "",
                              justification=form.justification.data or "", comment=form.comment.data or "", now=now())
            return _done(_("Recall %(ref)s closed.", ref=recall.reference), "recalls.show", recall_id=recall.id)
        except ValidationFailed as e:
            failed = True
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            if e.status_code in (403, 404):
                _refused(e)
            form.password.errors = [str(e)]
    progress = service.progress(db(), recall, today=_today())
    return render_template("recalls/sign.html", recall=recall, form=form, action="close", progress=progress,
                           problems=list(service.closure_problems(db(), recall, justification="x" * 20,
                                                                  today=_today()).values()),
                           incidents=service.linked_incidents(db(), recall.id, user=current_user),
                           population=service.population(db(), recall.id)), (422 if form.errors or failed else 200)


@bp.app_context_processor
def _recall_helpers() -> dict[str, Any]:
    """Titles and number formats the recall and public templates share."""
    return {"RECALL_STATUS_TITLES": {s.value: t for s, t in rules.RECALL_STATUS_TITLES.items()},
            "REMEDY_TITLES": {r.value: t for r, t in rules.REMEDY_TITLES.items()},
            "MAILING_TITLES": {k.value: t for k, t in rules.MAILING_TITLES.items()},
            "NOTICE_FIELDS": rules.NOTICE_FIELDS, "percent": rules.percent}
