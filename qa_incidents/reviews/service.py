"""Use cases for OCHIBO-HIROI reviews: write, chain the whys, track countermeasures, deploy, approve, publish.

Services flush but never commit: the caller owns the transaction, so each change and its audit
events (and any e-mail it queues) land together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from qa_incidents.accounts.models import Division, User
from qa_incidents.accounts.service import as_recipient, people
from qa_incidents.core import audit, events, outbox
from qa_incidents.core.clock import as_utc
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import DomainError, EditConflict, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import (
    Capability,
    Role,
    can,
    can_read_division,
    can_work_division,
    scoped,
    unscoped,
)
from qa_incidents.core.signatures import Signature, sign
from qa_incidents.incidents.models import Incident
from qa_incidents.reviews import lessons, rules
from qa_incidents.reviews.models import Countermeasure, Deployment, Review, ReviewIncident, WhyStep
from qa_incidents.reviews.rules import (
    CountermeasureStatus,
    CountermeasureType,
    DeploymentAnswer,
    Dimension,
    ReviewStatus,
)

APPROVAL_MEANING = "approved OCHIBO-HIROI review"
DEFERRAL_MEANING = "deferred effectiveness check"
REVIEW_FIELDS = ("title", "meeting_on", "participants", "phenomenon", "failure_mode", "mechanism", "process_stage",
                 "process_cause", "escape_reason", "framework_cause", "motivating_factors", "motivating_cause",
                 "design_review_checks", "no_cause", "no_countermeasure_reasons")


@dataclass
class ReviewInput:
    title: str
    meeting_on: date | None = None
    participants: str = ""
    phenomenon: str = ""
    failure_mode: str = ""
    mechanism: str = ""
    process_stage: str = ""
    process_cause: str = ""
    escape_reason: str = ""
    framework_cause: str = ""
    motivating_factors: list[str] | None = None
    motivating_cause: str = ""
    design_review_checks: str = ""
    #: Dimensions (process, framework, motivating) where the team found no cause.
    no_cause: list[str] | None = None
    #: A short review's reason, per dimension, why a cause found has no countermeasure.
    no_countermeasure_reasons: dict[str, str] | None = None


@dataclass
class CountermeasureInput:
    dimension: Dimension
    kind: CountermeasureType
    description: str
    owner_id: int
    due_on: date
    check_method: str = ""
    check_due_on: date | None = None
    why_step_id: int | None = None
    #: Technical countermeasures: design, safeguard or usage information; below design, why higher is not practicable.
    safety_tier: str = ""
    tier_reason: str = ""


# --- reading -------------------------------------------------------------------------------


def _may_read(user: User, review: Review) -> bool:
    return can_read_division(user.actor, review.division_id)


def _may_write(user: User, review: Review) -> bool:
    return can_work_division(user.actor, review.division_id, Capability.WRITE_REVIEWS)


def get_review(session: so.Session, *, user: User, review_id: int) -> Review:
    """The review if the user may read its division's incidents; otherwise NotFound."""
    review = session.get(Review, review_id)
    if review is None or not _may_read(user, review):
        raise NotFound(str(_l("No such review.")))
    return review


def _writable(session: so.Session, user: User, review_id: int, *, draft_only: bool = True) -> Review:
    review = get_review(session, user=user, review_id=review_id)
    if not _may_write(user, review):
        raise Forbidden(str(_l("You may read this review but not change it.")))
    if draft_only and review.status != ReviewStatus.DRAFT:
        raise Forbidden(str(_l("Only a draft review can be changed; this one is %(status)s.",
                               status=rules.REVIEW_STATUS_TITLES[review.status])))
    return review


def list_reviews(session: so.Session, *, user: User, status: ReviewStatus | None = None) -> list[Review]:
    stmt = sa.select(Review).order_by(Review.updated_at.desc(), Review.id.desc()).limit(200)
    stmt = scoped(stmt, user.actor, Review.division_id)
    if status is not None:
        stmt = stmt.where(Review.status == status)
    return list(session.scalars(stmt))


def reviews_for_incident(session: so.Session, incident_id: int, *, user: User | None = None) -> list[Review]:
    """The reviews covering the incident; those the user may read when a user is given (head-office QA may review
    incidents of several divisions together: the review belongs to the first one's division)."""
    stmt = sa.select(Review).join(ReviewIncident).where(ReviewIncident.incident_id == incident_id).order_by(Review.id)
    stmt = (scoped(stmt, user.actor, Review.division_id) if user is not None
            else unscoped(stmt, "the reviews of one incident, for its own status reports"))
    return list(session.scalars(stmt))


def incidents_of_reviews(session: so.Session, review_ids: list[int], *, user: User) -> dict[int, list[Incident]]:
    """Each review's incidents that the user may read, in one query (a review of head-office QA may cover incidents
    of several divisions; each division's readers see their own)."""
    found: dict[int, list[Incident]] = {i: [] for i in review_ids}
    if not review_ids:
        return found
    stmt = (sa.select(ReviewIncident.review_id, Incident).join(Incident, Incident.id == ReviewIncident.incident_id)
            .where(ReviewIncident.review_id.in_(review_ids)).order_by(Incident.id))
    for review_id, incident in session.execute(scoped(stmt, user.actor, Incident.division_id)):
        found[review_id].append(incident)
    return found


