"""Customer contact data in fields of its own.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


COLUMNS = (("customer_name", 200), ("customer_phone", 50), ("customer_email", 254), ("customer_address", 500))


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: existing incidents keep every value and get empty contact fields.
    for name, length in COLUMNS:
        op.add_column("incident", sa.Column(name, sa.String(length=length), nullable=False,
                                            server_default=sa.text("''")))


def downgrade() -> None:
    for name, _length in reversed(COLUMNS):
        op.execute(sa.text(f"ALTER TABLE incident DROP COLUMN {name}"))
