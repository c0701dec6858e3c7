"""What the regulator notifications hear from other features (see `core/events.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.core import events


@events.subscribe(events.incident_filed)
def _derive_for_new(session: so.Session, *, incident: Any, user: Any, now: datetime) -> None:
    """A live incident just filed gets a record for each candidate obligation at once."""
    from qa_incidents.notifications.records import derive

    derive(session, incident=incident, user=user, now=now, new=True)


@events.subscribe(events.facts_changed)
def _derive_again(session: so.Session, *, incident: Any, user: Any, now: datetime) -> None:
    """Facts, severity or status changed: the records are derived again."""
    from qa_incidents.notifications.records import derive

    derive(session, incident=incident, user=user, now=now)


@events.subscribe(events.case_facts)
def _open_notifications(session: so.Session, *, incident_id: int, absent: frozenset[str]) -> dict[str, Any]:
    """Closing waits for the reports still owed."""
    if "notifications" in absent:
        return {}
    from qa_incidents.notifications.records import open_count

    return {"open_notifications": open_count(session, incident_id)}
