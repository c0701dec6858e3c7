"""Notification record rules: who may take which step, missing fields, urgency, warning points, drafts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qa_incidents.core.permissions import Actor, Role
from qa_incidents.notifications import rules
from qa_incidents.notifications.drafts import DraftFacts, prefill
from qa_incidents.notifications.rules import State, Step, Urgency

OWN, OTHER = 1, 2
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def actor(role: Role, division: int = OWN) -> Actor:
    return Actor(id=1, role=role, division_id=division)


#: (step, state, role, same division) -> allowed; written out independently of rules.MOVES.
ALLOWED = {
    (Step.DRAFT, State.REQUIRED, Role.DIVISION_QA, True): True,
    (Step.DRAFT, State.REQUIRED, Role.DIVISION_QA, False): False,
    (Step.DRAFT, State.REQUIRED, Role.REPORTER, True): False,
    (Step.DRAFT, State.SUBMITTED, Role.DIVISION_QA, True): False,
    (Step.DRAFT, State.APPROVED, Role.HEAD_OFFICE_QA, False): True,
    (Step.APPROVE, State.DRAFTED, Role.DIVISION_QA, True): False,
    (Step.APPROVE, State.DRAFTED, Role.HEAD_OFFICE_QA, False): True,
    (Step.APPROVE, State.REQUIRED, Role.HEAD_OFFICE_QA, True): False,
    (Step.APPROVE, State.DRAFTED, Role.EXECUTIVE, True): False,
    (Step.SUBMIT, State.APPROVED, Role.DIVISION_QA, True): True,
    (Step.SUBMIT, State.DRAFTED, Role.DIVISION_QA, True): False,
    (Step.SUBMIT, State.APPROVED, Role.REPORTER, True): False,
    (Step.ACKNOWLEDGE, State.SUBMITTED, Role.DIVISION_QA, True): True,
    (Step.ACKNOWLEDGE, State.ACKNOWLEDGED, Role.DIVISION_QA, True): False,
    (Step.NOT_REQUIRED, State.REQUIRED, Role.DIVISION_QA, True): False,
    (Step.NOT_REQUIRED, State.REQUIRED, Role.HEAD_OFFICE_QA, False): True,
    (Step.NOT_REQUIRED, State.SUBMITTED, Role.HEAD_OFFICE_QA, True): False,
    (Step.REOPEN, State.NOT_REQUIRED, Role.HEAD_OFFICE_QA, True): True,
    (Step.REOPEN, State.NOT_REQUIRED, Role.DIVISION_QA, True): False,
    (Step.APPROVE, State.DRAFTED, Role.ADMIN, True): False,
    (Step.SUBMIT, State.APPROVED, Role.ENGINEER, True): False,
}


@pytest.mark.parametrize(("step", "state", "role", "same"), list(ALLOWED))
def test_move_table(step, state, role, same):
    verdict = rules.check(step, state=state, actor=actor(role, OWN if same else OTHER), division_id=OWN)
    assert verdict.allowed is ALLOWED[(step, state, role, same)]
    if not verdict.allowed:
        assert verdict.why_not


def test_refusal_says_the_state():
    verdict = rules.check(Step.SUBMIT, state=State.DRAFTED, actor=actor(Role.DIVISION_QA), division_id=OWN)
    assert verdict.why_not == "Not possible while the notification is drafted."


def test_missing_fields_in_the_authoritys_order():
    assert rules.missing_fields(["brand", "model", "facts"], {"model": "R-1", "facts": "  ", "extra": "x"}) == ["brand", "facts"]
    assert rules.missing_fields(["model"], {"model": "R-1"}) == []


@pytest.mark.parametrize(("left", "expected"), [
    (timedelta(hours=-1), Urgency.OVERDUE),
    (timedelta(0), Urgency.OVERDUE),
    (timedelta(hours=3), Urgency.CRITICAL),
    (timedelta(hours=20), Urgency.SOON),
    (timedelta(days=3), Urgency.WATCH),  # start T0, due T0+5d, now T0+2d... see below
    (timedelta(days=9), Urgency.OK),
])
def test_urgency(left, expected):
    start = T0
    now = T0 + timedelta(days=2)
    due = now + left
    if expected == Urgency.WATCH:
        start = now - timedelta(days=4)  # 4 of 7 days used
    assert rules.urgency(start=start, due=due, now=now) == expected


def test_urgency_without_deadline():
    assert rules.urgency(start=T0, due=None, now=T0) == Urgency.NO_DEADLINE


def test_parse_points_and_bad_spec():
    points = rules.parse_points("50%, 24h,4h")
    assert [p.key for p in points] == ["50pct", "24h", "4h", "overdue"]
    with pytest.raises(ValueError, match="percentage"):
        rules.parse_points("50%,tomorrow")


@pytest.mark.parametrize(("elapsed_hours", "expected"), [
    (10, None),           # 10 h of 240 h: nothing yet
    (120, "50pct"),       # half the time
    (217, "24h"),         # 23 h left
    (236.5, "4h"),        # 3.5 h left
    (240, "overdue"),
    (300, "overdue"),
])
def test_latest_warning_point(elapsed_hours, expected):
    due = T0 + timedelta(hours=240)
    point = rules.due_warning(rules.DEFAULT_POINTS, start=T0, due=due, now=T0 + timedelta(hours=elapsed_hours))
    assert (point.key if point else None) == expected


def test_a_24_hour_rule_has_no_24h_warning_before_its_start():
    due = T0 + timedelta(hours=24)
    # 12 h in: 50 % reached; the "24 h before" point equals the start and is not a separate warning later
    assert rules.due_warning(rules.DEFAULT_POINTS, start=T0, due=due, now=T0 + timedelta(hours=12)).key == "50pct"
    assert rules.due_warning(rules.DEFAULT_POINTS, start=T0, due=due, now=T0 + timedelta(hours=21)).key == "4h"


def facts(**changes):
    base = dict(reference="INC-2026-000001", title="Fire", division="Home Appliances", product_name="Refrigerator",
                model="R-HW540", category="Home appliances / Refrigerators", lot_numbers="L2405", serial_numbers="",
                country="JP", place="Setagaya, Tokyo", occurred_at=T0, aware_at=T0 + timedelta(hours=20),
                source="customer complaint", description="Smoke then flames at the compressor.", deaths=0,
                serious_injuries=0, minor_injuries=1, fire=True, smoke=False, co_poisoning=False, property_damage=True,
                units_in_field=48200, similar_reports=2, severity="S1", timezone="Asia/Tokyo")
    base.update(changes)
    return DraftFacts(**base)


def test_prefill_older_field_names_never_take_a_different_quantity():
    """Fields named in an older laws map's words: matched by words, but quantities made and sold are never the units
    in the field, and property damage is not said to be product damage."""
    required = ["brand", "model", "country of production", "accident date and time", "fire / CO / product damage",
                "casualties by class", "facts", "similar accidents with the same model", "quantities made or imported and sold"]
    draft = prefill(required, facts())
    assert draft["model"] == "R-HW540"
    assert draft["accident date and time"] == "2026-03-02 18:00 JST (Asia/Tokyo)"
    assert draft["fire / CO / product damage"] == "fire: yes; CO: no; property damage: yes"
    assert draft["casualties by class"].startswith("deaths: 0; serious injuries: 0; minor injuries: 1")
    assert "Smoke then flames" in draft["facts"] and "Setagaya, Tokyo" in draft["facts"]
    assert draft["similar accidents with the same model"].startswith("2 similar report(s)")
    # the incident does not know these: they stay empty and are listed as missing
    assert draft["brand"] == "" and draft["country of production"] == ""
    assert draft["quantities made or imported and sold"] == ""
    assert rules.missing_fields(required, draft) == ["brand", "country of production",
                                                     "quantities made or imported and sold"]


def test_prefill_identification_lists_lots_and_serials():
    draft = prefill(["product identification (price, brand, model, date codes, markings, photo)"],
                    facts(serial_numbers="SN-1, SN-2"))
    value = draft["product identification (price, brand, model, date codes, markings, photo)"]
    assert "model R-HW540" in value and "lots: L2405" in value and "serial numbers: SN-1, SN-2" in value


def test_form_1_is_japanese_and_never_fills_quantities_from_the_units_in_the_field():
    from qa_incidents.laws.seed import JP_FORM_1

    draft = prefill(JP_FORM_1, facts(fire=False, smoke=True))
    assert draft["火災の有無"] == "無（発煙のみ）"  # smoke alone is not a fire
    for item in ("製造（輸入）数量", "販売数量", "製造（輸入）期間", "販売期間"):
        assert draft[item] == ""
    assert "型式" in draft["製品の名称及び型式"] and "件" in draft["同一型式の製品による同種事故の有無"]
    assert "重傷（治療期間30日以上）" in draft["被害の状況（死亡・重傷（治療期間30日以上）・軽傷（30日未満）・後遺障害・被害なし）"]


@pytest.mark.parametrize("form", ["CPSC_1115_13_D", "FDA_806_10_C", "NHTSA_573_6_C", "CCPSA_14", "UK_REG_9"])
def test_english_authority_forms_are_english_and_leave_quantities_to_a_person(form):
    from qa_incidents.laws import seed

    items = getattr(seed, form)
    draft = prefill(items, facts())
    assert all(value.isascii() or not value for value in draft.values())
    for item in items:
        if any(word in item for word in ("number of products involved", "quantity", "number of units sold",
                                         "potentially involved")):
            assert draft[item] == ""
    assert any(draft.values())


def test_16_cfr_1115_13_d_items_are_filled_where_the_incident_knows_them():
    from qa_incidents.laws.seed import CPSC_1115_13_D

    draft = prefill(CPSC_1115_13_D, facts())
    assert "48,200" in draft["(9) number of products in the hands of consumers"]
    assert draft["(7) number of products involved"] == ""
    assert "R-HW540" in draft["(3) product identification: name, model, serial or date codes, markings, price, photo"]
