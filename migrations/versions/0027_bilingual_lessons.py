"""Lessons across languages: the bilingual QA vocabulary and reading measures.

`qa_term` holds the English–Japanese term pairs (loaded here from data/lessons/qa_vocabulary.csv; edited by
administrators afterwards), and the counter row `qa-vocabulary` its edition. `lesson_reading` counts lesson opens
by where the reader came from and "this helped" marks; `lesson_search_miss` keeps searches that found nothing.
Lessons are indexed with the vocabulary from now on: on SQLite the full-text table is dropped and rebuilt at the
next search; on PostgreSQL run `qa-incidents lessons reindex` once.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 03:25:00
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

VOCABULARY = Path(__file__).resolve().parents[2] / "data" / "lessons" / "qa_vocabulary.csv"


def upgrade() -> None:
    qa_term = op.create_table(
        "qa_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("en", sa.String(length=120), nullable=False),
        sa.Column("ja", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("en", "ja", name="uq_qa_term_pair"),
    )
    op.create_table(
        "lesson_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lesson_id"], ["lesson.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lesson_reading_lesson_id", "lesson_reading", ["lesson_id"])
    op.create_table(
        "lesson_search_miss",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lesson_search_miss_at", "lesson_search_miss", ["at"])
    with VOCABULARY.open(encoding="utf-8", newline="") as f:
        rows = [{"en": r["en"].strip()[:120], "ja": r["ja"].strip()[:120], "kind": r["kind"][:20], "source": r["source"][:200],
                 "active": True, "version": 1} for r in csv.DictReader(f) if r.get("en", "").strip() and r.get("ja", "").strip()]
    op.bulk_insert(qa_term, rows)
    op.execute("INSERT INTO counter (name, value) VALUES ('qa-vocabulary', 1) "
               "ON CONFLICT (name) DO UPDATE SET value = counter.value + 1")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS lesson_fts")  # derived data: rebuilt with the vocabulary at the next search


def downgrade() -> None:
    op.execute("DELETE FROM counter WHERE name = 'qa-vocabulary'")
    op.drop_index("ix_lesson_search_miss_at", table_name="lesson_search_miss")
    op.drop_table("lesson_search_miss")
    op.drop_index("ix_lesson_reading_lesson_id", table_name="lesson_reading")
    op.drop_table("lesson_reading")
    op.drop_table("qa_term")
