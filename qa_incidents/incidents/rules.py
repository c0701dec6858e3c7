"""Pure incident rules: vocabularies, the facts of a report and their validation.

No Flask and no database here, so every rule is tested in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, fields
from datetime import datetime

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles


class Status(TitledEnum):
    REPORTED = "reported", _l("Reported")
    TRIAGED = "triaged", _l("Triaged")
    ESCALATION_REQUESTED = "escalation_requested", _l("Escalation requested")
    ESCALATED = "escalated", _l("Escalated")
    CONTAINED = "contained", _l("Contained")
    UNDER_REVIEW = "under_review", _l("Under review")
    CLOSED = "closed", _l("Closed")
    #: Imported from public or legacy data: what happened before, not work (outside queues, SLAs and open figures).
    HISTORICAL = "historical", _l("History (imported)")


#: States in which an incident is no longer (or never was) work: its facts are frozen and it counts in no queue.
ENDED_STATUSES = frozenset({Status.CLOSED, Status.HISTORICAL})

STATUS_TITLES = titles(Status)


class Severity(TitledEnum):
    S1 = "S1", _l("S1 critical")
    S2 = "S2", _l("S2 major")
    S3 = "S3", _l("S3 moderate")
    S4 = "S4", _l("S4 minor")


SEVERITY_TITLES = titles(Severity)


class Source(TitledEnum):
    CUSTOMER_COMPLAINT = "customer_complaint", _l("Customer complaint")
    SERVICE_REPORT = "service_report", _l("Service report")
    AUTHORITY_INQUIRY = "authority_inquiry", _l("Authority inquiry")
    MEDIA = "media", _l("Media")
    INTERNAL_TEST = "internal_test", _l("Internal test")


SOURCE_TITLES = titles(Source)


class Hazard(TitledEnum):
    FIRE_BURN = "fire_burn", _l("Fire / burn")
    ELECTRIC_SHOCK = "electric_shock", _l("Electric shock")
    OVERHEATING = "overheating", _l("Overheating")
    CO_GAS = "co_gas", _l("Carbon monoxide / gas")
    MECHANICAL = "mechanical", _l("Mechanical (cut, crush, entrapment)")
    CHEMICAL = "chemical", _l("Chemical / toxic release")
    STRUCTURAL_FAILURE = "structural_failure", _l("Structural failure (crack, breakage)")
    CHOKING = "choking", _l("Choking / small parts")
    OTHER = "other", _l("Other")


HAZARD_TITLES = titles(Hazard)

#: Harm flags a report can carry besides the casualty counts.
HARM_FLAGS = ("fire", "smoke", "co_poisoning", "property_damage")
HARM_FLAG_TITLES = {
    "fire": _l("Fire"),
    "smoke": _l("Smoke"),
    "co_poisoning": _l("CO poisoning"),
    "property_damage": _l("Property damage"),
}



class Care(TitledEnum):
    """The most serious care any injured person received: what each regime's "serious injury" is defined by."""

    NOT_STATED = "not_stated", _l("Not stated yet")
    NONE = "none", _l("No care")
    FIRST_AID = "first_aid", _l("First aid only")
    DOCTOR_OR_NURSE = "doctor_or_nurse", _l("Treated by a doctor or nurse")
    HOSPITALISED = "hospitalised", _l("Hospitalised")
    THIRTY_DAYS = "thirty_days", _l("30 days' treatment or more")
    LASTING_DISABILITY = "lasting_disability", _l("Lasting disability")
    LIFE_THREATENING = "life_threatening", _l("Life-threatening")


CARE_TITLES = titles(Care)

#: Care that is a serious injury in Japan's sense (30 days' treatment or more, lasting disability): the
#: "Serious injuries" count holds such injuries.
JP_SERIOUS_CARE = frozenset({Care.THIRTY_DAYS, Care.LASTING_DISABILITY})

#: The facts besides harm that some regimes are triggered by, asked at intake (all yes/no).
REPORTABILITY_FLAGS = ("recurrence_risk", "suspected_defect", "labelling_problem", "foreign_action", "lawsuit",
                       "choking")
REPORTABILITY_FLAG_TITLES = {
    "recurrence_risk": _l("A malfunction that could cause death or serious injury if it recurred"),
    "suspected_defect": _l("A defect or noncompliance (with a rule or standard) is suspected"),
    "labelling_problem": _l("A labelling or instructions problem"),
    "foreign_action": _l("A recall or corrective action has been taken in another country"),
    "lawsuit": _l("A lawsuit has been filed about it"),
    "choking": _l("A choking incident (a child choked on the product or a part of it)"),
}

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
MAX_TEXT = {"title": 200, "place": 200, "lot_numbers": 2000, "serial_numbers": 4000, "description": 20000}


