"""Freshness registry (reserved).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
