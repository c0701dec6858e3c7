"""A change marker for remembered register pages.

The register page is remembered whole, per reader (qa_incidents/core/pagecache.py), under the value of the
counter row `register-page`. Triggers give it a fresh random value, in the writer's own transaction, on every
write to the tables the page shows: incidents (any column), divisions, products and product categories,
whatever makes the write (the ORM, Core, a bulk load, hand-written SQL).

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-29 21:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

MARKER = "register-page"
#: Every table whose rows a register page shows (the incident's own columns, the names of its division,
#: product and category, and the filter's lists of divisions and categories).
TABLES = ("incident", "division", "product", "product_category")
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION touch_register_page() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + floor(random() * 4e18)::bigint)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value;
                RETURN NULL;
            END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_touches_register_page AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION touch_register_page()")
        op.execute(f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + floor(random() * 4e18)::bigint) "
                   "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
    else:
        touch = (f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + abs(random() % 4000000000000000000)) "
                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"CREATE TRIGGER {table}_{event.lower()}_touches_register_page AFTER {event} ON {table} "
                           f"BEGIN {touch} END")
        op.execute(touch)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_touches_register_page ON {table}")
        op.execute("DROP FUNCTION IF EXISTS touch_register_page()")
    else:
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_touches_register_page")
    op.execute(f"DELETE FROM counter WHERE name = '{MARKER}'")
