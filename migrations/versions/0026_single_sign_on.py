"""Single sign-on: identity providers, group mappings, external identities.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 03:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.db import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ROLES = ("reporter", "division_qa", "head_office_qa", "executive", "engineer", "admin")


def _role() -> sa.Enum:
    return sa.Enum(*ROLES, name="role", native_enum=False, length=32, create_constraint=False)


def upgrade() -> None:
    op.create_table(
        "identity_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("protocol", sa.Enum("oidc", "saml", name="protocol", native_enum=False, length=8,
                                      create_constraint=False), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.String(length=500), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("idp_metadata", sa.Text(), nullable=False),
        sa.Column("email_claim", sa.String(length=120), nullable=False),
        sa.Column("name_claim", sa.String(length=120), nullable=False),
        sa.Column("groups_claim", sa.String(length=120), nullable=False),
        sa.Column("division_claim", sa.String(length=120), nullable=False),
        sa.Column("default_division_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["default_division_id"], ["division.id"],
                                name="fk_identity_provider_default_division_id_division"),
        sa.PrimaryKeyConstraint("id", name="pk_identity_provider"),
        sa.UniqueConstraint("slug", name="uq_identity_provider_slug"),
    )
    op.create_table(
        "sso_group_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("role", _role(), nullable=True),
        sa.Column("division_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["identity_provider.id"],
                                name="fk_sso_group_mapping_provider_id_identity_provider"),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name="fk_sso_group_mapping_division_id_division"),
        sa.PrimaryKeyConstraint("id", name="pk_sso_group_mapping"),
    )
    op.create_index("ix_sso_group_mapping_provider_id", "sso_group_mapping", ["provider_id"])
    op.create_table(
        "sso_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(), nullable=True),
        sa.Column("deactivated_for_groups", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["identity_provider.id"],
                                name="fk_sso_identity_provider_id_identity_provider"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name="fk_sso_identity_user_id_user_account"),
        sa.PrimaryKeyConstraint("id", name="pk_sso_identity"),
        sa.UniqueConstraint("provider_id", "subject", name="uq_sso_identity_provider_subject"),
    )
    op.create_index("ix_sso_identity_user_id", "sso_identity", ["user_id"])
    op.create_table(
        "sso_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_login_restricted", sa.Boolean(), nullable=False),
        sa.Column("break_glass_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["break_glass_user_id"], ["user_account.id"],
                                name="fk_sso_setting_break_glass_user_id_user_account"),
        sa.PrimaryKeyConstraint("id", name="pk_sso_setting"),
    )
    op.create_table(
        "sso_reauthentication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=120), nullable=False),
        sa.Column("authenticated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name="fk_sso_reauthentication_user_id_user_account"),
        sa.ForeignKeyConstraint(["provider_id"], ["identity_provider.id"],
                                name="fk_sso_reauthentication_provider_id_identity_provider"),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"],
                                name="fk_sso_reauthentication_signature_id_signature"),
        sa.PrimaryKeyConstraint("id", name="pk_sso_reauthentication"),
        sa.UniqueConstraint("code_sha256", name="uq_sso_reauthentication_code_sha256"),
    )
    op.create_index("ix_sso_reauthentication_user_id", "sso_reauthentication", ["user_id"])


def downgrade() -> None:
    for table in ("sso_reauthentication", "sso_setting", "sso_identity", "sso_group_mapping", "identity_provider"):
        op.drop_table(table)
