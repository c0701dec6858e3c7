"""Service-level targets for triage and escalation decisions. Pure Python."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from qa_incidents.incidents.rules import Severity

#: Hours from aware_at within which an incident must be triaged, by the severity the matrix suggests.
DEFAULT_TRIAGE_HOURS = {"S1": 4, "S2": 24, "S3": 72, "S4": 168}
#: Hours from the request within which head office must decide an escalation.
DEFAULT_ESCALATION_HOURS = {"S1": 24, "S2": 24, "S3": 72, "S4": 72}
#: A warning goes out once this share of the allowed time has passed.
DEFAULT_WARN_AT = 0.75


class SlaState(enum.StrEnum):
    OK = "ok"
    DUE_SOON = "due_soon"
    BREACHED = "breached"


@dataclass(frozen=True)
class Sla:
    started_at: datetime
    due_at: datetime
    warn_at: datetime

    def state(self, now: datetime) -> SlaState:
        if now >= self.due_at:
            return SlaState.BREACHED
        if now >= self.warn_at:
            return SlaState.DUE_SOON
        return SlaState.OK


def sla(started_at: datetime, severity: Severity, hours: dict[str, float], warn_at: float = DEFAULT_WARN_AT) -> Sla:
    """The SLA clock that starts at started_at, with its due time and its warning time."""
    allowed = timedelta(hours=float(hours[severity.value]))
    return Sla(started_at=started_at, due_at=started_at + allowed, warn_at=started_at + allowed * warn_at)
