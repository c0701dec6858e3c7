"""Customer contact data in fields of its own.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
