"""Recall campaigns that an earlier import marked launched without head-office QA's launch signature, back to draft.

A launch is reached in the workflow only through a signature (recalls/service.py, `launch`). Imports before
migration 0033 could write "launched" (and "closed") campaigns with no launch signature; this puts each back to
"draft" so that someone signs the launch, and records the change in the audit trail as a change by the system
(no actor: `actor_id` None, as the trail records every change no person made), with the state it had.
Plain SQL: it runs inside migration 0033, whatever the models look like later.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

ACTION = "unsigned_launch_reverted"
REASON = "launched by an import without a launch signature: back to draft until head-office QA signs the launch"


def revert_unsigned_launches(session: so.Session, *, now: datetime) -> list[int]:
    """Every campaign launched (or closed) with no launch signature goes back to draft, audited; their ids."""
    from qa_incidents.core import audit

    rows = session.execute(sa.text(
        "SELECT id, status, launched_at, closed_at, closure_signature_id FROM recall_campaign "
        "WHERE status IN ('launched', 'closed') AND launch_signature_id IS NULL ORDER BY id")).all()
    for recall_id, status, launched_at, closed_at, closure_signature_id in rows:
        session.execute(sa.text(
            "UPDATE recall_campaign SET status = 'draft', launched_at = NULL, closed_at = NULL, "
            "closure_signature_id = NULL, version = version + 1, updated_at = :now WHERE id = :id"),
            {"id": recall_id, "now": now})
        incident_id = session.scalar(sa.text("SELECT min(incident_id) FROM recall_incident WHERE recall_id = :id"),
                                     {"id": recall_id})
        changes = {"status": [status, "draft"], "launched_at": [_text(launched_at), None], "reason": [None, REASON]}
        if closed_at is not None:
            changes["closed_at"] = [_text(closed_at), None]
        if closure_signature_id is not None:  # the signature itself stays in the trail of signatures
            changes["closure_signature"] = [closure_signature_id, None]
        audit.record(session, actor_id=None, entity_type="recall", entity_id=recall_id, action=ACTION, now=now,
                     incident_id=incident_id, changes=changes)
    return [row[0] for row in rows]


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)
