"""Imported records arrive as history; review and closure guards.

Incidents imported from the shipped public sources (FDA device recalls, Canadian consumer recalls, NHTSA
complaints) that nobody has worked yet (still "reported", never triaged) become "historical": outside every queue,
SLA scan and open figure, still in trends, search and similar lessons. Each change is written to the audit trail
("imported_history", by the user who imported it). The status column is a plain string (no CHECK), so the new
state needs no change of schema.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: The sources whose shipped profiles import history (data/profiles/*.json with "history": true).
HISTORY_SOURCES = ("fda-device-recalls", "canada-consumer-recalls", "nhtsa-complaints")


def _move(old: str, new: str, action: str, where: str) -> None:
    from qa_incidents.core import audit

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT i.id, i.created_by_id, r.source FROM incident i JOIN imported_record r "
        "ON r.entity_type = 'incident' AND r.entity_id = i.id "
        f"WHERE i.status = :old AND r.source IN :sources {where} ORDER BY i.id"
    ).bindparams(sa.bindparam("sources", expanding=True)), {"old": old, "sources": list(HISTORY_SOURCES)}).all()
    if not rows:
        return
    now = datetime.now(UTC)
    session = so.Session(bind=bind)
    for incident_id, actor_id, source in rows:
        bind.execute(sa.text("UPDATE incident SET status = :new, version = version + 1 WHERE id = :id"),
                     {"new": new, "id": incident_id})
        audit.record(session, actor_id=actor_id, entity_type="incident", entity_id=incident_id,
                     incident_id=incident_id, action=action, now=now,
                     changes={"status": [old, new], "source": [None, source]})
    session.flush()


def _plain_cause_categories() -> None:
    """Lessons from reviews named their cause category twice ("Manufacturing (manufacturing)"): keep the words."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, cause_category, process_stage FROM lesson WHERE source = 'review' "
                                "AND process_stage <> ''")).all()
    for lesson_id, category, stage in rows:
        suffix = f" ({stage})"
        if category.endswith(suffix):
            bind.execute(sa.text("UPDATE lesson SET cause_category = :c WHERE id = :id"),
                         {"c": category[: -len(suffix)], "id": lesson_id})


def upgrade() -> None:
    _move("reported", "historical", "imported_history", "AND i.severity IS NULL")
    _plain_cause_categories()


def downgrade() -> None:
    _move("historical", "reported", "history_reverted", "")
