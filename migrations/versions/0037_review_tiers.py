"""Proportional reviews and safety tiers.

A review has a depth (short for S3/S4, full for S1/S2; reviews written before were written in the full form), the
dimensions where no cause was found, and a short review's reasons why a cause has no countermeasure. A countermeasure
has a safety tier (design, safeguard, usage information); those written before are "not recorded".

Columns are added with plain ALTER TABLE ADD COLUMN, never in batch mode: on SQLite batch mode copies `review` into a
new table without its change-marker triggers (see migration 0036).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review", sa.Column("depth", sa.String(length=8), server_default="full", nullable=False))
    op.add_column("review", sa.Column("no_cause", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("review", sa.Column("no_countermeasure_reasons", sa.JSON(), server_default="{}", nullable=False))
    op.add_column("countermeasure", sa.Column("safety_tier", sa.String(length=32), server_default="not_recorded",
                                              nullable=False))
    op.add_column("countermeasure", sa.Column("tier_reason", sa.Text(), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    for table, column in (("countermeasure", "tier_reason"), ("countermeasure", "safety_tier"),
                          ("review", "no_countermeasure_reasons"), ("review", "no_cause"), ("review", "depth")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
