"""Property-based tests (hypothesis): the deadline engine and the incident facts check, over generated inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_incidents.incidents.rules import Hazard, IncidentFacts, Source, validate_facts
from qa_incidents.notifications.deadlines import RULES, compute

# A fixed, empty holiday calendar keeps the properties about the arithmetic, not about the holidays package.
NO_HOLIDAYS = lambda country, subdiv, year: {}  # noqa: E731
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))
ZONED = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2060, 12, 30),
                     timezones=st.timezones())
CODES = st.sampled_from(sorted(RULES))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(code=CODES, start=ZONED)
def test_a_deadline_is_aware_utc_and_never_before_its_start(code, start):
    deadline = compute(code, start=start, holidays_provider=NO_HOLIDAYS)
    assert deadline.due_at.tzinfo is not None and deadline.due_at.utcoffset() == timedelta(0)
    assert deadline.start == start.astimezone(UTC)
    assert deadline.due_at >= deadline.start
    assert deadline.explanation.strip()
    if deadline.internal_target is not None:
        assert deadline.internal_target.utcoffset() == timedelta(0)


@SETTINGS
@given(code=CODES, start=INSTANTS, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_a_later_start_never_gives_an_earlier_deadline(code, start, later):
    first = compute(code, start=start, holidays_provider=NO_HOLIDAYS)
    second = compute(code, start=start + later, holidays_provider=NO_HOLIDAYS)
    assert second.due_at >= first.due_at


@SETTINGS
@given(code=CODES, start=INSTANTS, zone=st.timezones())
def test_the_same_instant_in_any_zone_gives_the_same_deadline(code, start, zone):
    assert (compute(code, start=start, holidays_provider=NO_HOLIDAYS).due_at
            == compute(code, start=start.astimezone(zone), holidays_provider=NO_HOLIDAYS).due_at)


NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
TEXT = st.text(st.characters(codec="utf-8"), max_size=400)
COUNTS = st.integers(min_value=-10, max_value=10**9)


@SETTINGS
@given(title=TEXT, place=TEXT, lots=TEXT, serials=TEXT, description=TEXT, country=st.text(max_size=4),
       deaths=COUNTS, serious=COUNTS, minor=COUNTS, units=COUNTS,
       occurred=INSTANTS, aware=INSTANTS, flags=st.lists(st.booleans(), min_size=5, max_size=5),
       source=st.sampled_from(list(Source)), hazard=st.sampled_from(list(Hazard)))
def test_validate_facts_answers_every_input_with_field_messages(title, place, lots, serials, description, country,
                                                                deaths, serious, minor, units, occurred, aware,
                                                                flags, source, hazard):
    facts = IncidentFacts(division_id=1, product_id=1, title=title, lot_numbers=lots, serial_numbers=serials,
                          country=country, place=place, occurred_at=occurred, aware_at=aware, source=source,
                          hazard=hazard, deaths=deaths, serious_injuries=serious, minor_injuries=minor,
                          fire=flags[0], smoke=flags[1], co_poisoning=flags[2], property_damage=flags[3],
                          no_harm=flags[4], units_in_field=units, description=description)
    errors = validate_facts(facts, now=NOW, known_countries={"JP", "US", "DE"})
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())
    if not title.strip():
        assert "title" in errors
    if min(deaths, serious, minor) < 0:
        assert errors  # a negative count is never accepted
    if occurred > NOW or aware > NOW:
        assert errors  # nothing happens in the future