@dataclass
class IncidentFacts:
    """What a reporter states about an incident, before it is stored."""

    division_id: int
    product_id: int
    title: str
    lot_numbers: str
    serial_numbers: str
    country: str
    place: str
    occurred_at: datetime
    aware_at: datetime
    source: Source
    hazard: Hazard
    deaths: int
    serious_injuries: int
    minor_injuries: int
    fire: bool
    smoke: bool
    co_poisoning: bool
    property_damage: bool
    no_harm: bool
    units_in_field: int
    description: str
    injury_care: Care = Care.NOT_STATED
    recurrence_risk: bool = False
    suspected_defect: bool = False
    labelling_problem: bool = False
    foreign_action: bool = False
    lawsuit: bool = False
    choking: bool = False
    #: The IANA zone of the place where the company became aware: legal days are counted on its dates.
    #: "" from callers that do not give it (filing then uses the filer's zone; editing keeps the stored one).
    aware_timezone: str = ""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


#: Customer contact data: fields of their own (never free text), shown only to roles with READ_CUSTOMER_CONTACT
#: and kept out of lessons, reports, notification drafts and exports for other roles. Each is optional.
CONTACT_MAX = {"customer_name": 200, "customer_phone": 50, "customer_email": 254, "customer_address": 500}
CONTACT_FIELDS = tuple(CONTACT_MAX)


def validate_contact(contact: dict[str, str]) -> dict[str, str]:
    """Problems with the customer contact fields, as {field: message}."""
    errors: dict[str, str] = {}
    for name, limit in CONTACT_MAX.items():
        if len(contact.get(name) or "") > limit:
            errors[name] = str(_l("At most %(n)d characters.", n=limit))
    email = (contact.get("customer_email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors["customer_email"] = str(_l("Enter an e-mail address such as name@example.com."))
    return errors


def harm_stated(facts: IncidentFacts) -> bool:
    """Whether any harm (casualty or damage) is reported."""
    counts = facts.deaths + facts.serious_injuries + facts.minor_injuries
    return counts > 0 or any(getattr(facts, flag) for flag in HARM_FLAGS)


def validate_facts(facts: IncidentFacts, *, now: datetime, known_countries: AbstractSet[str] | None = None) -> dict[str, str]:
    """Every problem with the facts, as {field: message}; empty when they may be stored."""
    errors: dict[str, str] = {}
    if not facts.title.strip():
        errors["title"] = str(_l("Give the incident a short title."))
    for name, limit in MAX_TEXT.items():
        if len(getattr(facts, name)) > limit:
            errors[name] = str(_l("At most %(n)d characters.", n=limit))
    if not facts.lot_numbers.strip() and not facts.serial_numbers.strip():
        errors["lot_numbers"] = str(_l("Give the lot numbers, the serial numbers, or both."))
    if not COUNTRY_RE.match(facts.country) or (known_countries is not None and facts.country not in known_countries):
        errors["country"] = str(_l("Choose the country where it happened."))
    if not facts.place.strip():
        errors["place"] = str(_l("Say where it happened (city, site or address without personal data)."))
    if facts.occurred_at > now:
        errors["occurred_at"] = str(_l("The incident cannot have happened in the future."))
    if facts.aware_at > now:
        errors["aware_at"] = str(_l("The company cannot have become aware in the future."))
    if facts.aware_timezone:
        from qa_incidents.core.clock import is_valid_timezone

        if not is_valid_timezone(facts.aware_timezone):
            errors["aware_timezone"] = str(_l("Choose the time zone of the place where the company became aware."))
    if facts.aware_at < facts.occurred_at:
        errors["aware_at"] = str(_l("The company cannot have become aware before the incident happened."))
    for name in ("deaths", "serious_injuries", "minor_injuries", "units_in_field"):
        if getattr(facts, name) < 0:
            errors[name] = str(_l("Cannot be negative."))
    if facts.no_harm and harm_stated(facts):
        errors["no_harm"] = str(_l("'No harm' contradicts the harm stated above: untick one."))
    if not facts.no_harm and not harm_stated(facts):
        errors["no_harm"] = str(_l("State the harm, or tick 'No harm' to say there was none."))
    if not facts.description.strip():
        errors["description"] = str(_l("Describe what happened."))
    injured = facts.serious_injuries + facts.minor_injuries
    if injured == 0 and facts.injury_care not in (Care.NOT_STATED, Care.NONE):
        errors["injury_care"] = str(_l("The care received is for the injured: no injury is counted above."))
    elif facts.injury_care in JP_SERIOUS_CARE and facts.serious_injuries == 0:
        errors["serious_injuries"] = str(_l(
            "30 days' treatment or more, or a lasting disability, is a serious injury: count it under Serious injuries."))
    return errors


def format_reference(year: int, number: int) -> str:
    """The readable reference of an incident, e.g. INC-2026-000123."""
    return f"INC-{year:04d}-{number:06d}"


REFERENCE_RE = re.compile(r"^INC-(\d{4})-(\d{6,})$")


#: Severities whose incident needs a full review, approved before it may close (the reviews build on this).
SEVERE_LEVELS = frozenset({"S1", "S2"})


def review_needed_to_close(severity: str | None) -> bool:
    """Whether the incident may close only after its review is approved (S1/S2). An S3/S4 incident may close without
    one (it then shows as a gap on the dashboard), but not while a review of it is started and not approved."""
    return severity in SEVERE_LEVELS