def why_steps(session: so.Session, review_id: int) -> dict[Dimension, list[WhyStep]]:
    steps = session.scalars(sa.select(WhyStep).where(WhyStep.review_id == review_id)
                            .order_by(WhyStep.dimension, WhyStep.position, WhyStep.id))
    out: dict[Dimension, list[WhyStep]] = {d: [] for d in Dimension}
    for step in steps:
        out[step.dimension].append(step)
    return out


def countermeasures_of(session: so.Session, review_id: int) -> list[Countermeasure]:
    return list(session.scalars(sa.select(Countermeasure).where(Countermeasure.review_id == review_id)
                                .order_by(Countermeasure.due_on, Countermeasure.id)))


def deployments_of(session: so.Session, review_id: int) -> list[Deployment]:
    return list(session.scalars(sa.select(Deployment).join(Countermeasure).where(Countermeasure.review_id == review_id)
                                .order_by(Deployment.countermeasure_id, Deployment.id)))


def deployment_progress(deployments: list[Deployment]) -> dict[str, int]:
    """How many deployment requests have each answer, and how many are answered."""
    counts = {a.value: 0 for a in DeploymentAnswer}
    for d in deployments:
        counts[d.answer.value] += 1
    counts["total"] = len(deployments)
    counts["answered"] = len(deployments) - counts[DeploymentAnswer.PENDING.value]
    return counts


def review_approved_for(session: so.Session, incident_id: int) -> bool:
    """Whether an approved OCHIBO-HIROI review of the depth its severity needs covers the incident (a short review
    approved while it was S3/S4 does not count once it is raised to S1/S2; S1/S2 incidents close only then)."""
    rows = session.execute(unscoped(
        sa.select(Review.depth, Incident.severity).join(ReviewIncident, ReviewIncident.review_id == Review.id)
        .join(Incident, Incident.id == ReviewIncident.incident_id)
        .where(ReviewIncident.incident_id == incident_id, Review.status == ReviewStatus.APPROVED),
        "a rule of one incident's lifecycle (close after an approved review), whoever asks")).all()
    return any(rules.depth_suffices(depth, severity.value if severity else None) for depth, severity in rows)


def review_started_for(session: so.Session, incident_id: int) -> bool:
    """Whether a review of the incident is started and not yet approved (the incident waits for it before closing)."""
    return session.scalar(unscoped(
        sa.select(sa.func.count()).select_from(Review).join(ReviewIncident)
        .where(ReviewIncident.incident_id == incident_id, Review.status != ReviewStatus.APPROVED),
        "a rule of one incident's lifecycle (a started review is finished before closing), whoever asks")) > 0


def check_deferrals(session: so.Session, countermeasures: list[Countermeasure]) -> dict[int, Signature]:
    """The signed deferral that stands for each countermeasure's effectiveness check, if any.

    A deferral counts only when signed after the countermeasure's last check (an ineffective check reopens it and
    the deferral signed before no longer covers it).
    """
    if not countermeasures:
        return {}
    by_id = {c.id: c for c in countermeasures}
    found: dict[int, Signature] = {}
    for sig in session.scalars(sa.select(Signature).where(
            Signature.entity_type == "countermeasure", Signature.meaning == DEFERRAL_MEANING,
            Signature.entity_id.in_(list(by_id))).order_by(Signature.signed_at, Signature.id)):
        cm = by_id[sig.entity_id]
        if cm.checked_at is None or as_utc(sig.signed_at) >= as_utc(cm.checked_at):
            found[cm.id] = sig
    return found


def unchecked_countermeasures_for(session: so.Session, incident_id: int) -> int:
    """Countermeasures of the incident's reviews that are neither verified effective nor covered by a signed deferral
    of their check: the incident may not close while any is left."""
    cms = list(session.scalars(
        sa.select(Countermeasure).join(ReviewIncident, ReviewIncident.review_id == Countermeasure.review_id)
        .where(ReviewIncident.incident_id == incident_id, Countermeasure.status != CountermeasureStatus.VERIFIED)))
    deferred = check_deferrals(session, cms)
    return sum(1 for c in cms if c.id not in deferred)


def my_countermeasures(session: so.Session, user: User) -> list[Countermeasure]:
    """Countermeasures the user owns that are not yet verified, the earliest due first."""
    return list(session.scalars(
        sa.select(Countermeasure).where(Countermeasure.owner_id == user.id,
                                        Countermeasure.status != CountermeasureStatus.VERIFIED)
        .order_by(Countermeasure.due_on, Countermeasure.id)))


def deployments_to_answer(session: so.Session, user: User) -> list[Deployment]:
    """Deployment requests waiting for an answer from the user's own division (head office answers those sent to head
    office; another division's requests are that division's work, even for a user who may work for every division),
    and those assigned to the user by name."""
    stmt = sa.select(Deployment).where(Deployment.answer.in_(OPEN_DEPLOYMENT_ANSWERS),
                                       sa.or_(Deployment.division_id == user.division_id,
                                              Deployment.assignee_id == user.id))
    if not can(user.actor, Capability.WRITE_REVIEWS):
        return []
    return list(session.scalars(stmt.order_by(Deployment.created_at, Deployment.id)))


