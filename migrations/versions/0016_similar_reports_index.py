"""An index for counting similar reports: a product's incidents within a window of company awareness.

The severity matrix counts an incident's similar reports (same product, aware_at within the matrix's window
before its own). With (product_id, aware_at, id) each count is one index range: on the triage page the whole
count, in the triage queue (My work, the scheduler's SLA scan) a probe of at most the largest `min_similar`
entries (incidents/workflow.py, _similar_at_most). The id makes it covering on PostgreSQL (an incident is not
its own similar report); SQLite keeps the rowid in every index anyway.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-29 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

#: (name, table, columns), as declared in the models' __table_args__.
INDEXES = (
    ("ix_incident_product_aware_id", "incident", ["product_id", "aware_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
