"""The two risk assessment methods, cell by cell and boundary by boundary."""

from __future__ import annotations

from fractions import Fraction

import pytest

from qa_incidents.risk import rules
from qa_incidents.risk.rules import Region, RiskLevel

F = Fraction

# --- R-Map ---------------------------------------------------------------------------------------------------------

FREQUENCY_CASES = [
    (F(1, 1000), 5), (F(1, 10**4) + F(1, 10**12), 5),  # just above 1e-4
    (F(1, 10**4), 4), (F(1, 10**5) + F(1, 10**12), 4),
    (F(1, 10**5), 3), (F(5, 10**6), 3), (F(1, 10**6) + F(1, 10**14), 3),
    (F(1, 10**6), 2), (F(1, 10**7) + F(1, 10**15), 2),
    (F(1, 10**7), 1), (F(1, 10**8) + F(1, 10**16), 1),
    (F(1, 10**8), 0), (F(0), 0), (F(1), 5), (F(3), 5),
]


@pytest.mark.parametrize("frequency, level", FREQUENCY_CASES)
def test_r_map_frequency_levels_at_each_boundary(frequency, level):
    assert rules.r_map_frequency_level(frequency) == level


def test_r_map_frequency_refuses_negative():
    with pytest.raises(ValueError):
        rules.r_map_frequency_level(F(-1, 10))


# Rows: frequency level 5 … 0; columns: harm 0, I, II, III, IV.
R_MAP_EXPECTED = {
    5: "CAAAA",
    4: "CBAAA",
    3: "CBBAA",
    2: "CCBBA",
    1: "CCCBB",
    0: "CCCCC",
}


@pytest.mark.parametrize("level, harm", [(lv, h) for lv in range(6) for h in range(5)])
def test_r_map_every_cell(level, harm):
    assert rules.r_map_region(level, harm) == Region(R_MAP_EXPECTED[level][harm])


def test_r_map_grid_is_the_cells_top_down():
    grid = rules.r_map_grid()
    assert [row for row, _ in grid] == [5, 4, 3, 2, 1, 0]
    assert ["".join(r.value for r in regions) for _, regions in grid] == [R_MAP_EXPECTED[lv] for lv in range(5, -1, -1)]


@pytest.mark.parametrize("level, harm", [(6, 1), (-1, 1), (3, 5), (3, -1)])
def test_r_map_refuses_cells_off_the_map(level, harm):
    with pytest.raises(ValueError):
        rules.r_map_region(level, harm)


def test_r_map_fatal_at_one_in_a_million_is_unacceptable():
    outcome = rules.assess_r_map(frequency=F(1, 10**6), harm_level=4)
    assert (outcome.row, outcome.column, outcome.result, outcome.needs_action) == (2, 4, "A", True)
    assert not rules.assess_r_map(frequency=F(1, 10**9), harm_level=4).needs_action


# --- EU method -----------------------------------------------------------------------------------------------------

# Rows: "> 50 %" … "≤ 1/1 000 000"; columns: severity 1 … 4 (L, M, H, S).
EU_EXPECTED = ["HSSS", "MSSS", "MSSS", "LHSS", "LMHS", "LLMH", "LLLM", "LLLL"]
LETTER = {"L": RiskLevel.LOW, "M": RiskLevel.MEDIUM, "H": RiskLevel.HIGH, "S": RiskLevel.SERIOUS}
# A probability inside each band, and each band's two edges.
BAND_CASES = [
    (F(1), 0), (F(1, 2) + F(1, 10**9), 0),
    (F(1, 2), 1), (F(1, 10) + F(1, 10**9), 1),
    (F(1, 10), 2), (F(1, 100) + F(1, 10**9), 2),
    (F(1, 100), 3), (F(1, 500), 3), (F(1, 1000) + F(1, 10**12), 3),
    (F(1, 1000), 4), (F(1, 10**4) + F(1, 10**12), 4),
    (F(1, 10**4), 5), (F(1, 10**5) + F(1, 10**12), 5),
    (F(1, 10**5), 6), (F(1, 10**6) + F(1, 10**15), 6),
    (F(1, 10**6), 7), (F(0), 7),
]


@pytest.mark.parametrize("probability, band", BAND_CASES)
def test_eu_probability_bands_at_each_boundary(probability, band):
    assert rules.eu_band(probability) == band


@pytest.mark.parametrize("band, severity", [(b, s) for b in range(8) for s in range(1, 5)])
def test_eu_every_cell(band, severity):
    probability = {0: F(3, 4), 1: F(1, 5), 2: F(1, 50), 3: F(1, 500), 4: F(1, 5000), 5: F(1, 50000),
                   6: F(1, 500000), 7: F(1, 10**7)}[band]
    assert rules.eu_band(probability) == band
    assert rules.eu_risk_level(severity, probability) == LETTER[EU_EXPECTED[band][severity - 1]]


def test_eu_folding_chair_example_of_the_guidelines():
    """2019/417 Annex, 6.1: unfolding 1 × gripping the corner 1/50 × finger caught 1/10 × minor pinching 1 = 1/500,
    severity 1 ⇒ "> 1/1 000" ⇒ Low risk."""
    outcome = rules.assess_eu(severity=1, steps=[F(1), F(1, 50), F(1, 10), F(1)])
    assert outcome.probability == F(1, 500)
    assert (outcome.result, rules.EU_TABLE[outcome.row][0], outcome.needs_action) == ("low", "> 1/1 000", False)


def test_eu_scenario_multiplies_its_steps():
    assert rules.scenario_probability([F(1, 2), F(1, 10), F(1, 100)]) == F(1, 2000)
    assert rules.assess_eu(severity=4, steps=[F(1, 2), F(1, 10), F(1, 100)]).result == "serious"
    assert rules.assess_eu(severity=3, steps=[F(1, 10), F(1, 10)]).needs_action


@pytest.mark.parametrize("steps", [[], [F(3, 2)], [F(1, 2), F(-1, 2)]])
def test_eu_scenario_refuses_impossible_steps(steps):
    with pytest.raises(ValueError):
        rules.scenario_probability(steps)


@pytest.mark.parametrize("severity", [0, 5])
def test_eu_refuses_unknown_severity(severity):
    with pytest.raises(ValueError):
        rules.eu_risk_level(severity, F(1, 2))


# --- numbers as typed ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1/500", F(1, 500)), ("1 / 1 000 000", F(1, 10**6)), ("1/1,000", F(1, 1000)), ("0.002", F(1, 500)),
    ("2e-6", F(2, 10**6)), ("2E-6", F(2, 10**6)), ("50 %", F(1, 2)), ("1", F(1)), ("3/2000000", F(3, 2 * 10**6)),
])
def test_parse_rate(text, value):
    assert rules.parse_rate(text) == value


@pytest.mark.parametrize("text", ["", "  ", "abc", "1/0", "-0.1", "1/2/3"])
def test_parse_rate_refuses(text):
    with pytest.raises(ValueError):
        rules.parse_rate(text)


def test_show_rate():
    assert rules.show_rate(F(1, 500)) == "1/500"
    assert rules.show_rate(F(1, 10**6)) == "1/1 000 000"
    assert rules.show_rate(F(3, 10**6)) == "3.00e-06"
    assert rules.show_rate(F(0)) == "0"
