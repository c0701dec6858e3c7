"""Pages of status reports, the portfolio report and the quality dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import EmailField, SelectChoice, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

from qa_incidents.accounts.models import Division
from qa_incidents.accounts.service import EMAIL_RE
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import EmptyForm, Form, apply_errors
from qa_incidents.core.i18n import DEFAULT_LANGUAGE, current_language, viewer_uses_era_dates
from qa_incidents.core.params import arg_whole
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now, requires, viewer_timezone, write_apart
from qa_incidents.incidents.views import incident_or_404
from qa_incidents.reports import dashboard as dash
from qa_incidents.reports import printing, service
from qa_incidents.reports.models import DistributionEntry, StatusReport
from qa_incidents.reports.render import describe
from qa_incidents.reports.rules import TRIGGER_TITLES

bp = Blueprint("reports", __name__)


class NarrativeForm(Form):
    narrative = TextAreaField(_l("Narrative for the next report"), validators=[Length(max=2000)],
                              description=_l("A few sentences in the division's words: what happened and what you are "
                                             "doing. It goes into the next report and cannot be changed after issue."))
    asks = TextAreaField(_l("Needed from management"), validators=[Length(max=2000)],
                         description=_l("Decisions, budget or people the division asks management for; leave empty "
                                        "when it asks for nothing."))


class DistributionForm(Form):
    email = EmailField(_l("E-mail"), validators=[InputRequired(_l("Enter an e-mail address.")),
                                                 Regexp(EMAIL_RE, message=_l("Enter a valid e-mail address.")),
                                                 Length(max=254)])
    division_id = SelectField(_l("Division"), coerce=str, validate_choice=False)
    severities = SelectMultipleField(_l("Severities"), choices=[SelectChoice("S1", "S1"), SelectChoice("S2", "S2")],
                                     description=_l("None chosen: every reported severity."))


def _may_read_reports() -> bool:
    return can(current_user.actor, Capability.READ_REPORTS) or can(current_user.actor, Capability.READ_INCIDENTS)


def _report(incident_id: int, number: int) -> Any:
    incident_or_404(incident_id)
    try:
        return service.get_report(db(), user=current_user, incident_id=incident_id, number=number)
    except DomainError:
        abort(404)


def _base_url() -> str:
    return str(current_app.config.get("BASE_URL", ""))


def _zone() -> str:
    return str(current_app.config.get("REPORT_TIMEZONE", "Asia/Tokyo"))


def _reading(content: dict[str, Any]) -> dict[str, Any]:
    """How the viewer reads a report: its labels and dates in their language, calendar and zone (the content as issued)."""
    language, era, zone = current_language(), viewer_uses_era_dates(), viewer_timezone()
    return {"c": content, "d": describe(content, zone=zone, language=language, era=era), "zone": zone,
            "lang": language, "era": era}


@bp.get("/incidents/<id:incident_id>/status-reports/<id:number>")
@requires(Capability.READ_INCIDENTS)
def show(incident_id: int, number: int):  # type: ignore[no-untyped-def]
    report = _report(incident_id, number)
    mine = next((r for r in report.recipients if r.email == current_user.email), None)
    return render_template("reports/show.html", report=report, number=report.number,
                           issued_at=report.issued_at.isoformat(), mine=mine, ack_form=EmptyForm(),
                           **_reading(report.content))


@bp.get("/incidents/<id:incident_id>/status-reports/<id:number>.pdf")
@requires(Capability.READ_INCIDENTS)
def pdf(incident_id: int, number: int):  # type: ignore[no-untyped-def]
    """The report as PDF in the viewer's language; ?as_issued=1 (and English readers): the PDF stored at issue."""
    report = _report(incident_id, number)
    name = f"{report.content['reference']}-status-{report.number}.pdf"
    if current_language() != DEFAULT_LANGUAGE and not request.args.get("as_issued"):
        name = f"{report.content['reference']}-status-{report.number}-{current_language()}.pdf"
        data = printing.print_copy(report, language=current_language(), zone=viewer_timezone(),
                                   era=viewer_uses_era_dates())
    else:
        data = _kept_pdf(report)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _kept_pdf(report: StatusReport) -> bytes:
    """The PDF kept with the version; the first reader to ask before the print job has run prints and keeps it."""
    if report.printed is not None:
        return report.printed.pdf
    kept: list[bytes] = []
    report_id, printed_at = report.id, now()

    def keep(session: so.Session) -> None:
        kept.append(printing.kept_pdf(session, session.get(StatusReport, report_id), now=printed_at))

    if write_apart(keep) and kept:
        return kept[0]
    return printing.print_copy(report)  # the database was too busy to keep it: the same document, printed again


@bp.post("/incidents/<id:incident_id>/status-reports/<id:number>/acknowledge")
@requires(Capability.READ_INCIDENTS)
def acknowledge(incident_id: int, number: int):  # type: ignore[no-untyped-def]
    report = _report(incident_id, number)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            service.acknowledge(s, user=current_user, report=s.merge(report), now=now())
    except DomainError as e:
        abort(e.status_code, description=str(e))
    flash(_("Acknowledged: status report %(n)d on %(ref)s.", n=number, ref=report.content["reference"]), "success")
    return redirect(url_for("reports.show", incident_id=incident_id, number=number))


