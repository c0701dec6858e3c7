"""What the recalls tell other features (see `core/events.py`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy.orm as so

from qa_incidents.core import events


@events.subscribe(events.case_facts)
def _open_recalls(session: so.Session, *, incident_id: int, absent: frozenset[str]) -> dict[str, Any]:
    """Closing an incident waits for its open recalls."""
    if "recalls" in absent:
        return {}
    from qa_incidents.recalls.service import open_recalls_for

    return {"open_recalls": open_recalls_for(session, incident_id)}
