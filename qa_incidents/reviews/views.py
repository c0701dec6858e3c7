"""Pages of OCHIBO-HIROI reviews and of the lessons-learned library."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, EditConflict, NotFound, ValidationFailed
from qa_incidents.core.forms import EmptyForm, apply_errors
from qa_incidents.core.params import arg_whole
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.signatures import Signature, SignatureRefused
from qa_incidents.core.usecase import run_use_case
from qa_incidents.core.web import db, now, requires, write_apart
from qa_incidents.incidents import service as incidents
from qa_incidents.reviews import forms, lessons, reading, rules, search, service, vocabulary
from qa_incidents.reviews.rules import CountermeasureType, DeploymentAnswer, Dimension, ReviewStatus

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


@bp.app_context_processor
def _titles() -> dict[str, Any]:
    return {"REVIEW_STATUS_TITLES": rules.REVIEW_STATUS_TITLES, "DIMENSION_TITLES": rules.DIMENSION_TITLES,
            "DIMENSION_TITLES_BY_VALUE": {d.value: t for d, t in rules.DIMENSION_TITLES.items()},
            "STAGE_TITLES_BY_VALUE": {s.value: t for s, t in rules.STAGE_TITLES.items()},
            "CM_TYPE_TITLES": rules.CM_TYPE_TITLES, "CM_STATUS_TITLES": rules.CM_STATUS_TITLES,
            "DEPLOYMENT_TITLES": rules.DEPLOYMENT_TITLES, "TIER_TITLES": rules.TIER_TITLES,
            "DEPTH_TITLES_BY_VALUE": {d.value: t for d, t in rules.DEPTH_TITLES.items()},
            "FACTOR_TITLES_BY_VALUE": {f.value: t for f, t in rules.FACTOR_TITLES.items()}}


def _review_or_404(review_id: int) -> Any:
    try:
        return service.get_review(db(), user=current_user, review_id=review_id)
    except DomainError:
        abort(404)


def _fail(e: DomainError) -> None:
    if isinstance(e, NotFound):
        abort(404)
    abort(e.status_code, description=str(e))


def _owner_choices(review: Any) -> list[tuple[int | str, str]]:
    """Everyone who may own a countermeasure, after a blank first choice: an owner is chosen, never pre-selected."""
    users = db().query(User).filter(User.active.is_(True)).order_by(User.name).all()
    return [("", _("— choose —"))] + [(u.id, f"{u.name} ({u.division.name})") for u in users
                                      if can(u.actor, Capability.READ_INCIDENTS)]


def _show(review: Any, status: int = 200, **overrides: Any) -> tuple[str, int]:
    """The review page; a refused sub-form comes back in overrides with its errors and input."""
    s = db()
    cm_form = overrides.get("cm_form") or forms.CountermeasureForm(formdata=None)
    cm_form.owner_id.choices = _owner_choices(review)
    deployment_form = overrides.get("deployment_form") or forms.DeploymentForm(formdata=None)
    deployment_form.division_id.choices = [(d.id, d.name) for d in s.query(Division).filter(Division.active.is_(True))
                                           .order_by(Division.name)]
    deployments = service.deployments_of(s, review.id)
    signature = s.get(Signature, review.approval_signature_id) if review.approval_signature_id else None
    lesson = None
    if review.status == ReviewStatus.APPROVED:
        from qa_incidents.reviews.models import Lesson

        lesson = s.query(Lesson).filter(Lesson.review_id == review.id).one_or_none()
    may_write = service._may_write(current_user, review)
    similar_text = " ".join([review.title, review.phenomenon, review.mechanism]
                            + [f"{i.title} {i.description}" for i in review.incidents])
    countermeasures = service.countermeasures_of(s, review.id)
    context = {
        "review": review, "steps": service.why_steps(s, review.id), "countermeasures": countermeasures,
        "incidents": service.incidents_of_reviews(s, [review.id], user=current_user)[review.id],
        "deferrals": service.check_deferrals(s, [c for c in countermeasures if c.status != rules.CountermeasureStatus.VERIFIED]),
        "deployments": deployments, "progress": service.deployment_progress(deployments),
        "may_assign_deployment": lambda d: (d.answer in service.OPEN_DEPLOYMENT_ANSWERS
                                            and service.may_assign_deployment(current_user, d)),
        "missing": rules.submission_errors(service.content_of(s, review)) if review.status == ReviewStatus.DRAFT else {},
        "may_write": may_write, "may_approve": can(current_user.actor, Capability.APPROVE),
        "why_form": overrides.get("why_form") or forms.WhyForm(formdata=None),
        "cm_form": cm_form, "check_form": overrides.get("check_form") or forms.CheckForm(formdata=None),
        "check_for": overrides.get("check_for"),
        "defer_form": overrides.get("defer_form") or forms.DeferCheckForm(formdata=None),
        "defer_for": overrides.get("defer_for"),
        "tier_form": overrides.get("tier_form") or forms.TierCorrectionForm(formdata=None),
        "tier_for": overrides.get("tier_for"), "empty_tier_form": forms.TierCorrectionForm(formdata=None),
        "deployment_form": deployment_form, "deployment_for": overrides.get("deployment_for"),
        "answer_form": overrides.get("answer_form") or forms.AnswerForm(formdata=None),
        "answer_for": overrides.get("answer_for"),
        "link_form": overrides.get("link_form") or forms.LinkForm(formdata=None),
        "empty_form": EmptyForm(), "signature": signature, "lesson": lesson,
        "similar": search.similar_lessons(s, text=similar_text, limit=5,
                                          exclude_refs=[f"REVIEW-{review.id}"]) if can(current_user.actor, Capability.READ_LESSONS) else [],
        "today": now().date(),
    }
    return render_template("reviews/show.html", **context), status


# --- reviews -------------------------------------------------------------------------------


@bp.get("/")
@requires(Capability.READ_INCIDENTS)
def index():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    try:
        chosen = ReviewStatus(status) if status else None
    except ValueError:
        abort(400)
    reviews = service.list_reviews(db(), user=current_user, status=chosen)
    return render_template("reviews/index.html", reviews=reviews, status=chosen,
                           incidents=service.incidents_of_reviews(db(), [r.id for r in reviews], user=current_user))


@bp.route("/new", methods=["GET", "POST"])
@requires(Capability.WRITE_REVIEWS)
def new():  # type: ignore[no-untyped-def]
    form = forms.StartReviewForm()
    raw = form.incident.data if form.is_submitted() else request.args.get("incident", "")
    if not str(raw or "").isdigit():
        abort(404)
    try:
        incident = incidents.get_incident(db(), user=current_user, incident_id=int(raw))
    except DomainError:
        abort(404)
    if (why := service.review_blocked_for(incident)) is not None:
        flash(why, "error")
        return redirect(url_for("incidents.show", incident_id=incident.id), code=303)
    if not form.is_submitted():
        form.incident.data = str(incident.id)
        form.title.data = incident.title
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                review = service.start_review(s, user=current_user, incident_ids=[incident.id], title=form.title.data,
                                              now=now())
            flash(_("Review started. Work through the four dimensions below."), "success")
            return redirect(url_for("reviews.edit", review_id=review.id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _fail(e)
    existing = service.reviews_for_incident(db(), incident.id, user=current_user)
    return render_template("reviews/new.html", form=form, incident=incident, existing=existing), \
        (422 if form.errors else 200)


@bp.get("/<id:review_id>")
@requires(Capability.READ_INCIDENTS)
def show(review_id: int):  # type: ignore[no-untyped-def]
    return _show(_review_or_404(review_id))


@bp.route("/<id:review_id>/edit", methods=["GET", "POST"])
@requires(Capability.WRITE_REVIEWS)
def edit(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    if not service._may_write(current_user, review):
        abort(403)
    if review.status != ReviewStatus.DRAFT:
        flash(_("Only a draft review can be changed."), "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    form = forms.ReviewForm(obj=None if request.method == "POST" else review)
    if request.method == "GET":
        form.version.data = str(review.version)
        for d, reason in (review.no_countermeasure_reasons or {}).items():
            if hasattr(form, f"no_cm_{d}"):
                getattr(form, f"no_cm_{d}").data = reason
    if form.validate_on_submit():
        lists = ("meeting_on", "motivating_factors", "no_cause", "no_countermeasure_reasons")
        data = service.ReviewInput(**{name: getattr(form, name).data or ("" if name not in lists else None)
                                      for name in service.REVIEW_FIELDS if name != "no_countermeasure_reasons"})
        data.motivating_factors = form.motivating_factors.data or []
        data.no_cause = form.no_cause.data or []
        data.no_countermeasure_reasons = form.no_countermeasure_reasons()
        try:
            with transaction(db()) as s:
                service.update_review(s, user=current_user, review_id=review.id, data=data,
                                      expected_version=int(form.version.data or 0), now=now())
            flash(_("Review saved."), "success")
            return redirect(url_for("reviews.show", review_id=review.id))
        except EditConflict as e:
            form.version.data = str(e.current_version)
            flash(_("Not saved: someone else saved this review meanwhile. Your input is kept; save again to keep yours."),
                  "error")
            return render_template("reviews/edit.html", form=form, review=review), 409
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            _fail(e)
    if form.errors:
        flash(_("Not saved: correct the fields marked below."), "error")
    return render_template("reviews/edit.html", form=form, review=review), (422 if form.errors else 200)


@bp.post("/<id:review_id>/incidents")
@requires(Capability.WRITE_REVIEWS)
def link(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    form = forms.LinkForm()
    return run_use_case(
        lambda s: service.link_incident(s, user=current_user, review_id=review.id, reference=form.reference.data,
                                        now=now()),
        form=form, refused="status",
        done=lambda _link: _("Incident added to the review."),
        then=lambda _link: redirect(url_for("reviews.show", review_id=review.id)),
        again=lambda status: _show(review, status, link_form=form))


@bp.post("/<id:review_id>/why")
@requires(Capability.WRITE_REVIEWS)
def add_why(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    form = forms.WhyForm()

    def again(status: int) -> Any:
        flash(_("Not added: correct the fields marked below."), "error")
        return _show(review, status, why_form=form)

    return run_use_case(
        lambda s: service.add_why_step(s, user=current_user, review_id=review.id,
                                       dimension=Dimension(form.dimension.data), question=form.question.data,
                                       answer=form.answer.data, evidence=form.evidence.data or "", now=now()),
        form=form, refused="status", again=again,
        done=lambda _step: _("Why added."),
        then=lambda _step: redirect(url_for("reviews.show", review_id=review.id, _anchor="why-chains")))


@bp.post("/<id:review_id>/countermeasures")
@requires(Capability.WRITE_REVIEWS)
def add_countermeasure(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    form = forms.CountermeasureForm()
    form.owner_id.choices = _owner_choices(review)

    def add(s: Any) -> Any:
        data = service.CountermeasureInput(
            dimension=Dimension(form.dimension.data), kind=CountermeasureType(form.kind.data),
            description=form.description.data, owner_id=form.owner_id.data, due_on=form.due_on.data,
            check_method=form.check_method.data or "", check_due_on=form.check_due_on.data,
            safety_tier=form.safety_tier.data or "", tier_reason=form.tier_reason.data or "")
        return service.add_countermeasure(s, user=current_user, review_id=review.id, data=data, now=now())

    def again(status: int) -> Any:
        flash(_("Not added: correct the fields marked below."), "error")
        return _show(review, status, cm_form=form)

    return run_use_case(
        add, form=form, refused="status", again=again,
        done=lambda _cm: _("Countermeasure added."),
        then=lambda _cm: redirect(url_for("reviews.show", review_id=review.id, _anchor="countermeasures")))


def _countermeasure_review(countermeasure_id: int) -> Any:
    from qa_incidents.reviews.models import Countermeasure

    cm = db().get(Countermeasure, countermeasure_id)
    if cm is None:
        abort(404)
    return cm, _review_or_404(cm.review_id)


@bp.post("/countermeasures/<id:countermeasure_id>/tier")
@requires(Capability.WRITE_REVIEWS)
def correct_tier(countermeasure_id: int):  # type: ignore[no-untyped-def]
    """Correct a technical countermeasure's safety tier, with the reason, while the review is not approved."""
    cm, review = _countermeasure_review(countermeasure_id)
    form = forms.TierCorrectionForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.correct_tier(s, user=current_user, countermeasure_id=cm.id,
                                     safety_tier=form.safety_tier.data or "", tier_reason=form.tier_reason.data or "",
                                     reason=form.reason.data or "", now=now())
            flash(_("Safety tier corrected."), "success")
            return redirect(url_for("reviews.show", review_id=review.id, _anchor=f"countermeasure-{cm.id}"), code=303)
        except ValidationFailed as e:
            apply_errors(form, e.errors)
        except DomainError as e:
            _fail(e)
    flash(_("Not corrected: correct the fields marked below."), "error")
    return _show(review, 422, tier_form=form, tier_for=cm.id)


