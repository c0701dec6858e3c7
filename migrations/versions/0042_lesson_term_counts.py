"""Lesson term counts: how many lessons hold each lexeme of the PostgreSQL index (similar lessons' rarest terms).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lesson_term",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_lesson_term")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # unnest(tsvector) gives each lexeme of a lesson once: the count is the number of lessons holding it.
        op.execute("INSERT INTO lesson_term (term, lessons) "
                   "SELECT lexeme, count(*) FROM lesson, unnest(search_vector) GROUP BY lexeme")


def downgrade() -> None:
    op.drop_table("lesson_term")
