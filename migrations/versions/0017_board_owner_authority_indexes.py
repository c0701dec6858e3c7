"""Indexes for the deadline board filtered by owner or by authority, and for the notifications on My work.

The board walks each open state along (state, due_at, clock_start, id) and counts by urgency along it; a filter
on the owner or the authority was checked on every row read, so the planner read the whole table instead (a
parallel scan of every record, 50-150 ms with 200,000 records). With the filter's column in front, each walk
and each count is one index range over that owner's or that authority's open records:

- (owner_id, state, due_at, clock_start, id, half_time_at, division_id): "My work" and the board's owner filter.
  half_time_at lets "more than half the time used" be counted from the index (no second index by half time);
  division_id lets a viewer limited to their division be checked from the index too.
- (state, authority, due_at, clock_start, id, half_time_at): the authority filter. It begins with
  (state, authority), so it also serves the skip through the authorities (records.py, _authorities) and
  replaces that index.

Plain CREATE INDEX (no batch mode): SQLite would otherwise copy the whole table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLE = "notification_record"
#: (name, columns), as declared in NotificationRecord.__table_args__.
INDEXES = (
    ("ix_notification_owner_board",
     ["owner_id", "state", "due_at", "clock_start", "id", "half_time_at", "division_id"]),
    ("ix_notification_authority_board", ["state", "authority", "due_at", "clock_start", "id", "half_time_at"]),
)
#: Replaced by ix_notification_authority_board, which begins with the same columns.
REPLACED = ("ix_notification_open_authority", ["state", "authority"])


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, TABLE, columns, unique=False)
    op.drop_index(REPLACED[0], table_name=TABLE)


def downgrade() -> None:
    op.create_index(REPLACED[0], TABLE, REPLACED[1], unique=False)
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=TABLE, if_exists=True)
