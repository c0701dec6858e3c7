"""When status reports are due, in plain Python: which changes trigger one, the hold before issue, the cadence by
severity, and when an unacknowledged report escalates."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l


class Trigger(enum.StrEnum):
    ESCALATION_APPROVED = "escalation_approved"
    REPORTABLE = "reportable"
    SEVERITY_CHANGED = "severity_changed"
    NEW_HARM = "new_harm"
    NOTIFICATION_SUBMITTED = "notification_submitted"
    NOTIFICATION_OVERDUE = "notification_overdue"
    RECALL_LAUNCHED = "recall_launched"
    REVIEW_APPROVED = "review_approved"
    SAFETY_NOTICE_PUBLISHED = "safety_notice_published"
    GROUP_ALERT_AFFECTED = "group_alert_affected"
    CADENCE = "cadence"
    MANUAL = "manual"


TRIGGER_TITLES = {
    Trigger.ESCALATION_APPROVED: _l("Escalation approved"),
    Trigger.REPORTABLE: _l("Report to a regulator required"),
    Trigger.SEVERITY_CHANGED: _l("Severity changed"),
    Trigger.NEW_HARM: _l("New harm reported"),
    Trigger.NOTIFICATION_SUBMITTED: _l("Regulator notification submitted"),
    Trigger.NOTIFICATION_OVERDUE: _l("Regulator notification overdue"),
    Trigger.RECALL_LAUNCHED: _l("Recall launched"),
    Trigger.REVIEW_APPROVED: _l("Root-cause review approved"),
    Trigger.SAFETY_NOTICE_PUBLISHED: _l("Public safety notice published"),
    Trigger.GROUP_ALERT_AFFECTED: _l("Another division is affected (group-wide alert)"),
    Trigger.CADENCE: _l("Scheduled update"),
    Trigger.MANUAL: _l("Issued by hand"),
}

REPORTED_SEVERITIES = frozenset({"S1", "S2"})


@dataclass(frozen=True)
class ReportSettings:
    #: Minutes a triggered report waits for the division's narrative (and for more changes) before issue.
    hold_minutes: int = 30
    #: Hours between scheduled reports while the case is open, by severity.
    cadence_hours: Mapping[str, float] = field(default_factory=lambda: {"S1": 24, "S2": 168})
    #: Hours after which an unacknowledged S1 report is escalated to head-office QA.
    ack_escalate_hours: float = 4

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ReportSettings:
        return cls(hold_minutes=int(config.get("REPORT_HOLD_MINUTES", 30)),  # type: ignore[call-overload]
                   cadence_hours=dict(config.get("REPORT_CADENCE_HOURS", {"S1": 24, "S2": 168})),  # type: ignore[call-overload]
                   ack_escalate_hours=float(config.get("REPORT_ACK_ESCALATE_HOURS", 4)))  # type: ignore[arg-type]


def is_reported(*, severity: str | None, escalation_approved: bool) -> bool:
    """Top management hears of S1/S2 incidents once head office has taken them on."""
    return severity in REPORTED_SEVERITIES and escalation_approved


def pending_due(first_trigger_at: datetime, *, now: datetime, settings: ReportSettings) -> bool:
    return now >= first_trigger_at + timedelta(minutes=settings.hold_minutes)


def cadence_due(*, severity: str | None, last_issued_at: datetime | None, closed: bool, now: datetime,
                settings: ReportSettings) -> bool:
    """A scheduled update is due when the case is open and the cadence has passed since the last report."""
    hours = settings.cadence_hours.get(severity or "")
    if closed or hours is None or last_issued_at is None:
        return False
    return now >= last_issued_at + timedelta(hours=float(hours))


def ack_overdue(*, severity: str | None, issued_at: datetime, now: datetime, settings: ReportSettings) -> bool:
    return severity == "S1" and now >= issued_at + timedelta(hours=settings.ack_escalate_hours)
