"""Internal targets per regime and administrators' holiday calendar days.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
