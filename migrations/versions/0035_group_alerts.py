"""Group-wide early alerts (reserved).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
