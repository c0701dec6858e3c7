"""Pre-aggregation for the dashboard, the deadline board and the warning scan.

A data version that triggers raise on every write that can change a dashboard figure, and the table of
figures counted at a version (reports/dashboard.py reuses them while the version stands still). The moment
half of a notification's time is used, kept by triggers, and indexes that let the deadline board count and
the warning scan pick out records from the indexes alone; the incident's division copied onto its
notifications, so that a division's board is read along its own index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The tables and columns the dashboard's cached figures are counted from. A change to any other column
#: (an incident's description, a record's draft) leaves the figures as they are and does not move the version.
WATCHED: dict[str, tuple[str, ...]] = {
    "incident": ("status", "severity", "division_id", "aware_at", "hazard"),
    "triage_decision": ("incident_id", "decided_at"),
    "notification_record": ("incident_id", "state", "clock_start", "due_at", "submitted_at"),
    "review": ("division_id", "process_stage"),
    "division": ("name",),
}
BUMP_SQLITE = "UPDATE data_version SET value = value + 1 WHERE name = 'dashboard';"


def _us(column: str) -> str:
    """SQLite: a stored datetime ("YYYY-MM-DD HH:MM:SS.ffffff", UTC) as whole microseconds since the epoch."""
    # strftime() works in milliseconds and would round .9995 s up: whole seconds come from the text without them.
    return (f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
            f"+ CAST(substr({column}, 21, 6) AS INTEGER))")


def _half_sqlite(start: str, due: str) -> str:
    """SQLite: start + (due - start) / 2 to the microsecond, written as the column stores datetimes."""
    half = f"({_us(start)} + ({_us(due)} - {_us(start)}) / 2)"
    return (f"CASE WHEN {start} IS NOT NULL AND {due} IS NOT NULL AND {due} > {start} THEN "
            f"strftime('%Y-%m-%d %H:%M:%S', {half} / 1000000, 'unixepoch') || '.' || printf('%06d', {half} % 1000000) END")


def _half_pg(start: str, due: str) -> str:
    # Added as seconds, never as days: adding days follows the session's time zone across a DST change.
    return (f"CASE WHEN {start} IS NOT NULL AND {due} IS NOT NULL AND {due} > {start} THEN "
            f"{start} + make_interval(secs => extract(epoch from ({due} - {start})) / 2) END")


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "dashboard_figures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # No row yet: the dashboard adds it at its first view (a copy of the tables' rows, as the tests make, then
    # never meets a row the migration wrote). Until it exists, a write has nothing to raise and nothing is reused.
    # Plain ALTER TABLE ADD COLUMN and CREATE INDEX (no batch mode): SQLite would otherwise copy the whole table,
    # which takes many minutes on a large deployment.
    op.add_column("notification_record", sa.Column("half_time_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("notification_record", sa.Column("division_id", sa.Integer(), nullable=True))
    op.drop_index("ix_notification_open_due", table_name="notification_record")
    for name, columns in (
            ("ix_notification_open_due_start", ["state", "due_at", "clock_start", "id"]),
            ("ix_notification_open_half", ["state", "half_time_at", "due_at"]),
            ("ix_notification_open_authority", ["state", "authority"]),
            ("ix_notification_division_due", ["division_id", "state", "due_at", "clock_start", "id"]),
            ("ix_notification_division_half", ["division_id", "state", "half_time_at", "due_at"]),
            ("ix_notification_division_authority", ["division_id", "state", "authority"])):
        op.create_index(name, "notification_record", columns)
    if op.get_bind().dialect.name == "postgresql":
        # Once per statement (a bulk load of a million rows bumps once). Writers are already serialised by the
        # audit chain's lock, so the row adds no waiting.
        op.execute("""
            CREATE FUNCTION bump_dashboard_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE data_version SET value = value + 1 WHERE name = 'dashboard';
                RETURN NULL;
            END $$""")
        op.execute(f"UPDATE notification_record SET half_time_at = {_half_pg('clock_start', 'due_at')}, "
                   f"division_id = (SELECT division_id FROM incident WHERE incident.id = notification_record.incident_id)")
        op.execute(f"""
            CREATE FUNCTION notification_half_time() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.half_time_at := {_half_pg('NEW.clock_start', 'NEW.due_at')};
                NEW.division_id := (SELECT division_id FROM incident WHERE incident.id = NEW.incident_id);
                RETURN NEW;
            END $$""")
        op.execute("CREATE TRIGGER notification_record_half_time BEFORE INSERT OR UPDATE OF clock_start, due_at, "
                   "incident_id, division_id ON notification_record FOR EACH ROW EXECUTE FUNCTION notification_half_time()")
        op.execute("""
            CREATE FUNCTION incident_division_to_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE notification_record SET division_id = NEW.division_id WHERE incident_id = NEW.id;
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER incident_division_to_notifications AFTER UPDATE OF division_id ON incident "
                   "FOR EACH ROW EXECUTE FUNCTION incident_division_to_notifications()")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_bumps_dashboard AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_dashboard_version()")
    else:
        division = "(SELECT division_id FROM incident WHERE incident.id = {}.incident_id)"
        op.execute(f"UPDATE notification_record SET half_time_at = {_half_sqlite('clock_start', 'due_at')}, "
                   f"division_id = {division.format('notification_record')}")
        half = (f"UPDATE notification_record SET half_time_at = {_half_sqlite('NEW.clock_start', 'NEW.due_at')}, "
                f"division_id = {division.format('NEW')} WHERE id = NEW.id;")
        op.execute(f"CREATE TRIGGER notification_record_half_time_insert AFTER INSERT ON notification_record BEGIN {half} END")
        op.execute("CREATE TRIGGER notification_record_half_time_update AFTER UPDATE OF clock_start, due_at, incident_id, "
                   f"division_id ON notification_record BEGIN {half} END")
        op.execute("CREATE TRIGGER incident_division_to_notifications AFTER UPDATE OF division_id ON incident BEGIN "
                   "UPDATE notification_record SET division_id = NEW.division_id WHERE incident_id = NEW.id; END")
        # SQLite has row triggers only: about 1.5 µs more per written row.
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_insert_bumps_dashboard AFTER INSERT ON {table} BEGIN {BUMP_SQLITE} END")
            op.execute(f"CREATE TRIGGER {table}_delete_bumps_dashboard AFTER DELETE ON {table} BEGIN {BUMP_SQLITE} END")
            op.execute(f"CREATE TRIGGER {table}_update_bumps_dashboard AFTER UPDATE OF {', '.join(columns)} ON {table} "
                       f"BEGIN {BUMP_SQLITE} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bumps_dashboard ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_dashboard_version()")
        op.execute("DROP TRIGGER IF EXISTS notification_record_half_time ON notification_record")
        op.execute("DROP FUNCTION IF EXISTS notification_half_time()")
        op.execute("DROP TRIGGER IF EXISTS incident_division_to_notifications ON incident")
        op.execute("DROP FUNCTION IF EXISTS incident_division_to_notifications()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_bumps_dashboard")
        op.execute("DROP TRIGGER IF EXISTS notification_record_half_time_insert")
        op.execute("DROP TRIGGER IF EXISTS notification_record_half_time_update")
        op.execute("DROP TRIGGER IF EXISTS incident_division_to_notifications")
    with op.batch_alter_table("notification_record", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_division_authority")
        batch_op.drop_index("ix_notification_division_half")
        batch_op.drop_index("ix_notification_division_due")
        batch_op.drop_column("division_id")
        batch_op.drop_index("ix_notification_open_authority")
        batch_op.drop_index("ix_notification_open_half")
        batch_op.drop_index("ix_notification_open_due_start")
        batch_op.create_index("ix_notification_open_due", ["state", "due_at"])
        batch_op.drop_column("half_time_at")
    op.drop_table("dashboard_figures")
    op.drop_table("data_version")
