"""Legal clocks: aware-site time zone, holiday calendars as data, decision clocks and internal targets.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:10:00

Existing incidents get the time zone of the user who filed them as the aware site's zone (the zone their
times were most likely typed in); an incident whose filer has none keeps "" and is counted in the
authority's zone, as before. Open notification records are recomputed under the corrected rules by
`qa-incidents recompute-deadlines` (run after this migration; it writes an audit event per changed deadline
and tells the owners of any deadline that moved earlier).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _add_reference(column: str, table: str) -> None:
    """A nullable foreign-key column on notification_record without copying the table (its triggers stay)."""
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a REFERENCES column in place; Alembic would copy
        op.execute(f"ALTER TABLE notification_record ADD COLUMN {column} INTEGER REFERENCES {table} (id)")
    else:
        op.add_column("notification_record", sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(None, "notification_record", table, [column], ["id"])


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows a NOT NULL column with a constant default): no table copy, triggers kept.
    op.add_column("incident", sa.Column("aware_timezone", sa.String(length=64), nullable=False,
                                        server_default=sa.text("''")))
    _add_reference("clock_event_requested_by_id", "user_account")
    op.add_column("notification_record", sa.Column("clock_event_requested_at", sa.DateTime(timezone=True),
                                                   nullable=True))
    op.add_column("notification_record", sa.Column("clock_event_at", sa.DateTime(timezone=True), nullable=True))
    _add_reference("clock_event_signature_id", "signature")
    op.execute("UPDATE incident SET aware_timezone = COALESCE((SELECT u.timezone FROM user_account u "
               "WHERE u.id = incident.created_by_id), '')")


def downgrade() -> None:
    for name in ("clock_event_signature_id", "clock_event_at", "clock_event_requested_at",
                 "clock_event_requested_by_id"):
        op.drop_column("notification_record", name)
    op.drop_column("incident", "aware_timezone")