# --- audit helper --------------------------------------------------------------------------


def _audit(session: so.Session, review: Review, *, user: User | None, entity_type: str, entity_id: int, action: str,
           now: datetime, changes: dict[str, Any]) -> None:
    """One event per incident the review covers, so each incident's timeline shows its review's progress."""
    incident_ids = [i.id for i in review.incidents] or [None]
    for incident_id in incident_ids:
        audit.record(session, actor_id=user.id if user else None, entity_type=entity_type, entity_id=entity_id,
                     incident_id=incident_id, action=action, now=now, changes=changes)


# --- writing a review ----------------------------------------------------------------------


def _validate_input(data: ReviewInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = str(_l("Give the review a title."))
    elif len(data.title.strip()) > 200:
        errors["title"] = str(_l("At most %(n)d characters.", n=200))
    if data.process_stage and data.process_stage not in {s.value for s in rules.ProcessStage}:
        errors["process_stage"] = str(_l("Choose a stage from the list."))
    unknown = set(data.motivating_factors or []) - {f.value for f in rules.MotivatingFactor}
    if unknown:
        errors["motivating_factors"] = str(_l("Choose factors from the list."))
    if len(data.failure_mode) > 80:
        errors["failure_mode"] = str(_l("At most %(n)d characters.", n=80))
    if set(data.no_cause or []) - {d.value for d in rules.MAY_HAVE_NO_CAUSE}:
        errors["no_cause"] = str(_l("Choose dimensions from the list."))
    if set(data.no_countermeasure_reasons or {}) - {d.value for d in Dimension}:
        errors["no_countermeasure_reasons"] = str(_l("Choose dimensions from the list."))
    return errors


def _short_form_errors(data: ReviewInput) -> dict[str, str]:
    """A short review says the process, framework and motivating causes in one line each."""
    return {name: str(_l("One line of at most %(n)d characters in a short review.", n=rules.ONE_LINE))
            for name in ("process_cause", "framework_cause", "motivating_cause")
            if getattr(data, name) and not rules.is_one_line(getattr(data, name))}


def _deepen(session: so.Session, review: Review, *, user: User, now: datetime) -> None:
    """A short review becomes full when one of its incidents is (or becomes) S1/S2; never the other way."""
    needed = rules.depth_for(i.severity.value if i.severity else None for i in review.incidents)
    if review.depth == rules.ReviewDepth.SHORT and needed == rules.ReviewDepth.FULL:
        review.depth = needed.value
        session.flush()
        _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review deepened",
               now=now, changes={"depth": ["short", "full"]})


def review_blocked_for(incident: Incident) -> str | None:
    """Why no review may be started on this incident now (None when one may): the same rule the page shows."""
    return rules.review_blocked(status=incident.status.value, severity=incident.severity.value if incident.severity else None)


def reviews_to_approve(session: so.Session, user: User) -> list[Review]:
    """Submitted reviews waiting for head-office QA's signature, the longest waiting first (approvers only)."""
    if not can(user.actor, Capability.APPROVE):
        return []
    return list(session.scalars(scoped(sa.select(Review).where(Review.status == ReviewStatus.SUBMITTED)
                                       .order_by(Review.submitted_at, Review.id), user.actor, Review.division_id)))


def start_review(session: so.Session, *, user: User, incident_ids: list[int], title: str, now: datetime) -> Review:
    """Open a draft review of one or more incidents the user may work on."""
    if not can(user.actor, Capability.WRITE_REVIEWS):
        raise Forbidden(str(_l("Your role does not write reviews.")))
    incidents = [session.get(Incident, i) for i in dict.fromkeys(incident_ids)]
    if not incidents:
        raise ValidationFailed({"incident": str(_l("Choose at least one incident."))})
    for incident in incidents:
        if incident is None or not can_read_division(user.actor, incident.division_id):
            raise NotFound(str(_l("No such incident.")))
        if not can_work_division(user.actor, incident.division_id, Capability.WRITE_REVIEWS):
            raise Forbidden(str(_l("You may not write reviews for %(ref)s.", ref=incident.reference)))
        if (why := review_blocked_for(incident)) is not None:
            raise ValidationFailed({"incident": f"{incident.reference}: {why}"})
    errors = _validate_input(ReviewInput(title=title))
    if errors:
        raise ValidationFailed(errors)
    first = incidents[0]
    assert first is not None
    review = Review(division_id=first.division_id, status=ReviewStatus.DRAFT, title=title.strip(), participants="",
                    phenomenon="", failure_mode="", mechanism="", process_stage="",
                    process_cause="", escape_reason="", framework_cause="", motivating_factors=[],
                    motivating_cause="", design_review_checks="", created_by_id=user.id, created_at=now, updated_at=now,
                    depth=rules.depth_for(i.severity.value if i and i.severity else None for i in incidents).value,
                    no_cause=[], no_countermeasure_reasons={})
    session.add(review)
    session.flush()
    for incident in incidents:
        assert incident is not None
        session.add(ReviewIncident(review_id=review.id, incident_id=incident.id))
    session.flush()
    session.refresh(review)
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review started", now=now,
           changes={"title": [None, review.title], "incidents": [None, [i.reference for i in review.incidents]],
                    "depth": [None, review.depth]})
    return review


