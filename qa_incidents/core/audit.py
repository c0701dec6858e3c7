"""The append-only audit trail: who changed what, when, with field-level before/after.

Events are written by services in the same transaction as the change they describe. The
database itself refuses UPDATE and DELETE on this table (triggers in the migrations), and
the ORM refuses to change a loaded event.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.db import Base

JSONValue = str | int | float | bool | None | list[Any] | dict[str, Any]


class AuditEvent(Base):
    """One recorded change. Never updated, never deleted."""

    __tablename__ = "audit_event"

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    occurred_at: so.Mapped[datetime] = so.mapped_column(index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    entity_id: so.Mapped[int] = so.mapped_column()
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    changes: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)

    actor: so.Mapped[Any] = so.relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),)


@sa.event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.id} is append-only")


def jsonable(value: Any) -> JSONValue:
    """A value as it is kept in the audit trail: plain JSON, datetimes in ISO 8601 UTC."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, JSONValue]:
    """The named attributes of an object, as audit-trail values."""
    return {f: jsonable(getattr(obj, f)) for f in fields}


def field_changes(before: dict[str, JSONValue], after: dict[str, JSONValue]) -> dict[str, list[JSONValue]]:
    """Only the fields whose value changed, as {field: [before, after]}."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def record(
    session: so.Session,
    *,
    actor_id: int | None,
    entity_type: str,
    entity_id: int,
    action: str,
    now: datetime,
    changes: dict[str, Any] | None = None,
    incident_id: int | None = None,
) -> AuditEvent:
    """Append one event to the trail (flushed, not committed: the caller's transaction owns it)."""
    event = AuditEvent(
        occurred_at=now,
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        incident_id=incident_id,
        action=action,
        changes=jsonable(changes or {}),
    )
    session.add(event)
    session.flush()
    return event


def events_for_incident(session: so.Session, incident_id: int) -> list[AuditEvent]:
    """Every event about an incident and its children, newest first: the incident's timeline."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return list(session.scalars(stmt))