@bp.route("/incidents/<id:incident_id>/status-reports/next", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def next_report(incident_id: int):  # type: ignore[no-untyped-def]
    """The next report as it would be issued now; the division's narrative; issue now."""
    incident = incident_or_404(incident_id)
    pending = service.pending_for(db(), incident.id)
    form = NarrativeForm(data={"narrative": pending.narrative if pending else "", "asks": pending.asks if pending else ""})
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with transaction(db()) as s:
                    service.save_narrative(s, user=current_user, incident=incident, text=form.narrative.data or "",
                                           asks=form.asks.data or "", now=now())
                    if request.form.get("issue"):
                        report = service.issue_now(s, user=current_user, incident=incident, now=now(),
                                                   base_url=_base_url(), zone=_zone())
                        number = report.number
                if request.form.get("issue"):
                    flash(_("Status report %(n)d issued and sent.", n=number), "success")
                    return redirect(url_for("reports.show", incident_id=incident.id, number=number))
                flash(_("Narrative saved for the next report."), "success")
                return redirect(url_for("reports.next_report", incident_id=incident.id))
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    form.form_errors.append(message)
            except DomainError as e:
                abort(e.status_code, description=str(e))
        status = 422
    db().rollback()
    content = service.preview(db(), incident, now=now())
    last = service.last_report(db(), incident.id)
    return render_template("reports/next.html", incident=incident, number=(last.number if last else 0) + 1,
                           issued_at=None, form=form, pending=service.pending_for(db(), incident.id),
                           **_reading(content),
                           reported=service.reported(db(), incident),
                           may_issue=service.may_issue(current_user, incident)), status


@bp.get("/status-reports")
@login_required
def index():  # type: ignore[no-untyped-def]
    if not _may_read_reports():
        abort(403)
    return render_template("reports/index.html", waiting=service.unacknowledged_for(db(), current_user),
                           recent=dash.recent_reports(db(), user=current_user, limit=50),
                           trigger_titles={kind.value: title for kind, title in TRIGGER_TITLES.items()})


def _period() -> tuple[Any, Any, int]:
    days_n = arg_whole("days", 1, 366) or 7
    end = now()
    return end - timedelta(days=days_n), end, days_n


@bp.get("/reports/portfolio")
@login_required
def portfolio():  # type: ignore[no-untyped-def]
    if not can(current_user.actor, Capability.READ_REPORTS):
        abort(403)
    start, end, days = _period()
    data = dash.portfolio(db(), user=current_user, start=start, end=end)
    return render_template("reports/portfolio.html", p=data, days=days)


@bp.get("/reports/portfolio.pdf")
@login_required
def portfolio_pdf():  # type: ignore[no-untyped-def]
    if not can(current_user.actor, Capability.READ_REPORTS):
        abort(403)
    start, end, _days = _period()
    data = dash.portfolio(db(), user=current_user, start=start, end=end)
    return Response(dash.portfolio_pdf(data, zone=viewer_timezone()), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="portfolio-{end:%Y-%m-%d}.pdf"'})


def _triage_sla() -> dict[str, float] | None:
    """The triage time limits the deployment set (the scheduler counts the dashboard's figures with the same)."""
    return current_app.config.get("TRIAGE_SLA_HOURS")


@bp.get("/dashboard")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    if not can(current_user.actor, Capability.READ_REPORTS):
        abort(403)
    charts = dash.charts(db(), user=current_user, now=now(), triage_sla_hours=_triage_sla())
    return render_template("reports/dashboard.html", charts=charts, table_rows=dash.table_rows)


@bp.get("/dashboard/<name>.csv")
@login_required
def dashboard_csv(name: str):  # type: ignore[no-untyped-def]
    if not can(current_user.actor, Capability.READ_REPORTS):
        abort(403)
    chart = next((c for c in dash.charts(db(), user=current_user, now=now(), triage_sla_hours=_triage_sla()) if c.name == name), None)
    if chart is None:
        abort(404)
    return Response(chart.csv(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.route("/admin/report-distribution", methods=["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def distribution():  # type: ignore[no-untyped-def]
    """Extra recipients of status reports, per division and severity (executives always receive them)."""
    divisions = list(db().scalars(sa.select(Division).where(Division.active.is_(True)).order_by(Division.name)))
    form = DistributionForm()
    form.division_id.choices = [SelectChoice("", _("All divisions"))] + [SelectChoice(str(d.id), d.name) for d in divisions]
    if request.method == "POST" and request.form.get("deactivate", "").isdigit():
        if EmptyForm().validate_on_submit():
            with transaction(db()) as s:
                entry = s.get(DistributionEntry, int(request.form["deactivate"]))
                if entry is not None:
                    entry.active = False
            flash(_("Removed from the distribution list."), "success")
            return redirect(url_for("reports.distribution"))
    elif form.validate_on_submit():
        with transaction(db()) as s:
            s.add(DistributionEntry(email=(form.email.data or "").strip().lower(),
                                    division_id=int(form.division_id.data) if (form.division_id.data or "").isdigit() else None,
                                    severities=list(form.severities.data or []), active=True, created_at=now()))
        flash(_("Added to the distribution list."), "success")
        return redirect(url_for("reports.distribution"))
    entries = list(db().scalars(sa.select(DistributionEntry).where(DistributionEntry.active.is_(True))
                                .order_by(DistributionEntry.email)))
    return render_template("reports/distribution.html", form=form, entries=entries, remove_form=EmptyForm()), \
        (422 if form.errors else 200)
