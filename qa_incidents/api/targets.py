"""Record kinds an import makes besides incidents, through the owning package's own functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy.orm as so


def lesson_from_row(session: so.Session, *, record: dict[str, str], values: dict[str, str], incident_id: int,
                    user: Any, now: datetime) -> str | None:
    """One lesson per FDA recall event, made by the lessons library's own importer (idempotent by source_ref)."""
    try:
        from qa_incidents.reviews import lessons
    except ImportError:
        return None
    if not hasattr(lessons, "import_rows"):
        return None
    report = lessons.import_rows(session, [record], now=now)
    if report.created:
        return "created"
    if report.unchanged:
        return "present"
    return "rejected: " + "; ".join(report.rejected)
