"""Indexes that read a filtered register page in its sort order: (country | category | severity, sort key, id).

A register page filtered by country, product category or severity (and sorted by when the company became aware or
when it happened) was read through the filter's one-column index: every incident of that country (50,000 of a
million) fetched and sorted for a page of 50. Led by the filter and then the sort key, the page is one range read in
order that stops when the page is full (incidents/service.py, _sqlite_index; PostgreSQL's planner finds them itself).

Revision ID: 0046
Revises: 0043
Create Date: 2026-12-07 14:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0046"
down_revision = "0043"
branch_labels = None
depends_on = None

#: (name, table, columns), as declared in the models' __table_args__.
INDEXES = (
    ("ix_incident_country_aware_id", "incident", ["country", "aware_at", "id"]),
    ("ix_incident_country_occurred_id", "incident", ["country", "occurred_at", "id"]),
    ("ix_incident_category_aware_id", "incident", ["category_id", "aware_at", "id"]),
    ("ix_incident_category_occurred_id", "incident", ["category_id", "occurred_at", "id"]),
    ("ix_incident_severity_aware_id", "incident", ["severity", "aware_at", "id"]),
    ("ix_incident_severity_occurred_id", "incident", ["severity", "occurred_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
