"""The reporting obligations of one incident: from the laws map as of aware_at, assessed, with deadlines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.catalogue.models import Product
from qa_incidents.catalogue.service import CategoryTree as Tree
from qa_incidents.core import freshness
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.severity import harm_classes
from qa_incidents.laws import service as laws
from qa_incidents.laws.models import Law, Obligation
from qa_incidents.notifications.deadlines import Deadline, deadline_for
from qa_incidents.notifications.obligations import Assessment, Trigger, Verdict
from qa_incidents.notifications.reportability import assess_obligation, facts_of


@dataclass
class IncidentObligation:
    obligation: Obligation
    law: Law
    assessment: Assessment
    #: The legal clock from aware_at: only for obligations that apply. One a person must decide may run
    #: from another event (a recall, a determination), so no date is guessed for it.
    deadline: Deadline | None
    #: The country the product is sold in through which the obligation reaches an incident abroad ("" when the
    #: incident happened in the obligation's jurisdiction).
    via_market: str = ""


def incident_harms(incident: Incident) -> list:  # type: ignore[type-arg]
    return harm_classes(deaths=incident.deaths, serious_injuries=incident.serious_injuries,
                        minor_injuries=incident.minor_injuries, fire=incident.fire, smoke=incident.smoke,
                        co_poisoning=incident.co_poisoning, property_damage=incident.property_damage)


def obligations_for(session: so.Session, incident: Incident) -> list[IncidentObligation]:
    """Every obligation the laws map gives for the incident's country and category on the day the company
    became aware (the date as it was in the country's own time zone), assessed against its harm."""
    jurisdictions = laws.jurisdictions_for(session, incident.country)
    on = incident.aware_at.astimezone(ZoneInfo(_own_zone(jurisdictions))).date()
    found = laws.applicable(session, category_id=incident.category_id, country=incident.country, on=on)
    by_market = {market: laws.applicable(session, category_id=incident.category_id, country=market, on=on)
                 for market in markets_abroad(incident)}
    return _assessed(incident, reach(found, by_market))


def markets_abroad(incident: Incident) -> list[str]:
    """The countries the incident's product is sold in, other than the one where it happened, in code order."""
    state = sa.inspect(incident)
    session = so.object_session(incident)
    if session is not None and state.persistent and "product" in state.unloaded:
        # An incident just filed (made from the row it wrote): its product's markets column alone, not the product
        # with the division and category it loads joined (a few ms, inside the filing's write).
        markets = session.scalar(sa.select(Product.markets).where(Product.id == incident.product_id))
    else:
        markets = incident.product.markets if incident.product is not None else None
    return sorted(set((markets or "").split()) - {incident.country})


def reach(found: Iterable[Any], by_market: dict[str, Iterable[Any]]) -> list[tuple[Any, list[Any], str]]:
    """(law, obligations, via market) for each law that reaches the incident: every obligation of the laws of the
    country where it happened, and of the laws of each other market only the obligations whose law reaches events
    abroad ("also applies where sold", e.g. 21 CFR 803.50 for devices marketed in the US, CCPSA s.14(1) "in Canada
    or elsewhere", MDR Art. 87(1)(b) corrective actions in third countries). Each law once, the country's own
    first."""
    picked: list[tuple[Any, list[Any], str]] = []
    seen: set[int] = set()
    for item in found:
        seen.add(item.law.id)
        picked.append((item.law, list(item.obligations), ""))
    for market, items in sorted(by_market.items()):
        for item in items:
            if item.law.id in seen:
                continue
            abroad = [o for o in item.obligations if getattr(o, "applies_to_markets", False)]
            if abroad:
                seen.add(item.law.id)
                picked.append((item.law, abroad, market))
    return picked


def _own_zone(jurisdictions: list[Any]) -> str:
    """The time zone of the country's own jurisdiction (else of its first bloc; UTC if the map has neither)."""
    own = next((j for j in jurisdictions if not j.is_bloc), jurisdictions[0] if jurisdictions else None)
    return own.timezone if own else "UTC"


def incident_deadline(incident: Incident, regime_code: str, *, event_at: dt.datetime | None = None) -> Deadline | None:
    """The deadline of one of the incident's obligations (the decision due, for a clock that starts at a decision
    not yet recorded): counted on the aware site's dates, the receiving member state taken from its country."""
    return deadline_for(regime_code, aware_at=incident.aware_at, aware_timezone=incident.aware_timezone or None,
                        country=incident.country, event_at=event_at)


def _assessed(incident: Incident, found: Iterable[tuple[Any, Iterable[Any], str]]) -> list[IncidentObligation]:
    """Each obligation of each law assessed by its regime's own definition (reportability.py), with its legal clock
    when it applies; those that apply first (soonest due first), then those a person must decide, then the rest."""
    harms = incident_harms(incident)
    at_home, abroad = facts_of(incident), facts_of(incident, abroad=True)
    assessed = []
    for law, obligations, market in found:
        for obligation in obligations:
            assessment = assess_obligation(Trigger(obligation.regime_code, tuple(obligation.trigger_harms or ()),
                                                   obligation.trigger_text), abroad if market else at_home, harms)
            deadline = None
            if assessment.verdict == Verdict.APPLIES:
                deadline = incident_deadline(incident, obligation.regime_code)
            assessed.append(IncidentObligation(obligation, law, assessment, deadline, market))
    order = {Verdict.APPLIES: 0, Verdict.DECIDE: 1, Verdict.NOT_TRIGGERED: 2}
    return sorted(assessed, key=lambda o: (order[o.assessment.verdict],
                                           o.deadline.due_at.timestamp() if o.deadline else float("inf")))


# --- the same for pages, from the laws map as remembered ---------------------------------------------
#
# The incident page shows the obligations of every incident it opens; the laws map behind them changes a few
# times a year. What the map gives a country and category on a day is remembered per process, as plain values
# (never ORM objects, which belong to one session), under the `laws-map` marker by the rule of core/freshness.py
# (the marker moves on every write to jurisdictions, laws, their categories and obligations and the category tree).

LAWS_MARKER = "laws-map"


@dataclass(frozen=True)
class JurisdictionShown:
    id: int
    code: str
    is_bloc: bool
    timezone: str
    member_codes: frozenset[str]


@dataclass(frozen=True)
class CoverageShown:
    category_id: int
    valid_from: dt.date | None
    valid_to: dt.date | None
    category: None = None  # the covering category is not shown on pages


@dataclass(frozen=True)
class ObligationShown:
    id: int
    regime_code: str
    title: str
    trigger_harms: tuple[str, ...]
    trigger_text: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    applies_to_markets: bool = False


@dataclass(frozen=True)
class LawShown:
    id: int
    short_name: str
    jurisdiction: JurisdictionShown
    status: str
    in_force_from: dt.date | None
    repealed_on: dt.date | None
    coverage: tuple[CoverageShown, ...]
    obligations: tuple[ObligationShown, ...]
    authority: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class MapShown:
    """The whole laws map as plain values (a few dozen laws, read in three queries): what it gives any country and
    category, by the rules of laws.service, without a query."""

    tree: Tree
    jurisdictions: tuple[JurisdictionShown, ...]
    laws: dict[int, tuple[LawShown, ...]]  # by jurisdiction id, by short name

    @classmethod
    def load(cls, session: so.Session) -> MapShown:
        by_jurisdiction: dict[int, list[LawShown]] = {}
        for law in session.scalars(sa.select(Law).order_by(Law.short_name, Law.id)
                                   .options(so.selectinload(Law.coverage), so.selectinload(Law.obligations))):
            by_jurisdiction.setdefault(law.jurisdiction_id, []).append(LawShown(
                law.id, law.short_name, _jurisdiction_shown(law.jurisdiction), law.status, law.in_force_from,
                law.repealed_on, tuple(CoverageShown(c.category_id, c.valid_from, c.valid_to) for c in law.coverage),
                tuple(ObligationShown(o.id, o.regime_code, o.title, tuple(o.trigger_harms or ()), o.trigger_text or "",
                                      o.valid_from, o.valid_to, o.applies_to_markets) for o in law.obligations),
                law.authority or "", law.name_en or ""))
        return cls(Tree.load(session), tuple(map(_jurisdiction_shown, laws.active_jurisdictions(session))),
                   {j: tuple(found) for j, found in by_jurisdiction.items()})

    def candidates(self, *, category_id: int, country: str) -> tuple[str, list[laws.Candidate]]:
        """The zone of the country's own jurisdiction, and laws.candidates for the category and country."""
        reaching = laws.reaching(self.jurisdictions, country)
        return _own_zone(reaching), laws.collect_candidates(self.tree.ancestors(category_id), reaching,
                                                            lambda j: self.laws.get(j.id, ()))


def _jurisdiction_shown(j: Any) -> JurisdictionShown:
    return JurisdictionShown(j.id, j.code, j.is_bloc, j.timezone, frozenset(j.member_codes))


#: Per marker value: the whole map (read once per process after each change), and what it gives each country
#: and category.
_MAPS_SHOWN = freshness.Kept(LAWS_MARKER, size=2)
_LAWS_SHOWN = freshness.Kept(LAWS_MARKER, size=1024)


def obligations_shown(session: so.Session, incident: Incident) -> list[IncidentObligation]:
    """obligations_for, for display: the same obligations, assessments and deadlines, with the laws and
    obligations as plain values, read from the laws map once per process while the map stays unchanged."""
    reading = _LAWS_SHOWN.read(session)
    if reading is None:  # no marker (never written): nothing may be reused
        return obligations_for(session, incident)
    computed: dict[Any, Any] = {}  # kept together after one look at the committed marker

    def whole_map() -> MapShown:
        found = computed.get("map") or _MAPS_SHOWN.peek(reading, "map")
        if found is None:
            found = computed["map"] = MapShown.load(session)
        return found  # type: ignore[no-any-return]

    def shown(country: str) -> tuple[str, list[laws.Candidate]]:
        key = (incident.category_id, country)
        found = computed.get(key) or _LAWS_SHOWN.peek(reading, key)
        if found is None:
            found = computed[key] = whole_map().candidates(category_id=incident.category_id, country=country)
        return found  # type: ignore[no-any-return]

    zone, found = shown(incident.country)
    on = incident.aware_at.astimezone(ZoneInfo(zone)).date()
    by_market = {market: laws.in_force_on(shown(market)[1], on) for market in markets_abroad(incident)}
    if computed and freshness.still_committed(session, reading, (LAWS_MARKER,)):
        for key, value in computed.items():
            (_MAPS_SHOWN if key == "map" else _LAWS_SHOWN).put(reading, key, value)
    return _assessed(incident, reach(laws.in_force_on(found, on), by_market))
