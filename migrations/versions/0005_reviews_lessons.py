"""OCHIBO-HIROI reviews, countermeasures, horizontal deployment and lessons learned.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DT = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("reviewstatus", "draft", "submitted", "approved"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=True),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("phenomenon", sa.Text(), nullable=False),
        sa.Column("failure_mode", sa.String(length=80), nullable=False),
        sa.Column("mechanism", sa.Text(), nullable=False),
        sa.Column("process_stage", sa.String(length=20), nullable=False),
        sa.Column("process_cause", sa.Text(), nullable=False),
        sa.Column("escape_reason", sa.Text(), nullable=False),
        sa.Column("framework_cause", sa.Text(), nullable=False),
        sa.Column("motivating_factors", sa.JSON(), nullable=False),
        sa.Column("motivating_cause", sa.Text(), nullable=False),
        sa.Column("design_review_checks", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.Column("submitted_at", UTC_DT, nullable=True),
        sa.Column("approved_at", UTC_DT, nullable=True),
        sa.Column("approval_signature_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(status = 'approved') = (approved_at IS NOT NULL AND approval_signature_id IS NOT NULL)",
            name=op.f("ck_review_approved_iff_signed"),
        ),
        sa.ForeignKeyConstraint(["approval_signature_id"], ["signature.id"],
                                name=op.f("fk_review_approval_signature_id_signature")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_review_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_review_division_id_division")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_division_id"), ["division_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_status"), ["status"], unique=False)

    op.create_table(
        "review_incident",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_review_incident_incident_id_incident")),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], name=op.f("fk_review_incident_review_id_review")),
        sa.PrimaryKeyConstraint("review_id", "incident_id", name=op.f("pk_review_incident")),
    )
    with op.batch_alter_table("review_incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_incident_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "review_why_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("dimension", _enum("dimension", "technical", "process", "framework", "motivating"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_review_why_step_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], name=op.f("fk_review_why_step_review_id_review")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_why_step")),
    )
    with op.batch_alter_table("review_why_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_why_step_review_id"), ["review_id"], unique=False)

    op.create_table(
        "countermeasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("dimension", _enum("dimension", "technical", "process", "framework", "motivating"), nullable=False),
        sa.Column("why_step_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("countermeasuretype", "eliminate_cause", "prevent_escape", "detect_earlier"),
                  nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", _enum("countermeasurestatus", "open", "implemented", "verified"), nullable=False),
        sa.Column("implemented_at", UTC_DT, nullable=True),
        sa.Column("check_method", sa.Text(), nullable=False),
        sa.Column("check_due_on", sa.Date(), nullable=True),
        sa.Column("check_result", sa.Text(), nullable=False),
        sa.Column("check_effective", sa.Boolean(), nullable=True),
        sa.Column("checked_at", UTC_DT, nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.CheckConstraint("status <> 'verified' OR (check_effective = true AND checked_at IS NOT NULL)",
                           name=op.f("ck_countermeasure_verified_needs_effective_check")),
        sa.ForeignKeyConstraint(["checked_by_id"], ["user_account.id"],
                                name=op.f("fk_countermeasure_checked_by_id_user_account")),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_countermeasure_owner_id_user_account")),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], name=op.f("fk_countermeasure_review_id_review")),
        sa.ForeignKeyConstraint(["why_step_id"], ["review_why_step.id"],
                                name=op.f("fk_countermeasure_why_step_id_review_why_step")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_countermeasure")),
    )
    with op.batch_alter_table("countermeasure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_countermeasure_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_countermeasure_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_countermeasure_review_id"), ["review_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_countermeasure_status"), ["status"], unique=False)

    op.create_table(
        "review_deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("countermeasure_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("answer", _enum("deploymentanswer", "pending", "applicable", "not_applicable", "done"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTC_DT, nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.CheckConstraint("answer <> 'not_applicable' OR reason <> ''",
                           name=op.f("ck_review_deployment_not_applicable_needs_reason")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user_account.id"],
                                name=op.f("fk_review_deployment_answered_by_id_user_account")),
        sa.ForeignKeyConstraint(["countermeasure_id"], ["countermeasure.id"],
                                name=op.f("fk_review_deployment_countermeasure_id_countermeasure")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_review_deployment_division_id_division")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_deployment")),
        sa.UniqueConstraint("countermeasure_id", "division_id", "target", name="uq_review_deployment_target"),
    )
    with op.batch_alter_table("review_deployment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_deployment_answer"), ["answer"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_deployment_countermeasure_id"), ["countermeasure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_deployment_division_id"), ["division_id"], unique=False)

    search_vector = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
    op.create_table(
        "lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=80), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("product", sa.String(length=300), nullable=False),
        sa.Column("product_category", sa.String(length=120), nullable=False),
        sa.Column("failure_mode", sa.String(length=80), nullable=False),
        sa.Column("mechanism", sa.Text(), nullable=False),
        sa.Column("technical_cause", sa.Text(), nullable=False),
        sa.Column("process_cause", sa.Text(), nullable=False),
        sa.Column("framework_cause", sa.Text(), nullable=False),
        sa.Column("motivating_cause", sa.Text(), nullable=False),
        sa.Column("cause_category", sa.String(length=80), nullable=False),
        sa.Column("cause_dimension", sa.String(length=20), nullable=False),
        sa.Column("process_stage", sa.String(length=20), nullable=False),
        sa.Column("countermeasures", sa.Text(), nullable=False),
        sa.Column("design_review_checks", sa.JSON(), nullable=False),
        sa.Column("division", sa.String(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("published_at", UTC_DT, nullable=False),
        sa.Column("times_opened", sa.Integer(), nullable=False),
        sa.Column("search_vector", search_vector, nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], name=op.f("fk_lesson_review_id_review")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson")),
        sa.UniqueConstraint("review_id", name=op.f("uq_lesson_review_id")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_lesson_source_ref")),
    )
    with op.batch_alter_table("lesson", schema=None) as batch_op:
        for column in ("cause_category", "cause_dimension", "division", "failure_mode", "product_category",
                       "published_at", "source", "year"):
            batch_op.create_index(batch_op.f(f"ix_lesson_{column}"), [column], unique=False)
    # Full-text search: a GIN index over the weighted vector on PostgreSQL. On SQLite the FTS5 table
    # lesson_fts is derived data, built from this table by the application when missing (see reviews/search.py).
    op.create_index("ix_lesson_search_vector", "lesson", ["search_vector"], unique=False, postgresql_using="gin")

    op.create_table(
        "lesson_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_lesson_subscription_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_subscription")),
        sa.UniqueConstraint("user_id", "kind", "value", name="uq_lesson_subscription_what"),
    )
    with op.batch_alter_table("lesson_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lesson_subscription_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS lesson_fts")
    op.drop_table("lesson_subscription")
    op.drop_index("ix_lesson_search_vector", table_name="lesson")
    op.drop_table("lesson")
    op.drop_table("review_deployment")
    op.drop_table("countermeasure")
    op.drop_table("review_why_step")
    op.drop_table("review_incident")
    op.drop_table("review")
