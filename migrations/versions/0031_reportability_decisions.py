"""A signed reportability decision for every candidate obligation.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table copy on SQLite: the record's triggers stay).
    op.add_column("notification_record", sa.Column("decision_pending", sa.Boolean(), nullable=False,
                                                   server_default=sa.false()))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE notification_record ADD COLUMN decision_signature_id INTEGER REFERENCES signature (id)")
    else:
        op.add_column("notification_record", sa.Column("decision_signature_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "notification_record", "signature", ["decision_signature_id"], ["id"])
    # Existing incidents get their decision records from `flask notifications derive-decisions` (it needs the
    # laws map and the reportability rules, which live in the application, not in a migration).


def downgrade() -> None:
    for name in ("decision_signature_id", "decision_pending"):
        op.drop_column("notification_record", name)
