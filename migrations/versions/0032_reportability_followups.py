"""Reportability follow-ups: decision records keep the obligation they were derived from.

A "to decide" candidate's record was made without its laws-map obligation, so once decided reportable its draft
had none of the authority's form items (e.g. 16 CFR 1115.13(d) for the CPSC). Each derived initial record without
one gets the obligation of its regime (the earliest in the map when several versions share the code).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        UPDATE notification_record
        SET obligation_id = (SELECT MIN(obligation.id) FROM obligation
                             WHERE obligation.regime_code = notification_record.regime_code)
        WHERE obligation_id IS NULL AND origin = 'derived' AND kind = 'initial'
          AND EXISTS (SELECT 1 FROM obligation WHERE obligation.regime_code = notification_record.regime_code)
    """)


def downgrade() -> None:
    pass  # the link is a correction; nothing to undo
