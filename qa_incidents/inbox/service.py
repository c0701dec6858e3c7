"""What changed for me: the bell's items, watching an incident, and @mentions in comments.

Where the items come from, one place each:
- every event of an incident's audit trail reaches the incident's active watchers (not the one who acted);
- every e-mail queued through the outbox reaches, as its subject, those of its recipients who have an account;
- a comment's @mentions reach the users named, when they may read the incident (division scoping).
Items are shown only for incidents the reader may still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.permissions import can_read_division, scope_key, scoped
from qa_incidents.inbox.models import InboxItem, IncidentWatcher

#: How many items the bell lists.
SHOWN = 30

#: "@tanaka" (an e-mail's local part) or "@[Hanako Tanaka]" (a name with spaces, as the picker writes it).
MENTION = re.compile(r"(?<![\w.])@(?:\[([^\]\n]{1,120})\]|([A-Za-z0-9._%+-]{1,64}))")


# --- watching ---------------------------------------------------------------------------------


def is_watching(session: so.Session, *, user: User, incident_id: int) -> bool:
    return bool(session.scalar(sa.select(IncidentWatcher.active).where(IncidentWatcher.incident_id == incident_id,
                                                                      IncidentWatcher.user_id == user.id)))


def set_watching(session: so.Session, *, user: User, incident_id: int, watching: bool, now: datetime) -> None:
    """Start or stop watching an incident the user may read (NotFound otherwise); audited as a change."""
    from qa_incidents.incidents.service import get_incident

    incident = get_incident(session, user=user, incident_id=incident_id)
    row = session.scalar(sa.select(IncidentWatcher).where(IncidentWatcher.incident_id == incident.id,
                                                          IncidentWatcher.user_id == user.id))
    if row is None:
        if not watching:
            return
        row = IncidentWatcher(incident_id=incident.id, user_id=user.id, active=True, updated_at=now)
        session.add(row)
    elif row.active == watching:
        return
    else:
        row.active, row.updated_at = watching, now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="watcher", entity_id=row.id, incident_id=incident.id,
                 action="watched" if watching else "unwatched", now=now,
                 changes={"watching": [not watching, watching], "user": [None, user.email]})


def watchers(session: so.Session, incident_id: int) -> list[User]:
    return list(session.scalars(sa.select(User).join(IncidentWatcher, IncidentWatcher.user_id == User.id)
                                .where(IncidentWatcher.incident_id == incident_id, IncidentWatcher.active.is_(True))
                                .order_by(User.name)))


# --- where items come from --------------------------------------------------------------------

#: Events that are not news (the bell's own bookkeeping).
QUIET = frozenset({"watcher"})


def on_event(session: so.Session, *, incident_id: int, entity_type: str, action: str, actor_id: int | None,
             now: datetime) -> None:
    """An event of an incident's trail reaches its watchers: one INSERT … SELECT, nothing read back."""
    if entity_type in QUIET:
        return
    watching = sa.select(
        IncidentWatcher.user_id, sa.literal(incident_id, sa.Integer), sa.literal("event", sa.String),
        sa.literal(entity_type, sa.String), sa.literal(action, sa.String),
        sa.literal(actor_id, sa.Integer) if actor_id is not None else sa.null(), sa.literal("", sa.String),
        sa.literal(now, InboxItem.__table__.c.created_at.type),
    ).where(IncidentWatcher.incident_id == incident_id, IncidentWatcher.active.is_(True))
    if actor_id is not None:
        watching = watching.where(IncidentWatcher.user_id != actor_id)
    session.connection().execute(sa.insert(InboxItem).from_select(
        ["user_id", "incident_id", "kind", "entity_type", "action", "actor_id", "text", "created_at"], watching))


def on_messages(session: so.Session, rows: Iterable[dict[str, Any]]) -> None:
    """Queued e-mails reach their recipients' bells, as their subjects (already in each reader's language)."""
    rows = [r for r in rows if r.get("to_addrs")]
    if not rows:
        return
    from qa_incidents.core.outbox import KEYS_PER_QUERY

    emails = sorted({a.strip().lower() for r in rows for a in r["to_addrs"].split(",") if a.strip()})
    users: dict[str, int] = {}
    for i in range(0, len(emails), KEYS_PER_QUERY):  # one look-up per thousand addresses
        users.update({email: user_id for email, user_id in session.execute(
            sa.select(sa.func.lower(User.email), User.id).where(sa.func.lower(User.email).in_(emails[i:i + KEYS_PER_QUERY]),
                                                                User.active.is_(True)))})
    items = [{"user_id": users[a], "incident_id": r.get("incident_id"), "kind": "message", "entity_type": "",
              "action": "", "actor_id": None, "text": r["subject"][:300], "created_at": r["created_at"]}
             for r in rows for a in {x.strip().lower() for x in r["to_addrs"].split(",")} if a in users]
    if items:
        session.execute(sa.insert(InboxItem), items)


