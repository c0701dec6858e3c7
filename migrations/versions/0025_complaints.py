"""Customer complaints, safety words and early-warning signals.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("symptom", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_contact", sa.String(length=200), nullable=False),
        sa.Column("safety_terms", sa.String(length=400), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_complaint_division_id_division")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_complaint_product_id_product")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_complaint_incident_id_incident")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_complaint_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("source", "external_id", name="uq_complaint_source_external"),
    )
    op.create_index("ix_complaint_division_flagged", "complaint", ["division_id", "flagged", "received_at"])
    op.create_index("ix_complaint_division_received", "complaint", ["division_id", "received_at"])
    op.create_index("ix_complaint_series", "complaint", ["week_start", "division_id", "model", "symptom"])
    op.create_index(op.f("ix_complaint_incident_id"), "complaint", ["incident_id"])

    op.create_table(
        "complaint_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("symptom", sa.String(length=80), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("cusum", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("series", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_complaint_signal_division_id_division")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_complaint_signal_product_id_product")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name=op.f("fk_complaint_signal_decided_by_id_user_account")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_complaint_signal_incident_id_incident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_signal")),
    )
    op.create_index(op.f("ix_complaint_signal_division_id"), "complaint_signal", ["division_id"])
    op.create_index(op.f("ix_complaint_signal_status"), "complaint_signal", ["status"])
    op.create_index("ix_complaint_signal_key", "complaint_signal", ["division_id", "model", "symptom"])

    op.create_table(
        "complaint_signal_member",
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["signal_id"], ["complaint_signal.id"],
                                name=op.f("fk_complaint_signal_member_signal_id_complaint_signal")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"],
                                name=op.f("fk_complaint_signal_member_complaint_id_complaint")),
        sa.PrimaryKeyConstraint("signal_id", "complaint_id", name=op.f("pk_complaint_signal_member")),
    )
    op.create_index(op.f("ix_complaint_signal_member_complaint_id"), "complaint_signal_member", ["complaint_id"])


def downgrade() -> None:
    op.drop_table("complaint_signal_member")
    op.drop_table("complaint_signal")
    op.drop_table("complaint")