def link_incident(session: so.Session, *, user: User, review_id: int, reference: str, now: datetime) -> Review:
    """Add another incident to a draft review."""
    review = _writable(session, user, review_id)
    incident = session.scalar(unscoped(sa.select(Incident).where(Incident.reference == reference.strip().upper()),
                                       "one incident by reference: the reader's division is checked below"))
    if incident is None or not can_read_division(user.actor, incident.division_id):
        raise ValidationFailed({"reference": str(_l("No such incident."))})
    if not can_work_division(user.actor, incident.division_id, Capability.WRITE_REVIEWS):
        raise ValidationFailed({"reference": str(_l("You may not write reviews for %(ref)s.", ref=incident.reference))})
    if incident.id in {i.id for i in review.incidents}:
        raise ValidationFailed({"reference": str(_l("%(ref)s is already in this review.", ref=incident.reference))})
    if (why := review_blocked_for(incident)) is not None:
        raise ValidationFailed({"reference": f"{incident.reference}: {why}"})
    session.add(ReviewIncident(review_id=review.id, incident_id=incident.id))
    session.flush()
    session.refresh(review)
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="incident linked", now=now,
           changes={"incident": [None, incident.reference]})
    _deepen(session, review, user=user, now=now)
    return review


def update_review(session: so.Session, *, user: User, review_id: int, data: ReviewInput, expected_version: int,
                  now: datetime) -> Review:
    """Save the review's text, refusing to overwrite a newer version saved by someone else."""
    review = _writable(session, user, review_id)
    if review.version != expected_version:
        raise EditConflict(current=review, changed_by=review.created_by.name, changed_at=review.updated_at,
                           current_version=review.version)
    errors = _validate_input(data)
    if review.depth == rules.ReviewDepth.SHORT:
        errors.update(_short_form_errors(data))
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(review, REVIEW_FIELDS)
    for name in REVIEW_FIELDS:
        value = getattr(data, name)
        if name == "motivating_factors":
            value = [f.value for f in rules.MotivatingFactor if f.value in (value or [])]
        elif name == "no_cause":
            value = [d.value for d in rules.MAY_HAVE_NO_CAUSE if d.value in (value or [])]
        elif name == "no_countermeasure_reasons":
            given = value or {}
            value = {d.value: given[d.value].strip() for d in Dimension if (given.get(d.value) or "").strip()}
        setattr(review, name, value.strip() if isinstance(value, str) else value)
    changes = audit.field_changes(before, audit.snapshot(review, REVIEW_FIELDS))
    if not changes:
        return review
    review.updated_at = now
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        fresh = session.get(Review, review_id)
        assert fresh is not None
        raise EditConflict(current=fresh, changed_by="", changed_at=fresh.updated_at,
                           current_version=fresh.version) from None
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review updated", now=now,
           changes=changes)
    return review


def add_why_step(session: so.Session, *, user: User, review_id: int, dimension: Dimension, question: str, answer: str,
                 evidence: str, now: datetime) -> WhyStep:
    """Add the next 'why?' to one dimension's chain, with its evidence."""
    review = _writable(session, user, review_id)
    errors = {}
    if not question.strip():
        errors["question"] = str(_l("Ask the question (Why …?)."))
    if not answer.strip():
        errors["answer"] = str(_l("Give the answer found."))
    if errors:
        raise ValidationFailed(errors)
    position = (session.scalar(sa.select(sa.func.max(WhyStep.position)).where(
        WhyStep.review_id == review.id, WhyStep.dimension == dimension)) or 0) + 1
    step = WhyStep(review_id=review.id, dimension=dimension, position=position, question=question.strip(),
                   answer=answer.strip(), evidence=evidence.strip(), created_by_id=user.id, created_at=now)
    session.add(step)
    session.flush()
    _audit(session, review, user=user, entity_type="why_step", entity_id=step.id, action="why added", now=now,
           changes={"dimension": [None, dimension.value], "position": [None, position], "question": [None, step.question],
                    "answer": [None, step.answer], "evidence": [None, step.evidence]})
    return step


# --- countermeasures -----------------------------------------------------------------------


