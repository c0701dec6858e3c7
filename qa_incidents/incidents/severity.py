"""The severity matrix: harm class × exposure × hazard → a suggested severity, with the reason.

Pure Python. The matrix is data (stored in versions, edited by admins); this module only
evaluates it. Rules are read top to bottom and the first that matches decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.incidents.rules import HAZARD_TITLES, Hazard, Severity


class HarmClass(TitledEnum):
    """Harm classes, most severe first."""

    DEATH = "death", _l("Death")
    SERIOUS_INJURY = "serious_injury", _l("Serious injury")
    CO_POISONING = "co_poisoning", _l("CO poisoning")
    FIRE = "fire", _l("Fire")
    MINOR_INJURY = "minor_injury", _l("Minor injury")
    SMOKE = "smoke", _l("Smoke")
    PROPERTY_DAMAGE = "property_damage", _l("Property damage")
    NONE = "none", _l("No harm")


HARM_CLASS_TITLES = titles(HarmClass)


def harm_classes(*, deaths: int, serious_injuries: int, minor_injuries: int, fire: bool, smoke: bool,
                 co_poisoning: bool, property_damage: bool) -> list[HarmClass]:
    """Every harm class a report carries, most severe first; [NONE] when there is none."""
    found = [
        (deaths > 0, HarmClass.DEATH),
        (serious_injuries > 0, HarmClass.SERIOUS_INJURY),
        (co_poisoning, HarmClass.CO_POISONING),
        (fire, HarmClass.FIRE),
        (minor_injuries > 0, HarmClass.MINOR_INJURY),
        (smoke, HarmClass.SMOKE),
        (property_damage, HarmClass.PROPERTY_DAMAGE),
    ]
    classes = [cls for present, cls in found if present]
    return classes or [HarmClass.NONE]


@dataclass(frozen=True)
class MatrixRule:
    """One row: if the harm, hazard and exposure conditions hold, the severity is `severity`.

    Empty `harm` or `hazards` means any. Exposure holds when no threshold is set, or when the
    units in the field reach `min_units`, or the similar reports reach `min_similar` (either).
    """

    id: str
    severity: Severity
    harm: tuple[HarmClass, ...] = ()
    hazards: tuple[Hazard, ...] = ()
    min_units: int | None = None
    min_similar: int | None = None
    note: str = ""

    def matches(self, harms: list[HarmClass], hazard: Hazard, units: int, similar: int) -> bool:
        if self.harm and not set(self.harm) & set(harms):
            return False
        if self.hazards and hazard not in self.hazards:
            return False
        if self.min_units is None and self.min_similar is None:
            return True
        return (self.min_units is not None and units >= self.min_units) or (
            self.min_similar is not None and similar >= self.min_similar)

    def describe(self) -> str:
        """The rule in words, for the triage screen and the matrix page."""
        parts = []
        if self.harm:
            parts.append(str(_l("harm is %(h)s", h=" / ".join(str(HARM_CLASS_TITLES[h]) for h in self.harm))))
        if self.hazards:
            parts.append(str(_l("hazard is %(h)s", h=" / ".join(str(HAZARD_TITLES[h]) for h in self.hazards))))
        exposure = []
        if self.min_units is not None:
            exposure.append(str(_l("units in the field ≥ %(n)s", n=f"{self.min_units:,}")))
        if self.min_similar is not None:
            exposure.append(str(_l("similar reports ≥ %(n)d", n=self.min_similar)))
        if exposure:
            parts.append("(" + str(_l(" or ")).join(exposure) + ")")
        return (str(_l(" and ")).join(parts) or str(_l("any incident"))) + f" → {self.severity.value}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        d["harm"] = [h.value for h in self.harm]
        d["hazards"] = [h.value for h in self.hazards]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MatrixRule:
        return cls(
            id=str(d["id"]),
            severity=Severity(d["severity"]),
            harm=tuple(HarmClass(h) for h in d.get("harm") or ()),
            hazards=tuple(Hazard(h) for h in d.get("hazards") or ()),
            min_units=None if d.get("min_units") in (None, "") else int(d["min_units"]),
            min_similar=None if d.get("min_similar") in (None, "") else int(d["min_similar"]),
            note=str(d.get("note") or ""),
        )


@dataclass(frozen=True)
class Matrix:
    version: int
    rules: tuple[MatrixRule, ...]
    fallback: Severity = Severity.S4
    similar_window_days: int = 365

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [r.to_dict() for r in self.rules], "fallback": self.fallback.value,
                "similar_window_days": self.similar_window_days}

    @classmethod
    def from_dict(cls, version: int, d: dict[str, Any]) -> Matrix:
        return cls(version=version, rules=tuple(MatrixRule.from_dict(r) for r in d["rules"]),
                   fallback=Severity(d.get("fallback", "S4")),
                   similar_window_days=int(d.get("similar_window_days", 365)))


@dataclass(frozen=True)
class Suggestion:
    severity: Severity
    rule_id: str | None
    reason: str
    harms: list[HarmClass] = field(default_factory=list)
    units: int = 0
    similar: int = 0
    matrix_version: int = 0


def matching_rule(matrix: Matrix, *, harms: list[HarmClass], hazard: Hazard, units: int,
                  similar: int) -> MatrixRule | None:
    """The first rule, top to bottom, that the facts match; None when the fallback applies."""
    return next((rule for rule in matrix.rules if rule.matches(harms, hazard, units, similar)), None)


def suggested_severity(matrix: Matrix, *, harms: list[HarmClass], hazard: Hazard, units: int,
                       similar: int) -> Severity:
    """The severity `suggest` gives, without composing its reason (a queue needs thousands of them)."""
    rule = matching_rule(matrix, harms=harms, hazard=hazard, units=units, similar=similar)
    return rule.severity if rule else matrix.fallback


def suggest(matrix: Matrix, *, harms: list[HarmClass], hazard: Hazard, units: int, similar: int) -> Suggestion:
    """The first matching rule's severity, and why; the fallback when no rule matches."""
    rule = matching_rule(matrix, harms=harms, hazard=hazard, units=units, similar=similar)
    if rule is None:
        return Suggestion(matrix.fallback, None, rule_reason(None), harms, units, similar, matrix.version)
    return Suggestion(rule.severity, rule.id, rule_reason(rule), harms, units, similar, matrix.version)


