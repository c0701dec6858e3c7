"""Checking the audit trail's hash chain from the first event to the last."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.audit import GENESIS_HASH, AuditEvent, event_hash


@dataclass(frozen=True)
class ChainReport:
    """What a check of the chain found: how many events, the head hash, and the first broken link."""

    checked: int
    head: str
    broken_at: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(
    session: so.Session, *, batch: int = 2000, progress: Callable[[int], None] | None = None
) -> ChainReport:
    """Walk every audit event in id order and recompute its hash; stop at the first broken link."""
    previous = GENESIS_HASH
    checked = 0
    last_id = 0
    columns = [AuditEvent.id, AuditEvent.occurred_at, AuditEvent.actor_id, AuditEvent.entity_type,
               AuditEvent.entity_id, AuditEvent.incident_id, AuditEvent.action, AuditEvent.changes,
               AuditEvent.prev_hash, AuditEvent.hash]
    while True:
        rows = session.execute(
            sa.select(*columns).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != previous:
                return ChainReport(checked, previous, row.id,
                                   f"audit event {row.id} does not follow the event before it: an event before "
                                   f"it was removed, inserted or changed (expected previous hash {previous[:16]}…, "
                                   f"found {str(row.prev_hash)[:16]}…)")
            expected = event_hash(row, previous)
            if row.hash != expected:
                return ChainReport(checked, previous, row.id,
                                   f"audit event {row.id} was changed after it was written: its content no longer "
                                   f"matches its hash")
            previous = row.hash
            checked += 1
            last_id = row.id
        if progress is not None:
            progress(len(rows))
    return ChainReport(checked, previous)
