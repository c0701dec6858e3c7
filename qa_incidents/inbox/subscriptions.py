"""What the inbox hears from other features and from core (see `core/events.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.core import events


@events.subscribe(events.comment_added)
def _mentions(session: so.Session, *, incident: Any, author: Any, comment_id: int, body: str, now: datetime) -> None:
    """A comment's mentions reach the people named."""
    from qa_incidents.inbox.service import on_comment

    on_comment(session, author=author, incident=incident, comment_id=comment_id, body=body, now=now)


@events.subscribe(events.incident_audited)
def _watchers(session: so.Session, *, incident_id: int, entity_type: str, action: str, actor_id: int | None,
              now: datetime) -> None:
    """An event of an incident's trail reaches its watchers' bells."""
    from qa_incidents.inbox.service import on_event

    on_event(session, incident_id=incident_id, entity_type=entity_type, action=action, actor_id=actor_id, now=now)


@events.subscribe(events.incidents_audited)
def _watchers_of_many(session: so.Session, *, rows: list[dict[str, Any]]) -> None:
    """A batch of trail events (a bulk import) reaches the watchers' bells, with one look-up of who watches."""
    from qa_incidents.inbox.service import on_events

    on_events(session, rows)


@events.subscribe(events.mail_queued)
def _mail(session: so.Session, *, rows: list[dict[str, Any]]) -> None:
    """Queued e-mails reach their recipients' bells."""
    from qa_incidents.inbox.service import on_messages

    on_messages(session, rows)