@bp.post("/countermeasures/<id:countermeasure_id>/implemented")
@requires(Capability.READ_INCIDENTS)
def implemented(countermeasure_id: int):  # type: ignore[no-untyped-def]
    cm, review = _countermeasure_review(countermeasure_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            service.mark_implemented(s, user=current_user, countermeasure_id=cm.id, now=now())
        flash(_("Marked implemented. Record the effectiveness check to close it."), "success")
    except DomainError as e:
        if e.status_code in (403, 404):
            _fail(e)
        flash(str(e), "error")
    return redirect(url_for("reviews.show", review_id=review.id, _anchor=f"countermeasure-{cm.id}"))


@bp.post("/countermeasures/<id:countermeasure_id>/check")
@requires(Capability.READ_INCIDENTS)
def check(countermeasure_id: int):  # type: ignore[no-untyped-def]
    cm, review = _countermeasure_review(countermeasure_id)
    form = forms.CheckForm()
    if form.validate_on_submit():
        effective = {"yes": True, "no": False}.get(form.check_effective.data or "")
        try:
            with transaction(db()) as s:
                service.record_check(s, user=current_user, countermeasure_id=cm.id, method=form.check_method.data or "",
                                     result=form.check_result.data or "", effective=effective, now=now())
            flash(_("Effectiveness check recorded."), "success")
            return redirect(url_for("reviews.show", review_id=review.id, _anchor=f"countermeasure-{cm.id}"))
        except ValidationFailed as e:
            apply_errors(form, e.errors)
        except DomainError as e:
            _fail(e)
    flash(_("Not recorded: correct the fields marked below."), "error")
    return _show(review, 422, check_form=form, check_for=cm.id)


@bp.post("/countermeasures/<id:countermeasure_id>/defer-check")
@requires(Capability.APPROVE)
def defer_check(countermeasure_id: int):  # type: ignore[no-untyped-def]
    cm, review = _countermeasure_review(countermeasure_id)
    form = forms.DeferCheckForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.defer_check(s, user=current_user, countermeasure_id=cm.id, password=form.password.data or "",
                                    reason=form.reason.data or "", until=form.check_due_on.data, now=now())
            flash(_("Deferral of the effectiveness check signed."), "success")
            return redirect(url_for("reviews.show", review_id=review.id, _anchor=f"countermeasure-{cm.id}"))
        except ValidationFailed as e:
            apply_errors(form, e.errors)
        except SignatureRefused as e:
            form.password.errors = [str(e)]
        except DomainError as e:
            _fail(e)
    flash(_("Not signed: correct the fields marked below."), "error")
    return _show(review, 422, defer_form=form, defer_for=cm.id)


@bp.post("/countermeasures/<id:countermeasure_id>/deployments")
@requires(Capability.WRITE_REVIEWS)
def add_deployment(countermeasure_id: int):  # type: ignore[no-untyped-def]
    cm, review = _countermeasure_review(countermeasure_id)
    form = forms.DeploymentForm()
    form.division_id.choices = [(d.id, d.name) for d in db().query(Division).filter(Division.active.is_(True))]
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.add_deployment(s, user=current_user, countermeasure_id=cm.id, division_id=form.division_id.data,
                                       target=form.target.data, now=now())
            flash(_("Deployment request sent."), "success")
            return redirect(url_for("reviews.show", review_id=review.id, _anchor="deployment"))
        except ValidationFailed as e:
            apply_errors(form, e.errors)
        except DomainError as e:
            _fail(e)
    flash(_("Not sent: correct the fields marked below."), "error")
    return _show(review, 422, deployment_form=form, deployment_for=cm.id)


@bp.post("/deployments/<id:deployment_id>/answer")
@requires(Capability.WRITE_REVIEWS)
def answer(deployment_id: int):  # type: ignore[no-untyped-def]
    from qa_incidents.reviews.models import Deployment

    deployment = db().get(Deployment, deployment_id)
    if deployment is None:
        abort(404)
    form = forms.AnswerForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.answer_deployment(s, user=current_user, deployment_id=deployment.id,
                                          answer=DeploymentAnswer(form.answer.data), reason=form.reason.data or "",
                                          now=now())
            flash(_("Answer recorded."), "success")
            return redirect(request.form.get("next") or url_for("reviews.mine"))
        except ValidationFailed as e:
            apply_errors(form, e.errors)
        except DomainError as e:
            _fail(e)
    flash(_("Not recorded: correct the fields marked below."), "error")
    return render_template("reviews/mine.html", **_mine_context(answer_form=form, answer_for=deployment.id)), 422


@bp.route("/deployments/<id:deployment_id>/assignee", methods=["GET", "POST"])
@requires(Capability.WRITE_REVIEWS)
def assign_deployment(deployment_id: int):  # type: ignore[no-untyped-def]
    """Name who answers a horizontal deployment: the receiving division's QA managers and head-office QA."""
    try:
        deployment = service.deployment_for(db(), user=current_user, deployment_id=deployment_id)
    except DomainError:
        abort(404)
    if not service.may_assign_deployment(current_user, deployment):
        abort(403)
    review = deployment.countermeasure.review
    back = url_for("reviews.show", review_id=review.id) + "#deployment"

    def page(error: str = "", chosen: str = "", status: int = 200):  # type: ignore[no-untyped-def]
        return render_template(
            "incidents/assign.html", ref=review.title, people=service.deployment_assignees(db(), deployment),
            error=error, may_clear=True, chosen=chosen or str(deployment.assignee_id or ""),
            heading=_("Assign the deployment to %(division)s", division=deployment.division.name),
            subject=deployment.target, action=url_for("reviews.assign_deployment", deployment_id=deployment.id),
            back=back, note=_("Who answers it: the receiving division's QA managers, or head-office QA.")), status

    if request.method == "GET":
        return page()
    if not EmptyForm().validate_on_submit():
        abort(400)
    raw = (request.form.get("assignee_id") or "").strip()
    if raw and not raw.isdigit():
        abort(400)
    try:
        with transaction(db()) as s:
            service.assign_deployment(s, user=current_user, deployment_id=deployment.id,
                                      assignee_id=int(raw) if raw else None, now=now())
    except ValidationFailed as e:
        deployment = service.deployment_for(db(), user=current_user, deployment_id=deployment_id)
        return page(error="; ".join(e.errors.values()), chosen=raw, status=422)
    except DomainError:
        abort(404)
    flash(_("The deployment is assigned.") if raw else _("The deployment is assigned to nobody now."), "success")
    return redirect(back)


@bp.post("/<id:review_id>/submit")
@requires(Capability.WRITE_REVIEWS)
def submit(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            service.submit_review(s, user=current_user, review_id=review.id, now=now())
        flash(_("Review submitted to head-office QA for approval."), "success")
    except ValidationFailed as e:
        flash(_("Not submitted: %(what)s", what=" ".join(map(str, e.errors.values()))), "error")
        return _show(review, 422)
    except DomainError as e:
        _fail(e)
    return redirect(url_for("reviews.show", review_id=review.id))


@bp.route("/<id:review_id>/approve", methods=["GET", "POST"])
@requires(Capability.APPROVE)
def approve(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    form = forms.ApproveForm()
    return_form = forms.ReturnForm(formdata=None)
    if review.status != ReviewStatus.SUBMITTED:
        flash(_("Only a submitted review can be approved."), "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.approve_review(s, user=current_user, review_id=review.id, password=form.password.data,
                                       comment=form.comment.data or "", now=now(),
                                       base_url=current_app.config.get("BASE_URL", ""))
            flash(_("Review approved and signed; its lesson learned is published."), "success")
            return redirect(url_for("reviews.show", review_id=review.id))
        except ValidationFailed as e:
            for message in e.errors.values():
                form.form_errors.append(message)
                flash(message, "error")
        except DomainError as e:
            if e.status_code in (403, 404):
                _fail(e)
            form.password.errors = [*form.password.errors, str(e)]
    status = 422 if form.errors else 200
    cms = service.countermeasures_of(db(), review.id)
    found = lessons.personal_data_found(review, service.why_steps(db(), review.id), cms)
    return render_template("reviews/approve.html", review=review, form=form, return_form=return_form,
                           countermeasures=cms, personal_data=found,
                           gaps=rules.dimension_gaps(service.content_of(db(), review)), PERSONAL_DATA_TITLES=rules.PERSONAL_DATA_TITLES,
                           LESSON_FIELD_TITLES=LESSON_FIELD_TITLES), status


#: The lesson's fields by name, as the approver reads them next to what will be removed from each.
LESSON_FIELD_TITLES = {
    "title": _l("Title"), "summary": _l("What happened"), "product": _l("Product"), "mechanism": _l("Mechanism"),
    "technical_cause": _l("Technical"), "process_cause": _l("Process"), "framework_cause": _l("Framework"),
    "motivating_cause": _l("Motivating factors"), "countermeasures": _l("Countermeasures"),
    "design_review_checks": _l("Check this in your next design review"),
}


@bp.post("/<id:review_id>/return")
@requires(Capability.APPROVE)
def send_back(review_id: int):  # type: ignore[no-untyped-def]
    review = _review_or_404(review_id)
    return_form = forms.ReturnForm()
    if return_form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.return_review(s, user=current_user, review_id=review.id, reason=return_form.reason.data, now=now())
            flash(_("Review returned to its writers."), "success")
            return redirect(url_for("reviews.show", review_id=review.id))
        except ValidationFailed as e:
            apply_errors(return_form, e.errors)
        except DomainError as e:
            _fail(e)
    return render_template("reviews/approve.html", review=review, form=forms.ApproveForm(formdata=None),
                           return_form=return_form, countermeasures=service.countermeasures_of(db(), review.id)), 422


def _mine_context(**extra: Any) -> dict[str, Any]:
    return {"countermeasures": service.my_countermeasures(db(), current_user),
            "deployments": service.deployments_to_answer(db(), current_user), "today": now().date(),
            "answer_form": extra.get("answer_form") or forms.AnswerForm(formdata=None),
            "answer_for": extra.get("answer_for"), "empty_form": EmptyForm()}


@bp.get("/mine")
@requires(Capability.READ_INCIDENTS)
def mine():  # type: ignore[no-untyped-def]
    return render_template("reviews/mine.html", **_mine_context())


# --- lessons library -----------------------------------------------------------------------


#: Pages of 20 past this are not offered (a bookmark to a later page shows the last one allowed, empty).
MAX_LESSON_PAGE = 10_000


@bp.get("/lessons")
@requires(Capability.READ_LESSONS)
def lessons_index():  # type: ignore[no-untyped-def]
    args = request.args
    filters = search.LessonFilters(
        product_category=args.get("category") or None, failure_mode=args.get("failure_mode") or None,
        cause_dimension=args.get("cause_dimension") or None, division=args.get("division") or None,
        year=arg_whole("year", 1, 9999))
    page_no = arg_whole("page", 1, MAX_LESSON_PAGE) or 1
    size = 20
    result = search.search_lessons(db(), args.get("q", "")[:500], limit=size, offset=(page_no - 1) * size,
                                   filters=filters)
    if result.total == 0 and args.get("q", "").strip() and page_no == 1:
        reading.count_miss(db(), query=args.get("q", ""), user_id=current_user.id, now=now())
    chosen = {k: v for k, v in args.items() if k not in ("page",) and v}
    here = url_for("reviews.lessons_index")

    def href(**changes: Any) -> str:
        """This search with some arguments changed: one string join per facet value (url_for costs 60 µs each)."""
        query = urlencode({**chosen, **changes})
        return f"{here}?{query}" if query else here

    return render_template("lessons/index.html", result=result, q=args.get("q", ""), chosen=chosen, page=page_no,
                           size=size, href=href)


@bp.get("/lessons/<id:lesson_id>")
@requires(Capability.READ_LESSONS)
def lesson(lesson_id: int):  # type: ignore[no-untyped-def]
    try:
        found = lessons.get_lesson(db(), lesson_id)
    except DomainError:
        abort(404)
    # Counted in a short write of its own: the page's reading transaction is never upgraded to a write.
    opened = found.times_opened + (1 if write_apart(lambda s: lessons.record_open(s, found.id)) else 0)
    reading.count_open(db(), lesson_id=found.id, user_id=current_user.id, origin=request.args.get("from", ""), now=now())
    s = db()
    similar = search.similar_lessons(s, text=f"{found.title} {found.summary} {found.mechanism}", limit=6,
                                     exclude_refs=[found.source_ref])
    return render_template("lessons/show.html", lesson=lessons.for_readers(found), similar=similar, opened=opened,
                           empty_form=EmptyForm(), helped=reading.helped_count(s, found.id),
                           i_helped=reading.has_helped(s, lesson_id=found.id, user_id=current_user.id),
                           came_from=reading.origin_of(request.args.get("from")))


@bp.post("/lessons/<id:lesson_id>/helped")
@requires(Capability.READ_LESSONS)
def lesson_helped(lesson_id: int):  # type: ignore[no-untyped-def]
    """The reader marks the lesson as one that helped them (once each)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            found = lessons.get_lesson(s, lesson_id)
            reading.mark_helped(s, lesson_id=found.id, user_id=current_user.id, origin=request.form.get("from", ""),
                                now=now())
    except DomainError:
        abort(404)
    flash(_("Thank you: marked as helpful."), "success")
    return redirect(url_for("reviews.lesson", lesson_id=lesson_id))


@bp.get("/lessons/reading")
@requires(Capability.READ_REPORTS)
def lessons_reading():  # type: ignore[no-untyped-def]
    """For head-office QA: where lessons are opened from, how often they helped, and searches that found nothing."""
    if not can(current_user.actor, Capability.READ_ALL_DIVISIONS):
        abort(403)
    return render_template("lessons/reading.html", counts=reading.opens_by_origin(db()), misses=reading.misses(db()),
                           origins=reading.ORIGINS)


@bp.route("/lessons/vocabulary", methods=["GET", "POST"])
@requires(Capability.MANAGE_RULES)
def vocabulary_index():  # type: ignore[no-untyped-def]
    """The bilingual QA vocabulary for administrators: find, add, change or withdraw a term pair."""
    form = forms.QaTermForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                term = vocabulary.save_term(s, actor_id=current_user.id, now=now(), term_id=None, en=form.en.data or "",
                                            ja=form.ja.data or "", kind=form.kind.data or "", source=form.source.data or "")
            flash(_("Term pair %(en)s / %(ja)s saved.", en=term.en, ja=term.ja), "success")
            return redirect(url_for("reviews.vocabulary_index", q=term.en))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    q = request.args.get("q", "")[:120]
    page_no = arg_whole("page", 1, 1000) or 1
    terms, total = vocabulary.list_terms(db(), query=q, limit=100, offset=(page_no - 1) * 100)
    return render_template("lessons/vocabulary.html", form=form, terms=terms, total=total, q=q, page=page_no,
                           misses=reading.misses(db(), limit=20)), 422 if form.errors else 200


@bp.route("/lessons/vocabulary/<id:term_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_RULES)
def vocabulary_term(term_id: int):  # type: ignore[no-untyped-def]
    term = db().get(vocabulary.QaTerm, term_id)
    if term is None:
        abort(404)
    form = forms.QaTermForm(obj=term if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                vocabulary.save_term(s, actor_id=current_user.id, now=now(), term_id=term_id, en=form.en.data or "",
                                     ja=form.ja.data or "", kind=form.kind.data or "", source=form.source.data or "",
                                     active=bool(form.active.data), expected_version=int(form.version.data or 0))
            flash(_("Term pair saved."), "success")
            return redirect(url_for("reviews.vocabulary_term", term_id=term_id))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if request.method == "GET":
        form.version.data = str(term.version)
    return render_template("lessons/vocabulary_term.html", form=form, term=term,
                           history=vocabulary.history(db(), term_id)), 422 if form.errors else 200


@bp.get("/lessons/similar.json")
@requires(Capability.READ_LESSONS)
def similar_json():  # type: ignore[no-untyped-def]
    """Similar lessons for a text being typed (the incident form), as JSON."""
    text = (request.args.get("text") or "")[:5000]
    limit = arg_whole("limit", 1, 20) or 5
    hits = search.similar_lessons(db(), text=text, limit=limit)
    return jsonify([{"id": h.lesson.id, "title": h.lesson.title, "cause_category": h.lesson.cause_category,
                     "failure_mode": h.lesson.failure_mode, "source_ref": h.lesson.source_ref, "score": h.score,
                     "url": url_for("reviews.lesson", lesson_id=h.lesson.id)} for h in hits])


@bp.route("/lessons/subscriptions", methods=["GET", "POST"])
@requires(Capability.READ_LESSONS)
def subscriptions():  # type: ignore[no-untyped-def]
    form = forms.SubscribeForm()
    categories = lessons.facet_values(db(), "category")
    modes = lessons.facet_values(db(), "failure_mode")
    form.value.choices = [(v, v) for v in categories + modes]
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                lessons.subscribe(s, user=current_user, kind=form.kind.data, value=form.value.data or "", now=now())
            flash(_("Subscribed. New lessons will come by e-mail."), "success")
            return redirect(url_for("reviews.subscriptions"))
        except ValidationFailed as e:
            apply_errors(form, e.errors)
    return render_template("lessons/subscriptions.html", form=form, categories=categories, modes=modes,
                           subscriptions=lessons.subscriptions_of(db(), current_user), empty_form=EmptyForm()), \
        (422 if form.errors else 200)


@bp.post("/lessons/subscriptions/<id:subscription_id>/end")
@requires(Capability.READ_LESSONS)
def unsubscribe(subscription_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            lessons.unsubscribe(s, user=current_user, subscription_id=subscription_id)
    except DomainError:
        abort(404)
    flash(_("Subscription ended."), "success")
    return redirect(url_for("reviews.subscriptions"))
