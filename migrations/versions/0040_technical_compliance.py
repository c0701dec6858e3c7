"""Technical-law compliance register: which laws are technical (conformity) laws, each product model's evidence
per law, and the re-assessment tasks an amendment opens; an amendment's source.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

UTC_DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("amendment", sa.Column("source", sa.Text(), nullable=False, server_default=sa.text("''")))

    op.create_table(
        "technical_law",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("evidence_expected", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_technical_law_law_id_law")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technical_law")),
        sa.UniqueConstraint("law_id", name="uq_technical_law_law"),
    )

    op.create_table(
        "compliance_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("withdrawn_at", UTC_DT, nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('certificate', 'test_report', 'declaration')", name=op.f("ck_compliance_evidence_kind")),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name=op.f("ck_compliance_evidence_expiry")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_compliance_evidence_product_id_product")),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_compliance_evidence_law_id_law")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_compliance_evidence_division_id_division")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_compliance_evidence_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["user_account.id"],
                                name=op.f("fk_compliance_evidence_withdrawn_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_evidence")),
    )
    for column in ("product_id", "law_id", "division_id"):
        op.create_index(op.f(f"ix_compliance_evidence_{column}"), "compliance_evidence", [column], unique=False)

    op.create_table(
        "reassessment_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("amendment_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("closed_at", UTC_DT, nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_reassessment_task_status")),
        sa.ForeignKeyConstraint(["amendment_id"], ["amendment.id"], name=op.f("fk_reassessment_task_amendment_id_amendment")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_reassessment_task_product_id_product")),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_reassessment_task_law_id_law")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_reassessment_task_division_id_division")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["user_account.id"],
                                name=op.f("fk_reassessment_task_closed_by_id_user_account")),
        sa.ForeignKeyConstraint(["evidence_id"], ["compliance_evidence.id"],
                                name=op.f("fk_reassessment_task_evidence_id_compliance_evidence")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reassessment_task")),
        sa.UniqueConstraint("amendment_id", "product_id", name="uq_reassessment_task_amendment_product"),
    )
    for column in ("product_id", "division_id", "status", "due_on"):
        op.create_index(op.f(f"ix_reassessment_task_{column}"), "reassessment_task", [column], unique=False)


def downgrade() -> None:
    op.drop_table("reassessment_task")
    op.drop_table("compliance_evidence")
    op.drop_table("technical_law")
    op.drop_column("amendment", "source")
