"""What the status reports hear from other features (see `core/events.py`): each significant change of a reported
incident is noted as a trigger of its next status report; the first obligation that stands as reportable issues one
at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.core import events


@events.subscribe(events.obligations_changed)
def _first_reportable(session: so.Session, *, incident: Any, reportable_before: set[int], user: Any, now: datetime,
                      base_url: str) -> None:
    from qa_incidents.reports.service import first_reportable

    first_reportable(session, incident=incident, before=reportable_before, now=now, user=user, base_url=base_url)


@events.subscribe(events.harm_increased)
def _new_harm(session: so.Session, *, incident: Any, fields: list[str], now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    trigger(session, incident=incident, kind=Trigger.NEW_HARM, now=now, detail=", ".join(fields).replace("_", " "))


@events.subscribe(events.severity_changed)
def _severity_changed(session: so.Session, *, incident: Any, before: Any, after: Any, now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    trigger(session, incident=incident, kind=Trigger.SEVERITY_CHANGED, now=now,
            detail=f"{before.value if before else '—'} → {after.value}")


@events.subscribe(events.escalation_decided)
def _escalation_approved(session: so.Session, *, incident: Any, escalation: Any, approved: bool, comment: str,
                         now: datetime) -> None:
    if not approved:
        return
    from qa_incidents.reports.service import Trigger, trigger

    trigger(session, incident=incident, kind=Trigger.ESCALATION_APPROVED, now=now, detail=comment.strip()[:200])


@events.subscribe(events.notification_submitted)
def _notification_submitted(session: so.Session, *, record: Any, late: bool, now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    trigger(session, incident=record.incident, kind=Trigger.NOTIFICATION_SUBMITTED, now=now,
            detail=f"{record.regime_code}{' (late)' if late else ''}")


@events.subscribe(events.notification_overdue)
def _notification_overdue(session: so.Session, *, record: Any, now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    trigger(session, incident=record.incident, kind=Trigger.NOTIFICATION_OVERDUE, now=now, detail=record.regime_code)


@events.subscribe(events.recall_launched)
def _recall_launched(session: so.Session, *, recall: Any, incidents: list[Any], now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    for incident in incidents:
        trigger(session, incident=incident, kind=Trigger.RECALL_LAUNCHED, now=now, detail=recall.reference)


@events.subscribe(events.review_approved)
def _review_approved(session: so.Session, *, review: Any, now: datetime) -> None:
    from qa_incidents.reports.service import Trigger, trigger

    for incident in review.incidents:
        trigger(session, incident=incident, kind=Trigger.REVIEW_APPROVED, now=now, detail=review.title[:200])
