"""The append-only audit trail: who changed what, when, with field-level before/after.

Events are written by services in the same transaction as the change they describe. The
database itself refuses UPDATE and DELETE on this table (triggers in the migrations), and
the ORM refuses to change a loaded event.

The trail is also tamper-evident: each event carries the SHA-256 of its own content chained
to the hash of the event before it (one chain per database, in id order), so a row changed
or removed behind the application's back breaks the chain at that point
(`qa-incidents audit verify` finds it).
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core import events
from qa_incidents.core.bulk import insert_rows
from qa_incidents.core.db import Base

JSONValue = str | int | float | bool | None | list[Any] | dict[str, Any]

#: The "previous hash" of the first event of a database.
GENESIS_HASH = "0" * 64
#: The PostgreSQL advisory-lock number that serialises appends to the chain.
CHAIN_LOCK_KEY = 0x51A1C1E


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
    #: The hash of the event before this one (GENESIS_HASH for the first), and this event's own.
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    hash: so.Mapped[str] = so.mapped_column(sa.String(64))

    actor: so.Mapped[Any] = so.relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),)


@sa.event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.id} is append-only")


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> JSONValue:
    """A value as it is kept in the audit trail: plain JSON, datetimes in ISO 8601 UTC."""
    kind = type(value)
    if kind in _PLAIN:  # the common cases first, without a call per plain item (a bulk import makes many events)
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            kind = type(v)
            if kind in _PLAIN:
                out[str(k)] = v
            elif kind is list and len(v) == 2 and type(v[0]) in _PLAIN and type(v[1]) in _PLAIN:
                out[str(k)] = [v[0], v[1]]  # a change's [before, after], the common case
            else:
                out[str(k)] = jsonable(v)
        return out
    if kind is list:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
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


def snapshot_of(values: dict[str, Any], fields: tuple[str, ...]) -> dict[str, JSONValue]:
    """snapshot() of the values a new row is written with (the same as of the object made from them)."""
    return {f: v if type(v) in _PLAIN else jsonable(v) for f in fields for v in (values[f],)}


def field_changes(before: dict[str, JSONValue], after: dict[str, JSONValue]) -> dict[str, list[JSONValue]]:
    """Only the fields whose value changed, as {field: [before, after]}."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def chain_hash(
    prev_hash: str,
    *,
    occurred_at: datetime,
    actor_id: int | None,
    entity_type: str,
    entity_id: int,
    incident_id: int | None,
    action: str,
    changes: Any,
) -> str:
    """SHA-256 over the previous event's hash and the canonical JSON of an event's content."""
    content = {
        "occurred_at": jsonable(occurred_at),
        "actor_id": actor_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "incident_id": incident_id,
        "action": action,
        "changes": jsonable(changes),
    }
    return _hash(prev_hash, content)


def _hash(prev_hash: str, content: dict[str, Any]) -> str:
    """chain_hash of content whose values are already as jsonable() makes them."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode("ascii")).hexdigest()


def event_hash(event: Any, prev_hash: str) -> str:
    """The hash an event (a model or a row with the same attribute names) should carry after prev_hash."""
    return chain_hash(prev_hash, occurred_at=event.occurred_at, actor_id=event.actor_id,
                      entity_type=event.entity_type, entity_id=event.entity_id, incident_id=event.incident_id,
                      action=event.action, changes=event.changes)


_HEAD = sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


def last_hash(session: so.Session) -> str:
    """The hash at the head of the chain, after taking the right to append to it.

    On PostgreSQL a transaction-level advisory lock makes concurrent writers append one after
    the other (the lock is held until commit, and the next writer's read sees the committed
    head). SQLite writers are serialised by the database itself: a transaction whose read of
    the head went stale cannot write.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    return connection.scalar(_HEAD) or GENESIS_HASH


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
) -> None:
    """Append one event to the trail (not committed: the caller's transaction owns it).

    Written straight to the connection (a plain INSERT, a quarter of the cost of the ORM's unit of work, and it
    runs on every change while SQLite's write lock is held): the event is not kept as an object in the session;
    read it back with a query like any other."""
    event = {"occurred_at": now, "actor_id": actor_id, "entity_type": entity_type, "entity_id": entity_id,
             "incident_id": incident_id, "action": action, "changes": jsonable(changes or {})}
    pending = session.info.get(_PENDING)
    if pending is not None:  # inside deferred(): appended with the others when the batch is written
        pending.append(event)
        return
    session.flush()  # anything pending (and the write lock) comes before the chain's head is read
    prev_hash = last_hash(session)
    session.connection().execute(_APPEND, {**event, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, **event)})
    if incident_id is not None:  # the incident's watchers hear of it (their bell)
        events.announce(events.incident_audited, session, incident_id=incident_id, entity_type=entity_type,
                        action=action, actor_id=actor_id, now=now)


