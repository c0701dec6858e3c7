"""The dashboard's marker also watches what its "closed without review" gap is counted from.

The gap (closed S3/S4 incidents no approved review covers, by division, and the most recent of them) is kept
under the `dashboard` marker like the other figures, instead of being counted on every view. So the marker now
also moves on a review's status, on any change of the links between reviews and incidents, and on an incident's
reference and title (the gap lists them).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 12:50:00
"""

from __future__ import annotations

from qa_incidents.core.migrate import drop_marker_triggers, marker_triggers

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

#: As in migration 0036, with the review's status, the review-incident links and the incident's reference and title.
BEFORE: dict[str, tuple[str, ...]] = {
    "incident": ("status", "severity", "division_id", "aware_at", "hazard"),
    "review": ("division_id", "process_stage"),
}
AFTER: dict[str, tuple[str, ...] | None] = {
    "incident": ("status", "severity", "division_id", "aware_at", "hazard", "reference", "title"),
    "review": ("division_id", "process_stage", "status"),
    "review_incident": None,
}


def upgrade() -> None:
    drop_marker_triggers("dashboard", list(BEFORE))
    marker_triggers("dashboard", AFTER)


def downgrade() -> None:
    drop_marker_triggers("dashboard", list(AFTER))
    marker_triggers("dashboard", BEFORE)
