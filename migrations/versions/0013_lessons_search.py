"""Lessons search at scale: a change marker for the lessons-learned library, and lesson vectors kept in the row.

Lessons search keeps the counts it shows beside the results (how many lessons match, per product category,
failure mode, cause dimension, division and year) under the value of the counter row `lesson-library`
(qa_incidents/reviews/search.py). Triggers give it a fresh random value, in the writer's own transaction, on
every insert and delete of a lesson and every change of a column other than `times_opened` (which each reading
raises and which no count depends on), whatever makes the write (the ORM, Core, a bulk load, hand-written SQL).

PostgreSQL: ts_rank reads the whole tsvector of every matching lesson. A lesson row is over 2 kB, so the
vector (the largest value) used to be moved out to the TOAST table, and ranking 19,000 matches fetched each one
from there (about 110 of 140 ms). STORAGE MAIN keeps it in the row and moves the long texts out instead; the
column is rewritten once so that existing rows follow (about 15 s per 100,000 lessons; the same vectors).

Revision ID: 0013
Revises: 0015
Create Date: 2026-11-29 21:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
# Placed after 0015 (which was written against 0012) so that the history keeps a single head.
down_revision = "0015"
branch_labels = None
depends_on = None

MARKER = "lesson-library"
#: Every column of a lesson that search reads or shows; a new column that search uses must be added here.
WATCHED = ("id", "source", "source_ref", "review_id", "title", "summary", "product", "product_category",
           "failure_mode", "mechanism", "technical_cause", "process_cause", "framework_cause", "motivating_cause",
           "cause_category", "cause_dimension", "process_stage", "countermeasures", "design_review_checks", "division",
           "year", "published_at", "search_vector")
TOUCH_PG = (f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + floor(random() * 4e18)::bigint) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
TOUCH_SQLITE = (f"INSERT INTO counter (name, value) VALUES ('{MARKER}', 1 + abs(random() % 4000000000000000000)) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # `|| ''` makes a new (equal) value, so the rewrite stores every vector by the new rule.
        op.execute("ALTER TABLE lesson ALTER COLUMN search_vector SET STORAGE MAIN, "
                   "ALTER COLUMN search_vector TYPE tsvector USING search_vector || ''::tsvector")
        # A column whose type is rewritten loses its statistics, and similar lessons read the most common lexemes
        # from them (without them every term counts as rare and every lesson is ranked): gathered again at once.
        op.execute("ANALYZE lesson")
        op.execute(f"""
            CREATE FUNCTION touch_lesson_library() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {TOUCH_PG};
                RETURN NULL;
            END $$""")
        # Once per statement: a bulk load of 100,000 lessons touches the marker once.
        op.execute("CREATE TRIGGER lesson_touches_library AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "
                   f"{', '.join(WATCHED)} ON lesson FOR EACH STATEMENT EXECUTE FUNCTION touch_lesson_library()")
        op.execute(TOUCH_PG)
    else:
        # search_vector is not a column SQLite fills (lesson_fts is): search.index_lessons touches the marker itself.
        columns = ", ".join(c for c in WATCHED if c != "search_vector")
        for event, when in (("insert", "INSERT"), ("delete", "DELETE"), ("update", f"UPDATE OF {columns}")):
            op.execute(f"CREATE TRIGGER lesson_{event}_touches_library AFTER {when} ON lesson BEGIN {TOUCH_SQLITE}; END")
        op.execute(TOUCH_SQLITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS lesson_touches_library ON lesson")
        op.execute("DROP FUNCTION IF EXISTS touch_lesson_library()")
        op.execute("ALTER TABLE lesson ALTER COLUMN search_vector SET STORAGE EXTENDED")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS lesson_{event}_touches_library")
    op.execute(f"DELETE FROM counter WHERE name = '{MARKER}'")
