"""Public product safety notices of severe incidents, in signed versions.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.Column("withdraw_signature_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name=op.f("ck_safety_notice_status_known")),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (status <> 'withdrawn')",
                           name=op.f("ck_safety_notice_withdrawn_iff_withdrawn")),
        sa.CheckConstraint("status <> 'withdrawn' OR (withdrawn_reason <> '' AND withdraw_signature_id IS NOT NULL)",
                           name=op.f("ck_safety_notice_withdrawn_with_reason_and_signature")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_safety_notice_incident_id_incident")),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_safety_notice_division_id_division")),
        sa.ForeignKeyConstraint(["recall_id"], ["recall_campaign.id"],
                                name=op.f("fk_safety_notice_recall_id_recall_campaign")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_safety_notice_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["withdraw_signature_id"], ["signature.id"],
                                name=op.f("fk_safety_notice_withdraw_signature_id_signature")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_notice")),
        sa.UniqueConstraint("reference", name=op.f("uq_safety_notice_reference")),
    )
    op.create_index(op.f("ix_safety_notice_incident_id"), "safety_notice", ["incident_id"])
    op.create_index(op.f("ix_safety_notice_division_id"), "safety_notice", ["division_id"])
    op.create_index(op.f("ix_safety_notice_status"), "safety_notice", ["status"])
    op.create_table(
        "safety_notice_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("models", sa.Text(), nullable=False),
        sa.Column("lots", sa.Text(), nullable=False),
        sa.Column("serials", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("contact_phone", sa.String(length=60), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_url", sa.String(length=500), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('initial', 'update', 'correction')",
                           name=op.f("ck_safety_notice_version_kind_known")),
        sa.CheckConstraint("(published_at IS NULL) = (signature_id IS NULL)",
                           name=op.f("ck_safety_notice_version_published_iff_signed")),
        sa.ForeignKeyConstraint(["notice_id"], ["safety_notice.id"],
                                name=op.f("fk_safety_notice_version_notice_id_safety_notice")),
        sa.ForeignKeyConstraint(["drafted_by_id"], ["user_account.id"],
                                name=op.f("fk_safety_notice_version_drafted_by_id_user_account")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"],
                                name=op.f("fk_safety_notice_version_updated_by_id_user_account")),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"],
                                name=op.f("fk_safety_notice_version_signature_id_signature")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_notice_version")),
        sa.UniqueConstraint("notice_id", "number", name=op.f("uq_safety_notice_version_number")),
    )
    op.create_index(op.f("ix_safety_notice_version_notice_id"), "safety_notice_version", ["notice_id"])
    # A published version is what customers read: the database refuses to change it, and nothing is deleted.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION safety_notice_version_frozen() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR OLD.published_at IS NOT NULL THEN
                RAISE EXCEPTION 'a published safety notice version is never changed or deleted';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER safety_notice_version_frozen BEFORE UPDATE OR DELETE ON safety_notice_version "
                   "FOR EACH ROW EXECUTE FUNCTION safety_notice_version_frozen()")
        op.execute("""
            CREATE OR REPLACE FUNCTION safety_notice_kept() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'safety notices are never deleted'; END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER safety_notice_kept BEFORE DELETE ON safety_notice "
                   "FOR EACH ROW EXECUTE FUNCTION safety_notice_kept()")
    else:
        op.execute("CREATE TRIGGER safety_notice_version_frozen BEFORE UPDATE ON safety_notice_version "
                   "WHEN OLD.published_at IS NOT NULL "
                   "BEGIN SELECT RAISE(ABORT, 'a published safety notice version is never changed'); END")
        op.execute("CREATE TRIGGER safety_notice_version_kept BEFORE DELETE ON safety_notice_version "
                   "BEGIN SELECT RAISE(ABORT, 'safety notice versions are never deleted'); END")
        op.execute("CREATE TRIGGER safety_notice_kept BEFORE DELETE ON safety_notice "
                   "BEGIN SELECT RAISE(ABORT, 'safety notices are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS safety_notice_version_frozen ON safety_notice_version")
        op.execute("DROP FUNCTION IF EXISTS safety_notice_version_frozen()")
        op.execute("DROP TRIGGER IF EXISTS safety_notice_kept ON safety_notice")
        op.execute("DROP FUNCTION IF EXISTS safety_notice_kept()")
    else:
        for name in ("safety_notice_version_frozen", "safety_notice_version_kept", "safety_notice_kept"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_safety_notice_version_notice_id"), "safety_notice_version")
    op.drop_table("safety_notice_version")
    op.drop_index(op.f("ix_safety_notice_status"), "safety_notice")
    op.drop_index(op.f("ix_safety_notice_division_id"), "safety_notice")
    op.drop_index(op.f("ix_safety_notice_incident_id"), "safety_notice")
    op.drop_table("safety_notice")
