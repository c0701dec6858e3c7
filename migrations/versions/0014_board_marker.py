"""A change marker for the deadline board's remembered counts.

The board remembers (notifications/records.py, board) how many open records a viewer may see, how many have no
deadline and which authorities they are owed to, under the value of the counter row `notification-board`; triggers
give it a fresh random value in the writer's transaction on every insert or delete of a notification record and
every change of a column those figures filter or count on, whatever makes the write (the ORM, Core, a bulk load).
Until a record is written the row is missing and nothing is remembered; the first board view then gives it a value.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:30:00
"""

from __future__ import annotations

from alembic import op

MARKER = "notification-board"
#: The columns the board's remembered figures depend on: an UPDATE of any other column leaves them as they are.
COUNTED = ("state", "due_at", "division_id", "authority", "regime_code", "owner_id")

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION touch_notification_board() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + floor(random() * 4e18)::bigint)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value;
                RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER notification_record_touches_board AFTER INSERT OR DELETE OR UPDATE OF "
                   f"{', '.join(COUNTED)} ON notification_record FOR EACH STATEMENT EXECUTE FUNCTION touch_notification_board()")
    else:
        touch = (f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + abs(random() % 4000000000000000000)) "
                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")
        for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(COUNTED)}"):
            op.execute(f"CREATE TRIGGER notification_record_{event.split()[0].lower()}_touches_board AFTER {event} "
                       f"ON notification_record BEGIN {touch} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notification_record_touches_board ON notification_record")
        op.execute("DROP FUNCTION IF EXISTS touch_notification_board()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS notification_record_{event}_touches_board")
