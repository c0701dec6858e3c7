"""Pre-filled drafts: each field an authority asks for, taken from the incident where the incident knows it.

The laws map lists, per obligation, the fields the authority asks for in its own words (e.g. Japan's
Form 1: "casualties by class"; CPSC: "nature of the defect"). `prefill` matches each field name to
what the incident, its product and its division say; a field nothing matches stays empty and is
listed as missing until a person fills it. Plain Python: the facts come in as a `DraftFacts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DraftFacts:
    reference: str
    title: str
    division: str
    product_name: str
    model: str
    category: str
    lot_numbers: str
    serial_numbers: str
    country: str
    place: str
    occurred_at: datetime
    aware_at: datetime
    source: str
    description: str
    deaths: int
    serious_injuries: int
    minor_injuries: int
    fire: bool
    smoke: bool
    co_poisoning: bool
    property_damage: bool
    units_in_field: int
    similar_reports: int
    severity: str
    timezone: str = "UTC"


def _local(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def harm_summary(f: DraftFacts) -> str:
    parts = [f"deaths: {f.deaths}", f"serious injuries: {f.serious_injuries}", f"minor injuries: {f.minor_injuries}"]
    flags = [name for name, on in (("fire", f.fire), ("smoke", f.smoke), ("CO poisoning", f.co_poisoning),
                                   ("property damage", f.property_damage)) if on]
    return "; ".join(parts) + (f"; also: {', '.join(flags)}" if flags else "")


def identification(f: DraftFacts) -> str:
    lines = [f"{f.product_name}, model {f.model} ({f.category})"]
    if f.lot_numbers:
        lines.append(f"lots: {f.lot_numbers}")
    if f.serial_numbers:
        lines.append(f"serial numbers: {f.serial_numbers}")
    return "\n".join(lines)


#: (words in the field name, what fills it). The first match wins, so specific entries come first.
Filler = Callable[[DraftFacts], str]
FILLERS: Sequence[tuple[tuple[str, ...], Filler]] = (
    (("fire / co",), lambda f: f"fire: {_yes(f.fire or f.smoke)}; CO: {_yes(f.co_poisoning)}; "
                               f"product damage: {_yes(f.property_damage)}"),
    (("similar accidents",), lambda f: f"{f.similar_reports} similar report(s) of the same product in the matrix window"),
    (("accident date", "date and time"), lambda f: _local(f.occurred_at, f.timezone)),
    (("how and when the information was obtained",),
     lambda f: f"{f.source}; the company became aware at {_local(f.aware_at, f.timezone)}"),
    (("casualties", "nature of injuries", "illnesses or injuries", "injury"), harm_summary),
    (("udi, model, lot",), lambda f: "; ".join(x for x in (f"model {f.model}", f.lot_numbers and f"lots {f.lot_numbers}",
                                                          f.serial_numbers and f"serials {f.serial_numbers}") if x)),
    (("product identification", "identification number", "product type", "goods"), identification),
    (("facts", "circumstances", "event and actions", "nature of the defect"),
     lambda f: f"{f.description}\n\nWhere: {f.place}, {f.country}. When: {_local(f.occurred_at, f.timezone)}."),
    (("when and how many were supplied", "units corrected"), lambda f: f"{f.units_in_field:,} units in the field"),
    (("quantities",), lambda f: f"{f.units_in_field:,} units in the field"),
    (("submitter", "firm and responsible person"), lambda f: f.division),
    (("model",), lambda f: f.model),
)


def filler_for(field: str) -> Filler | None:
    name = field.lower()
    for words, filler in FILLERS:
        if any(word in name for word in words):
            return filler
    return None


def prefill(required: Sequence[str], facts: DraftFacts) -> dict[str, str]:
    """A draft: every required field, filled from the facts where they say it, else empty."""
    draft = {}
    for field in required:
        filler = filler_for(field)
        draft[field] = filler(facts).strip() if filler else ""
    return draft
