"""Legal clocks: aware-site time zone, holiday calendars as data, decision clocks and internal targets.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
