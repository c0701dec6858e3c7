"""Reportability follow-ups (reserved).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