def add_countermeasure(session: so.Session, *, user: User, review_id: int, data: CountermeasureInput,
                       now: datetime) -> Countermeasure:
    """A countermeasure against one cause, with owner and due day (until approval)."""
    review = get_review(session, user=user, review_id=review_id)
    if not _may_write(user, review):
        raise Forbidden(str(_l("You may read this review but not change it.")))
    if review.status == ReviewStatus.APPROVED:
        raise Forbidden(str(_l("The review is approved; countermeasures are tracked, not added.")))
    errors: dict[str, str] = {}
    if not data.description.strip():
        errors["description"] = str(_l("Describe the countermeasure."))
    owner = session.get(User, data.owner_id)
    if owner is None or not owner.active:
        errors["owner_id"] = str(_l("Choose an active user as owner."))
    if data.due_on < now.date():
        errors["due_on"] = str(_l("The due day cannot be in the past."))
    if data.check_due_on is not None and data.check_due_on < data.due_on:
        errors["check_due_on"] = str(_l("The effectiveness check comes after the due day."))
    tier = data.safety_tier
    errors.update(rules.tier_errors(dimension=data.dimension, tier=tier, reason=data.tier_reason))
    if data.why_step_id is not None:
        step = session.get(WhyStep, data.why_step_id)
        if step is None or step.review_id != review.id:
            errors["why_step_id"] = str(_l("Choose a step of this review's why-chains."))
    if errors:
        raise ValidationFailed(errors)
    technical = data.dimension == Dimension.TECHNICAL
    cm = Countermeasure(review_id=review.id, dimension=data.dimension, why_step_id=data.why_step_id, kind=data.kind,
                        safety_tier=rules.SafetyTier(tier) if technical else rules.SafetyTier.NOT_RECORDED,
                        tier_reason=data.tier_reason.strip() if technical and tier != rules.SafetyTier.DESIGN else "",
                        description=data.description.strip(), owner_id=data.owner_id, due_on=data.due_on,
                        status=CountermeasureStatus.OPEN, check_method=data.check_method.strip(),
                        check_due_on=data.check_due_on, check_result="", created_at=now)
    session.add(cm)
    session.flush()
    _audit(session, review, user=user, entity_type="countermeasure", entity_id=cm.id, action="countermeasure added",
           now=now, changes=audit.field_changes({}, audit.snapshot(cm, (
               "dimension", "kind", "safety_tier", "tier_reason", "description", "owner_id", "due_on", "check_method",
               "check_due_on"))))
    return cm


def _countermeasure_for_work(session: so.Session, user: User, countermeasure_id: int) -> Countermeasure:
    cm = session.get(Countermeasure, countermeasure_id)
    if cm is None or not _may_read(user, cm.review):
        raise NotFound(str(_l("No such countermeasure.")))
    if cm.owner_id != user.id and not _may_write(user, cm.review):
        raise Forbidden(str(_l("Only the owner or the review's writers may update this countermeasure.")))
    return cm


def correct_tier(session: so.Session, *, user: User, countermeasure_id: int, safety_tier: str, tier_reason: str,
                 reason: str, now: datetime) -> Countermeasure:
    """Correct a technical countermeasure's safety tier (and why no higher tier), with the reason for the correction,
    while its review is not approved; audited before and after."""
    cm = session.get(Countermeasure, countermeasure_id)
    if cm is None or not _may_read(user, cm.review):
        raise NotFound(str(_l("No such countermeasure.")))
    review = cm.review
    if not _may_write(user, review):
        raise Forbidden(str(_l("You may read this review but not change it.")))
    if review.status == ReviewStatus.APPROVED:
        raise Forbidden(str(_l("The review is approved: its countermeasures' safety tiers are as signed.")))
    errors = dict(rules.tier_errors(dimension=cm.dimension, tier=safety_tier, reason=tier_reason))
    if cm.dimension != Dimension.TECHNICAL:
        errors = {"safety_tier": str(_l("Only a countermeasure against the technical cause has a safety tier."))}
    if not reason.strip():
        errors["reason"] = str(_l("Say why the safety tier is corrected."))
    new_reason = tier_reason.strip() if safety_tier != rules.SafetyTier.DESIGN else ""
    if not errors and cm.safety_tier == safety_tier and cm.tier_reason == new_reason:
        errors["safety_tier"] = str(_l("Nothing changed."))
    if errors:
        raise ValidationFailed(errors)
    changes = {"safety_tier": [cm.safety_tier.value, safety_tier], "tier_reason": [cm.tier_reason, new_reason],
               "reason": [None, reason.strip()]}
    cm.safety_tier, cm.tier_reason = rules.SafetyTier(safety_tier), new_reason
    session.flush()
    _audit(session, review, user=user, entity_type="countermeasure", entity_id=cm.id, action="tier corrected", now=now,
           changes=changes)
    return cm


def mark_implemented(session: so.Session, *, user: User, countermeasure_id: int, now: datetime) -> Countermeasure:
    """The owner reports the countermeasure in place; it still needs its effectiveness check."""
    cm = _countermeasure_for_work(session, user, countermeasure_id)
    if cm.status != CountermeasureStatus.OPEN:
        raise DomainError(str(_l("Only an open countermeasure can be marked implemented.")))
    cm.status = CountermeasureStatus.IMPLEMENTED
    cm.implemented_at = now
    session.flush()
    _audit(session, cm.review, user=user, entity_type="countermeasure", entity_id=cm.id, action="implemented", now=now,
           changes={"status": ["open", "implemented"]})
    return cm


