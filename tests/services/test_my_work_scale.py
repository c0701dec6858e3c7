"""My work and the SLA scan at scale: the triage queue from one query must equal the queue worked out incident by
incident, the page lists the first entries with the count of all, and the scan still warns for every incident."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.incidents import severity as sev
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Hazard, Severity, Status
from qa_incidents.incidents.workflow_models import Escalation

H = sev.HarmClass
_references = itertools.count(910_000)


def user(session, email):
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def fire(demo):
    return demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


def clone(session, template: Incident, **changes) -> Incident:
    """A copy of an incident with some facts changed (no harm unless given)."""
    facts = {c.key: getattr(template, c.key) for c in Incident.__table__.columns if c.key not in ("id", "reference")}
    facts.update(deaths=0, serious_injuries=0, minor_injuries=0, fire=False, smoke=False, co_poisoning=False,
                 property_damage=False, status=Status.REPORTED, severity=None)
    facts.update(changes)
    facts["occurred_at"] = facts["aware_at"] - timedelta(hours=1)
    incident = Incident(**facts, reference=f"INC-2026-{next(_references)}")
    session.add(incident)
    return incident


def one_by_one(session, *, division_id, now):
    """The triage queue as it was worked out before: each incident's own suggestion, then sorted by due time."""
    stmt = sa.select(Incident).where(Incident.status == Status.REPORTED)
    if division_id is not None:
        stmt = stmt.where(Incident.division_id == division_id)
    clocks = [(workflow.triage_sla(session, i, now=now, settings=workflow.DEFAULT_SLA).due_at, i.aware_at, i.id)
              for i in session.scalars(stmt)]
    return sorted(clocks)


def from_one_query(session, *, division_id, now):
    return [(c.sla.due_at, c.aware_at, c.incident_id)
            for c in workflow._triage_clocks(session, division_id=division_id, now=now, settings=workflow.DEFAULT_SLA)]


@pytest.mark.parametrize("harms", [[H.NONE], [H.FIRE], [H.MINOR_INJURY], [H.SMOKE], [H.PROPERTY_DAMAGE],
                                   [H.FIRE, H.MINOR_INJURY], [H.DEATH], [H.SERIOUS_INJURY], [H.CO_POISONING, H.SMOKE]])
def test_the_queue_severity_is_the_suggestion(harms):
    for hazard, units, similar in itertools.product(Hazard, (0, 9_999, 10_000), (0, 2, 3, 7)):
        expected = sev.suggest(sev.DEFAULT_MATRIX, harms=harms, hazard=hazard, units=units, similar=similar).severity
        assert sev.suggested_severity(sev.DEFAULT_MATRIX, harms=harms, hazard=hazard, units=units,
                                      similar=similar) == expected


def test_similar_reports_at_the_window_edge_decide_the_due_time(demo, fire, clock):
    """Rule T1: no harm, a fire hazard and 3 similar reports is S2 (24 h), else N1 gives S4 (168 h). Similar: the demo
    fire (a day earlier), one known at the same moment, and a third exactly on the edge of the window (counted), then
    a microsecond before it (not counted)."""
    now = clock()
    target = clone(demo, fire, hazard=Hazard.FIRE_BURN, units_in_field=10,
                   aware_at=now - timedelta(hours=2, microseconds=123_456))
    clone(demo, fire, status=Status.CLOSED, severity=Severity.S3, aware_at=target.aware_at)
    edge = clone(demo, fire, status=Status.CLOSED, severity=Severity.S3,
                 aware_at=target.aware_at - timedelta(days=365))
    demo.flush()
    assert workflow.similar_reports(demo, target, window_days=365) == 3

    def due_of_target():
        return next(due for due, _aware, ident in from_one_query(demo, division_id=None, now=now) if ident == target.id)

    assert due_of_target() == target.aware_at + timedelta(hours=24)
    edge.aware_at -= timedelta(microseconds=1)
    edge.occurred_at -= timedelta(microseconds=1)
    demo.flush()
    assert workflow.similar_reports(demo, target, window_days=365) == 2
    assert due_of_target() == target.aware_at + timedelta(hours=168)
    assert from_one_query(demo, division_id=None, now=now) == one_by_one(demo, division_id=None, now=now)


