"""Risk assessment methods for recall and safety-notice decisions: Japan's R-Map and the EU Safety Gate method.

Pure Python (no Flask app, no database): the service, the pages and the tests call these. Numbers are exact
fractions, so a boundary (1/1 000 000, 10^-4) falls on the side the method says, never on a rounding error.

Sources (the facts each rule rests on; "to be confirmed" marks what the sources found do not show):

R-Map (JUSE "R-Map実践研究会", used by METI and NITE; METI「リスクアセスメント・ハンドブック(実務編)」):
  * Frequency (vertical axis) × harm severity (horizontal axis); regions A (unacceptable), B (acceptable only
    where the benefit justifies it, ALARP), C (broadly acceptable); A/B risks are reduced until they reach C.
    Sources: Nikkei xTECH glossary "R-Map" (techon.nikkeibp.co.jp/article/WORD/20090202/164987/);
    seihin-sekkei.com/words/r-map (regions map to IEC 61508 / JIS C 0508; R-Map cited in ISO 10377; handbook
    named as reference); monodukuri.com/gihou/article/1215 (the frequency scale for household appliances).
  * Frequency levels per unit-year (household appliances): 5 > 1e-4, 4 ≤ 1e-4, 3 ≤ 1e-5, 2 ≤ 1e-6,
    1 ≤ 1e-7, 0 ≤ 1e-8; harm 0 (none), I (minor), II (moderate), III (serious), IV (fatal). To be confirmed
    against the handbook's table: the sources found name the scale but do not print it.
  * The cell-by-cell grid: to be confirmed against the handbook figure. Implemented as the diagonal bands the
    published map shows: frequency level + harm level ≥ 6 → A, 4–5 → B, otherwise C; no harm (0) and frequency
    level 0 are always C. The A1–A3 / B1–B3 / C1–C3 sub-grades are not modelled.

EU (Commission Implementing Decision (EU) 2019/417, Annex, Part III "Risk assessment guidelines for consumer
products"; the GPSR (EU) 2023/988 carries the method on in Commission Delegated Regulation (EU) 2024/3173,
Annex II "Criteria for assessment of the level of risk"):
  * Injury scenario in steps; the probability of each step; their product is the probability of the scenario;
    severity of injury 1–4 (1: first aid, reversible … 4: life-threatening, fatal, > ~10 % disability).
    Source: legislation.gov.uk/eudn/2019/417/annex (Table 3 "Severity of injury", 6 "Examples"); the folding-
    chair example (severity 1, 1/500 ⇒ "> 1/1 000" ⇒ Low risk) is checked in the tests.
  * Risk level from severity × probability (the table below, 2019/417 Annex, "Determining the level of risk"):
    the bands and cells are as that table prints them to the best of the sources found; cells other than the
    example's are to be confirmed by the legal department against the Official Journal text.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from fractions import Fraction

from flask_babel import lazy_gettext as _l


class Method(enum.StrEnum):
    R_MAP = "r_map"
    EU = "eu_gpsr"
    SKIPPED = "skipped"  # no assessment, with the recorded reason why


METHOD_TITLES = {Method.R_MAP: _l("R-Map (Japan, METI/JUSE)"),
                 Method.EU: _l("EU method (GPSR / Safety Gate risk assessment guidelines)"),
                 Method.SKIPPED: _l("No assessment (reason recorded)")}


# --- R-Map -------------------------------------------------------------------------------------------------------

#: (level, upper bound of the frequency per unit-year, exclusive lower bound); level 5 has no upper bound.
R_MAP_FREQUENCY_LEVELS: tuple[tuple[int, Fraction | None, Fraction | None], ...] = (
    (5, None, Fraction(1, 10**4)),
    (4, Fraction(1, 10**4), Fraction(1, 10**5)),
    (3, Fraction(1, 10**5), Fraction(1, 10**6)),
    (2, Fraction(1, 10**6), Fraction(1, 10**7)),
    (1, Fraction(1, 10**7), Fraction(1, 10**8)),
    (0, Fraction(1, 10**8), None),
)
R_MAP_FREQUENCY_TITLES = {5: _l("5: frequent (more than 1 in 10,000 per unit-year)"),
                          4: _l("4: probable (up to 1 in 10,000)"),
                          3: _l("3: occasional (up to 1 in 100,000)"),
                          2: _l("2: remote (up to 1 in 1,000,000)"),
                          1: _l("1: improbable (up to 1 in 10,000,000)"),
                          0: _l("0: incredible (up to 1 in 100,000,000)")}
R_MAP_HARM_LEVELS = (0, 1, 2, 3, 4)
R_MAP_HARM_NUMERALS = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
R_MAP_HARM_TITLES = {0: _l("0: no harm"), 1: _l("I: minor (light injury, smoke)"),
                     2: _l("II: moderate (injury treated as an outpatient)"),
                     3: _l("III: serious (serious injury, hospital stay, fire)"),
                     4: _l("IV: fatal (death, building burnt down)")}


class Region(enum.StrEnum):
    A = "A"  # unacceptable
    B = "B"  # reduce as far as reasonably practicable (ALARP)
    C = "C"  # broadly acceptable


REGION_TITLES = {Region.A: _l("A: unacceptable risk"),
                 Region.B: _l("B: reduce as far as practicable (ALARP)"),
                 Region.C: _l("C: broadly acceptable")}


def r_map_frequency_level(frequency: Fraction) -> int:
    """The R-Map frequency level (0–5) of a frequency in accidents per unit-year."""
    if frequency < 0:
        raise ValueError("a frequency is never negative")
    for level, upper, lower in R_MAP_FREQUENCY_LEVELS:
        if (upper is None or frequency <= upper) and (lower is None or frequency > lower):
            return level
    raise AssertionError("the levels cover every frequency")  # pragma: no cover


def r_map_region(frequency_level: int, harm_level: int) -> Region:
    """The R-Map region of one cell (frequency level 0–5 × harm 0–IV)."""
    if frequency_level not in range(6) or harm_level not in R_MAP_HARM_LEVELS:
        raise ValueError(f"no R-Map cell {frequency_level}/{harm_level}")
    if frequency_level == 0 or harm_level == 0:
        return Region.C
    band = frequency_level + harm_level
    if band >= 6:
        return Region.A
    if band >= 4:
        return Region.B
    return Region.C


def r_map_grid() -> list[tuple[int, list[Region]]]:
    """Rows from frequency level 5 down to 0, each with the region of harm 0 … IV (to draw the map)."""
    return [(level, [r_map_region(level, harm) for harm in R_MAP_HARM_LEVELS]) for level in range(5, -1, -1)]


# --- EU method ---------------------------------------------------------------------------------------------------


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    SERIOUS = "serious"


RISK_LEVEL_TITLES = {RiskLevel.LOW: _l("Low risk"), RiskLevel.MEDIUM: _l("Medium risk"),
                     RiskLevel.HIGH: _l("High risk"), RiskLevel.SERIOUS: _l("Serious risk")}
EU_SEVERITIES = (1, 2, 3, 4)
EU_SEVERITY_TITLES = {1: _l("1: first aid, fully reversible"),
                      2: _l("2: A&E visit, recovery within about 6 months"),
                      3: _l("3: hospital stay, function affected over 6 months or lost"),
                      4: _l("4: life-threatening or fatal, disability over about 10 percent")}

_L, _M, _H, _S = RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.SERIOUS
#: (label, exclusive lower bound of the probability, risk level for severity 1, 2, 3, 4), highest band first.
EU_TABLE: tuple[tuple[str, Fraction, tuple[RiskLevel, RiskLevel, RiskLevel, RiskLevel]], ...] = (
    ("> 50 %", Fraction(1, 2), (_H, _S, _S, _S)),
    ("> 1/10", Fraction(1, 10), (_M, _S, _S, _S)),
    ("> 1/100", Fraction(1, 100), (_M, _S, _S, _S)),
    ("> 1/1 000", Fraction(1, 1000), (_L, _H, _S, _S)),
    ("> 1/10 000", Fraction(1, 10**4), (_L, _M, _H, _S)),
    ("> 1/100 000", Fraction(1, 10**5), (_L, _L, _M, _H)),
    ("> 1/1 000 000", Fraction(1, 10**6), (_L, _L, _L, _M)),
    ("≤ 1/1 000 000", Fraction(-1), (_L, _L, _L, _L)),
)


def eu_band(probability: Fraction) -> int:
    """The row of the EU table (0 = "> 50 %" … 7 = "≤ 1/1 000 000") a scenario's probability falls in."""
    if not 0 <= probability <= 1:
        raise ValueError("a probability lies between 0 and 1")
    for row, (_label, lower, _levels) in enumerate(EU_TABLE):
        if probability > lower:
            return row
    raise AssertionError("the bands cover every probability")  # pragma: no cover