def record_check(session: so.Session, *, user: User, countermeasure_id: int, method: str, result: str,
                 effective: bool | None, now: datetime) -> Countermeasure:
    """Record the effectiveness check: effective verifies the countermeasure, ineffective reopens it."""
    cm = _countermeasure_for_work(session, user, countermeasure_id)
    errors = rules.check_effectiveness(status=cm.status, method=method, result=result, effective=effective)
    if errors:
        raise ValidationFailed(errors)
    assert effective is not None
    before = audit.snapshot(cm, ("status", "check_method", "check_result", "check_effective"))
    cm.check_method = method.strip()
    cm.check_result = result.strip()
    cm.check_effective = effective
    cm.checked_at = now
    cm.checked_by_id = user.id
    cm.status = rules.status_after_check(effective)
    session.flush()
    _audit(session, cm.review, user=user, entity_type="countermeasure", entity_id=cm.id, action="effectiveness checked",
           now=now, changes=audit.field_changes(before, audit.snapshot(
               cm, ("status", "check_method", "check_result", "check_effective"))))
    return cm


def defer_check(session: so.Session, *, user: User, countermeasure_id: int, password: str, reason: str,
                until: date | None, now: datetime) -> Signature:
    """Head-office QA signs that a countermeasure's effectiveness check may come after the incident closes.

    The owner never signs the deferral of their own countermeasure; the reason and the new check date are
    required, and the signature, the reason and the new date go into the audit trail.
    """
    cm = session.get(Countermeasure, countermeasure_id)
    if cm is None or not _may_read(user, cm.review):
        raise NotFound(str(_l("No such countermeasure.")))
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA signs the deferral of an effectiveness check.")))
    if cm.status == CountermeasureStatus.VERIFIED:
        raise DomainError(str(_l("This countermeasure is already verified effective.")))
    errors = {}
    if not reason.strip():
        errors["reason"] = str(_l("Say why the check can wait."))
    if until is None or until <= now.date():
        errors["check_due_on"] = str(_l("Give the day by which the check will be done (after today)."))
    if errors:
        raise ValidationFailed(errors)
    assert until is not None
    before = audit.snapshot(cm, ("check_due_on",))
    signature = sign(session, user=user, password=password, meaning=DEFERRAL_MEANING, entity_type="countermeasure",
                     entity_id=cm.id, now=now, comment=reason.strip(),
                     content={"countermeasure": audit.snapshot(cm, ("id", "description", "owner_id", "status",
                                                                    "check_method")),
                              "reason": reason.strip(), "check_due_on": until},
                     incident_id=cm.review.incidents[0].id if cm.review.incidents else None,
                     prepared_by=(cm.owner_id,))  # the owner never signs the deferral of their own check
    cm.check_due_on = until
    session.flush()
    _audit(session, cm.review, user=user, entity_type="countermeasure", entity_id=cm.id,
           action="effectiveness check deferred", now=now,
           changes={**audit.field_changes(before, audit.snapshot(cm, ("check_due_on",))),
                    "reason": [None, reason.strip()], "signature": [None, signature.id]})
    return signature


def countermeasure_scan(session: so.Session, now: datetime, base_url: str = "") -> int:
    """Queue one overdue notice per countermeasure and due day to its owner (and the review's writer). Returns the count."""
    today = now.date()
    overdue = session.scalars(sa.select(Countermeasure).where(
        Countermeasure.status != CountermeasureStatus.VERIFIED, Countermeasure.due_on < today))
    queued = 0
    for cm in overdue:
        review = cm.review
        incident_id = review.incidents[0].id if review.incidents else None
        messages = outbox.enqueue_localised(
            session, people=[as_recipient(cm.owner), as_recipient(review.created_by)], now=now, incident_id=incident_id,
            dedupe_key=f"countermeasure-overdue:{cm.id}:{cm.due_on.isoformat()}",
            compose=lambda reader, cm=cm, review=review: (
                gettext("Overdue countermeasure: %(what)s (due %(day)s)", what=cm.description[:80],
                        day=reader.date(cm.due_on)),
                gettext('Countermeasure #%(id)d of review "%(title)s" was due on %(day)s and is %(status)s.', id=cm.id,
                        title=review.title, day=reader.date(cm.due_on), status=str(rules.CM_STATUS_TITLES[cm.status]))
                + f"\n\n{cm.description}\n\n{base_url}/reviews/{review.id}#countermeasure-{cm.id}\n"))
        queued += 1 if messages else 0
    return queued


# --- horizontal deployment -----------------------------------------------------------------


