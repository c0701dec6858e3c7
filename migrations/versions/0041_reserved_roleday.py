"""Reserved (no change yet).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
