"""Change markers for remembered register pages and for the laws map as pages read it.

The register page is remembered whole, per reader (qa_incidents/core/pagecache.py), under the value of the
counter row `register-page`; what the laws map gives a country and category on a day is remembered under
`laws-map` (notifications/service.py, obligations_shown). Triggers give a marker a fresh random value, in the
writer's own transaction, on every write to the tables it guards, whatever makes the write (the ORM, Core,
a bulk load, hand-written SQL).

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

#: marker → (short name for triggers, every table whose rows it guards).
MARKERS = {
    # A register page shows the incident's own columns, the names of its division, product and category,
    # and the filter's lists of divisions and categories.
    "register-page": ("register_page", ("incident", "division", "product", "product_category")),
    # What applies: jurisdictions (members, time zone), laws (in force), their categories and obligations,
    # and the category tree the coverage is inherited along.
    "laws-map": ("laws_map", ("jurisdiction", "law", "law_category", "obligation", "product_category")),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _fresh_pg(marker: str) -> str:
    return (f"INSERT INTO counter (name, value) VALUES ('{marker}', 1 + floor(random() * 4e18)::bigint) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value")


def _fresh_sqlite(marker: str) -> str:
    return (f"INSERT INTO counter (name, value) VALUES ('{marker}', 1 + abs(random() % 4000000000000000000)) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for marker, (short, tables) in MARKERS.items():
        if postgres:
            op.execute(f"""
                CREATE FUNCTION touch_{short}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    {_fresh_pg(marker)};
                    RETURN NULL;
                END $$""")
            for table in tables:
                op.execute(f"CREATE TRIGGER {table}_touches_{short} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION touch_{short}()")
            op.execute(_fresh_pg(marker))
        else:
            for table in tables:
                for event in EVENTS:
                    op.execute(f"CREATE TRIGGER {table}_{event.lower()}_touches_{short} AFTER {event} ON {table} "
                               f"BEGIN {_fresh_sqlite(marker)} END")
            op.execute(_fresh_sqlite(marker))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for marker, (short, tables) in MARKERS.items():
        for table in tables:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_touches_{short} ON {table}")
            else:
                for event in EVENTS:
                    op.execute(f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_touches_{short}")
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS touch_{short}()")
        op.execute(f"DELETE FROM counter WHERE name = '{marker}'")