def add_deployment(session: so.Session, *, user: User, countermeasure_id: int, division_id: int, target: str,
                   now: datetime) -> Deployment:
    """Send a countermeasure to another division's products, parts, processes or designs that share the cause."""
    cm = session.get(Countermeasure, countermeasure_id)
    if cm is None or not _may_read(user, cm.review):
        raise NotFound(str(_l("No such countermeasure.")))
    if not _may_write(user, cm.review):
        raise Forbidden(str(_l("You may read this review but not change it.")))
    errors: dict[str, str] = {}
    division = session.get(Division, division_id)
    if division is None or not division.active:
        errors["division_id"] = str(_l("Choose a division."))
    if not target.strip():
        errors["target"] = str(_l("Name the products, part, process or design that share the cause."))
    elif len(target.strip()) > 300:
        errors["target"] = str(_l("At most %(n)d characters.", n=300))
    if not errors and session.scalar(sa.select(Deployment.id).where(
            Deployment.countermeasure_id == cm.id, Deployment.division_id == division_id,
            Deployment.target == target.strip())):
        errors["target"] = str(_l("This deployment was already sent."))
    if errors:
        raise ValidationFailed(errors)
    deployment = Deployment(countermeasure_id=cm.id, division_id=division_id, target=target.strip(),
                            answer=DeploymentAnswer.PENDING, reason="", created_at=now)
    session.add(deployment)
    session.flush()
    _audit(session, cm.review, user=user, entity_type="deployment", entity_id=deployment.id, action="deployment sent",
           now=now, changes={"division": [None, division.name if division else None], "target": [None, deployment.target]})
    outbox.enqueue_localised(
        session, people=people(session, roles={Role.DIVISION_QA}, division_id=division_id), now=now,
        dedupe_key=f"deployment-request:{deployment.id}",
        compose=lambda reader: (
            gettext("Horizontal deployment: %(what)s", what=cm.description[:80]),
            gettext('Review "%(title)s" asks %(division)s whether this countermeasure applies to: %(target)s',
                    title=cm.review.title, division=division.name if division else "", target=deployment.target)
            + f"\n\n{cm.description}\n\n"
            + gettext("Answer applicable, not applicable (with the reason) or done on the review page.") + "\n"))
    return deployment


def answer_deployment(session: so.Session, *, user: User, deployment_id: int, answer: DeploymentAnswer, reason: str,
                      now: datetime) -> Deployment:
    """The receiving division answers: applicable, not applicable (with the reason) or done."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None or not (can_read_division(user.actor, deployment.division_id)
                                  or _may_read(user, deployment.countermeasure.review)):
        raise NotFound(str(_l("No such deployment request.")))
    if not can_work_division(user.actor, deployment.division_id, Capability.WRITE_REVIEWS):
        raise Forbidden(str(_l("Only the receiving division answers a deployment request.")))
    errors = rules.deployment_answer_errors(answer, reason)
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(deployment, ("answer", "reason"))
    deployment.answer = answer
    deployment.reason = reason.strip()
    deployment.answered_by_id = user.id
    deployment.answered_at = now
    session.flush()
    _audit(session, deployment.countermeasure.review, user=user, entity_type="deployment", entity_id=deployment.id,
           action="deployment answered", now=now,
           changes=audit.field_changes(before, audit.snapshot(deployment, ("answer", "reason"))))
    return deployment


#: Answers after which a deployment still waits for work.
OPEN_DEPLOYMENT_ANSWERS = (DeploymentAnswer.PENDING, DeploymentAnswer.APPLICABLE)


def deployment_for(session: so.Session, *, user: User, deployment_id: int) -> Deployment:
    """The deployment if the user may read it (its receiving division's, or its review's readers); else NotFound."""
    deployment = session.get(Deployment, deployment_id) if is_db_id(deployment_id) else None
    if deployment is None or not (can_read_division(user.actor, deployment.division_id)
                                  or _may_read(user, deployment.countermeasure.review)):
        raise NotFound(str(_l("No such deployment request.")))
    return deployment


def may_assign_deployment(user: User, deployment: Deployment) -> bool:
    """Whether the user may name who answers the deployment: the receiving division's QA managers, head-office QA."""
    return can_work_division(user.actor, deployment.division_id, Capability.WRITE_REVIEWS)


def deployment_assignees(session: so.Session, deployment: Deployment) -> list[User]:
    """Who may answer the deployment (active QA managers of the receiving division, head-office QA), by name."""
    people = session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name, User.id))
    return [p for p in people if can_work_division(p.actor, deployment.division_id, Capability.WRITE_REVIEWS)]


def assign_deployment(session: so.Session, *, user: User, deployment_id: int, assignee_id: int | None,
                      now: datetime) -> Deployment:
    """Name who answers a horizontal deployment in the receiving division (or nobody); audited on the timelines."""
    deployment = deployment_for(session, user=user, deployment_id=deployment_id)
    if not may_assign_deployment(user, deployment):
        raise Forbidden(str(_l("Only the receiving division's QA managers and head-office QA assign a deployment.")))
    person = None
    if assignee_id is not None:
        if deployment.answer not in OPEN_DEPLOYMENT_ANSWERS:
            raise ValidationFailed({"assignee_id": str(_l("This deployment is done: it takes no new assignee."))})
        person = session.get(User, assignee_id) if is_db_id(assignee_id) else None
        if person is None or not person.active or not can_work_division(person.actor, deployment.division_id,
                                                                          Capability.WRITE_REVIEWS):
            raise ValidationFailed({"assignee_id": str(_l("Only an active QA manager of the receiving division or "
                                                            "head-office QA answers a deployment."))})
    before = deployment.assignee
    if (before.id if before else None) == (person.id if person else None):
        return deployment
    deployment.assignee_id = person.id if person else None
    session.flush()
    session.expire(deployment, ["assignee"])
    _audit(session, deployment.countermeasure.review, user=user, entity_type="deployment", entity_id=deployment.id,
           action="deployment assigned", now=now,
           changes={"assignee": [before.name if before else None, person.name if person else None]})
    return deployment


