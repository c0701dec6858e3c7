"""TRUNCATE moves the change markers on PostgreSQL too.

Values kept per process (register counts and pages, the laws map, the deadline board, the dashboard's figures)
stay valid while their marker keeps its value; triggers give it a fresh one on every insert, update or delete of
the tables it guards (migrations 0011, 0012, 0014, 0015). On PostgreSQL a TRUNCATE fires none of those triggers,
so a table emptied that way (by hand: the application never truncates) would have left kept values in place.
These statement triggers call the same functions on TRUNCATE; lessons had one already (0013). SQLite has no
TRUNCATE: its `DELETE FROM t` without a condition fires the row triggers when the table has any.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 01:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: function (created by the earlier migration) → the tables whose writes call it.
GUARDED = {
    "touch_incident_register": ("incident",),
    "bump_dashboard_version": ("incident", "triage_decision", "notification_record", "review", "division"),
    "touch_notification_board": ("notification_record",),
    "touch_register_page": ("incident", "division", "product", "product_category"),
    "touch_laws_map": ("jurisdiction", "law", "law_category", "obligation", "product_category"),
}


def _name(function: str, table: str) -> str:
    return f"{table}_truncate_{function}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function, tables in GUARDED.items():
        for table in tables:
            op.execute(f"CREATE TRIGGER {_name(function, table)} AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function, tables in GUARDED.items():
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {_name(function, table)} ON {table}")
