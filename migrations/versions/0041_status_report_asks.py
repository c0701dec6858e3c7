"""Status reports: what the division needs from management, apart from its narrative.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pending_status_report", sa.Column("asks", sa.Text(), nullable=False, server_default=sa.text("''")))


def downgrade() -> None:
    op.drop_column("pending_status_report", "asks")