_APPEND = sa.insert(AuditEvent.__table__)
_PENDING = "audit_pending"


def record_many(session: so.Session, events: list[dict[str, Any]]) -> None:
    """Append many events at once (a bulk import's batch): the chain's head is read once, each event's hash chained
    to the one before as record() would, and all are written in one executemany INSERT. Each event is a dict of
    record()'s arguments: actor_id, entity_type, entity_id, action, now, changes, incident_id.
    Their incidents' watchers hear of them as with record() (one look-up for the whole batch)."""
    _append_many(session, [{"occurred_at": e["now"], "actor_id": e["actor_id"], "entity_type": e["entity_type"],
                            "entity_id": e["entity_id"], "incident_id": e.get("incident_id"), "action": e["action"],
                            "changes": jsonable(e.get("changes") or {})} for e in events])


def _append_many(session: so.Session, rows: list[dict[str, Any]]) -> None:
    """Write events whose changes are already jsonable (as record() keeps them when deferred)."""
    if not rows:
        return
    session.flush()
    prev_hash = last_hash(session)
    stamps: dict[Any, Any] = {}  # a batch's events share their time: written out once
    for row in rows:
        at = row["occurred_at"]
        stamp = stamps.get(at)
        if stamp is None:
            stamp = stamps[at] = jsonable(at)
        row["prev_hash"] = prev_hash
        prev_hash = row["hash"] = _hash(prev_hash, {
            "occurred_at": stamp, "actor_id": row["actor_id"],
            "entity_type": row["entity_type"], "entity_id": row["entity_id"], "incident_id": row["incident_id"],
            "action": row["action"], "changes": row["changes"]})
    insert_rows(session.connection(), AuditEvent.__table__, rows)
    if any(row["incident_id"] is not None for row in rows):  # the incidents' watchers hear of them (their bells)
        events.announce(events.incidents_audited, session, rows=[r for r in rows if r["incident_id"] is not None])


class deferred:
    """Within `with audit.deferred(session) as batch:`, record() keeps its events instead of writing each one; they
    are written together (record_many) when the block ends without an exception, before the caller commits.
    `batch.mark()` / `batch.undo(mark)` drop the events of a piece of work that was rolled back (a savepoint), so
    the trail never holds an event of a change that was not made. On an exception nothing is written (the
    caller's transaction is rolled back with it)."""

    def __init__(self, session: so.Session):
        self.session = session
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> deferred:
        if self.session.info.get(_PENDING) is not None:
            raise RuntimeError("audit events are already being deferred")
        self.session.info[_PENDING] = self.events
        return self

    def mark(self) -> int:
        return len(self.events)

    def undo(self, mark: int) -> None:
        del self.events[mark:]

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.session.info.pop(_PENDING, None)
        if exc_type is None:
            _append_many(self.session, self.events)


def events_for_incident(session: so.Session, incident_id: int) -> list[AuditEvent]:
    """Every event about an incident and its children, newest first: the incident's timeline."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return list(session.scalars(stmt))
