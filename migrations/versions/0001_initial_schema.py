"""Initial schema: divisions, users, product catalogue, incidents, comments, attachments, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:30:39.200114
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.migrate import append_only as _append_only
from qa_incidents.core.migrate import drop_append_only as _drop_append_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counter")),
    )
    op.create_table(
        "division",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_head_office", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_division")),
        sa.UniqueConstraint("code", name=op.f("uq_division_code")),
        sa.UniqueConstraint("name", name=op.f("uq_division_name")),
    )
    op.create_table(
        "product_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["product_category.id"],
            name=op.f("fk_product_category_parent_id_product_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_category")),
        sa.UniqueConstraint("code", name=op.f("uq_product_category_code")),
    )
    with op.batch_alter_table("product_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_category_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["product_category.id"], name=op.f("fk_product_category_id_product_category")
        ),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_product_division_id_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("division_id", "model", name="uq_product_division_model"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_division_id"), ["division_id"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "REPORTER",
                "DIVISION_QA",
                "HEAD_OFFICE_QA",
                "EXECUTIVE",
                "ENGINEER",
                "ADMIN",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_user_account_division_id_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_division_id"), ["division_id"], unique=False)

    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "triaged",
                "escalation_requested",
                "escalated",
                "contained",
                "under_review",
                "closed",
                name="status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum("S1", "S2", "S3", "S4", name="severity", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("lot_numbers", sa.Text(), nullable=False),
        sa.Column("serial_numbers", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "customer_complaint",
                "service_report",
                "authority_inquiry",
                "media",
                "internal_test",
                name="source",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "hazard",
            sa.Enum(
                "fire_burn",
                "electric_shock",
                "overheating",
                "co_gas",
                "mechanical",
                "chemical",
                "structural_failure",
                "choking",
                "other",
                name="hazard",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("serious_injuries", sa.Integer(), nullable=False),
        sa.Column("minor_injuries", sa.Integer(), nullable=False),
        sa.Column("fire", sa.Boolean(), nullable=False),
        sa.Column("smoke", sa.Boolean(), nullable=False),
        sa.Column("co_poisoning", sa.Boolean(), nullable=False),
        sa.Column("property_damage", sa.Boolean(), nullable=False),
        sa.Column("no_harm", sa.Boolean(), nullable=False),
        sa.Column("units_in_field", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("aware_at >= occurred_at", name=op.f("ck_incident_aware_not_before_occurred")),
        sa.CheckConstraint(
            "deaths >= 0 AND serious_injuries >= 0 AND minor_injuries >= 0 AND units_in_field >= 0",
            name=op.f("ck_incident_counts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["product_category.id"], name=op.f("fk_incident_category_id_product_category")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_incident_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_incident_division_id_division")
        ),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_incident_product_id_product")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user_account.id"], name=op.f("fk_incident_updated_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.UniqueConstraint("reference", name=op.f("uq_incident_reference")),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_aware_at"), ["aware_at"], unique=False)
        batch_op.create_index("ix_incident_aware_id", ["aware_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_division_id"), ["division_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index("ix_incident_occurred_id", ["occurred_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_severity"), ["severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_audit_event_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_audit_event_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_event_entity", ["entity_type", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "incident_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_incident_attachment_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_incident_attachment_uploaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_attachment")),
    )
    with op.batch_alter_table("incident_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_attachment_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_attachment_sha256"), ["sha256"], unique=False)

    op.create_table(
        "incident_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_incident_comment_author_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_incident_comment_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_comment")),
    )
    with op.batch_alter_table("incident_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_comment_incident_id"), ["incident_id"], unique=False)
    _append_only("audit_event")


def downgrade() -> None:
    _drop_append_only("audit_event")
    with op.batch_alter_table("incident_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_comment_incident_id"))

    op.drop_table("incident_comment")
    with op.batch_alter_table("incident_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_attachment_sha256"))
        batch_op.drop_index(batch_op.f("ix_incident_attachment_incident_id"))

    op.drop_table("incident_attachment")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_incident_id"))
        batch_op.drop_index("ix_audit_event_entity")
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))

    op.drop_table("audit_event")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_severity"))
        batch_op.drop_index(batch_op.f("ix_incident_product_id"))
        batch_op.drop_index("ix_incident_occurred_id")
        batch_op.drop_index(batch_op.f("ix_incident_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_incident_division_id"))
        batch_op.drop_index(batch_op.f("ix_incident_created_at"))
        batch_op.drop_index(batch_op.f("ix_incident_country"))
        batch_op.drop_index(batch_op.f("ix_incident_category_id"))
        batch_op.drop_index("ix_incident_aware_id")
        batch_op.drop_index(batch_op.f("ix_incident_aware_at"))

    op.drop_table("incident")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_division_id"))

    op.drop_table("user_account")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_division_id"))
        batch_op.drop_index(batch_op.f("ix_product_category_id"))

    op.drop_table("product")
    with op.batch_alter_table("product_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_category_parent_id"))

    op.drop_table("product_category")
    op.drop_table("division")
    op.drop_table("counter")
