"""What a status report says: a snapshot of the incident assembled from every feature, never typed by hand.

`build()` returns plain JSON-able data; the page, the e-mail and the PDF are all drawn from it, and the
signed hash of an issued version is taken over it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core import audit
from qa_incidents.core.permissions import unscoped
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status
from qa_incidents.incidents.workflow_models import SeverityMatrixVersion, TriageDecision
from qa_incidents.notifications import rules as notification_rules
from qa_incidents.notifications.records import records_of


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


HARM_FACTS = ("no_harm", "deaths", "serious_injuries", "minor_injuries", "fire", "smoke", "co_poisoning",
              "property_damage")


#: The incident's facts a report names when they change (the filing form's fields; never internal columns).
REPORTED_FIELDS = frozenset({
    "title", "lot_numbers", "serial_numbers", "country", "place", "occurred_at", "aware_at", "source", "hazard",
    "deaths", "serious_injuries", "minor_injuries", "fire", "smoke", "co_poisoning", "property_damage", "no_harm",
    "units_in_field", "description", "product_id", "division_id", "severity", "status"})

#: Events that are not news to management: the report's own narrative (shown in its section) and its issue.
UNREPORTED_EVENTS = frozenset({"status_report_narrative", "status_report"})

#: The events that are decisions management reads as "decided" (entity type, action).
DECISIONS = frozenset({
    ("incident", "triage"), ("incident", "retriage"), ("incident", "approve_escalation"),
    ("incident", "reject_escalation"), ("incident", "contain"), ("incident", "close"), ("incident", "reopen"),
    ("notification_record", "notification_approved"), ("notification_record", "notification_submitted"),
    ("notification_record", "notification_not_required"), ("notification_record", "notification_decided_reportable"),
    ("recall", "launched"), ("recall", "closed"),
    ("review", "review approved"), ("incident", "start_review"), ("group_alert", "group alert sent")})


def harm_facts(incident: Incident) -> dict[str, Any]:
    """The harm as data, so each reader's language can word it (harm_words is the English wording kept with it)."""
    return {name: getattr(incident, name) for name in HARM_FACTS}


def harm_words(incident: Incident) -> str:
    if incident.no_harm:
        return "no harm"
    parts = []
    for count, one, many in ((incident.deaths, "death", "deaths"),
                             (incident.serious_injuries, "serious injury", "serious injuries"),
                             (incident.minor_injuries, "minor injury", "minor injuries")):
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    parts += [name for name, on in (("fire", incident.fire), ("smoke", incident.smoke),
                                    ("CO poisoning", incident.co_poisoning),
                                    ("property damage", incident.property_damage)) if on]
    return ", ".join(parts) or "not stated"


