"""Assignees, saved register views; recalls launched by an import without a signature go back to draft.

- `incident.assignee_id`: the person the incident is assigned to (set on the incident page, audited).
- `review_deployment.assignee_id`: who answers a horizontal deployment in the receiving division (audited).
- `saved_view`: a user's named register filters (query string), soft-deleted (`deleted_at`). Writes to it move the
  register page's change marker (migration 0015), since the register page lists the reader's views.
- Data: every recall campaign an earlier import wrote as "launched" (or "closed") without a launch signature is put
  back to "draft" (qa_incidents/recalls/unsigned.py), one audit event per campaign, recorded as a change by the
  system (no actor), with the state it had; a launch then takes head-office QA's signature like any other.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

EVENTS = ("INSERT", "UPDATE", "DELETE")
_FRESH_PG = ("INSERT INTO counter (name, value) VALUES ('register-page', 1 + floor(random() * 4e18)::bigint) "
             "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
_FRESH_SQLITE = ("INSERT INTO counter (name, value) VALUES ('register-page', 1 + abs(random() % 4000000000000000000)) "
                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value;")


def _has_column(table: str, column: str) -> bool:
    return any(c["name"] == column for c in sa.inspect(op.get_bind()).get_columns(table))


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # A plain ADD COLUMN (no table copy on SQLite: the incident's triggers stay).
    if postgres:
        op.add_column("incident", sa.Column("assignee_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_incident_assignee_id_user_account", "incident", "user_account",
                              ["assignee_id"], ["id"])
    elif not _has_column("incident", "assignee_id"):  # kept by a SQLite downgrade
        op.execute("ALTER TABLE incident ADD COLUMN assignee_id INTEGER REFERENCES user_account (id)")
    op.create_index("ix_incident_assignee_id", "incident", ["assignee_id"])
    if postgres:
        op.add_column("review_deployment", sa.Column("assignee_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_review_deployment_assignee_id_user_account", "review_deployment", "user_account",
                              ["assignee_id"], ["id"])
    elif not _has_column("review_deployment", "assignee_id"):
        op.execute("ALTER TABLE review_deployment ADD COLUMN assignee_id INTEGER REFERENCES user_account (id)")
    op.create_index("ix_review_deployment_assignee_id", "review_deployment", ["assignee_id"])

    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("query", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_saved_view_user_id", "saved_view", ["user_id", "deleted_at"])
    if postgres:
        op.execute("CREATE TRIGGER saved_view_touches_register_page AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON saved_view "
                   "FOR EACH STATEMENT EXECUTE FUNCTION touch_register_page()")
    else:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER saved_view_{event.lower()}_touches_register_page AFTER {event} ON saved_view "
                       f"BEGIN {_FRESH_SQLITE} END")

    from qa_incidents.recalls.unsigned import revert_unsigned_launches

    session = so.Session(bind=bind)
    revert_unsigned_launches(session, now=datetime.now(UTC))
    session.flush()


def downgrade() -> None:
    # The recalls put back to draft stay drafts: a launch is signed again, never restored without a signature.
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS saved_view_touches_register_page ON saved_view")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS saved_view_{event.lower()}_touches_register_page")
    op.drop_index("ix_saved_view_user_id", table_name="saved_view")
    op.drop_table("saved_view")
    op.drop_index("ix_review_deployment_assignee_id", table_name="review_deployment")
    op.drop_index("ix_incident_assignee_id", table_name="incident")
    if postgres:
        op.drop_column("review_deployment", "assignee_id")
        op.drop_column("incident", "assignee_id")
    # SQLite cannot drop a column that references another table without copying the table (which would drop the
    # incident's triggers): the two nullable columns stay, unused by the code of 0032.
