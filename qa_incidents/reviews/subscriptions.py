"""What the reviews tell other features (see `core/events.py`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy.orm as so

from qa_incidents.core import events


@events.subscribe(events.case_facts)
def _review_facts(session: so.Session, *, incident_id: int, absent: frozenset[str]) -> dict[str, Any]:
    """Closing waits for an approved review of the depth the severity needs and its countermeasures' checks."""
    if "reviews" in absent:
        return {}
    from qa_incidents.reviews.service import (
        review_approved_for,
        review_started_for,
        unchecked_countermeasures_for,
    )

    return {"review_approved": review_approved_for(session, incident_id),
            "review_started": review_started_for(session, incident_id),
            "unchecked_countermeasures": unchecked_countermeasures_for(session, incident_id)}
