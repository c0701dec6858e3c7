"""Risk assessments of recall and safety-notice decisions; parts and designs that can be retired.

`risk_assessment` keeps each assessment (R-Map, EU method, or the recorded reason for none) of a recall or a
safety notice; rows are never changed. `product_part.active` lets an administrator retire a part or design of the
catalogue (nothing is deleted). The column is added with plain ALTER TABLE ADD COLUMN, never in batch mode (see
migration 0036).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_reference", sa.String(length=40), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("assessed_by_id", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("subject_type IN ('recall', 'safety_notice')", name=op.f("ck_risk_assessment_subject_known")),
        sa.CheckConstraint("method IN ('r_map', 'eu_gpsr', 'skipped')", name=op.f("ck_risk_assessment_method_known")),
        sa.CheckConstraint("(method = 'skipped') = (result = '')", name=op.f("ck_risk_assessment_result_iff_assessed")),
        sa.CheckConstraint("rationale <> ''", name=op.f("ck_risk_assessment_rationale_given")),
        sa.ForeignKeyConstraint(["assessed_by_id"], ["user_account.id"],
                                name=op.f("fk_risk_assessment_assessed_by_id_user_account")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_risk_assessment_division_id_division")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_risk_assessment_incident_id_incident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
    )
    op.create_index("ix_risk_assessment_subject", "risk_assessment", ["subject_type", "subject_id"], unique=False)
    op.create_index(op.f("ix_risk_assessment_division_id"), "risk_assessment", ["division_id"], unique=False)
    op.create_index(op.f("ix_risk_assessment_incident_id"), "risk_assessment", ["incident_id"], unique=False)
    op.add_column("product_part", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("product_part", schema=None) as batch_op:
        batch_op.drop_column("active")
    op.drop_index(op.f("ix_risk_assessment_incident_id"), table_name="risk_assessment")
    op.drop_index(op.f("ix_risk_assessment_division_id"), table_name="risk_assessment")
    op.drop_index("ix_risk_assessment_subject", table_name="risk_assessment")
    op.drop_table("risk_assessment")
