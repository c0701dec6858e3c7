"""Recording risk assessments of recall and safety-notice decisions, and reading the one in force.

The feature that owns the decision (recalls, safety notices) checks who may assess and calls `record`; this module
knows nothing of recalls or notices beyond their kind and id. Services flush but never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.risk import rules
from qa_incidents.risk.models import RiskAssessment
from qa_incidents.risk.rules import Method

SUBJECTS = ("recall", "safety_notice")
MAX_STEPS = 6
RATIONALE_LIMIT = 5000


@dataclass
class AssessmentInput:
    """What the assessor typed; numbers stay text until validated, so a bad value is shown back as typed."""

    method: str
    rationale: str = ""
    # R-Map
    frequency: str = ""
    harm_level: str = ""
    frequency_basis: str = ""
    # EU method
    scenario: str = ""
    severity: str = ""
    steps: list[tuple[str, str]] = field(default_factory=list)  # (what happens, its probability)


def evaluate(data: AssessmentInput) -> tuple[dict[str, Any], rules.Outcome | None]:
    """Check the input and compute the outcome: (inputs to keep, outcome); ValidationFailed names each bad field."""
    errors: dict[str, str] = {}
    if data.method not in {m.value for m in Method}:
        raise ValidationFailed({"method": str(_l("Choose a method, or say why no assessment is made."))})
    method = Method(data.method)
    rationale = data.rationale.strip()
    if not rationale:
        errors["rationale"] = str(_l("Say why no assessment is made.") if method == Method.SKIPPED
                                  else _l("Give the reasons for the values chosen and what the result means."))
    elif len(rationale) > RATIONALE_LIMIT:
        errors["rationale"] = str(_l("At most %(n)d characters.", n=RATIONALE_LIMIT))
    inputs: dict[str, Any] = {}
    outcome: rules.Outcome | None = None
    if method == Method.R_MAP:
        frequency = harm = None
        try:
            frequency = rules.parse_rate(data.frequency)
        except ValueError:
            errors["frequency"] = str(_l("Enter accidents per unit-year as a number or fraction, e.g. 2e-6 or "
                                         "3/1500000."))
        if data.harm_level.strip() in {str(h) for h in rules.R_MAP_HARM_LEVELS}:
            harm = int(data.harm_level)
        else:
            errors["harm_level"] = str(_l("Choose the severity of harm (0 to IV)."))
        if frequency is not None and harm is not None:
            outcome = rules.assess_r_map(frequency=frequency, harm_level=harm)
            inputs = {"frequency": str(frequency), "frequency_typed": data.frequency.strip(), "harm_level": harm,
                      "frequency_basis": data.frequency_basis.strip()[:2000]}
    elif method == Method.EU:
        severity = None
        scenario = data.scenario.strip()
        if not scenario:
            errors["scenario"] = str(_l("Describe the injury scenario: who, doing what, and how the hazard "
                                        "injures them."))
        if data.severity.strip() in {str(s) for s in rules.EU_SEVERITIES}:
            severity = int(data.severity)
        else:
            errors["severity"] = str(_l("Choose the severity of the injury (1 to 4)."))
        steps: list[tuple[str, Fraction, str]] = []
        step_errors = []
        for number, (text, probability) in enumerate(data.steps[:MAX_STEPS], start=1):
            text, probability = text.strip(), probability.strip()
            if not text and not probability:
                continue
            if not text:
                step_errors.append(str(_l("Step %(n)d: say what happens.", n=number)))
                continue
            try:
                value = rules.parse_rate(probability)
                if value > 1:
                    raise ValueError("above 1")
            except ValueError:
                step_errors.append(str(_l("Step %(n)d: give its probability between 0 and 1, e.g. 1/50 or 0.02.",
                                          n=number)))
                continue
            steps.append((text, value, probability))
        if not steps and not step_errors:
            step_errors.append(str(_l("Give at least one step of the scenario with its probability.")))
        if step_errors:
            errors["steps"] = " ".join(step_errors)
        elif severity is not None and scenario:
            outcome = rules.assess_eu(severity=severity, steps=[p for _t, p, _typed in steps])
            inputs = {"scenario": scenario[:5000], "severity": severity,
                      "steps": [{"text": t[:500], "probability": str(p), "typed": typed} for t, p, typed in steps],
                      "probability": str(outcome.probability)}
    if errors:
        raise ValidationFailed(errors)
    return inputs, outcome


def record(session: so.Session, *, user: User, subject_type: str, subject_id: int, subject_reference: str,
           division_id: int, incident_id: int | None, data: AssessmentInput, now: datetime) -> RiskAssessment:
    """Record an assessment (or the reason for none) of a decision's subject; audited on the incident's timeline.

    The caller has checked that the user may prepare the decision."""
    if subject_type not in SUBJECTS:
        raise ValueError(f"unknown subject {subject_type!r}")
    inputs, outcome = evaluate(data)
    assessment = RiskAssessment(subject_type=subject_type, subject_id=subject_id,
                                subject_reference=subject_reference, division_id=division_id,
                                incident_id=incident_id, method=data.method, inputs=inputs,
                                result=outcome.result if outcome is not None else "",
                                rationale=data.rationale.strip(), assessed_by_id=user.id, assessed_at=now)
    session.add(assessment)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="risk_assessment", entity_id=assessment.id,
                 action="recorded", now=now, incident_id=incident_id,
                 changes={"subject": [None, subject_reference], "method": [None, data.method],
                          "result": [None, assessment.result], "rationale": [None, assessment.rationale],
                          "inputs": [None, inputs]})
    return assessment


def latest(session: so.Session, subject_type: str, subject_id: int) -> RiskAssessment | None:
    """The assessment in force for the subject: its newest."""
    return session.scalar(sa.select(RiskAssessment).where(RiskAssessment.subject_type == subject_type,
                                                          RiskAssessment.subject_id == subject_id)
                          .order_by(RiskAssessment.id.desc()).limit(1))


def history(session: so.Session, subject_type: str, subject_id: int) -> list[RiskAssessment]:
    """Every assessment of the subject, newest first."""
    return list(session.scalars(sa.select(RiskAssessment).where(RiskAssessment.subject_type == subject_type,
                                                                RiskAssessment.subject_id == subject_id)
                                .order_by(RiskAssessment.id.desc())))


def for_incident(session: so.Session, incident_id: int) -> list[RiskAssessment]:
    """The assessments in force of every subject of the incident (for its status report), oldest subject first."""
    rows = session.scalars(sa.select(RiskAssessment).where(RiskAssessment.incident_id == incident_id)
                           .order_by(RiskAssessment.id))
    newest: dict[tuple[str, int], RiskAssessment] = {}
    for row in rows:
        newest[(row.subject_type, row.subject_id)] = row
    return list(newest.values())


def missing_problem(assessment: RiskAssessment | None) -> str | None:
    """Why a launch or approval must wait: no assessment and no recorded reason for none."""
    if assessment is None:
        return str(_l("Record a risk assessment (R-Map or the EU method), or the reason for not making one."))
    return None


def signed_summary(assessment: RiskAssessment | None) -> dict[str, Any] | None:
    """The assessment as a signature covers it (so the signer signs the risk they saw)."""
    if assessment is None:
        return None
    return {"id": assessment.id, "method": assessment.method, "result": assessment.result,
            "inputs": assessment.inputs, "rationale": assessment.rationale}


# --- for pages and reports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    code: str  # region or risk level
    title: str
    chosen: bool


@dataclass(frozen=True)
class Grid:
    """A method's grid with the assessment's cell marked: rows top-down, each a label and its cells."""

    method: str
    column_labels: list[str]
    rows: list[tuple[str, list[Cell]]]


def grid(method: str, outcome_row: int | None = None, outcome_column: int | None = None) -> Grid:
    """The R-Map or EU table, with one cell chosen (or none)."""
    if method == Method.R_MAP.value:
        columns = [rules.R_MAP_HARM_NUMERALS[h] for h in rules.R_MAP_HARM_LEVELS]
        rows = [(str(level), [Cell(r.value, str(rules.REGION_TITLES[r]),
                                   level == outcome_row and harm == outcome_column)
                              for harm, r in zip(rules.R_MAP_HARM_LEVELS, regions, strict=True)])
                for level, regions in rules.r_map_grid()]
        return Grid(method, columns, rows)
    columns = [str(s) for s in rules.EU_SEVERITIES]
    rows = [(label, [Cell(level.value, str(rules.RISK_LEVEL_TITLES[level]),
                          band == outcome_row and severity == outcome_column)
                     for severity, level in zip(rules.EU_SEVERITIES, levels, strict=True)])
            for band, (label, _lower, levels) in enumerate(rules.EU_TABLE)]
    return Grid(method, columns, rows)


def grid_of(assessment: RiskAssessment) -> Grid | None:
    """The grid of a recorded assessment with its cell marked; None for a skipped one."""
    inputs = assessment.inputs or {}
    if assessment.method == Method.R_MAP.value:
        level = rules.r_map_frequency_level(Fraction(inputs["frequency"]))
        return grid(assessment.method, level, int(inputs["harm_level"]))
    if assessment.method == Method.EU.value:
        return grid(assessment.method, rules.eu_band(Fraction(inputs["probability"])), int(inputs["severity"]))
    return None


def facts(method: str, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """An assessment's inputs as (label, value) lines in the current language."""
    lines: list[tuple[str, str]] = []
    if method == Method.R_MAP.value:
        frequency = Fraction(inputs["frequency"])
        level = rules.r_map_frequency_level(frequency)
        lines = [(str(_l("Frequency (accidents per unit-year)")),
                  f"{rules.show_rate(frequency)} → {rules.R_MAP_FREQUENCY_TITLES[level]}"),
                 (str(_l("Severity of harm")), str(rules.R_MAP_HARM_TITLES[int(inputs['harm_level'])]))]
        if inputs.get("frequency_basis"):
            lines.append((str(_l("How the frequency was estimated")), inputs["frequency_basis"]))
    elif method == Method.EU.value:
        probability = Fraction(inputs["probability"])
        lines = [(str(_l("Injury scenario")), inputs["scenario"]),
                 (str(_l("Severity of injury")), str(rules.EU_SEVERITY_TITLES[int(inputs["severity"])]))]
        lines += [(str(_l("Step %(n)d", n=n)), f"{s['text']} — {rules.show_rate(Fraction(s['probability']))}")
                  for n, s in enumerate(inputs.get("steps", []), start=1)]
        lines.append((str(_l("Probability of the scenario")),
                      f"{rules.show_rate(probability)} ({rules.EU_TABLE[rules.eu_band(probability)][0]})"))
    return lines


