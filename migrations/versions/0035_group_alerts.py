"""Group-wide early alerts: the catalogue's parts, suppliers and designs; alerts, the divisions they address and
their answers (append-only).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.migrate import append_only, drop_append_only

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

UTC_DT = sa.DateTime(timezone=True)
ANSWERS = ("pending", "affected", "not_affected", "investigating")


def _answer() -> sa.Enum:
    return sa.Enum(*ANSWERS, name="alertanswer", native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "product_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.CheckConstraint("kind IN ('part', 'design')", name=op.f("ck_product_part_kind")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_part_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_part")),
        sa.UniqueConstraint("product_id", "kind", "code", name="uq_product_part_code"),
    )
    op.create_index(op.f("ix_product_part_product_id"), "product_part", ["product_id"], unique=False)

    op.create_table(
        "group_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_group_alert_incident_id_incident")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_group_alert_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_alert")),
    )
    op.create_index(op.f("ix_group_alert_incident_id"), "group_alert", ["incident_id"], unique=False)

    op.create_table(
        "group_alert_division",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=500), nullable=False),
        sa.Column("answer", _answer(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["group_alert.id"], name=op.f("fk_group_alert_division_alert_id_group_alert")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_group_alert_division_division_id_division")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user_account.id"],
                                name=op.f("fk_group_alert_division_answered_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_alert_division")),
        sa.UniqueConstraint("alert_id", "division_id", name="uq_group_alert_division_alert"),
    )
    for column in ("alert_id", "division_id", "answer"):
        op.create_index(op.f(f"ix_group_alert_division_{column}"), "group_alert_division", [column], unique=False)

    op.create_table(
        "group_alert_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("addressee_id", sa.Integer(), nullable=False),
        sa.Column("answer", _answer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTC_DT, nullable=False),
        sa.CheckConstraint("answer <> 'pending' AND evidence <> ''",
                           name=op.f("ck_group_alert_answer_answered_with_evidence")),
        sa.ForeignKeyConstraint(["addressee_id"], ["group_alert_division.id"],
                                name=op.f("fk_group_alert_answer_addressee_id_group_alert_division")),
        sa.ForeignKeyConstraint(["attachment_id"], ["incident_attachment.id"],
                                name=op.f("fk_group_alert_answer_attachment_id_incident_attachment")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user_account.id"],
                                name=op.f("fk_group_alert_answer_answered_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_alert_answer")),
    )
    op.create_index(op.f("ix_group_alert_answer_addressee_id"), "group_alert_answer", ["addressee_id"], unique=False)
    append_only("group_alert_answer")  # a changed answer is a new row: the earlier one stays as it was


def downgrade() -> None:
    drop_append_only("group_alert_answer")
    for table in ("group_alert_answer", "group_alert_division", "group_alert", "product_part"):
        op.drop_table(table)
