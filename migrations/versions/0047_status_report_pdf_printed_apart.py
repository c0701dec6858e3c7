"""Status reports' PDFs printed after the issue: the kept copy moves to its own append-only table, written once when
it is printed; the version records the time zone its copy is dated in; an e-mail attachment may be queued to print.

Issuing a report (which filing a severe incident does) printed its PDF inside the request, a few hundred
milliseconds each (reports/printing.py). Existing versions keep their PDF, byte for byte, in status_report_pdf.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_incidents.core.migrate import append_only, drop_append_only

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column(table, column)
    else:  # SQLite ≥ 3.35 drops a plain column in place (the table's append-only triggers name no column)
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def upgrade() -> None:
    op.create_table(
        "status_report_pdf",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["status_report.id"]),
        sa.PrimaryKeyConstraint("report_id"),
    )
    op.execute("INSERT INTO status_report_pdf (report_id, pdf, pdf_sha256, printed_at) "
               "SELECT id, pdf, pdf_sha256, issued_at FROM status_report")
    append_only("status_report_pdf")
    op.add_column("status_report", sa.Column("zone", sa.String(length=64), nullable=False,
                                             server_default=sa.text("'Asia/Tokyo'")))
    _drop_column("status_report", "pdf_sha256")
    _drop_column("status_report", "pdf")
    op.add_column("outbox_attachment", sa.Column("printer", sa.String(length=200), nullable=True))
    with op.batch_alter_table("outbox_attachment") as batch:
        batch.alter_column("data", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbox_attachment SET data = '' WHERE data IS NULL")  # never printed: nothing to restore
    with op.batch_alter_table("outbox_attachment") as batch:
        batch.alter_column("data", existing_type=sa.LargeBinary(), nullable=False)
    _drop_column("outbox_attachment", "printer")
    op.add_column("status_report", sa.Column("pdf", sa.LargeBinary(), nullable=True))
    op.add_column("status_report", sa.Column("pdf_sha256", sa.String(length=64), nullable=True))
    drop_append_only("status_report")
    op.execute("UPDATE status_report SET pdf = (SELECT p.pdf FROM status_report_pdf p WHERE p.report_id = status_report.id), "
               "pdf_sha256 = (SELECT p.pdf_sha256 FROM status_report_pdf p WHERE p.report_id = status_report.id)")
    append_only("status_report")
    _drop_column("status_report", "zone")
    drop_append_only("status_report_pdf")
    op.drop_table("status_report_pdf")
