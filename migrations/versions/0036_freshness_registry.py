"""The dashboard's figures move again when a review changes (SQLite).

Migration 0021 added a column to `review` in batch mode, which on SQLite copies the table into a new one and so
drops its triggers: the three that raise the dashboard's data version on review writes (migration 0012) were gone,
and the dashboard's reviews by process stage stayed as counted until some other watched write. They are made again
here, as 0012 made them (the dashboard's marker is raised by one, in `data_version`, unlike the random counter
markers `core.migrate.marker_triggers` makes). PostgreSQL's ALTER TABLE keeps a table's triggers: nothing to do.
tests/services/test_freshness.py compares every marker's triggers with core/freshness.py's registry.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

#: As in migration 0012: the review columns the dashboard's figures are counted from.
COLUMNS = ("division_id", "process_stage")
BUMP_SQLITE = "UPDATE data_version SET value = value + 1 WHERE name = 'dashboard';"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"CREATE TRIGGER IF NOT EXISTS review_insert_bumps_dashboard AFTER INSERT ON review BEGIN {BUMP_SQLITE} END")
    op.execute(f"CREATE TRIGGER IF NOT EXISTS review_delete_bumps_dashboard AFTER DELETE ON review BEGIN {BUMP_SQLITE} END")
    op.execute(f"CREATE TRIGGER IF NOT EXISTS review_update_bumps_dashboard AFTER UPDATE OF {', '.join(COLUMNS)} ON review "
               f"BEGIN {BUMP_SQLITE} END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS review_{event}_bumps_dashboard")
