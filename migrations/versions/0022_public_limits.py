"""Security: rate limits kept in the database, and other hardening.

- public_check_limit: the public serial check's rate limit per client (a keyed hash of the address), shared by
  every worker process and host.
- import_run.source_sample: what the mapping page shows of an uploaded file (columns, first rows, row count),
  read once at upload instead of on every view.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_check_limit",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_public_check_limit")),
    )
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_sample", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_column("source_sample")
    op.drop_table("public_check_limit")