def mentioned(session: so.Session, body: str) -> list[User]:
    """The active users a text @mentions: by their e-mail's local part or, in brackets, by their name."""
    locals_, names = set(), set()
    for name, local in MENTION.findall(body):
        if name:
            names.add(name.strip().lower())
        if local:
            locals_.add(local.lower())
    if not (locals_ or names):
        return []
    found = []
    for user in session.scalars(sa.select(User).where(User.active.is_(True))):
        if user.email.split("@", 1)[0].lower() in locals_ or user.name.strip().lower() in names:
            found.append(user)
    return found


def on_comment(session: so.Session, *, author: User, incident: Any, comment_id: int, body: str,
               now: datetime) -> list[User]:
    """A comment's mentions reach the users named who may read the incident; others are not told (nor is the
    author told who could not: the comment would otherwise reveal who may see which division)."""
    told = []
    for user in mentioned(session, body):
        if user.id == author.id or not can_read_division(user.actor, incident.division_id):
            continue
        session.add(InboxItem(user_id=user.id, incident_id=incident.id, kind="mention", entity_type="comment",
                              action="mentioned", actor_id=author.id, text=body[:300], created_at=now))
        told.append(user)
    session.flush()
    return told


# --- reading ----------------------------------------------------------------------------------


def _visible(stmt: sa.Select[Any], user: User, user_id: Any = None) -> sa.Select[Any]:
    """The user's own items, less those about an incident the user may no longer read (moved to another division).
    `user_id`: what the user's id is compared with (default the id itself; a bound parameter for a kept statement)."""
    from qa_incidents.incidents.models import Incident

    owner = InboxItem.user_id == (user.id if user_id is None else user_id)
    return scoped(stmt.outerjoin(Incident, Incident.id == InboxItem.incident_id).where(owner),
                  user.actor, Incident.division_id, or_none=True)


def unread_count(session: so.Session, *, user: User) -> int:
    """The bell's count (every page's header). Its statement is built once for each reading scope, with the user as a
    parameter: building it, scoped, took several times as long as running it."""
    key = scope_key(user.actor)
    stmt = _UNREAD.get(key)
    if stmt is None:
        stmt = _UNREAD[key] = _visible(sa.select(sa.func.count()).select_from(InboxItem), user,
                                       sa.bindparam("user_id")).where(InboxItem.read_at.is_(None))
    return int(session.scalar(stmt, {"user_id": user.id}) or 0)


#: unread_count's statement for each reading scope (scope_key: "all", "none" or a division's): a handful at most.
_UNREAD: dict[str, sa.Select[Any]] = {}


def items(session: so.Session, *, user: User, limit: int = SHOWN) -> list[dict[str, Any]]:
    """The newest items the user may still read, with who acted and the incident's reference."""
    from qa_incidents.incidents.models import Incident

    rows = session.execute(_visible(sa.select(InboxItem, Incident.reference), user)
                           .order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit)).all()
    actors = {u.id: u.name for u in session.scalars(sa.select(User).where(
        User.id.in_({r[0].actor_id for r in rows if r[0].actor_id})))}
    return [{"item": item, "reference": reference, "actor": actors.get(item.actor_id or 0, "")} for item, reference in rows]


def mark_read(session: so.Session, *, user: User, now: datetime, item_id: int | None = None) -> int:
    """Mark one of the user's items (or all of them) read; returns how many changed."""
    stmt = sa.update(InboxItem).where(InboxItem.user_id == user.id, InboxItem.read_at.is_(None))
    if item_id is not None:
        stmt = stmt.where(InboxItem.id == item_id)
    result = session.execute(stmt.values(read_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def on_events(session: so.Session, events: Iterable[dict[str, Any]]) -> None:
    """Many events of incidents' trails (a bulk import's batch) reach their watchers: one look-up of the watched
    incidents among them, then on_event for each event of those (none when the incidents are new)."""
    events = [e for e in events if e.get("incident_id") is not None and e["entity_type"] not in QUIET]
    ids = sorted({e["incident_id"] for e in events})
    watched: set[int] = set()
    for i in range(0, len(ids), 500):
        watched.update(session.scalars(sa.select(IncidentWatcher.incident_id).distinct().where(
            IncidentWatcher.incident_id.in_(ids[i:i + 500]), IncidentWatcher.active.is_(True))))
    for e in events:
        if e["incident_id"] in watched:
            on_event(session, incident_id=e["incident_id"], entity_type=e["entity_type"], action=e["action"],
                     actor_id=e["actor_id"], now=e["occurred_at"])