def describe(assessment: RiskAssessment) -> dict[str, Any]:
    """The assessment in words, for pages."""
    return {"method": str(rules.METHOD_TITLES[Method(assessment.method)]),
            "result": rules.result_title(assessment.method, assessment.result) if assessment.result else "",
            "result_code": assessment.result, "facts": facts(assessment.method, assessment.inputs or {}),
            "rationale": assessment.rationale, "reference": assessment.subject_reference,
            "by": assessment.assessed_by.name if assessment.assessed_by else "", "at": assessment.assessed_at,
            "skipped": assessment.method == Method.SKIPPED.value}


def report_words(entry: dict[str, Any]) -> dict[str, Any]:
    """One assessment of a status report's content in the reader's language (the content keeps codes)."""
    method = entry.get("method", "")
    known = method in {m.value for m in Method}
    return {"method": str(rules.METHOD_TITLES[Method(method)]) if known else method,
            "result": rules.result_title(method, entry["result"]) if known and entry.get("result") else "",
            "facts": facts(method, entry.get("inputs") or {}) if known else []}


def report_content(session: so.Session, incident_id: int) -> list[dict[str, Any]]:
    """The incident's assessments in force as a status report keeps them: codes and numbers, worded when rendered."""
    found = []
    for a in for_incident(session, incident_id):
        g = grid_of(a)
        chosen = None
        if g is not None:
            chosen = next([r, c] for r, (_label, cells) in enumerate(g.rows) for c, cell in enumerate(cells)
                          if cell.chosen)
        found.append({
            "subject": a.subject_type, "reference": a.subject_reference, "method": a.method, "result": a.result,
            "inputs": a.inputs, "rationale": a.rationale, "by": a.assessed_by.name if a.assessed_by else "",
            "at": a.assessed_at.isoformat(),
            "grid": None if g is None else {"columns": g.column_labels, "rows": [[label, [c.code for c in cells]]
                                                                                for label, cells in g.rows],
                                            "chosen": chosen}})
    return found
