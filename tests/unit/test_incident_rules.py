"""The facts of an incident report: what validate_facts refuses, and the reference format."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from qa_incidents.incidents.rules import (
    REFERENCE_RE,
    Hazard,
    IncidentFacts,
    Source,
    format_reference,
    harm_stated,
    validate_facts,
)

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def good_facts(**changes: object) -> IncidentFacts:
    """A report that passes every rule; tests change one thing at a time."""
    facts = IncidentFacts(
        division_id=1,
        product_id=1,
        title="Refrigerator caught fire in kitchen",
        lot_numbers="L2611-07",
        serial_numbers="",
        country="JP",
        place="Setagaya, Tokyo",
        occurred_at=NOW - timedelta(days=2),
        aware_at=NOW - timedelta(days=1),
        source=Source.CUSTOMER_COMPLAINT,
        hazard=Hazard.FIRE_BURN,
        deaths=0,
        serious_injuries=0,
        minor_injuries=1,
        fire=True,
        smoke=False,
        co_poisoning=False,
        property_damage=False,
        no_harm=False,
        units_in_field=48200,
        description="Flames around the compressor relay.",
    )
    return replace(facts, **changes)


def test_good_facts_have_no_errors():
    assert validate_facts(good_facts(), now=NOW, known_countries={"JP", "US"}) == {}


def test_aware_before_occurred_is_refused():
    facts = good_facts(occurred_at=NOW - timedelta(hours=5), aware_at=NOW - timedelta(hours=6))
    errors = validate_facts(facts, now=NOW)
    assert set(errors) == {"aware_at"}
    assert "before" in errors["aware_at"]


def test_aware_at_the_same_instant_as_occurred_is_allowed():
    moment = NOW - timedelta(hours=1)
    assert validate_facts(good_facts(occurred_at=moment, aware_at=moment), now=NOW) == {}


def test_occurred_in_the_future_is_refused():
    facts = good_facts(occurred_at=NOW + timedelta(minutes=1), aware_at=NOW + timedelta(minutes=2))
    errors = validate_facts(facts, now=NOW)
    assert "future" in errors["occurred_at"]
    assert "future" in errors["aware_at"]


def test_aware_in_the_future_is_refused():
    errors = validate_facts(good_facts(aware_at=NOW + timedelta(seconds=1)), now=NOW)
    assert set(errors) == {"aware_at"}
    assert "future" in errors["aware_at"]


def test_now_itself_is_not_the_future():
    assert validate_facts(good_facts(occurred_at=NOW, aware_at=NOW), now=NOW) == {}


@pytest.mark.parametrize("field", ["deaths", "serious_injuries", "minor_injuries", "units_in_field"])
def test_negative_counts_are_refused(field):
    errors = validate_facts(good_facts(**{field: -1}), now=NOW)
    assert errors[field] == "Cannot be negative."


def test_lot_or_serial_is_required():
    errors = validate_facts(good_facts(lot_numbers="  ", serial_numbers="\t"), now=NOW)
    assert set(errors) == {"lot_numbers"}


@pytest.mark.parametrize("lot, serial", [("L1", ""), ("", "SN-0001"), ("L1", "SN-0001")])
def test_either_lot_or_serial_is_enough(lot, serial):
    assert validate_facts(good_facts(lot_numbers=lot, serial_numbers=serial), now=NOW) == {}


@pytest.mark.parametrize(
    "harm",
    [
        {"deaths": 1},
        {"serious_injuries": 2},
        {"minor_injuries": 1},
        {"fire": True},
        {"smoke": True},
        {"co_poisoning": True},
        {"property_damage": True},
    ],
)
def test_no_harm_contradicting_stated_harm_is_refused(harm):
    base = {"minor_injuries": 0, "fire": False}
    facts = good_facts(**{**base, **harm, "no_harm": True})
    errors = validate_facts(facts, now=NOW)
    assert set(errors) == {"no_harm"}
    assert "contradicts" in errors["no_harm"]


def test_no_harm_alone_is_accepted():
    facts = good_facts(minor_injuries=0, fire=False, no_harm=True)
    assert not harm_stated(facts)
    assert validate_facts(facts, now=NOW) == {}


def test_harm_must_be_stated_one_way_or_the_other():
    facts = good_facts(minor_injuries=0, fire=False, no_harm=False)
    errors = validate_facts(facts, now=NOW)
    assert set(errors) == {"no_harm"}
    assert "State the harm" in errors["no_harm"]


@pytest.mark.parametrize("field", ["title", "description", "place"])
@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_title_description_and_place_are_required(field, blank):
    errors = validate_facts(good_facts(**{field: blank}), now=NOW)
    assert set(errors) == {field}


@pytest.mark.parametrize("field, limit", [("title", 200), ("place", 200), ("description", 20000)])
def test_over_long_text_is_refused(field, limit):
    assert validate_facts(good_facts(**{field: "x" * limit}), now=NOW) == {}
    errors = validate_facts(good_facts(**{field: "x" * (limit + 1)}), now=NOW)
    assert errors[field] == f"At most {limit} characters."


@pytest.mark.parametrize("country", ["jp", "JPN", "J", "", "1A", " JP"])
def test_country_must_be_two_capital_letters(country):
    errors = validate_facts(good_facts(country=country), now=NOW)
    assert set(errors) == {"country"}


def test_country_must_be_a_known_one_when_the_list_is_given():
    assert "country" in validate_facts(good_facts(country="XX"), now=NOW, known_countries={"JP", "US"})
    assert validate_facts(good_facts(country="US"), now=NOW, known_countries={"JP", "US"}) == {}


def test_every_problem_is_reported_at_once():
    facts = good_facts(title="", place="", description="", lot_numbers="", country="jp", deaths=-1)
    errors = validate_facts(facts, now=NOW)
    assert {"title", "place", "description", "lot_numbers", "country", "deaths"} <= set(errors)


@pytest.mark.parametrize(
    "year, number, expected",
    [(2026, 1, "INC-2026-000001"), (2026, 123, "INC-2026-000123"), (2027, 999999, "INC-2027-999999"),
     (2027, 1234567, "INC-2027-1234567")],
)
def test_format_reference(year, number, expected):
    reference = format_reference(year, number)
    assert reference == expected
    match = REFERENCE_RE.match(reference)
    assert match and (int(match.group(1)), int(match.group(2))) == (year, number)