@pytest.mark.parametrize("edited", [False, True])
def test_the_queue_from_one_query_equals_the_queue_incident_by_incident(demo, fire, clock, edited):
    now = clock()
    if edited:  # thresholds other than 3, a short window
        rules = [sev.MatrixRule("R1", Severity.S1, harm=(H.FIRE,), min_similar=5),
                 sev.MatrixRule("R2", Severity.S2, hazards=(Hazard.FIRE_BURN, Hazard.OVERHEATING), min_similar=2),
                 sev.MatrixRule("R3", Severity.S3, harm=(H.SMOKE,), min_units=5_000)]
        workflow.save_matrix(demo, user=user(demo, "admin@example.com"), rules=rules, fallback=Severity.S4,
                             similar_window_days=7, note="Test thresholds", now=now)
    rng = random.Random(20261129)
    products = sorted({i.product_id for i in demo.scalars(sa.select(Incident))})[:3]
    for _n in range(60):
        harm = rng.choice(["fire", "smoke", "minor_injuries", None, None])
        clone(demo, fire, product_id=rng.choice(products), hazard=rng.choice(list(Hazard)),
              units_in_field=rng.choice((10, 6_000, 20_000)), aware_at=now - timedelta(hours=rng.random() * 24 * 12),
              status=rng.choice((Status.REPORTED, Status.REPORTED, Status.CLOSED)),
              **({harm: 1 if harm == "minor_injuries" else True} if harm else {}))
    demo.flush()
    for division_id in (None, fire.division_id):
        expected = one_by_one(demo, division_id=division_id, now=now)
        assert len(expected) > 20
        assert from_one_query(demo, division_id=division_id, now=now) == expected
        queue = workflow.triage_queue(demo, division_id=division_id, now=now, limit=10)
        assert [(i.sla.due_at, i.incident.aware_at, i.incident.id) for i in queue] == expected[:10]
    severities = {due - aware for due, aware, _id in one_by_one(demo, division_id=None, now=now)}
    assert len(severities) >= 3  # the data reach several rules


def test_my_work_lists_the_first_entries_and_counts_all(demo, fire, clock):
    now = clock()
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    for n in range(7):
        clone(demo, fire, aware_at=now - timedelta(hours=n * 7), fire=bool(n % 2))
        clone(demo, fire, status=Status.ESCALATED, severity=Severity.S1, aware_at=now - timedelta(days=n + 1))
        escalated = clone(demo, fire, status=Status.ESCALATION_REQUESTED, severity=Severity.S2,
                          aware_at=now - timedelta(days=n + 1))
        demo.flush()
        demo.add(Escalation(incident_id=escalated.id, severity=Severity.S2, requested_by_id=qa.id,
                            requested_at=now - timedelta(hours=30 - n), reason="Recurring"))
    demo.flush()
    full = workflow.triage_queue(demo, division_id=qa.division_id, now=now)
    work = workflow.my_work(demo, user=qa, now=now, limit=3)
    assert [i.incident.id for i in work.to_triage] == [i.incident.id for i in full[:3]]
    assert work.to_triage_total == len(full) > 7
    everything = workflow.my_work(demo, user=qa, now=now, limit=1000)
    assert [i.id for i in work.to_contain] == [i.id for i in everything.to_contain[:3]]
    assert work.to_contain_total == len(everything.to_contain) >= 7
    assert everything.to_contain == sorted(everything.to_contain, key=lambda i: (i.aware_at, i.id))

    hq_work = workflow.my_work(demo, user=hq, now=now, limit=3)
    queue = workflow.escalation_queue(demo, now=now)
    assert [i.escalation.id for i in hq_work.escalations] == [i.escalation.id for i in queue[:3]]
    assert hq_work.escalations_total == len(queue) == 7
    assert hq_work.to_triage_total == len(workflow.triage_queue(demo, division_id=None, now=now))


def test_the_sla_scan_warns_for_every_incident_not_only_those_my_work_shows(demo, fire, clock):
    now = clock()
    late = [clone(demo, fire, aware_at=now - timedelta(days=9, minutes=n)) for n in range(workflow.MY_WORK_ROWS + 5)]
    demo.flush()
    workflow.sla_scan(demo, now=now)
    demo.flush()
    keys = set(demo.scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("sla:triage:%"))))
    assert {f"sla:triage:breached:{i.id}:0" for i in late} <= keys
    before = demo.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    assert workflow.sla_scan(demo, now=now + timedelta(minutes=5)) == 0
    assert demo.scalar(sa.select(sa.func.count(OutboxMessage.id))) == before
