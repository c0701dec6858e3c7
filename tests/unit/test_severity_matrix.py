"""The severity matrix: which rule fires, and the reason shown to the user."""

import pytest

from qa_incidents.incidents.rules import Hazard, Severity
from qa_incidents.incidents.severity import (
    DEFAULT_MATRIX,
    HarmClass,
    Matrix,
    MatrixRule,
    harm_classes,
    suggest,
    validate_rules,
)

H = HarmClass


def harms(**kw):
    base = dict(deaths=0, serious_injuries=0, minor_injuries=0, fire=False, smoke=False, co_poisoning=False,
                property_damage=False)
    base.update(kw)
    return harm_classes(**base)


def test_harm_classes_most_severe_first():
    assert harms(minor_injuries=1, fire=True, deaths=1) == [H.DEATH, H.FIRE, H.MINOR_INJURY]


def test_no_harm_is_its_own_class():
    assert harms() == [H.NONE]


CASES = [
    # harms, hazard, units, similar, expected severity, rule
    (dict(deaths=1), Hazard.FIRE_BURN, 10, 0, Severity.S1, "D1"),
    (dict(co_poisoning=True), Hazard.CO_GAS, 10, 0, Severity.S1, "D2"),
    (dict(serious_injuries=2), Hazard.MECHANICAL, 10, 0, Severity.S1, "D2"),
    (dict(fire=True), Hazard.FIRE_BURN, 10_000, 0, Severity.S1, "F1"),  # wide exposure
    (dict(fire=True), Hazard.FIRE_BURN, 50, 3, Severity.S1, "F1"),  # recurrence
    (dict(fire=True), Hazard.FIRE_BURN, 9_999, 2, Severity.S2, "F2"),  # just below both thresholds
    (dict(minor_injuries=1), Hazard.MECHANICAL, 20_000, 0, Severity.S2, "I1"),
    (dict(minor_injuries=1), Hazard.MECHANICAL, 100, 0, Severity.S3, "I2"),
    (dict(smoke=True), Hazard.OVERHEATING, 100, 3, Severity.S2, "T1"),  # recurring heat hazard
    (dict(smoke=True), Hazard.OVERHEATING, 100, 0, Severity.S3, "P1"),
    (dict(smoke=True), Hazard.STRUCTURAL_FAILURE, 100, 5, Severity.S3, "P1"),  # hazard not in T1
    (dict(), Hazard.OVERHEATING, 100, 0, Severity.S4, "N1"),
    (dict(), Hazard.ELECTRIC_SHOCK, 100, 4, Severity.S2, "T1"),
]


@pytest.mark.parametrize("harm, hazard, units, similar, expected, rule", CASES)
def test_default_matrix(harm, hazard, units, similar, expected, rule):
    result = suggest(DEFAULT_MATRIX, harms=harms(**harm), hazard=hazard, units=units, similar=similar)
    assert (result.severity, result.rule_id) == (expected, rule)
    assert result.reason.startswith(f"Rule {rule}:")
    assert result.matrix_version == 1


def test_reason_names_the_conditions():
    result = suggest(DEFAULT_MATRIX, harms=[H.FIRE], hazard=Hazard.FIRE_BURN, units=48_200, similar=0)
    assert "Fire" in result.reason and "10,000" in result.reason and "S1" in result.reason


def test_first_matching_rule_wins():
    matrix = Matrix(version=7, rules=(MatrixRule("A", Severity.S3, harm=(H.FIRE,)),
                                      MatrixRule("B", Severity.S1, harm=(H.FIRE,))))
    assert suggest(matrix, harms=[H.FIRE], hazard=Hazard.FIRE_BURN, units=0, similar=0).rule_id == "A"


def test_fallback_when_nothing_matches():
    matrix = Matrix(version=2, rules=(MatrixRule("A", Severity.S1, harm=(H.DEATH,)),), fallback=Severity.S3)
    result = suggest(matrix, harms=[H.SMOKE], hazard=Hazard.OTHER, units=0, similar=0)
    assert result.severity == Severity.S3 and result.rule_id is None and "fallback" in result.reason


def test_matrix_round_trips_through_its_stored_form():
    again = Matrix.from_dict(DEFAULT_MATRIX.version, DEFAULT_MATRIX.to_dict())
    assert again == DEFAULT_MATRIX


def test_validation_finds_duplicate_ids_and_negative_thresholds():
    errors = validate_rules([MatrixRule("A", Severity.S1), MatrixRule("A", Severity.S2, min_units=-1)])
    assert errors == {"rules-1-id": "Rule identifiers must be unique.", "rules-1-min_units": "Cannot be negative."}
    assert validate_rules([]) == {"rules": "The matrix needs at least one rule."}
