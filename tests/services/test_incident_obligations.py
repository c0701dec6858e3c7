"""An incident's reporting obligations: from the laws map as of aware_at, assessed, with legal deadlines."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.severity import HarmClass
from qa_incidents.notifications.obligations import Trigger, Verdict, assess
from qa_incidents.notifications.service import obligations_for


def by_code(items):
    return {o.obligation.regime_code: o for o in items}


def incident(session, title):
    return session.scalar(sa.select(Incident).where(Incident.title.contains(title)))


def test_assess_in_words():
    trigger = Trigger("JP-CPSA-35", ("death", "serious_injury", "co_poisoning", "fire"), "Serious product accident")
    applies = assess(trigger, harms=[HarmClass.FIRE, HarmClass.MINOR_INJURY])
    assert applies.verdict == Verdict.APPLIES and "(Fire)" in applies.reason
    not_triggered = assess(trigger, harms=[HarmClass.SMOKE])
    assert not_triggered.verdict == Verdict.NOT_TRIGGERED and "Smoke" in not_triggered.reason
    decide = assess(Trigger("US-NHTSA-573", (), "A defect is determined to be safety-related."), harms=[HarmClass.NONE])
    assert decide.verdict == Verdict.DECIDE and "safety-related" in decide.reason


def test_refrigerator_fire_in_japan(demo):
    fire = incident(demo, "Refrigerator caught fire")
    found = by_code(obligations_for(demo, fire))
    assert list(found) == ["JP-CPSA-35"]
    jp = found["JP-CPSA-35"]
    assert jp.assessment.verdict == Verdict.APPLIES
    aware_local = fire.aware_at.astimezone(jp.deadline.due_local.tzinfo).date()
    day_10 = aware_local + dt.timedelta(days=9)  # 10 days counting the day of knowledge
    # ...moved past administrative holidays (Act No. 91 of 1988 Art. 2) when day 10 is one.
    assert jp.deadline.due_local.date() == day_10 + dt.timedelta(days=len(jp.deadline.skipped))
    assert all(s.day >= day_10 for s in jp.deadline.skipped)
    assert (jp.deadline.due_local.hour, jp.deadline.due_local.minute) == (23, 59)


def test_minor_injury_in_the_us(demo):
    glass = incident(demo, "Door glass shattered")
    found = by_code(obligations_for(demo, glass))
    # a minor injury: 15 U.S.C. 2064(b) asks whether the information reasonably supports a substantial product hazard
    assert found["US-CPSC-15B"].assessment.verdict == Verdict.DECIDE and found["US-CPSC-15B"].deadline is None
    assert found["US-CPSC-MPR"].assessment.verdict == Verdict.DECIDE and found["US-CPSC-MPR"].deadline is None


def test_the_map_as_of_aware_at(demo, clock):
    """The same fire in Germany: before 13 Dec 2024 the GPSD (Art. 5(3): a dangerous product, to decide), from then
    the GPSR (Art. 20: the serious injury is an accident that applies)."""
    fire = incident(demo, "Refrigerator caught fire")
    fire.country = "DE"
    fire.serious_injuries = 1
    fire.occurred_at = dt.datetime(2024, 12, 12, 8, 0, tzinfo=dt.UTC)
    fire.aware_at = dt.datetime(2024, 12, 12, 22, 30, tzinfo=dt.UTC)  # 23:30 in Brussels: still the 12th
    before = by_code(obligations_for(demo, fire))
    assert list(before) == ["EU-GPSD-5-3"] and before["EU-GPSD-5-3"].assessment.verdict == Verdict.DECIDE
    fire.aware_at = dt.datetime(2024, 12, 12, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 13th in Brussels
    found = by_code(obligations_for(demo, fire))
    assert list(found) == ["EU-GPSR-20"] and not found["EU-GPSR-20"].deadline.is_legal_deadline
    demo.rollback()
