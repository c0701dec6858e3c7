"""Regulator notification records, their documents and deadline warnings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("regime_code", sa.String(length=40), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period_label", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("recall_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("origin_reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attention", sa.Text(), nullable=False),
        sa.Column("clock_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_timezone", sa.String(length=64), nullable=False),
        sa.Column("due_explanation", sa.Text(), nullable=False),
        sa.Column("is_legal_deadline", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("missing_explanation", sa.Text(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drafted_by_id", sa.Integer(), nullable=True),
        sa.Column("approval_signature_id", sa.Integer(), nullable=True),
        sa.Column("not_required_signature_id", sa.Integer(), nullable=True),
        sa.Column("not_required_reason", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("authority_reference", sa.String(length=120), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligation.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["notification_record.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["drafted_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["approval_signature_id"], ["signature.id"]),
        sa.ForeignKeyConstraint(["not_required_signature_id"], ["signature.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["incident_attachment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "regime_code", "kind", "period_label", name="uq_notification_report"),
    )
    op.create_index("ix_notification_record_incident_id", "notification_record", ["incident_id"])
    op.create_index("ix_notification_record_regime_code", "notification_record", ["regime_code"])
    op.create_index("ix_notification_record_recall_id", "notification_record", ["recall_id"])
    op.create_index("ix_notification_record_state", "notification_record", ["state"])
    op.create_index("ix_notification_record_due_at", "notification_record", ["due_at"])
    op.create_index("ix_notification_open_due", "notification_record", ["state", "due_at"])


def downgrade() -> None:
    op.drop_table("notification_record")
