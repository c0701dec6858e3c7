"""The reporting obligations of one incident: from the laws map as of aware_at, assessed, with deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so

from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.severity import harm_classes
from qa_incidents.laws import service as laws
from qa_incidents.laws.models import Law, Obligation
from qa_incidents.notifications.deadlines import RULES, Deadline, compute
from qa_incidents.notifications.obligations import Assessment, Trigger, Verdict, assess


@dataclass
class IncidentObligation:
    obligation: Obligation
    law: Law
    assessment: Assessment
    #: The legal clock from aware_at: only for obligations that apply. One a person must decide may run
    #: from another event (a recall, a determination), so no date is guessed for it.
    deadline: Deadline | None


def incident_harms(incident: Incident) -> list:  # type: ignore[type-arg]
    return harm_classes(deaths=incident.deaths, serious_injuries=incident.serious_injuries,
                        minor_injuries=incident.minor_injuries, fire=incident.fire, smoke=incident.smoke,
                        co_poisoning=incident.co_poisoning, property_damage=incident.property_damage)


def obligations_for(session: so.Session, incident: Incident) -> list[IncidentObligation]:
    """Every obligation the laws map gives for the incident's country and category on the day the company
    became aware (the date as it was in the country's own time zone), assessed against its harm."""
    jurisdictions = laws.jurisdictions_for(session, incident.country)
    own = next((j for j in jurisdictions if not j.is_bloc), jurisdictions[0] if jurisdictions else None)
    zone = ZoneInfo(own.timezone) if own else ZoneInfo("UTC")
    on = incident.aware_at.astimezone(zone).date()
    harms = incident_harms(incident)
    found = []
    for item in laws.applicable(session, category_id=incident.category_id, country=incident.country, on=on):
        for obligation in item.obligations:
            assessment = assess(Trigger(obligation.regime_code, tuple(obligation.trigger_harms or ()),
                                        obligation.trigger_text), harms=harms)
            deadline = None
            if assessment.verdict == Verdict.APPLIES and obligation.regime_code in RULES:
                deadline = compute(RULES[obligation.regime_code], start=incident.aware_at)
            found.append(IncidentObligation(obligation, item.law, assessment, deadline))
    order = {Verdict.APPLIES: 0, Verdict.DECIDE: 1, Verdict.NOT_TRIGGERED: 2}
    return sorted(found, key=lambda o: (order[o.assessment.verdict],
                                        o.deadline.due_at.timestamp() if o.deadline else float("inf")))
