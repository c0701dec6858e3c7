"""Assignees, saved views (reserved).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
