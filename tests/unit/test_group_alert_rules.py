"""The rules of group-wide early alerts, without Flask or a database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from qa_incidents.alerts import rules
from qa_incidents.alerts.rules import AlertAnswer, Basis, CatalogueProduct, Urgency
from qa_incidents.core.permissions import Actor, Role

TODAY = date(2026, 11, 20)
HQ, HA, CM, MM = 1, 2, 5, 4

FRIDGE = CatalogueProduct(id=1, division_id=HA, model="R-HW540", category_id=11, category_line=(11, 10),
                          category_name="Home appliances › Refrigerators",
                          parts={"PR-7": "Kanto Relay Co.", "GS-2": "Door Seal Ltd"}, designs=frozenset({"Cool-Core 2"}))


def product(**kw):
    return CatalogueProduct(**({"id": 9, "division_id": CM, "model": "X-1", "category_id": 50, "category_line": (50,)}
                               | kw))


@pytest.mark.parametrize("other, expected", [
    (product(category_id=11, category_line=(11, 10)), [(Basis.CATEGORY, "Home appliances › Refrigerators")]),
    (product(category_id=12, category_line=(12, 11, 10)), [(Basis.CATEGORY, "Home appliances › Refrigerators")]),
    (product(category_id=13, category_line=(13, 10)), []),  # a sibling category (washers): not the same
    (product(parts={"pr-7 ": "Other Relay"}), [(Basis.PART, "PR-7")]),  # part numbers compared as written, less case
    (product(parts={"TF-152": "kanto  relay co."}), [(Basis.SUPPLIER, "Kanto Relay Co.")]),
    (product(designs=frozenset({"COOL-CORE 2"})), [(Basis.DESIGN, "Cool-Core 2")]),
    (product(parts={"Z": ""}), []),  # no supplier named: nothing shared
])
def test_matches(other, expected):
    assert [(m.basis, m.value) for m in rules.matches(FRIDGE, other)] == expected


def test_suggest_groups_by_division_and_leaves_out_the_incidents_own():
    catalogue = [FRIDGE, product(id=2, division_id=HA, category_id=11, category_line=(11, 10)),
                 product(id=3, division_id=CM, parts={"X": "Kanto Relay Co."}), product(id=4, division_id=MM)]
    found = rules.suggest(FRIDGE, catalogue)
    assert set(found) == {CM}
    assert rules.basis_text(found[CM]) == "same supplier Kanto Relay Co. (X-1)"


@pytest.mark.parametrize("role, division, sends, answers_cm, reads", [
    (Role.HEAD_OFFICE_QA, HQ, True, False, True),
    (Role.DIVISION_QA, CM, False, True, True),  # addressed: reads the alert, not the incident
    (Role.DIVISION_QA, HA, False, False, True),  # the incident's division reads it through the incident
    (Role.DIVISION_QA, MM, False, False, False),
    (Role.REPORTER, CM, False, False, False),
    (Role.EXECUTIVE, HQ, False, False, True),
    (Role.ENGINEER, MM, False, False, False),
    (Role.ADMIN, HQ, False, False, False),
])
def test_who_sends_answers_and_reads(role, division, sends, answers_cm, reads):
    actor = Actor(id=1, role=role, division_id=division)
    assert rules.may_send(actor) is sends
    assert rules.may_answer(actor, CM) is answers_cm
    assert rules.may_read(actor, incident_division_id=HA, addressed=[CM]) is reads


@pytest.mark.parametrize("severity, status, refused", [
    ("S1", "escalated", None), ("S2", "contained", None), ("S1", "under_review", None),
    ("S3", "escalated", "S1 and S2"), (None, "reported", "S1 and S2"),
    ("S1", "escalation_requested", "approved the escalation"), ("S1", "triaged", "approved the escalation"),
    ("S1", "closed", "approved the escalation"),
])
def test_when_an_alert_may_be_sent(severity, status, refused):
    why = rules.send_blocked(severity=severity, status=status)
    assert (why is None) if refused is None else (refused in why)


def test_send_errors_by_field():
    ok = {"subject": "Check relays", "message": "Welded contacts", "division_ids": [CM], "incident_division_id": HA,
          "due_on": TODAY + timedelta(days=7), "today": TODAY, "known_divisions": [CM, MM]}
    assert rules.send_errors(**ok) == {}
    assert set(rules.send_errors(**ok | {"subject": " ", "message": "", "division_ids": [],
                                         "due_on": None})) == {"subject", "message", "division_ids", "due_on"}
    assert "own division" in rules.send_errors(**ok | {"division_ids": [HA, CM]})["division_ids"]
    assert "active divisions" in rules.send_errors(**ok | {"division_ids": [99]})["division_ids"]
    assert "past" in rules.send_errors(**ok | {"due_on": TODAY - timedelta(days=1)})["due_on"]
    assert rules.send_errors(**ok | {"due_on": TODAY}) == {}
    assert "90 days" in rules.send_errors(**ok | {"due_on": TODAY + timedelta(days=91)})["due_on"]
    assert "200" in rules.send_errors(**ok | {"subject": "x" * 201})["subject"]


@pytest.mark.parametrize("answer, evidence, fields", [
    ("affected", "Lot 2609 relays welded.", set()), ("not_affected", "No PR-7 in our models.", set()),
    ("investigating", "Pulling samples.", set()), ("pending", "x", {"answer"}), ("maybe", "", {"answer", "evidence"}),
    ("affected", "   ", {"evidence"}), ("affected", "x" * 4001, {"evidence"}),
])
def test_answer_errors(answer, evidence, fields):
    assert set(rules.answer_errors(answer=answer, evidence=evidence)) == fields


@pytest.mark.parametrize("answer, days_left, state, notice", [
    (AlertAnswer.PENDING, 3, Urgency.OPEN, None),
    (AlertAnswer.PENDING, 1, Urgency.DUE_SOON, "reminder"),
    (AlertAnswer.PENDING, 0, Urgency.DUE_SOON, "reminder"),  # due today: still on time
    (AlertAnswer.PENDING, -1, Urgency.OVERDUE, "overdue"),
    (AlertAnswer.INVESTIGATING, -5, Urgency.OVERDUE, "overdue"),  # an interim answer does not stop the clock
    (AlertAnswer.AFFECTED, -5, Urgency.ANSWERED, None),
    (AlertAnswer.NOT_AFFECTED, 1, Urgency.ANSWERED, None),
])
def test_urgency_and_notices(answer, days_left, state, notice):
    due = TODAY + timedelta(days=days_left)
    assert rules.urgency(answer=answer, due_on=due, today=TODAY) == state
    assert rules.notice_due(answer=answer, due_on=due, today=TODAY) == notice
