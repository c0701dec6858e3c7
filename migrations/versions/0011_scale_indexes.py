"""Indexes for the register, the incident page and filing at scale.

The register filters by status (and, for division staff, by division) and sorts by a time, completed by
the id for keyset pagination; these composite indexes let one index range scan answer any page, the first
or the ten-thousandth, in the time it takes to read 50 rows.

The register's counts are remembered (incidents/service.py, register_counts) under the value of the
counter row `incident-register`; triggers give it a fresh random value in the writer's transaction on
every write to incidents that can change a count, whatever makes the write (the ORM, Core, a bulk load).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 18:20:00
"""

from __future__ import annotations

from alembic import op

MARKER = "incident-register"
#: The columns the register's counts filter on: an UPDATE of any other column leaves the counts as they are.
COUNTED = ("status", "severity", "division_id", "category_id", "country", "aware_at")

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: (name, table, columns), as declared in the models' __table_args__.
INDEXES = (
    ("ix_incident_status_aware_id", "incident", ["status", "aware_at", "id"]),
    ("ix_incident_status_occurred_id", "incident", ["status", "occurred_at", "id"]),
    ("ix_incident_division_status_aware_id", "incident", ["division_id", "status", "aware_at", "id"]),
    ("ix_incident_division_status_occurred_id", "incident", ["division_id", "status", "occurred_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION touch_incident_register() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + floor(random() * 4e18)::bigint)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value;
                RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER incident_touches_register AFTER INSERT OR DELETE OR UPDATE OF {', '.join(COUNTED)} "
                   "ON incident FOR EACH STATEMENT EXECUTE FUNCTION touch_incident_register()")
    else:
        touch = (f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + abs(random() % 4000000000000000000)) "
                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")
        for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(COUNTED)}"):
            op.execute(f"CREATE TRIGGER incident_{event.split()[0].lower()}_touches_register AFTER {event} ON incident "
                       f"BEGIN {touch} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incident_touches_register ON incident")
        op.execute("DROP FUNCTION IF EXISTS touch_incident_register()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_{event}_touches_register")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
