"""Reviews in proportion to severity, countermeasures for every cause found, and safety tiers: the rules alone."""

from __future__ import annotations

import pytest

from qa_incidents.core.permissions import Role
from qa_incidents.incidents.lifecycle import Action, Case, check
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reviews import rules
from qa_incidents.reviews.rules import Dimension, ReviewContent, ReviewDepth, SafetyTier


def content(**changes) -> ReviewContent:  # type: ignore[no-untyped-def]
    base = dict(title="t", phenomenon="p", mechanism="Loose crimp", process_stage="manufacturing",
                process_cause="No crimp-height control", escape_reason="Function test only",
                framework_cause="No first-article rule", motivating_cause="Schedule", countermeasures=1,
                deployments_pending=0, depth=ReviewDepth.FULL, no_cause=frozenset(),
                countermeasure_dimensions=frozenset({"technical", "process", "framework", "motivating"}))
    base.update(changes)
    return ReviewContent(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("severities, depth", [
    (["S1"], ReviewDepth.FULL), (["S2"], ReviewDepth.FULL), (["S3"], ReviewDepth.SHORT), (["S4"], ReviewDepth.SHORT),
    (["S4", "S2"], ReviewDepth.FULL), ([None], ReviewDepth.SHORT),
])
def test_depth_follows_the_most_severe_incident(severities, depth):
    assert rules.depth_for(severities) == depth


@pytest.mark.parametrize("depth, severity, suffices", [
    ("full", "S1", True), ("short", "S1", False), ("short", "S2", False), ("short", "S3", True), ("full", "S4", True),
])
def test_a_short_review_is_not_enough_once_the_incident_is_s1_or_s2(depth, severity, suffices):
    assert rules.depth_suffices(depth, severity) is suffices


@pytest.mark.parametrize("status, severity, approved, gap", [
    ("closed", "S3", False, True), ("closed", "S4", False, True), ("closed", "S3", True, False),
    ("closed", "S1", False, False), ("under_review", "S3", False, False), ("closed", None, False, False),
])
def test_closed_minor_incident_without_review_is_a_gap(status, severity, approved, gap):
    assert rules.closed_without_review(status=status, severity=severity, review_approved=approved) is gap


def test_full_review_refuses_each_cause_found_without_a_countermeasure_naming_the_dimension():
    c = content(countermeasure_dimensions=frozenset({"process"}))
    gaps = rules.dimension_gaps(c)
    assert set(gaps) == {Dimension.TECHNICAL, Dimension.FRAMEWORK, Dimension.MOTIVATING}
    assert gaps[Dimension.FRAMEWORK].startswith("Framework cause") and "no countermeasure answers it" in gaps[Dimension.FRAMEWORK]
    errors = rules.submission_errors(c)
    assert {"countermeasures_technical", "countermeasures_framework", "countermeasures_motivating"} <= set(errors)


def test_a_dimension_marked_without_cause_needs_no_countermeasure_but_the_technical_one_always_does():
    c = content(countermeasure_dimensions=frozenset({"process"}),
                no_cause=frozenset({"framework", "motivating", "technical"}))
    assert set(rules.dimension_gaps(c)) == {Dimension.TECHNICAL}


def test_a_full_review_does_not_accept_why_none_instead_of_a_countermeasure():
    c = content(countermeasure_dimensions=frozenset({"technical", "process"}),
                no_countermeasure_reasons={"framework": "x", "motivating": "y"})
    assert set(rules.dimension_gaps(c)) == {Dimension.FRAMEWORK, Dimension.MOTIVATING}


def test_short_review_takes_a_countermeasure_or_why_none_per_cause():
    c = content(depth=ReviewDepth.SHORT, phenomenon="", process_stage="", escape_reason="",
                countermeasure_dimensions=frozenset({"technical"}),
                no_countermeasure_reasons={"process": "Covered by the technical fix", "framework": "  "})
    errors = rules.submission_errors(c)
    # Phenomenon, stage and escape reason are the full form's: the short form does not ask for them.
    assert set(errors) == {"countermeasures_framework", "countermeasures_motivating"}
    assert "add a countermeasure or say why there is none" in errors["countermeasures_framework"]


def test_short_review_says_each_other_dimension_in_one_line():
    c = content(depth=ReviewDepth.SHORT, process_cause="line one\nline two", framework_cause="x" * 301,
                motivating_cause="")
    errors = rules.submission_errors(c)
    assert "One line" in errors["process_cause"] and "One line" in errors["framework_cause"]
    assert "motivating" in errors["motivating_cause"]
    assert rules.is_one_line("x" * 300) and not rules.is_one_line("a\r\nb")


@pytest.mark.parametrize("dimension, tier, reason, errors", [
    (Dimension.TECHNICAL, "design", "", set()),
    (Dimension.TECHNICAL, "safeguard", "Redesign needs a new tool; 18 months", set()),
    (Dimension.TECHNICAL, "safeguard", " ", {"tier_reason"}),
    (Dimension.TECHNICAL, "usage_information", "", {"tier_reason"}),
    (Dimension.TECHNICAL, "", "", {"safety_tier"}),
    (Dimension.TECHNICAL, "not_recorded", "", {"safety_tier"}),
    (Dimension.PROCESS, "", "", set()),
    (Dimension.FRAMEWORK, "design", "", {"safety_tier"}),
])
def test_safety_tier_in_order_of_priority(dimension, tier, reason, errors):
    assert set(rules.tier_errors(dimension=dimension, tier=tier, reason=reason)) == errors


def test_a_lower_tier_names_the_higher_tiers_it_must_rule_out():
    message = rules.tier_errors(dimension=Dimension.TECHNICAL, tier="usage_information", reason="")["tier_reason"]
    assert "Design" in message and "Safeguard" in message
    assert [t for t in rules.TIER_ORDER] == [SafetyTier.DESIGN, SafetyTier.SAFEGUARD, SafetyTier.USAGE_INFORMATION]


def _close(**case) -> str | None:  # type: ignore[no-untyped-def]
    base = dict(status=Status.TRIAGED, severity=Severity.S3, division_id=1)
    base.update(case)
    return check(Action.CLOSE, Case(**base), role=Role.DIVISION_QA, division_id=1).why_not  # type: ignore[arg-type]


def test_minor_incident_closes_without_a_review_but_not_with_one_started_and_unapproved():
    assert _close() is None
    assert "the review started on it is not approved yet" in (_close(review_started=True) or "")
    assert _close(review_started=False, review_approved=True) is None


def test_severe_incident_still_needs_its_approved_review():
    why = _close(status=Status.UNDER_REVIEW, severity=Severity.S1)
    assert why is not None and "the OCHIBO-HIROI review is not approved yet" in why
    assert _close(status=Status.UNDER_REVIEW, severity=Severity.S1, review_approved=True) is None