# --- approval ------------------------------------------------------------------------------


def content_of(session: so.Session, review: Review) -> rules.ReviewContent:
    deployments = deployments_of(session, review.id)
    cms = countermeasures_of(session, review.id)
    return rules.ReviewContent(
        title=review.title, phenomenon=review.phenomenon, mechanism=review.mechanism, process_stage=review.process_stage,
        process_cause=review.process_cause, escape_reason=review.escape_reason, framework_cause=review.framework_cause,
        motivating_cause=review.motivating_cause, countermeasures=len(cms),
        deployments_pending=sum(1 for d in deployments if d.answer == DeploymentAnswer.PENDING),
        depth=review.depth, no_cause=frozenset(review.no_cause or []),
        countermeasure_dimensions=frozenset(c.dimension.value for c in cms),
        no_countermeasure_reasons=dict(review.no_countermeasure_reasons or {}))


def submit_review(session: so.Session, *, user: User, review_id: int, now: datetime) -> Review:
    """Send a complete draft to head-office QA for approval."""
    review = _writable(session, user, review_id)
    _deepen(session, review, user=user, now=now)
    errors = rules.submission_errors(content_of(session, review))
    if errors:
        raise ValidationFailed(errors)
    review.status = ReviewStatus.SUBMITTED
    review.submitted_at, review.submitted_by_id = now, user.id
    review.updated_at = now
    session.flush()
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review submitted", now=now,
           changes={"status": ["draft", "submitted"]})
    outbox.enqueue_localised(
        session, people=people(session, roles={Role.HEAD_OFFICE_QA}), now=now,
        dedupe_key=f"review-submitted:{review.id}:{now.isoformat()}",
        compose=lambda reader: (
            gettext("OCHIBO-HIROI review waiting for approval: %(title)s", title=review.title),
            gettext('%(division)s submitted the review "%(title)s" on %(when)s.', division=review.division.name,
                    title=review.title, when=reader.datetime(now)) + f"\n\n/reviews/{review.id}\n"))
    return review


def return_review(session: so.Session, *, user: User, review_id: int, reason: str, now: datetime) -> Review:
    """Head-office QA sends a submitted review back to its writers, saying what is missing."""
    review = get_review(session, user=user, review_id=review_id)
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA approves or returns reviews.")))
    if review.status != ReviewStatus.SUBMITTED:
        raise DomainError(str(_l("Only a submitted review can be returned.")))
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say what is missing."))})
    review.status = ReviewStatus.DRAFT
    review.submitted_at = None
    review.updated_at = now
    session.flush()
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review returned", now=now,
           changes={"status": ["submitted", "draft"], "reason": [None, reason.strip()]})
    return review


def approve_review(session: so.Session, *, user: User, review_id: int, password: str, comment: str,
                   now: datetime, base_url: str = "") -> Review:
    """Head-office QA signs the review; the signed review publishes its lesson learned."""
    review = get_review(session, user=user, review_id=review_id)
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA approves reviews.")))
    if review.status != ReviewStatus.SUBMITTED:
        raise DomainError(str(_l("Only a submitted review can be approved.")))
    steps = why_steps(session, review.id)
    cms = countermeasures_of(session, review.id)
    problems = rules.approval_errors([(c.description, c.owner_id, c.due_on, bool(c.owner and c.owner.active))
                                      for c in cms])
    gaps = rules.dimension_gaps(content_of(session, review))
    if problems or gaps:
        errors = {f"countermeasures_{d.value}": why for d, why in gaps.items()}
        if problems:
            errors["countermeasures"] = " ".join(problems)
        raise ValidationFailed(errors)
    content = {
        "review": audit.snapshot(review, REVIEW_FIELDS),
        "depth": review.depth,
        "incidents": [i.reference for i in review.incidents],
        "why_steps": {d.value: [(s.question, s.answer, s.evidence) for s in ss] for d, ss in steps.items()},
        "countermeasures": [audit.snapshot(c, ("id", "dimension", "kind", "safety_tier", "tier_reason", "description",
                                               "owner_id", "due_on"))
                            for c in cms],
    }
    signature = sign(session, user=user, password=password, meaning=APPROVAL_MEANING, entity_type="review",
                     entity_id=review.id, content=content, now=now, comment=comment,
                     incident_id=review.incidents[0].id if review.incidents else None,
                     prepared_by=[review.created_by_id, review.submitted_by_id])
    review.status = ReviewStatus.APPROVED
    review.approved_at = now
    review.approval_signature_id = signature.id
    review.updated_at = now
    session.flush()
    _audit(session, review, user=user, entity_type="review", entity_id=review.id, action="review approved", now=now,
           changes={"status": ["submitted", "approved"], "signature": [None, signature.id]})
    lesson = lessons.publish_from_review(session, review=review, steps=steps, countermeasures=cms, now=now)
    _audit(session, review, user=user, entity_type="lesson", entity_id=lesson.id, action="lesson published", now=now,
           changes={"title": [None, lesson.title]})
    lessons.notify_subscribers(session, lesson=lesson, now=now, base_url=base_url)
    events.announce(events.review_approved, session, review=review, now=now)
    return review
