"""Tamper-evident audit trail: each event carries the hash of the previous one; log-in throttling.

The events already in the database are chained in id order. The append-only triggers refuse
UPDATE, so they are dropped for the backfill and put back at once, in the same transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.audit import GENESIS_HASH, event_hash
from qa_incidents.core.db import UTCDateTime
from qa_incidents.core.migrate import append_only as _append_only
from qa_incidents.core.migrate import drop_append_only as _drop_append_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The table as this migration knows it, with the same value types the application reads.
audit_event = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("actor_id", sa.Integer()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.Integer()),
    sa.column("incident_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("changes", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    _drop_append_only("audit_event")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    connection = op.get_bind()
    previous = GENESIS_HASH
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(audit_event).where(audit_event.c.id > last_id).order_by(audit_event.c.id).limit(1000)
        ).all()
        if not rows:
            break
        for row in rows:
            digest = event_hash(row, previous)
            connection.execute(
                audit_event.update().where(audit_event.c.id == row.id).values(prev_hash=previous, hash=digest)
            )
            previous = digest
            last_id = row.id

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    _append_only("audit_event")

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("email", name=op.f("uq_login_throttle_email")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    _drop_append_only("audit_event")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    _append_only("audit_event")
