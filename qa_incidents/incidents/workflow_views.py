"""Pages for triage, lifecycle actions, the escalation queue, My work and the severity matrix."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.signatures import SignatureRefused
from qa_incidents.core.web import db, now, requires, viewer_timezone, write_apart
from qa_incidents.incidents import severity as sev
from qa_incidents.incidents import workflow
from qa_incidents.incidents.lifecycle import ACTION_TITLES, Action, may_take
from qa_incidents.incidents.rules import Hazard, Severity
from qa_incidents.incidents.views import incident_or_404
from qa_incidents.incidents.workflow_forms import (
    DecisionForm,
    MatrixForm,
    ReasonForm,
    SignedReasonForm,
    TriageForm,
)

bp = Blueprint("workflow", __name__)


def _settings() -> workflow.SlaSettings:
    return workflow.SlaSettings.from_config(current_app.config)


def _refused(e: DomainError, incident_id: int) -> Any:
    """A refused action: 403 when the rules forbid it, otherwise back to the incident with the reason."""
    if e.status_code == 403:
        abort(403, description=str(e))
    flash(str(e), "error")
    return redirect(url_for("incidents.show", incident_id=incident_id))


def matrix_stored() -> None:
    """Store version 1 of the severity matrix (the documented default) if none is, before a page reads it. Made apart
    from the page's reading transaction (write_apart): that transaction, made a writer on first use, failed at once
    on SQLite ("database is locked") whenever another request had written since it began."""
    if not workflow.has_matrix(db()):
        write_apart(lambda s: workflow.current_matrix(s, now=now()))


@bp.route("/incidents/<id:incident_id>/triage", methods=["GET", "POST"])
@requires(Capability.EDIT_INCIDENT)
def triage(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    verdicts = {v.action: v for v in workflow.actions_for(db(), user=current_user, incident=incident)}
    verdict = verdicts.get(Action.TRIAGE) or verdicts.get(Action.RETRIAGE)
    if verdict is None or not verdict.allowed:
        abort(403)
    matrix_stored()
    suggestion = workflow.suggestion_for(db(), incident, now=now())
    form = TriageForm()
    if not form.is_submitted():
        form.severity.data = (incident.severity or suggestion.severity).value
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                workflow.triage(s, user=current_user, incident_id=incident.id, severity=Severity(form.severity.data),
                                override_reason=form.override_reason.data or "", now=now())
            flash(_("%(ref)s triaged as %(sev)s.", ref=incident.reference, sev=form.severity.data), "success")
            return redirect(url_for("incidents.show", incident_id=incident.id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            return _refused(e, incident.id)
    db().rollback()
    matrix = workflow.current_matrix(db(), now=now())
    return render_template("workflow/triage.html", incident=incident, form=form, suggestion=suggestion,
                           matrix=matrix, decisions=workflow.triage_decisions(db(), incident.id),
                           HARM_CLASS_TITLES=sev.HARM_CLASS_TITLES), (422 if form.errors else 200)


#: Actions that take at most a reason (triage and signed decisions have their own pages).
SIMPLE_ACTIONS = frozenset({Action.REQUEST_ESCALATION, Action.CONTAIN, Action.START_REVIEW, Action.CLOSE,
                            Action.REOPEN, Action.REOPEN_AS_LIVE})


@bp.route("/incidents/<id:incident_id>/actions/<action>", methods=["GET", "POST"])
@requires(Capability.EDIT_INCIDENT)
def act(incident_id: int, action: str):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    try:
        chosen = Action(action)
    except ValueError:
        abort(404)
    if chosen not in SIMPLE_ACTIONS:
        abort(404)
    verdicts = {v.action: v for v in workflow.actions_for(db(), user=current_user, incident=incident)}
    verdict = verdicts.get(chosen)
    if verdict is None:
        abort(403)
    form = SignedReasonForm() if chosen == Action.REOPEN else ReasonForm()
    if request.method == "POST":
        if not verdict.allowed:
            abort(403, description=verdict.why_not)
        if form.validate_on_submit():
            try:
                with transaction(db()) as s:
                    if chosen == Action.REQUEST_ESCALATION:
                        workflow.request_escalation(s, user=current_user, incident_id=incident.id,
                                                    reason=form.reason.data or "", now=now(),
                                                    base_url=current_app.config.get("BASE_URL", ""))
                    elif chosen == Action.CONTAIN:
                        workflow.contain(s, user=current_user, incident_id=incident.id, reason=form.reason.data or "", now=now())
                    elif chosen == Action.START_REVIEW:
                        workflow.start_review(s, user=current_user, incident_id=incident.id, now=now())
                    elif chosen == Action.REOPEN:
                        workflow.reopen(s, user=current_user, incident_id=incident.id, reason=form.reason.data or "",
                                        password=form.password.data or "", now=now())
                    elif chosen == Action.REOPEN_AS_LIVE:
                        workflow.reopen_as_live(s, user=current_user, incident_id=incident.id,
                                                reason=form.reason.data or "", now=now())
                    else:
                        workflow.close(s, user=current_user, incident_id=incident.id, reason=form.reason.data or "", now=now())
                flash(_("%(action)s: done for %(ref)s.", action=ACTION_TITLES[chosen], ref=incident.reference), "success")
                return redirect(url_for("incidents.show", incident_id=incident.id))
            except SignatureRefused as e:
                form.password.errors = [*form.password.errors, str(e)]
            except ValidationFailed as e:
                for message in apply_errors(form, e.errors):
                    flash(message, "error")
            except DomainError as e:
                return _refused(e, incident.id)
    return render_template("workflow/action.html", incident=incident, form=form, action=chosen, verdict=verdict,
                           title=ACTION_TITLES[chosen]), (422 if form.errors else 200)


@bp.route("/incidents/<id:incident_id>/escalation", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def decide(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    if not may_take(current_user.role, Action.APPROVE_ESCALATION):
        abort(403)
    escalation = workflow.pending_escalation(db(), incident.id)
    if escalation is None:
        flash(_("There is no pending escalation request for %(ref)s.", ref=incident.reference), "info")
        return redirect(url_for("incidents.show", incident_id=incident.id))
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                workflow.decide_escalation(s, user=current_user, incident_id=incident.id,
                                           approve=form.decision.data == "approve", password=form.password.data or "",
                                           comment=form.comment.data or "", now=now(),
                                           base_url=current_app.config.get("BASE_URL", ""))
            flash(_("Signed: escalation of %(ref)s %(decision)s.", ref=incident.reference,
                    decision=_("approved") if form.decision.data == "approve" else _("rejected")), "success")
            return redirect(url_for("incidents.show", incident_id=incident.id))
        except SignatureRefused as e:
            form.password.errors = [*form.password.errors, str(e)]
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            return _refused(e, incident.id)
    form.password.data = ""
    matrix_stored()
    return render_template("workflow/decide.html", incident=incident, escalation=escalation, form=form,
                           suggestion=workflow.suggestion_for(db(), incident, now=now())), (422 if form.errors else 200)


@bp.get("/escalations/")
@login_required
def queue():  # type: ignore[no-untyped-def]
    if not may_take(current_user.role, Action.APPROVE_ESCALATION):
        abort(403)
    items = workflow.escalation_queue(db(), now=now(), settings=_settings(), limit=workflow.QUEUE_ROWS,
                                      reader=current_user.actor)
    return render_template("workflow/queue.html", items=items,
                           total=workflow.pending_escalation_count(db(), reader=current_user.actor))


@bp.get("/my-work")
@login_required
def my_work():  # type: ignore[no-untyped-def]
    from qa_incidents.notifications.records import board, drafts_to_approve
    from qa_incidents.reports.service import unacknowledged_for
    from qa_incidents.reviews.service import deployments_to_answer, my_countermeasures, reviews_to_approve
    from qa_incidents.safety_notices.service import waiting_for_approval

    work = workflow.my_work(db(), user=current_user, now=now(), settings=_settings())
    mine = board(db(), user=current_user, now=now(), owner_id=current_user.id)  # the most urgent, and how many in all
    return render_template("workflow/my_work.html", work=work, notifications=mine.rows, notifications_total=mine.total,
                           countermeasures=my_countermeasures(db(), current_user),
                           deployments=deployments_to_answer(db(), current_user),
                           reviews_to_approve=reviews_to_approve(db(), current_user),
                           safety_notices_to_approve=waiting_for_approval(db(), current_user),
                           notifications_to_approve=drafts_to_approve(db(), current_user),
                           reports_to_ack=unacknowledged_for(db(), current_user),
                           **_group_alert_work(),
                           today=to_zone(now(), viewer_timezone()).date(),
                           lessons_total=_lessons_total())


def _group_alert_work() -> dict[str, object]:
    """Group-wide alerts a division's QA must answer, or (head-office QA) that wait for answers."""
    from qa_incidents.alerts import rules as alert_rules
    from qa_incidents.alerts import service as alerts

    return {"alerts_to_answer": alerts.to_answer(db(), current_user),
            "alerts_awaiting": alerts.awaiting_answers(db(), current_user), "alert_urgency": alert_rules.urgency}


