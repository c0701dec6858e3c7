"""Pages of regulator notification records: the record, its draft, signatures, submission, and the deadline board."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice, TextAreaField
from wtforms.validators import Length

from qa_incidents.accounts.models import Division
from qa_incidents.core.clock import localize, to_zone
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.i18n import Reader, data_text, label_text
from qa_incidents.core.params import arg_id
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.signatures import SignatureRefused
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.web import db, now, requires, viewer_timezone
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.views import incident_or_404
from qa_incidents.laws.models import Law, Obligation
from qa_incidents.notifications import records, rules
from qa_incidents.notifications.documents import render_html as render_document_html
from qa_incidents.notifications.documents import render_pdf
from qa_incidents.notifications.record_forms import (
    AcknowledgeForm,
    AddObligationForm,
    ApproveForm,
    BoardFilterForm,
    DecideForm,
    DraftForm,
    NotRequiredForm,
    RecordEventForm,
    ReopenForm,
    RequestEventForm,
    SubmitForm,
    refuse_sent_before_approval,
)
from qa_incidents.notifications.rules import STATE_TITLES, STEP_TITLES, URGENCY_TITLES, State, Step

bp = Blueprint("records", __name__)


def _record(incident_id: int, record_id: int) -> Any:
    incident_or_404(incident_id)
    try:
        return records.get_record(db(), user=current_user, incident_id=incident_id, record_id=record_id)
    except DomainError:
        abort(404)


def _utc(value: Any) -> Any:
    return localize(value, viewer_timezone()) if value is not None else None


def _back(record: Any) -> Response:
    return redirect(url_for("records.show", incident_id=record.incident_id, record_id=record.id))


def _field_name(index: int) -> str:
    return f"field_{index}"


def _draft_form(record: Any, draft: dict[str, str]) -> Any:
    """A draft form with one text area per field the authority asks for (names come from the laws map)."""
    fields = list(draft.keys())

    class _Form(DraftForm):
        pass

    for i, name in enumerate(fields):
        setattr(_Form, _field_name(i), TextAreaField(label_text(name), validators=[Length(max=20000)]))
    form = _Form(data={_field_name(i): draft[name] for i, name in enumerate(fields)} | {"version": record.version})
    return form, fields


def _page(record: Any, status: int = 200, **forms: Any) -> tuple[str, int]:
    steps = records.steps_for(record, current_user)
    draft = records.proposed_draft(db(), record)
    draft_form, names = forms.pop("draft_form", None) or _draft_form(record, draft)
    zone = viewer_timezone()
    defaults = {
        "approve_form": ApproveForm(prefix="approve"),
        "submit_form": SubmitForm(prefix="submit", data={"submitted_at": to_zone(now(), zone).replace(tzinfo=None, second=0, microsecond=0)}),
        "ack_form": AcknowledgeForm(prefix="ack", data={"acknowledged_at": to_zone(now(), zone).replace(tzinfo=None, second=0, microsecond=0)}),
        "not_required_form": NotRequiredForm(prefix="nr"),
        "decide_form": DecideForm(prefix="decide"),
        "reopen_form": ReopenForm(prefix="reopen"),
        "request_event_form": RequestEventForm(prefix="req"),
        "event_form": RecordEventForm(prefix="event"),
    }
    defaults.update(forms)
    for form in defaults.values():
        if hasattr(form, "password"):
            form.password.data = ""
    return render_template(
        "notifications/record.html", record=record, incident=record.incident, steps=steps, draft=draft,
        # What is missing matters only until the draft is approved; afterwards the signed draft is what was sent.
        missing=(rules.missing_fields(records.required_fields(record), draft)
                 if record.state in (State.REQUIRED.value, State.DRAFTED.value) else []),
        show_missing=record.state in (State.REQUIRED.value, State.DRAFTED.value), draft_form=draft_form,
        draft_fields=list(enumerate(names)), history=records.history(db(), record), Step=Step,
        STATE_TITLES=STATE_TITLES, STEP_TITLES=STEP_TITLES,
        urgency=rules.urgency(start=record.clock_start, due=record.due_at, now=now()), URGENCY_TITLES=URGENCY_TITLES,
        children=[r for r in records.records_of(db(), record.incident_id) if r.parent_id == record.id],
        awaiting_event=records.awaiting_event(record), rule=records.RULES.get(record.regime_code),
        may_assign_owner=records.may_assign_owner(current_user, record) and record.state in records.OWNED_STATES,
        **defaults), status


@bp.get("/incidents/<id:incident_id>/notifications/<id:record_id>")
@requires(Capability.READ_INCIDENTS)
def show(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    return _page(_record(incident_id, record_id))


@bp.route("/incidents/<id:incident_id>/notifications/<id:record_id>/owner", methods=["GET", "POST"])
@requires(Capability.READ_INCIDENTS)
def assign_owner(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    """Give a regulator notification to another owner (its assignee): the division's QA managers and head-office QA."""
    from qa_incidents.core.forms import EmptyForm

    record = _record(incident_id, record_id)
    if not records.may_assign_owner(current_user, record):
        abort(403)

    def page(error: str = "", chosen: str = "", status: int = 200):  # type: ignore[no-untyped-def]
        incident = record.incident
        return render_template(
            "incidents/assign.html", ref=incident.reference, people=records.owner_candidates(db(), record), error=error,
            may_clear=False, chosen=chosen or str(record.owner_id or ""),
            heading=_("Assign the notification %(code)s", code=record.regime_code), subject=data_text(record.title),
            action=url_for("records.assign_owner", incident_id=incident.id, record_id=record.id),
            back=url_for("records.show", incident_id=incident.id, record_id=record.id),
            note=_("Its owner is told of its deadline and finds it on My work: the division's QA managers or "
                   "head-office QA.")), status

    if request.method == "GET":
        return page()
    if not EmptyForm().validate_on_submit():
        abort(400)
    raw = (request.form.get("assignee_id") or "").strip()
    if not raw.isdigit():
        return page(error=_("Choose who owns the notification."), status=422)
    try:
        with transaction(db()) as s:
            records.assign_owner(s, user=current_user, record=record, owner_id=int(raw), now=now())
    except ValidationFailed as e:
        record = _record(incident_id, record_id)
        return page(error="; ".join(e.errors.values()), chosen=raw, status=422)
    flash(_("The notification is assigned."), "success")
    return redirect(url_for("records.show", incident_id=incident_id, record_id=record_id))