def rule_reason(rule: MatrixRule | None) -> str:
    """Why the matrix suggests what it does, in the current language (the rule's note through the catalogue: the
    default matrix's notes are in it; an administrator's own note stays as written)."""
    from qa_incidents.core.i18n import data_text

    if rule is None:
        return str(_l("No rule matched: the matrix's fallback severity applies."))
    reason = str(_l("Rule %(id)s: %(rule)s.", id=rule.id, rule=rule.describe()))
    return f"{reason} {data_text(rule.note)}" if rule.note else reason


def validate_rules(rules: list[MatrixRule]) -> dict[str, str]:
    """Problems with an edited matrix, as {row: message}."""
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if not rule.id.strip():
            errors[f"rules-{i}-id"] = str(_l("Give the rule an identifier."))
        elif rule.id in seen:
            errors[f"rules-{i}-id"] = str(_l("Rule identifiers must be unique."))
        seen.add(rule.id)
        for name in ("min_units", "min_similar"):
            value = getattr(rule, name)
            if value is not None and value < 0:
                errors[f"rules-{i}-{name}"] = str(_l("Cannot be negative."))
    if not rules:
        errors["rules"] = str(_l("The matrix needs at least one rule."))
    return errors


H = HarmClass
#: The company's starting matrix (version 1). Admins change it in the app; each change is a new version.
DEFAULT_MATRIX = Matrix(
    version=1,
    rules=(
        MatrixRule("D1", Severity.S1, harm=(H.DEATH,), note="Any death is critical."),
        MatrixRule("D2", Severity.S1, harm=(H.SERIOUS_INJURY, H.CO_POISONING),
                   note="Serious injury or CO poisoning (a serious product accident in Japan)."),
        MatrixRule("F1", Severity.S1, harm=(H.FIRE,), min_units=10_000, min_similar=3,
                   note="Fire with wide exposure or recurrence."),
        MatrixRule("F2", Severity.S2, harm=(H.FIRE,), note="Fire."),
        MatrixRule("I1", Severity.S2, harm=(H.MINOR_INJURY,), min_units=10_000, min_similar=3,
                   note="Injuries with wide exposure or recurrence."),
        MatrixRule("T1", Severity.S2, harm=(H.SMOKE, H.PROPERTY_DAMAGE, H.NONE),
                   hazards=(Hazard.FIRE_BURN, Hazard.ELECTRIC_SHOCK, Hazard.CO_GAS, Hazard.OVERHEATING), min_similar=3,
                   note="A recurring fire, shock, gas or heat hazard before anyone is hurt."),
        MatrixRule("I2", Severity.S3, harm=(H.MINOR_INJURY,)),
        MatrixRule("P1", Severity.S3, harm=(H.SMOKE, H.PROPERTY_DAMAGE)),
        MatrixRule("N1", Severity.S4, harm=(H.NONE,)),
    ),
)
