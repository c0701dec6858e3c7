"""In-app notifications and watchers; recall notices in several languages.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 03:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_inbox_item_incident_id", "inbox_item", ["incident_id"])
    op.create_index("ix_inbox_item_user_read", "inbox_item", ["user_id", "read_at"])
    op.create_table(
        "incident_watcher",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("incident_id", "user_id", name="uq_incident_watcher"),
    )
    op.create_index("ix_incident_watcher_incident_id", "incident_watcher", ["incident_id"])
    with op.batch_alter_table("recall_web_notice") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("recall_web_notice") as batch:
        batch.drop_column("language")
    op.drop_index("ix_incident_watcher_incident_id", table_name="incident_watcher")
    op.drop_table("incident_watcher")
    op.drop_index("ix_inbox_item_user_read", table_name="inbox_item")
    op.drop_index("ix_inbox_item_incident_id", table_name="inbox_item")
    op.drop_table("inbox_item")