def _run(record: Any, step: Step, action: Any, form: Any, form_name: str, done: str,
         page_form: Any = None):  # type: ignore[no-untyped-def]
    """Refuse a step the user may not take (403 with the reason), validate its form, run the service call in a
    transaction, and answer with a redirect, or with the page showing the form as typed and the reasons (422)."""
    if step not in records.steps_for(record, current_user):
        verdict = rules.check(step, state=rules.State(record.state), actor=current_user.actor,
                              division_id=record.incident.division_id)
        abort(403, description=verdict.why_not)
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                action(s, s.get(type(record), record.id))
            flash(done, "success")
            return _back(record)
        except SignatureRefused as e:
            form.password.errors = [*form.password.errors, str(e)]
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                form.form_errors.append(message)
        except DomainError as e:
            abort(e.status_code, description=str(e))
    db().rollback()
    return _page(db().get(type(record), record.id), 422, **{form_name: page_form if page_form is not None else form})


@bp.route("/incidents/<id:incident_id>/notifications/<id:record_id>/draft", methods=["POST"])
@requires(Capability.READ_INCIDENTS)
def draft(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form, names = _draft_form(record, records.proposed_draft(db(), record))
    values = {name: getattr(form, _field_name(i)).data or "" for i, name in enumerate(names)}
    expected = int(form.version.data) if str(form.version.data or "").isdigit() else -1
    gaps = rules.missing_fields(records.required_fields(record), values)
    done = _("Draft saved.") + (" " + _("Still missing: %(f)s.", f=", ".join(label_text(g) for g in gaps)) if gaps else "")
    return _run(record, Step.DRAFT, lambda s, r: records.save_draft(
        s, user=current_user, record=r, fields=values, missing_explanation=form.missing_explanation.data or "",
        expected_version=expected, now=now()), form, "draft_form", done, page_form=(form, names))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/approve")
@requires(Capability.READ_INCIDENTS)
def approve(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = ApproveForm(prefix="approve")
    return _run(record, Step.APPROVE, lambda s, r: records.approve(
        s, user=current_user, record=r, password=form.password.data or "", comment=form.comment.data or "", now=now()),
        form, "approve_form", _("Signed: the notification is approved for submission."))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/submit")
@requires(Capability.READ_INCIDENTS)
def submit(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = SubmitForm(prefix="submit")

    def action(s: Any, r: Any) -> None:
        upload, filename = None, ""
        file = form.document.data
        if file and getattr(file, "filename", ""):
            try:
                upload = current_app.extensions["qa_storage"].put(file.stream)
            except TooLarge:
                raise ValidationFailed({"document": _("The file is too large.")}) from None
            filename = file.filename
        refuse_sent_before_approval(r, _utc(form.submitted_at.data))
        records.submit(s, user=current_user, record=r, channel=form.channel.data or "",
                       authority_reference=form.authority_reference.data or "", submitted_at=_utc(form.submitted_at.data),
                       now=now(), storage=current_app.extensions["qa_storage"], upload=upload, filename=filename)

    return _run(record, Step.SUBMIT, action, form, "submit_form", _("Submission recorded; the document sent is kept."))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/acknowledge")
@requires(Capability.READ_INCIDENTS)
def acknowledge(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = AcknowledgeForm(prefix="ack")
    return _run(record, Step.ACKNOWLEDGE, lambda s, r: records.acknowledge(
        s, user=current_user, record=r, acknowledged_at=_utc(form.acknowledged_at.data), text=form.text.data or "",
        now=now()), form, "ack_form", _("Acknowledgement recorded."))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/not-required")
@requires(Capability.READ_INCIDENTS)
def not_required(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = NotRequiredForm(prefix="nr")
    return _run(record, Step.NOT_REQUIRED, lambda s, r: records.mark_not_required(
        s, user=current_user, record=r, reason=form.reason.data or "", password=form.password.data or "", now=now()),
        form, "not_required_form", _("Signed: the notification is marked not required."))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/decide-reportable")
@requires(Capability.READ_INCIDENTS)
def decide(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = DecideForm(prefix="decide")
    if not record.decision_pending:
        # By role only (the record's state is not the question: it awaits no decision).
        verdict = rules.check(Step.DECIDE_REPORTABLE, state=State.REQUIRED, actor=current_user.actor,
                              division_id=record.incident.division_id)
        if not verdict.allowed:
            abort(403, description=verdict.why_not)
        form.form_errors.append(_("This obligation is not awaiting a reportability decision."))
        return _page(record, 422, decide_form=form)
    return _run(record, Step.DECIDE_REPORTABLE, lambda s, r: records.decide_reportable(
        s, user=current_user, record=r, reasons=form.reasons.data or "", password=form.password.data or "", now=now(),
        base_url=current_app.config.get("BASE_URL", "")), form, "decide_form",
        _("Signed: the obligation is reportable."))


@bp.get("/incidents/<id:incident_id>/decisions.pdf")
@requires(Capability.WORK_NOTIFICATIONS)
def decision_file(incident_id: int):  # type: ignore[no-untyped-def]
    """The incident's reportability decision file as PDF; each download is kept as an incident attachment."""
    incident = incident_or_404(incident_id)
    try:
        with transaction(db()) as s:
            data, name = records.decision_file(
                s, user=current_user, incident_id=incident.id, storage=current_app.extensions["qa_storage"],
                reader=Reader(language=str(get_locale() or "en"), zone=viewer_timezone()), now=now())
    except DomainError as e:
        abort(e.status_code, description=str(e))
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/reopen")
@requires(Capability.READ_INCIDENTS)
def reopen(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = ReopenForm(prefix="reopen")
    return _run(record, Step.REOPEN, lambda s, r: records.reopen(
        s, user=current_user, record=r, reason=form.reason.data or "", now=now()), form, "reopen_form",
        _("The notification is required again."))


def _not_awaiting(record: Any, step: Step, form: Any, form_name: str) -> Any:
    """A decision step on a record whose clock waits for no decision: refused by role (403), else with the
    reason next to the form (422)."""
    verdict = rules.check(step, state=rules.State(record.state), actor=current_user.actor,
                          division_id=record.incident.division_id)
    if not verdict.allowed:
        abort(403, description=verdict.why_not)
    form.form_errors.append(_("This notification's clock is not waiting for a decision."))
    return _page(record, 422, **{form_name: form})


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/request-decision")
@requires(Capability.READ_INCIDENTS)
def request_event(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = RequestEventForm(prefix="req")
    if not records.awaiting_event(record):
        return _not_awaiting(record, Step.REQUEST_EVENT, form, "request_event_form")
    return _run(record, Step.REQUEST_EVENT, lambda s, r: records.request_clock_event(
        s, user=current_user, record=r, comment=form.comment.data or "", now=now()), form, "request_event_form",
        _("Decision requested: another person signs it."))


@bp.post("/incidents/<id:incident_id>/notifications/<id:record_id>/record-decision")
@requires(Capability.READ_INCIDENTS)
def record_event(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    form = RecordEventForm(prefix="event")
    if not records.awaiting_event(record):
        return _not_awaiting(record, Step.RECORD_EVENT, form, "event_form")
    return _run(record, Step.RECORD_EVENT, lambda s, r: records.record_clock_event(
        s, user=current_user, record=r, password=form.password.data or "", comment=form.comment.data or "",
        event_at=_utc(form.event_at.data), now=now()), form, "event_form",
        _("Signed: the legal clock runs from the decision."))


@bp.get("/incidents/<id:incident_id>/notifications/<id:record_id>/document.pdf")
@requires(Capability.READ_INCIDENTS)
def document(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    """The draft (or approved report) as PDF, for printing or for the authority's upload form."""
    record = _record(incident_id, record_id)
    data = render_pdf(records.document_for(db(), record))
    name = f"{record.incident.reference}-{record.regime_code}-{record.state}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/incidents/<id:incident_id>/notifications/<id:record_id>/print")
@requires(Capability.READ_INCIDENTS)
def printable(incident_id: int, record_id: int):  # type: ignore[no-untyped-def]
    record = _record(incident_id, record_id)
    return render_document_html(records.document_for(db(), record))


def _obligation_choices() -> list[SelectChoice]:
    rows = db().execute(sa.select(Obligation.id, Obligation.regime_code, Obligation.title, Law.short_name)
                        .join(Law, Law.id == Obligation.law_id).order_by(Obligation.regime_code)).all()
    return [SelectChoice("", _("— an authority the laws map does not list —"))] + [
        SelectChoice(str(r.id), f"{r.regime_code} — {r.title} ({r.short_name})") for r in rows]


@bp.route("/incidents/<id:incident_id>/notifications/add", methods=["GET", "POST"])
@requires(Capability.WORK_NOTIFICATIONS)
def add(incident_id: int):  # type: ignore[no-untyped-def]
    incident = incident_or_404(incident_id)
    form = AddObligationForm()
    form.obligation_id.choices = _obligation_choices()
    if request.method == "GET" and arg_id("obligation") is not None:
        form.obligation_id.data = str(arg_id("obligation"))
    if form.validate_on_submit():
        chosen = int(form.obligation_id.data) if (form.obligation_id.data or "").isdigit() else None
        try:
            with transaction(db()) as s:
                before = records.reportable_record_ids(s, incident.id)
                record = records.add_obligation(
                    s, user=current_user, incident_id=incident.id, obligation_id=chosen, reason=form.reason.data or "",
                    now=now(), regime_code=form.regime_code.data or "", authority=form.authority.data or "",
                    title=form.title.data or "", due_at=_utc(form.due_at.data))
                record_id = record.id
                records.obligations_changed(s, incident=s.get(Incident, incident.id), reportable_before=before,
                                            user=current_user, now=now(), base_url=current_app.config.get("BASE_URL", ""))
            flash(_("Notification added to %(ref)s.", ref=incident.reference), "success")
            return redirect(url_for("records.show", incident_id=incident.id, record_id=record_id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                form.form_errors.append(message)
        except DomainError as e:
            abort(e.status_code, description=str(e))
    return render_template("notifications/add.html", incident=incident, form=form), (422 if form.errors else 200)


@bp.get("/notifications/board")
@login_required
def board():  # type: ignore[no-untyped-def]
    """Every open regulator notification the user may see, overdue first."""
    if not can(current_user.actor, Capability.READ_INCIDENTS):
        abort(403)
    form = BoardFilterForm(request.args)
    division_id = arg_id("division") if can(current_user.actor, Capability.READ_ALL_DIVISIONS) else None
    result = records.board(db(), user=current_user, now=now(), authority=request.args.get("authority", ""),
                           division_id=division_id, regime_code=request.args.get("regime", ""))
    form.authority.choices = [SelectChoice("", _("All authorities"))] + [SelectChoice(a, data_text(a)) for a in result.authorities]
    divisions = (list(db().scalars(sa.select(Division).where(Division.active.is_(True)).order_by(Division.name)))
                 if can(current_user.actor, Capability.READ_ALL_DIVISIONS) else [])
    # Titles translated once, not once per row.
    return render_template("notifications/board.html", board=result, form=form, divisions=divisions,
                           URGENCY_TITLES={u: str(t) for u, t in URGENCY_TITLES.items()},
                           STATE_TITLES={s: str(t) for s, t in rules.SHOWN_STATE_TITLES.items()}, Urgency=rules.Urgency,
                           division_id=division_id)
