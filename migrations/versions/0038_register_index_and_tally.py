"""The register at scale: a full-text index for its text filter, and per-status counts kept by triggers.

Text: on SQLite an FTS5 table `incident_fts` (trigram tokenizer, so any substring of three characters or more is
found, Japanese included) with the incident table as its content, kept by triggers; on PostgreSQL a trigram GIN
index (pg_trgm) over the same columns joined, which `ILIKE '%term%'` uses. Both give what the register's filter
always gave (a case-insensitive substring of the reference, title, description, lots, serials or place), without
reading every incident.

Counts: `incident_tally` holds how many incidents there are per status, division and severity, at eight grains:
with or without the category, the country and the month of awareness (UTC) in the key. Triggers on `incident`
keep it in the writer's own transaction (every writer: the ORM, a bulk import, hand-written SQL), so the register
sums a few hundred rows of one grain instead of counting incidents.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

#: The grains: bit 1 keeps the category, bit 2 the country, bit 4 the month of awareness (the rest is 0 or '').
GRAINS = range(8)
#: The columns of the text filter (the product's model and name are matched in the product table).
TEXT_COLUMNS = ("reference", "title", "description", "lot_numbers", "serial_numbers", "place")
KEYED = ("status", "severity", "division_id", "category_id", "country", "aware_at")
TALLY_KEY = "grain, category_id, country, month, division_id, severity, status"


def _month(row: str, postgres: bool) -> str:
    if postgres:
        return (f"(EXTRACT(YEAR FROM {row}.aware_at AT TIME ZONE 'UTC') * 100 "
                f"+ EXTRACT(MONTH FROM {row}.aware_at AT TIME ZONE 'UTC'))::int")
    return f"CAST(strftime('%Y%m', {row}.aware_at) AS INTEGER)"


def _keyed_rows(row: str, sign: int, postgres: bool) -> str:
    """The tally rows of one incident (`row` NEW or OLD, or a table alias), at every grain, counting `sign`."""
    grains = " UNION ALL ".join(f"SELECT {g} AS g" for g in GRAINS)
    return (f"SELECT grains.g AS grain, "
            f"CASE WHEN grains.g & 1 = 1 THEN {row}.category_id ELSE 0 END AS category_id, "
            f"CASE WHEN grains.g & 2 = 2 THEN {row}.country ELSE '' END AS country, "
            f"CASE WHEN grains.g & 4 = 4 THEN {_month(row, postgres)} ELSE 0 END AS month, "
            f"{row}.division_id AS division_id, COALESCE({row}.severity, '') AS severity, {row}.status AS status, "
            f"{sign} AS d FROM {{source}} CROSS JOIN ({grains}) AS grains")


def _upsert(select_rows: str) -> str:
    """Add the signed rows to the tally, one row per key (PostgreSQL may not update a row twice in one INSERT)."""
    return (f"INSERT INTO incident_tally ({TALLY_KEY}, n) SELECT {TALLY_KEY}, SUM(d) FROM ({select_rows}) AS moved "
            f"WHERE true GROUP BY {TALLY_KEY} HAVING SUM(d) <> 0 "
            "ON CONFLICT (grain, category_id, country, month, division_id, severity, status) "
            "DO UPDATE SET n = incident_tally.n + excluded.n")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "incident_tally",
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "category_id", "country", "month", "division_id", "severity", "status"),
    )
    if postgres:
        op.execute(f"""
            CREATE FUNCTION incident_tally_moves() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {_upsert(_keyed_rows('nw', 1, True).format(source='new_rows AS nw'))};
                ELSIF TG_OP = 'DELETE' THEN
                    {_upsert(_keyed_rows('od', -1, True).format(source='old_rows AS od'))};
                ELSE
                    {_upsert(_keyed_rows('od', -1, True).format(source='old_rows AS od') + ' UNION ALL '
                             + _keyed_rows('nw', 1, True).format(source='new_rows AS nw'))};
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("""
            CREATE FUNCTION incident_tally_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM incident_tally;
                RETURN NULL;
            END $$""")
        # Statement triggers over transition tables: a bulk insert adds to each tally row once.
        op.execute("CREATE TRIGGER incident_tally_insert AFTER INSERT ON incident REFERENCING NEW TABLE AS new_rows "
                   "FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_moves()")
        op.execute("CREATE TRIGGER incident_tally_update AFTER UPDATE ON incident REFERENCING OLD TABLE AS old_rows "
                   "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_moves()")
        op.execute("CREATE TRIGGER incident_tally_delete AFTER DELETE ON incident REFERENCING OLD TABLE AS old_rows "
                   "FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_moves()")
        op.execute("CREATE TRIGGER incident_tally_truncate AFTER TRUNCATE ON incident "
                   "FOR EACH STATEMENT EXECUTE FUNCTION incident_tally_emptied()")
    else:
        op.execute(f"CREATE TRIGGER incident_tally_insert AFTER INSERT ON incident BEGIN "
                   f"{_upsert(_keyed_rows('NEW', 1, False).format(source='(SELECT 1)'))}; END")
        op.execute(f"CREATE TRIGGER incident_tally_delete AFTER DELETE ON incident BEGIN "
                   f"{_upsert(_keyed_rows('OLD', -1, False).format(source='(SELECT 1)'))}; END")
        op.execute(f"CREATE TRIGGER incident_tally_update AFTER UPDATE OF {', '.join(KEYED)} ON incident BEGIN "
                   f"{_upsert(_keyed_rows('OLD', -1, False).format(source='(SELECT 1)') + ' UNION ALL ' + _keyed_rows('NEW', 1, False).format(source='(SELECT 1)'))}; END")
    op.execute(_upsert(_keyed_rows("incident", 1, postgres).format(source="incident")))

    if postgres:
        # pg_trgm ships with PostgreSQL (contrib); creating it needs the right to, which the owner of a new database
        # has on PostgreSQL 13 and later (it is a trusted extension).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_incident_text_trgm ON incident USING gin (({TEXT_SQL}) gin_trgm_ops)")
    else:
        op.execute(f"CREATE VIRTUAL TABLE incident_fts USING fts5({', '.join(TEXT_COLUMNS)}, content='incident', "
                   "content_rowid='id', tokenize='trigram')")
        new = ", ".join(f"NEW.{c}" for c in TEXT_COLUMNS)
        old = ", ".join(f"OLD.{c}" for c in TEXT_COLUMNS)
        columns = ", ".join(TEXT_COLUMNS)
        add = f"INSERT INTO incident_fts (rowid, {columns}) VALUES (NEW.id, {new});"
        remove = f"INSERT INTO incident_fts (incident_fts, rowid, {columns}) VALUES ('delete', OLD.id, {old});"
        op.execute(f"CREATE TRIGGER incident_fts_insert AFTER INSERT ON incident BEGIN {add} END")
        op.execute(f"CREATE TRIGGER incident_fts_delete AFTER DELETE ON incident BEGIN {remove} END")
        op.execute(f"CREATE TRIGGER incident_fts_update AFTER UPDATE OF {columns} ON incident BEGIN {remove} {add} END")
        op.execute("INSERT INTO incident_fts (incident_fts) VALUES ('rebuild')")


#: The text the PostgreSQL index holds (incidents/service.py TEXT_SQL is the same expression; the planner uses the
#: index only for that very expression). The columns are NOT NULL; ' ' never occurs in a search term.
TEXT_SQL = " || ' ' || ".join(TEXT_COLUMNS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_incident_text_trgm")
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_tally_{event} ON incident")
        op.execute("DROP FUNCTION IF EXISTS incident_tally_moves()")
        op.execute("DROP FUNCTION IF EXISTS incident_tally_emptied()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_tally_{event}")
            op.execute(f"DROP TRIGGER IF EXISTS incident_fts_{event}")
        op.execute("DROP TABLE IF EXISTS incident_fts")
    op.drop_table("incident_tally")