def _lessons_total() -> int | None:
    """How many lessons the library holds, for those who read it."""
    if not can(current_user.actor, Capability.READ_LESSONS):
        return None
    import sqlalchemy as sa

    from qa_incidents.reviews.models import Lesson

    return int(db().scalar(sa.select(sa.func.count(Lesson.id))) or 0)


@bp.get("/severity-matrix")
@login_required
def matrix():  # type: ignore[no-untyped-def]
    if not (can(current_user.actor, Capability.READ_INCIDENTS) or can(current_user.actor, Capability.MANAGE_RULES)):
        abort(403)
    matrix_stored()  # version 1 is stored on first view
    current = workflow.current_matrix(db(), now=now())
    return render_template("workflow/matrix.html", matrix=current, versions=workflow.matrix_versions(db()),
                           history=workflow.matrix_history(db()), HARM_CLASS_TITLES=sev.HARM_CLASS_TITLES)


@bp.route("/severity-matrix/edit", methods=["GET", "POST"])
@requires(Capability.MANAGE_RULES)
def matrix_edit():  # type: ignore[no-untyped-def]
    matrix_stored()
    current = workflow.current_matrix(db(), now=now())
    form = MatrixForm()
    failed = False
    if not form.is_submitted():
        form.fallback.data = current.fallback.value
        form.similar_window_days.data = current.similar_window_days
        while len(form.rules.entries):
            form.rules.pop_entry()
        for rule in current.rules:
            form.rules.append_entry({"code": rule.id, "harm": [h.value for h in rule.harm],
                                     "hazards": [h.value for h in rule.hazards], "min_units": rule.min_units,
                                     "min_similar": rule.min_similar, "severity": rule.severity.value, "note": rule.note})
        for _i in range(2):
            form.rules.append_entry({"severity": "S4"})
    if form.validate_on_submit():
        kept = [r for r in form.rules if (r.code.data or "").strip()]  # a row without an identifier is dropped
        rules = [
            sev.MatrixRule(id=(r.code.data or "").strip(), severity=Severity(r.severity.data),
                           harm=tuple(sev.HarmClass(h) for h in r.harm.data or []),
                           hazards=tuple(Hazard(h) for h in r.hazards.data or []),
                           min_units=r.min_units.data, min_similar=r.min_similar.data, note=(r.note.data or "").strip())
            for r in kept
        ]
        try:
            with transaction(db()) as s:
                new = workflow.save_matrix(s, user=current_user, rules=rules, fallback=Severity(form.fallback.data),
                                           similar_window_days=form.similar_window_days.data or 0,
                                           note=form.note.data or "", now=now())
            flash(_("Severity matrix version %(v)d saved.", v=new.version), "success")
            return redirect(url_for("workflow.matrix"))
        except ValidationFailed as e:
            failed = True
            for key, message in e.errors.items():
                # "rules-<n>-<field>" names the n-th kept rule: put the message beside that row's input.
                match = re.fullmatch(r"rules-(\d+)-(\w+)", key)
                if match and int(match.group(1)) < len(kept):
                    row = kept[int(match.group(1))]
                    field = row.code if match.group(2) == "id" else getattr(row, match.group(2))
                    field.errors = [*field.errors, message]
                else:
                    for loose in apply_errors(form, {key: message}):
                        flash(loose, "error")
            flash(_("The matrix was not saved: correct the rows marked below."), "error")
    return render_template("workflow/matrix_edit.html", form=form, matrix=current), (422 if failed or form.errors else 200)
