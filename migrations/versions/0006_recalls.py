"""Recall and repair campaigns, customer notices and progress.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recall_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("remedy", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("units_affected", sa.BigInteger(), nullable=False),
        sa.Column("target_percent", sa.Integer(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("stall_weeks", sa.Integer(), nullable=False),
        sa.Column("report_regimes", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("launch_signature_id", sa.Integer(), nullable=True),
        sa.Column("effectiveness_check", sa.Text(), nullable=False),
        sa.Column("effectiveness_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effectiveness_checked_by_id", sa.Integer(), nullable=True),
        sa.Column("closure_justification", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closure_signature_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(closed_at IS NULL) = (status <> 'closed')", name=op.f("ck_recall_campaign_closed_iff_closed")
        ),
        sa.CheckConstraint(
            "(launched_at IS NULL) = (status IN ('draft', 'withdrawn'))",
            name=op.f("ck_recall_campaign_launched_iff_launched"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'launched', 'closed', 'withdrawn')",
            name=op.f("ck_recall_campaign_status_known"),
        ),
        sa.CheckConstraint(
            "stall_weeks >= 1 AND units_affected >= 0", name=op.f("ck_recall_campaign_weeks_and_units")
        ),
        sa.CheckConstraint(
            "target_percent BETWEEN 1 AND 100", name=op.f("ck_recall_campaign_target_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["closure_signature_id"],
            ["signature.id"],
            name=op.f("fk_recall_campaign_closure_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_recall_campaign_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_recall_campaign_division_id_division")
        ),
        sa.ForeignKeyConstraint(
            ["effectiveness_checked_by_id"],
            ["user_account.id"],
            name=op.f("fk_recall_campaign_effectiveness_checked_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["launch_signature_id"],
            ["signature.id"],
            name=op.f("fk_recall_campaign_launch_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user_account.id"], name=op.f("fk_recall_campaign_owner_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user_account.id"], name=op.f("fk_recall_campaign_updated_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_campaign")),
        sa.UniqueConstraint("reference", name=op.f("uq_recall_campaign_reference")),
    )
    with op.batch_alter_table("recall_campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_campaign_division_id"), ["division_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recall_campaign_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recall_campaign_status"), ["status"], unique=False)

    op.create_table(
        "recall_advert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("paper", sa.String(length=200), nullable=False),
        sa.Column("edition", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("size", sa.String(length=80), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("text_as_run", sa.Text(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("image_name", sa.String(length=255), nullable=False),
        sa.Column("image_type", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_recall_advert_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_advert_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_advert")),
    )
    with op.batch_alter_table("recall_advert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_advert_recall_id"), ["recall_id"], unique=False)

    op.create_table(
        "recall_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_recall_incident_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["user_account.id"], name=op.f("fk_recall_incident_linked_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_incident_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_incident")),
        sa.UniqueConstraint("recall_id", "incident_id", name="uq_recall_incident_pair"),
    )
    with op.batch_alter_table("recall_incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_incident_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recall_incident_recall_id"), ["recall_id"], unique=False)

    op.create_table(
        "recall_lookup_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_lookup_day_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_lookup_day")),
        sa.UniqueConstraint("recall_id", "day", name="uq_recall_lookup_day_recall_day"),
    )
    with op.batch_alter_table("recall_lookup_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_lookup_day_recall_id"), ["recall_id"], unique=False)

    op.create_table(
        "recall_mailing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("recipients >= 0", name=op.f("ck_recall_mailing_recipients_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_recall_mailing_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_mailing_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_mailing")),
    )
    with op.batch_alter_table("recall_mailing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_mailing_recall_id"), ["recall_id"], unique=False)

    op.create_table(
        "recall_population",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("exclude", sa.Boolean(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("lot", sa.String(length=80), nullable=False),
        sa.Column("serial_first", sa.String(length=80), nullable=False),
        sa.Column("serial_last", sa.String(length=80), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_recall_population_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_population_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_population")),
    )
    with op.batch_alter_table("recall_population", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_population_recall_id"), ["recall_id"], unique=False)

    op.create_table(
        "recall_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("located", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("row_key", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "located >= 0 AND notified >= 0 AND repaired >= 0 AND replaced >= 0 AND refunded >= 0",
            name=op.f("ck_recall_progress_counts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_recall_progress_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_progress_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_progress")),
        sa.UniqueConstraint("recall_id", "row_key", name="uq_recall_progress_row_key"),
    )
    with op.batch_alter_table("recall_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_progress_recall_id"), ["recall_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recall_progress_recorded_on"), ["recorded_on"], unique=False)

    op.create_table(
        "recall_web_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(length=200), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("identification", sa.Text(), nullable=False),
        sa.Column("where_sold", sa.Text(), nullable=False),
        sa.Column("units", sa.Text(), nullable=False),
        sa.Column("hazard", sa.Text(), nullable=False),
        sa.Column("incidents", sa.Text(), nullable=False),
        sa.Column("what_to_do", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("picture_sha256", sa.String(length=64), nullable=True),
        sa.Column("picture_name", sa.String(length=255), nullable=False),
        sa.Column("picture_type", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_recall_web_notice_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["user_account.id"],
            name=op.f("fk_recall_web_notice_published_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall_campaign.id"], name=op.f("fk_recall_web_notice_recall_id_recall_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_web_notice")),
        sa.UniqueConstraint("recall_id", "number", name="uq_recall_web_notice_number"),
    )
    with op.batch_alter_table("recall_web_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_web_notice_recall_id"), ["recall_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recall_web_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_web_notice_recall_id"))

    op.drop_table("recall_web_notice")
    with op.batch_alter_table("recall_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_progress_recorded_on"))
        batch_op.drop_index(batch_op.f("ix_recall_progress_recall_id"))

    op.drop_table("recall_progress")
    with op.batch_alter_table("recall_population", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_population_recall_id"))

    op.drop_table("recall_population")
    with op.batch_alter_table("recall_mailing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_mailing_recall_id"))

    op.drop_table("recall_mailing")
    with op.batch_alter_table("recall_lookup_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_lookup_day_recall_id"))

    op.drop_table("recall_lookup_day")
    with op.batch_alter_table("recall_incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_incident_recall_id"))
        batch_op.drop_index(batch_op.f("ix_recall_incident_incident_id"))

    op.drop_table("recall_incident")
    with op.batch_alter_table("recall_advert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_advert_recall_id"))

    op.drop_table("recall_advert")
    with op.batch_alter_table("recall_campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_campaign_status"))
        batch_op.drop_index(batch_op.f("ix_recall_campaign_owner_id"))
        batch_op.drop_index(batch_op.f("ix_recall_campaign_division_id"))

    op.drop_table("recall_campaign")