def eu_risk_level(severity: int, probability: Fraction) -> RiskLevel:
    """The risk level of an injury scenario: its severity (1–4) × its probability."""
    if severity not in EU_SEVERITIES:
        raise ValueError(f"no severity {severity}")
    return EU_TABLE[eu_band(probability)][2][severity - 1]


def scenario_probability(steps: list[Fraction]) -> Fraction:
    """The probability of the whole scenario: the product of its steps' probabilities."""
    if not steps:
        raise ValueError("a scenario has at least one step")
    total = Fraction(1)
    for p in steps:
        if not 0 <= p <= 1:
            raise ValueError("a probability lies between 0 and 1")
        total *= p
    return total


# --- reading numbers as people write them ---------------------------------------------------------------------

_FRACTION = re.compile(r"^\s*(\d[\d\s,]*)\s*/\s*(\d[\d\s,]*)\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_rate(text: str) -> Fraction:
    """A probability or frequency as typed: "1/500", "1 / 1 000 000", "0.002", "2e-6", "50 %". ValueError if not."""
    text = (text or "").strip().replace("\u3000", " ")
    if not text:
        raise ValueError("empty")
    if m := _FRACTION.match(text):
        numerator, denominator = (int(re.sub(r"[\s,]", "", g)) for g in m.groups())
        if denominator == 0:
            raise ValueError("division by zero")
        return Fraction(numerator, denominator)
    if m := _PERCENT.match(text):
        return Fraction(m.group(1)) / 100
    try:
        value = Fraction(text.replace(",", "").replace(" ", "").replace("E", "e"))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a number: {text!r}") from None
    if value < 0:
        raise ValueError("negative")
    return value


def show_rate(value: Fraction) -> str:
    """A fraction the way the tables write it: "1/500", or "3.2e-6" for small values that are not 1/n."""
    if value == 0:
        return "0"
    if value.numerator == 1:
        return f"1/{value.denominator:,}".replace(",", " ")
    if value >= Fraction(1, 1000):
        return f"{float(value):.4g}"
    return f"{float(value):.2e}"


# --- an assessment as the methods compute it ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a method concluded: the result code, the cell it lies in and whether the risk must be acted on."""

    method: Method
    result: str  # "A"/"B"/"C" or "low"/"medium"/"high"/"serious"
    row: int  # R-Map: frequency level; EU: table band
    column: int  # R-Map: harm level; EU: severity
    probability: Fraction | None  # R-Map: frequency per unit-year; EU: scenario probability

    @property
    def needs_action(self) -> bool:
        """A (R-Map) or serious/high (EU): the risk is not to be left as it is."""
        return self.result in {Region.A.value, RiskLevel.SERIOUS.value, RiskLevel.HIGH.value}


def assess_r_map(*, frequency: Fraction, harm_level: int) -> Outcome:
    level = r_map_frequency_level(frequency)
    return Outcome(Method.R_MAP, r_map_region(level, harm_level).value, level, harm_level, frequency)


def assess_eu(*, severity: int, steps: list[Fraction]) -> Outcome:
    probability = scenario_probability(steps)
    return Outcome(Method.EU, eu_risk_level(severity, probability).value, eu_band(probability), severity,
                   probability)


def result_title(method: str, result: str) -> str:
    """The result in words (for pages and reports)."""
    if method == Method.R_MAP.value:
        return str(REGION_TITLES[Region(result)])
    if method == Method.EU.value:
        return str(RISK_LEVEL_TITLES[RiskLevel(result)])
    return str(METHOD_TITLES[Method.SKIPPED])
