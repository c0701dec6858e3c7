"""Tables of OCHIBO-HIROI reviews, why-chains, countermeasures, horizontal deployment and lessons learned."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.db import Base
from qa_incidents.incidents.models import Incident, _enum
from qa_incidents.reviews.rules import (
    CountermeasureStatus,
    CountermeasureType,
    DeploymentAnswer,
    Dimension,
    ReviewStatus,
    SafetyTier,
)

#: On PostgreSQL the weighted full-text vector of a lesson; on SQLite the FTS5 table `lesson_fts` does that job.
SearchVector = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")


class Review(Base):
    """An OCHIBO-HIROI review of one or more incidents."""

    __tablename__ = "review"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(default=1)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    status: so.Mapped[ReviewStatus] = so.mapped_column(_enum(ReviewStatus), default=ReviewStatus.DRAFT, index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    meeting_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    participants: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    phenomenon: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    failure_mode: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    mechanism: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    process_stage: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    process_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    escape_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    framework_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    motivating_factors: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    motivating_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    design_review_checks: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: "short" (S3/S4) or "full" (S1/S2): set from the incidents' severities, only ever deepened while a draft.
    depth: so.Mapped[str] = so.mapped_column(sa.String(8), default="full", server_default="full")
    #: Dimensions where the team found no cause (the cause field then says why).
    no_cause: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list, server_default="[]")
    #: A short review's reason, per dimension, why a cause found has no countermeasure.
    no_countermeasure_reasons: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict, server_default="{}")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column()
    updated_at: so.Mapped[datetime] = so.mapped_column()
    submitted_at: so.Mapped[datetime | None] = so.mapped_column()
    #: Who sent it for approval (may not approve it; nor may its writer).
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    approved_at: so.Mapped[datetime | None] = so.mapped_column()
    approval_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))

    division: so.Mapped[Division] = so.relationship(lazy="joined")
    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id], lazy="joined")
    incidents: so.Mapped[list[Incident]] = so.relationship(secondary="review_incident", order_by="Incident.id",
                                                           lazy="selectin", viewonly=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("(status = 'approved') = (approved_at IS NOT NULL AND approval_signature_id IS NOT NULL)",
                           name="approved_iff_signed"),
    )


class ReviewIncident(Base):
    """An incident covered by a review."""

    __tablename__ = "review_incident"

    review_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("review.id"), primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), primary_key=True, index=True)


class WhyStep(Base):
    """One step of a why-why chain in one cause dimension, with its evidence."""

    __tablename__ = "review_why_step"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    review_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("review.id"), index=True)
    dimension: so.Mapped[Dimension] = so.mapped_column(_enum(Dimension))
    position: so.Mapped[int] = so.mapped_column()
    question: so.Mapped[str] = so.mapped_column(sa.Text)
    answer: so.Mapped[str] = so.mapped_column(sa.Text)
    evidence: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column()


class Countermeasure(Base):
    """An action against one cause, with an owner, a due day and an effectiveness check."""

    __tablename__ = "countermeasure"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(default=1)
    review_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("review.id"), index=True)
    dimension: so.Mapped[Dimension] = so.mapped_column(_enum(Dimension))
    why_step_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("review_why_step.id"))
    kind: so.Mapped[CountermeasureType] = so.mapped_column(_enum(CountermeasureType))
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    #: Technical countermeasures: design, safeguard or usage information (in that order of priority).
    safety_tier: so.Mapped[SafetyTier] = so.mapped_column(_enum(SafetyTier), default=SafetyTier.NOT_RECORDED,
                                                          server_default="not_recorded")
    #: Why no higher tier is practicable (required below design).
    tier_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default=sa.text("''"))
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    due_on: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    status: so.Mapped[CountermeasureStatus] = so.mapped_column(_enum(CountermeasureStatus),
                                                               default=CountermeasureStatus.OPEN, index=True)
    implemented_at: so.Mapped[datetime | None] = so.mapped_column()
    check_method: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    check_due_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    check_result: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    check_effective: so.Mapped[bool | None] = so.mapped_column()
    checked_at: so.Mapped[datetime | None] = so.mapped_column()
    checked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column()

    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id], lazy="joined")
    review: so.Mapped[Review] = so.relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("status <> 'verified' OR (check_effective = true AND checked_at IS NOT NULL)",
                           name="verified_needs_effective_check"),
    )


class Deployment(Base):
    """Horizontal deployment (yokoten): a countermeasure sent to another division's products, and its answer."""

    __tablename__ = "review_deployment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    countermeasure_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("countermeasure.id"), index=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    target: so.Mapped[str] = so.mapped_column(sa.String(300))  # products, part, process or design that share the cause
    answer: so.Mapped[DeploymentAnswer] = so.mapped_column(_enum(DeploymentAnswer), default=DeploymentAnswer.PENDING,
                                                           index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    answered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: so.Mapped[datetime | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column()
    #: Who answers it in the receiving division (set by that division's QA managers or head-office QA).
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)

    division: so.Mapped[Division] = so.relationship(lazy="joined")
    countermeasure: so.Mapped[Countermeasure] = so.relationship(lazy="joined")
    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_id], lazy="select")

    __table_args__ = (
        sa.UniqueConstraint("countermeasure_id", "division_id", "target", name="uq_review_deployment_target"),
        sa.CheckConstraint("answer <> 'not_applicable' OR reason <> ''", name="not_applicable_needs_reason"),
    )


class Lesson(Base):
    """A published lesson learned: no customer personal data, readable by every engineer."""

    __tablename__ = "lesson"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    source: so.Mapped[str] = so.mapped_column(sa.String(16), index=True)  # "review" or an external set, e.g. "fda"
    source_ref: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    review_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("review.id"), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    summary: so.Mapped[str] = so.mapped_column(sa.Text)
    product: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    product_category: so.Mapped[str] = so.mapped_column(sa.String(120), default="", index=True)
    failure_mode: so.Mapped[str] = so.mapped_column(sa.String(80), default="", index=True)
    mechanism: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    technical_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    process_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    framework_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    motivating_cause: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    cause_category: so.Mapped[str] = so.mapped_column(sa.String(80), default="", index=True)
    cause_dimension: so.Mapped[str] = so.mapped_column(sa.String(20), default="", index=True)
    process_stage: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    countermeasures: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    design_review_checks: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    division: so.Mapped[str] = so.mapped_column(sa.String(120), default="", index=True)
    year: so.Mapped[int] = so.mapped_column(index=True)
    published_at: so.Mapped[datetime] = so.mapped_column(index=True)
    times_opened: so.Mapped[int] = so.mapped_column(default=0)
    search_vector: so.Mapped[Any] = so.mapped_column(SearchVector, nullable=True)

    __table_args__ = (sa.Index("ix_lesson_search_vector", "search_vector", postgresql_using="gin"),)


class LessonTerm(Base):
    """How many lessons hold each lexeme of the PostgreSQL index (document frequency), kept in the transaction that
    indexes them (reviews/search.py). Similar lessons chooses its rarest terms by it. Empty on SQLite (FTS5 counts)."""

    __tablename__ = "lesson_term"

    term: so.Mapped[str] = so.mapped_column(sa.Text, primary_key=True)
    lessons: so.Mapped[int] = so.mapped_column(default=0)


class LessonSubscription(Base):
    """An engineer's wish to hear of new lessons in a product category or failure mode."""

    __tablename__ = "lesson_subscription"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # "category" or "failure_mode"
    value: so.Mapped[str] = so.mapped_column(sa.String(120))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column()

    __table_args__ = (sa.UniqueConstraint("user_id", "kind", "value", name="uq_lesson_subscription_what"),)