def review_summary(session: so.Session, incident_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The root-cause status in a sentence, and the open countermeasures as next steps with owners and dates."""
    from qa_incidents.reviews.service import countermeasures_of, reviews_for_incident

    reviews = reviews_for_incident(session, incident_id)
    if not reviews:
        return None, []
    review = reviews[-1]
    cms = countermeasures_of(session, review.id)
    done = sum(1 for c in cms if c.status.value == "verified")
    text = (f"Review \"{review.title}\" is {review.status.value}"
            + (f"; technical cause: {review.mechanism[:200]}" if review.mechanism else "")
            + f"; countermeasures verified {done} of {len(cms)}.")
    steps = [{"what": f"Countermeasure: {c.description[:160]}", "owner": c.owner.name if getattr(c, "owner", None) else "",
              "due": datetime.combine(c.due_on, datetime.min.time()).replace(tzinfo=UTC).isoformat()}
             for c in cms if c.status.value not in ("verified",)]
    for step, c in zip(steps, (c for c in cms if c.status.value not in ("verified",)), strict=True):
        step |= {"kind": "countermeasure", "description": c.description[:160]}
    return {"text": text, "status": review.status.value, "title": review.title, "mechanism": review.mechanism[:200],
            "verified": done, "total": len(cms)}, steps


def recall_facts(session: so.Session, summaries: list[dict[str, Any]], *, today: Any) -> list[dict[str, Any]]:
    """The recalls' summary lines with the facts behind each, so each reader's language can word them."""
    from qa_incidents.recalls.models import RecallCampaign
    from qa_incidents.recalls.service import progress

    found = []
    for summary in summaries:
        recall = session.scalar(unscoped(sa.select(RecallCampaign).where(RecallCampaign.reference == summary.get("reference")),
                                         "one recall of the reported incident, by reference, for its status report"))
        if recall is None:
            found.append(summary)
            continue
        p = progress(session, recall, today=today)
        found.append(summary | {
            "title": recall.title, "remedy": str(recall.remedy), "remedied": p.totals.remedied,
            "units_affected": recall.units_affected, "target_percent": recall.target_percent,
            "stalled_since": p.stalled_since.isoformat() if p.stalled_since else None})
    return found


def _severity_basis(session: so.Session, decision: TriageDecision) -> dict[str, Any]:
    """The triage decision as data (the matrix rule as it was, the decided severity, the override's reason), so each
    reader reads why in their own language; `severity_why` keeps the words as composed at issue."""
    matrix = session.get(SeverityMatrixVersion, decision.matrix_version)
    rules = (matrix.definition.get("rules") or []) if matrix is not None else []
    rule = next((r for r in rules if decision.suggested_rule and r.get("id") == decision.suggested_rule), None)
    return {"rule": rule, "suggested": decision.suggested.value, "severity": decision.severity.value,
            "override_reason": decision.override_reason}


def build(session: so.Session, incident: Incident, *, now: datetime, since: datetime | None,
          narrative: str = "", triggers: list[dict[str, Any]] | None = None, asks: str = "") -> dict[str, Any]:
    decision = session.scalar(sa.select(TriageDecision).where(TriageDecision.incident_id == incident.id)
                              .order_by(TriageDecision.id.desc()).limit(1))
    why = ""
    basis = None
    if decision is not None:
        why = decision.suggested_reason + (f" Decided {decision.severity.value}: {decision.override_reason}"
                                           if decision.override_reason else "")
        basis = _severity_basis(session, decision)
    notifications = []
    next_steps = []
    for r in records_of(session, incident.id):
        open_ = r.state in {s.value for s in notification_rules.OPEN_STATES}
        notifications.append({
            "regime": r.regime_code, "authority": r.authority, "title": r.title,
            "state": notification_rules.shown_state(r.state, decision_pending=r.decision_pending),
            "due_at": _iso(r.due_at), "submitted_at": _iso(r.submitted_at),
            "late": bool(r.submitted_at and r.due_at and r.submitted_at > r.due_at),
            "overdue": bool(open_ and r.due_at and r.due_at <= now)})
        if open_ and r.decision_pending:
            next_steps.append({"what": f"Decide whether the {r.regime_code} report to {r.authority} is required",
                               "kind": "decide", "regime": r.regime_code, "authority": r.authority,
                               "owner": r.owner.name if r.owner else "", "due": _iso(r.due_at)})
        elif open_:
            next_steps.append({"what": f"Submit {r.regime_code} report to {r.authority}", "kind": "submit",
                               "regime": r.regime_code, "authority": r.authority,
                               "owner": r.owner.name if r.owner else "", "due": _iso(r.due_at)})
    events = audit.events_for_incident(session, incident.id)
    containment = [{"at": _iso(e.occurred_at), "by": e.actor.name if e.actor else "",
                    "what": (e.changes.get("reason") or [None, ""])[1]}
                   for e in events if e.action == "contain"]
    # What changed, as events a reader can word (the narrative has its own section; only the incident's facts are
    # named, by the form's labels: never a stored column such as a file's hash or a foreign key).
    changes = [{"at": _iso(e.occurred_at), "by": e.actor.name if e.actor else "system", "entity": e.entity_type,
                "action": e.action, "what": e.action.replace("_", " "),
                "fields": sorted(k for k in e.changes if k in REPORTED_FIELDS) if e.entity_type == "incident" else []}
               for e in events if (since is None or e.occurred_at > since) and e.entity_type not in UNREPORTED_EVENTS][-30:]
    decided = [{"at": _iso(e.occurred_at), "by": e.actor.name if e.actor else "system", "entity": e.entity_type,
                "action": e.action} for e in events if (e.entity_type, e.action) in DECISIONS]
    from qa_incidents.recalls.service import status_summary

    recalls = recall_facts(session, status_summary(session, incident.id, today=now.date()), today=now.date())
    review, review_steps = review_summary(session, incident.id)
    next_steps += review_steps
    if incident.status in (Status.ESCALATED,):
        next_steps.append({"what": "Record containment", "kind": "containment", "owner": incident.division.name,
                           "due": None})
    from qa_incidents.alerts.service import report_lines

    group_alerts = report_lines(session, incident.id, today=now.date())
    for alert in group_alerts:  # each division that has not given a final answer yet
        next_steps += [{"what": f"Answer the group-wide alert: {alert['subject']}", "kind": "group_alert",
                        "subject": alert["subject"], "owner": d["division"],
                        "due": datetime.combine(date.fromisoformat(str(alert["due_on"])), datetime.min.time())
                        .replace(tzinfo=UTC).isoformat()}
                       for d in alert["divisions"] if d["answer"] in ("pending", "investigating")]
    from qa_incidents.risk.service import report_content as risk_content

    risk_assessments = risk_content(session, incident.id)
    return {
        # Only where head office sent one: earlier reports' content (and hashes) stay as they were.
        **({"group_alerts": group_alerts} if group_alerts else {}),
        **({"risk_assessments": risk_assessments} if risk_assessments else {}),
        "reference": incident.reference, "title": incident.title, "division": incident.division.name,
        "product": {"name": incident.product.name, "model": incident.product.model,
                    "category": incident.product.category.path},
        "lots": incident.lot_numbers, "serials": incident.serial_numbers,
        "units_in_field": incident.units_in_field, "country": incident.country, "place": incident.place,
        "occurred_at": _iso(incident.occurred_at), "aware_at": _iso(incident.aware_at),
        "status": incident.status.value, "severity": incident.severity.value if incident.severity else None,
        "severity_why": why, "severity_basis": basis, "harm": harm_words(incident), "harm_facts": harm_facts(incident), "description": incident.description[:1200],
        "notifications": notifications, "containment": containment, "recalls": recalls, "review": review,
        "next_steps": next_steps, "changes_since_last": changes, "decided": decided, "narrative": narrative.strip(), "asks": asks.strip(),
        "triggers": triggers or [], "as_of": _iso(now),
    }
