"""The laws map: jurisdictions, laws, covered categories, reporting obligations, amendments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:04:14.250431
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jurisdiction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_bloc", sa.Boolean(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=False),
        sa.Column("holiday_subdiv", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jurisdiction")),
        sa.UniqueConstraint("code", name=op.f("uq_jurisdiction_code")),
    )
    op.create_table(
        "law",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("short_name", sa.String(length=60), nullable=False),
        sa.Column("name_original", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("citation", sa.String(length=300), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("in_force_from", sa.Date(), nullable=True),
        sa.Column("repealed_on", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("unconfirmed", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdiction.id"], name=op.f("fk_law_jurisdiction_id_jurisdiction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law")),
        sa.UniqueConstraint("short_name", name=op.f("uq_law_short_name")),
    )
    with op.batch_alter_table("law", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_law_jurisdiction_id"), ["jurisdiction_id"], unique=False)

    op.create_table(
        "amendment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("promulgated_on", sa.Date(), nullable=True),
        sa.Column("enforced_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("affected_categories", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "promulgated_on IS NULL OR promulgated_on <= enforced_on",
            name=op.f("ck_amendment_promulgated_before_enforced"),
        ),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_amendment_law_id_law")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amendment")),
    )
    with op.batch_alter_table("amendment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_amendment_enforced_on"), ["enforced_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_amendment_law_id"), ["law_id"], unique=False)

    op.create_table(
        "law_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["product_category.id"],
            name=op.f("fk_law_category_category_id_product_category"),
        ),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_law_category_law_id_law")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_category")),
    )
    with op.batch_alter_table("law_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_law_category_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_law_category_law_id"), ["law_id"], unique=False)

    op.create_table(
        "obligation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_id", sa.Integer(), nullable=False),
        sa.Column("regime_code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("trigger_harms", sa.JSON(), nullable=False),
        sa.Column("trigger_text", sa.Text(), nullable=False),
        sa.Column("applies_to_markets", sa.Boolean(), nullable=False),
        sa.Column("required_fields", sa.JSON(), nullable=False),
        sa.Column("follow_ups", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=300), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("unconfirmed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["law_id"], ["law.id"], name=op.f("fk_obligation_law_id_law")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation")),
        sa.UniqueConstraint("regime_code", name=op.f("uq_obligation_regime_code")),
    )
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligation_law_id"), ["law_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligation_law_id"))

    op.drop_table("obligation")
    with op.batch_alter_table("law_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_law_category_law_id"))
        batch_op.drop_index(batch_op.f("ix_law_category_category_id"))

    op.drop_table("law_category")
    with op.batch_alter_table("amendment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_amendment_law_id"))
        batch_op.drop_index(batch_op.f("ix_amendment_enforced_on"))

    op.drop_table("amendment")
    with op.batch_alter_table("law", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_law_jurisdiction_id"))

    op.drop_table("law")
    op.drop_table("jurisdiction")
