"""What the inbox hears from other features (see `core/events.py`)."""

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
