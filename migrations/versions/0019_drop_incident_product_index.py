"""Drop ix_incident_product_id: (product_id, aware_at, id) of migration 0016 begins with the same column and serves
every lookup by product (the product's incidents, the foreign-key check when a product changes), so the single
column index only cost time on every filing and space (1,000,000 entries at scale).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_incident_product_id", table_name="incident")


def downgrade() -> None:
    op.create_index("ix_incident_product_id", "incident", ["product_id"], unique=False)
