"""Triage of several minor reports in one action: one severity (S3 or S4), one rationale, each incident triaged as its
own triage page would (`workflow.triage`: the decision with the matrix suggestion, the audit event, the derived
regulator notifications), each checked on its own and each refusal listed with its reason.

What bulk triage never does: set S1 or S2 (a severe incident is triaged on its own page and takes the escalation
path), triage an incident the matrix finds severe (S1/S2 suggested) even to a lower severity, or go against the matrix
silently: where the chosen severity differs from an incident's suggestion, that incident needs its own override
reason, or it is refused with the suggestion named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import DomainError, Forbidden, ValidationFailed
from qa_incidents.core.permissions import Capability, can, can_read_division, can_work_division
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status

#: The capability bulk triage takes (the division's QA managers and head-office QA: those who triage).
TRIAGING = Capability.WORK_NOTIFICATIONS
#: The severities one bulk triage may set.
BULK_SEVERITIES = (Severity.S3, Severity.S4)
#: Suggestions that keep an incident out of bulk triage.
SEVERE = frozenset({Severity.S1, Severity.S2})
#: How many incidents one bulk triage takes at most.
BULK_LIMIT = 100
#: The longest rationale or override reason.
MAX_REASON = 2000


@dataclass
class BulkTriageResult:
    """The references triaged, and each refusal with its reason."""

    triaged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def refusal(incident: Incident, user: User, *, severity: Severity, suggested: Severity, override: str) -> str | None:
    """Why this incident cannot be triaged in this bulk triage, or None."""
    if not can_work_division(user.actor, incident.division_id, TRIAGING):
        return str(_l("Only the incident's own division may do this."))
    if incident.status != Status.REPORTED:
        return str(_l("Already triaged or not a new report: change its severity on its own page."))
    if suggested in SEVERE:
        return str(_l("The matrix suggests %(s)s: a severe incident is triaged on its own page (and escalated).",
                      s=suggested.value))
    if suggested != severity and not override.strip():
        return str(_l("The matrix suggests %(suggested)s, not %(chosen)s: give this incident its own reason, or "
                      "triage it on its own page.", suggested=suggested.value, chosen=severity.value))
    return None


def triage_many(session: so.Session, *, user: User, incident_ids: list[int], severity: Severity, rationale: str,
                overrides: dict[int, str], now: datetime) -> BulkTriageResult:
    """Triage each incident as its own page would, in a savepoint of its own; a refused one changes nothing."""
    errors = {}
    if not incident_ids:
        errors["incident_ids"] = str(_l("Select at least one incident."))
    elif len(incident_ids) > BULK_LIMIT:
        errors["incident_ids"] = str(_l("Select at most %(n)d incidents at a time.", n=BULK_LIMIT))
    if severity not in BULK_SEVERITIES:
        errors["severity"] = str(_l("Bulk triage sets S3 or S4 only: triage a severe incident on its own page."))
    if not rationale.strip():
        errors["rationale"] = str(_l("Say why these incidents have this severity."))
    elif len(rationale) > MAX_REASON or any(len(o) > MAX_REASON for o in overrides.values()):
        errors["rationale"] = str(_l("At most %(n)d characters.", n=MAX_REASON))
    if errors:
        raise ValidationFailed(errors)
    if not can(user.actor, TRIAGING):
        raise Forbidden(str(_l("Only the division's QA managers and head-office QA triage incidents.")))
    result = BulkTriageResult()
    for incident_id in dict.fromkeys(incident_ids):
        incident = session.get(Incident, incident_id) if is_db_id(incident_id) else None
        if incident is None or not can_read_division(user.actor, incident.division_id):
            result.refused.append((f"#{incident_id}", str(_l("No such incident."))))
            continue
        suggested = workflow.suggestion_for(session, incident, now=now).severity
        override = overrides.get(incident.id, "").strip()
        why_not = refusal(incident, user, severity=severity, suggested=suggested, override=override)
        if why_not:
            result.refused.append((incident.reference, why_not))
            continue
        # The rationale is the reason the trail keeps for every incident; an override says first why this one
        # differs from the matrix (and is kept as the decision's override reason).
        reason = f"{override} — {rationale.strip()}" if suggested != severity else rationale.strip()
        try:
            with session.begin_nested():
                workflow.triage(session, user=user, incident_id=incident.id, severity=severity,
                                override_reason=reason, now=now)
        except DomainError as e:
            reasons = getattr(e, "errors", None)
            result.refused.append((incident.reference, "; ".join(map(str, reasons.values())) if reasons else str(e)))
            continue
        result.triaged.append(incident.reference)
    return result


def suggestions(session: so.Session, incidents: list[Incident], *, now: datetime) -> dict[int, Severity]:
    """The matrix suggestion of each incident, for the page that lists them before triage."""
    return {i.id: workflow.suggestion_for(session, i, now=now).severity for i in incidents}
