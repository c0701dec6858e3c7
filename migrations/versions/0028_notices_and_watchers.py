"""In-app notifications, watchers and mentions; documents rendered from one template.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 03:55:00
"""

from __future__ import annotations

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
