"""Internal targets per regime and administrators' holiday calendar days.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy, which would drop the table's triggers on SQLite).
    op.add_column("notification_record", sa.Column("target_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "internal_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("regime_code", sa.String(length=40), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["set_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_internal_target_regime_code", "internal_target", ["regime_code"])
    op.create_table(
        "calendar_day_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_code", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("made_by_id", sa.Integer(), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["made_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calendar_day_change_calendar_code", "calendar_day_change", ["calendar_code"])


def downgrade() -> None:
    op.drop_index("ix_calendar_day_change_calendar_code", "calendar_day_change")
    op.drop_table("calendar_day_change")
    op.drop_index("ix_internal_target_regime_code", "internal_target")
    op.drop_table("internal_target")
    op.drop_column("notification_record", "target_at")
