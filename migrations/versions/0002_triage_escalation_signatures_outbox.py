"""Triage decisions, severity matrix versions, escalations, electronic signatures, e-mail outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:36:48.201752
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.migrate import append_only as _append_only
from qa_incidents.core.migrate import drop_append_only as _drop_append_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "severity_matrix_version",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_severity_matrix_version_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_severity_matrix_version")),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("to_addrs", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_outbox_message_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_message_dedupe_key")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_message_status"), ["status"], unique=False)

    op.create_table(
        "signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=120), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meaning", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_signature_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["user_account.id"], name=op.f("fk_signature_signer_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
    )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signature_signer_id"), ["signer_id"], unique=False)

    op.create_table(
        "triage_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matrix_version", sa.Integer(), nullable=False),
        sa.Column(
            "suggested",
            sa.Enum("S1", "S2", "S3", "S4", name="severity", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("suggested_rule", sa.String(length=40), nullable=True),
        sa.Column("suggested_reason", sa.Text(), nullable=False),
        sa.Column("similar_reports", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("S1", "S2", "S3", "S4", name="severity", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "severity = suggested OR override_reason <> ''",
            name=op.f("ck_triage_decision_override_needs_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user_account.id"], name=op.f("fk_triage_decision_decided_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_triage_decision_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["matrix_version"],
            ["severity_matrix_version.version"],
            name=op.f("fk_triage_decision_matrix_version_severity_matrix_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_decision")),
    )
    with op.batch_alter_table("triage_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_decision_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("S1", "S2", "S3", "S4", name="severity", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(decision IS NULL AND decided_at IS NULL AND signature_id IS NULL) OR (decision IN ('approved', 'rejected') AND decided_at IS NOT NULL AND signature_id IS NOT NULL)",
            name=op.f("ck_escalation_decided_iff_signed"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user_account.id"], name=op.f("fk_escalation_decided_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_escalation_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user_account.id"], name=op.f("fk_escalation_requested_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_escalation_signature_id_signature")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalation_requested_at"), ["requested_at"], unique=False)
    _append_only("signature")


def downgrade() -> None:
    _drop_append_only("signature")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_requested_at"))
        batch_op.drop_index(batch_op.f("ix_escalation_incident_id"))

    op.drop_table("escalation")
    with op.batch_alter_table("triage_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_decision_incident_id"))

    op.drop_table("triage_decision")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_signer_id"))
        batch_op.drop_index(batch_op.f("ix_signature_incident_id"))

    op.drop_table("signature")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_incident_id"))

    op.drop_table("outbox_message")
    op.drop_table("severity_matrix_version")
