"""The dashboard's figures kept under a change marker like every other kept value.

Until now the dashboard's figures were kept under a `data_version` row that triggers (migration 0012) raised by
one, in a table of its own; every other kept value is kept under a `counter` row that triggers give a fresh random
value (core/freshness.py). The dashboard now uses the same: its triggers are made again with
`core.migrate.marker_triggers` (a random value, so a rolled-back write's value never comes back), the figures
counted under the old numbers are dropped (the next view or the scheduler's `dashboard` job counts them again), and
`data_version` goes.

This also restores, on SQLite, the three triggers on `review` that migration 0021 lost: it added a column in batch
mode, which copies the table into a new one without its triggers, so the dashboard's reviews by process stage
stayed as counted until some other watched write. tests/services/test_freshness.py now compares every marker's
triggers with the registry in core/freshness.py, on both databases.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.migrate import drop_marker_triggers, marker_triggers

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

#: As in migration 0012: the tables and columns the dashboard's figures are counted from.
WATCHED: dict[str, tuple[str, ...]] = {
    "incident": ("status", "severity", "division_id", "aware_at", "hazard"),
    "triage_decision": ("incident_id", "decided_at"),
    "notification_record": ("incident_id", "state", "clock_start", "due_at", "submitted_at"),
    "review": ("division_id", "process_stage"),
    "division": ("name",),
}
BUMP = "UPDATE data_version SET value = value + 1 WHERE name = 'dashboard'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bumps_dashboard ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_truncate_bump_dashboard_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_dashboard_version()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_bumps_dashboard")
    op.execute("DELETE FROM dashboard_figures")
    op.drop_table("data_version")
    marker_triggers("dashboard", WATCHED)


def downgrade() -> None:
    drop_marker_triggers("dashboard", list(WATCHED))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS touch_dashboard()")
    op.execute("DELETE FROM counter WHERE name = 'dashboard'")
    op.execute("DELETE FROM dashboard_figures")
    op.create_table(
        "data_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    if postgres:
        op.execute(f"""
            CREATE FUNCTION bump_dashboard_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {BUMP};
                RETURN NULL;
            END $$""")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_bumps_dashboard AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_dashboard_version()")
            op.execute(f"CREATE TRIGGER {table}_truncate_bump_dashboard_version AFTER TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION bump_dashboard_version()")
    else:
        for table, columns in WATCHED.items():
            for event, when in (("insert", "INSERT"), ("delete", "DELETE"), ("update", f"UPDATE OF {', '.join(columns)}")):
                op.execute(f"CREATE TRIGGER {table}_{event}_bumps_dashboard AFTER {when} ON {table} BEGIN {BUMP}; END")
