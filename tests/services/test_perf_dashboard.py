"""The dashboard counted in the database and kept per data version: the same numbers as counting every row in
Python, on a small data set full of edge cases (exactly 4 hours, a microsecond either side, triage before awareness,
reports without a clock start); figures reused only while no watched write has happened."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.sequences import marker
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import ENDED_STATUSES, HAZARD_TITLES, Hazard, Severity, Status
from qa_incidents.incidents.workflow_models import TriageDecision
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES
from qa_incidents.reports import dashboard
from qa_incidents.reports.models import DashboardFigures
from qa_incidents.reviews.models import Review

H = timedelta(hours=1)
US = timedelta(microseconds=1)
#: Times from awareness to the first triage decision that sit on, or a microsecond beside, every bucket edge and
#: every SLA, and a decision recorded before awareness (the last bucket, as the rule says).
TRIAGE_TIMES = [timedelta(0), 4 * H - US, 4 * H, 4 * H + US, 24 * H - US, 24 * H, 24 * H + US, 72 * H, 168 * H - US,
                168 * H, 168 * H + US, -H, 500 * H]
NOTIFY_TIMES = [timedelta(0), 24 * H - US, 24 * H, 72 * H, 168 * H + US, 336 * H - US, 336 * H, 900 * H, -H]


def user(session, email: str) -> User:
    found = session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


@pytest.fixture
def sample(demo, clock):
    """About 150 more incidents over 14 months in every division, with triage decisions on the edges, submitted
    reports (on time, late, exactly on the deadline, without a clock start) and open ones past their deadline."""
    now = clock()
    rng = random.Random(7)
    base = dict(demo.execute(sa.select(Incident.__table__).limit(1)).mappings().one())
    products = list(demo.scalars(sa.select(Product)))
    decider = user(demo, "division.qa@example.com")
    qa, hq = decider, user(demo, "hq.qa@example.com")
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=now)
    demo.commit()
    triage = dict(demo.execute(sa.select(TriageDecision.__table__).limit(1)).mappings().one())
    record = dict(demo.execute(sa.select(NotificationRecord.__table__).limit(1)).mappings().one())
    incidents, decisions, reports = [], [], []
    first_id = (demo.scalar(sa.select(sa.func.max(Incident.id))) or 0) + 1
    for i in range(150):
        product = products[i % len(products)]
        aware = now - timedelta(days=rng.uniform(0, 430), microseconds=rng.randrange(1_000_000))
        severity = rng.choice([*Severity, None])
        incidents.append(base | {
            "id": first_id + i, "reference": f"INC-TEST-{i:05d}", "version": 1, "division_id": product.division_id,
            "product_id": product.id, "category_id": product.category_id, "aware_at": aware,
            "occurred_at": aware - timedelta(hours=rng.uniform(0, 48)), "created_at": aware, "updated_at": aware,
            "status": rng.choice(list(Status)), "severity": severity, "hazard": rng.choice(list(Hazard))})
        if i % 10 != 9:  # one in ten never triaged
            first = TRIAGE_TIMES[i % len(TRIAGE_TIMES)] if i < 60 else timedelta(hours=rng.uniform(0, 300))
            for extra in ([timedelta(0)] + ([timedelta(hours=5)] if i % 4 == 0 else [])):
                decisions.append({k: v for k, v in triage.items() if k != "id"} | {
                    "incident_id": first_id + i, "decided_at": aware + first + extra, "decided_by_id": decider.id})
        if i % 3 == 0:
            start = aware if i % 9 else None
            due = aware + timedelta(days=rng.choice([2, 10, 30])) if i % 11 else None
            taken = NOTIFY_TIMES[i % len(NOTIFY_TIMES)]
            submitted = (start or aware) + taken
            if due is not None and i % 5 == 0:
                submitted = due if i % 2 else due + US  # exactly on the deadline, or a microsecond late
            reports.append(record | {"id": None, "incident_id": first_id + i, "regime_code": f"XX-{i}",
                                     "state": "submitted", "clock_start": start, "due_at": due,
                                     "submitted_at": min(submitted, now)})
        elif i % 3 == 1:
            due = now - timedelta(days=rng.uniform(-20, 400))
            reports.append(record | {"id": None, "incident_id": first_id + i, "regime_code": f"XX-{i}",
                                     "state": rng.choice(["required", "drafted", "approved", "not_required"]),
                                     "clock_start": due - timedelta(days=10), "due_at": due, "submitted_at": None})
    conn = demo.connection()
    conn.execute(Incident.__table__.insert(), incidents)
    conn.execute(TriageDecision.__table__.insert(), decisions)
    conn.execute(NotificationRecord.__table__.insert(), [{k: v for k, v in r.items() if k != "id"} for r in reports])
    demo.commit()
    return {"qa": qa, "hq": hq}


# --- the straightforward count: every row read into Python ----------------------------------------------------


def _in_scope(user: User) -> Any:
    if not can(user.actor, Capability.READ_INCIDENTS):
        return sa.false()
    if can(user.actor, Capability.READ_ALL_DIVISIONS):
        return sa.true()
    return Incident.division_id == user.actor.division_id


def straightforward(session, user: User, now: datetime) -> dict[str, list[list[object]]]:
    sla = dashboard.DEFAULT_TRIAGE_SLA_HOURS
    incidents = list(session.scalars(sa.select(Incident).where(_in_scope(user))))
    ids = {i.id for i in incidents}
    months = dashboard._months_back(now, 12)
    keys = [*dashboard.SEVERITIES, "untriaged"]
    by_month = Counter((f"{i.aware_at:%Y-%m}", i.severity.value if i.severity else "untriaged") for i in incidents)
    divisions = {d.id: d.name for d in session.scalars(sa.select(Division))}
    open_ = defaultdict(Counter)
    for i in incidents:
        if i.status not in ENDED_STATUSES:  # closed, and imported history: not live work
            open_[divisions[i.division_id]][i.status.value] += 1
    states = [s.value for s in Status if s not in ENDED_STATUSES]
    first: dict[int, datetime] = {}
    for incident_id, at in session.execute(sa.select(TriageDecision.incident_id, TriageDecision.decided_at)):
        if incident_id in ids:
            first[incident_id] = min(first.get(incident_id, at), at)
    triage, within = Counter(), 0
    for i in incidents:
        if i.id in first:
            hours = (first[i.id] - i.aware_at).total_seconds() / 3600
            triage[dashboard._bucket(hours, dashboard.TRIAGE_BUCKETS)] += 1
            within += hours <= float(sla.get(i.severity.value if i.severity else "S4", 168))
    records = [r for r in session.scalars(sa.select(NotificationRecord)) if r.incident_id in ids]
    notify = Counter(dashboard._bucket((r.submitted_at - r.clock_start).total_seconds() / 3600, dashboard.NOTIFY_BUCKETS)
                     for r in records if r.submitted_at is not None and r.clock_start is not None)
    on_time, late, overdue = Counter(), Counter(), Counter()
    for r in records:
        if r.submitted_at is not None and r.due_at is not None:
            (late if r.submitted_at > r.due_at else on_time)[f"{r.due_at:%Y-%m}"] += 1
        if r.state in {s.value for s in OPEN_STATES} and r.due_at is not None and r.due_at < now:
            overdue[f"{r.due_at:%Y-%m}"] += 1
    compliance = []
    for m in months:
        done = on_time[m] + late[m] + overdue[m]
        compliance.append([m, on_time[m], late[m], overdue[m], f"{100 * on_time[m] / done:.0f}" if done else ""])
    hazards = Counter(str(HAZARD_TITLES[i.hazard]) for i in incidents)
    reviews = list(session.scalars(sa.select(Review)))
    if not can(user.actor, Capability.READ_ALL_DIVISIONS):
        reviews = [r for r in reviews if r.division_id == user.division_id]
    causes = Counter(r.process_stage or "not stated" for r in reviews)
    return {
        "incidents_by_month": [[m, *[by_month[(m, k)] for k in keys]] for m in months],
        "open_by_division": [[d, *[open_[d][s] for s in states]] for d in sorted(open_)],
        "time_to_triage": [[label, triage[label]] for _lo, _hi, label in dashboard.TRIAGE_BUCKETS],
        "triage_note": [within, sum(triage.values())],
        "time_to_notify": [[label, notify[label]] for _lo, _hi, label in dashboard.NOTIFY_BUCKETS],
        "deadline_compliance": compliance,
        "failure_modes": sorted([h, n] for h, n in hazards.items()),
        "causes": sorted([c, n] for c, n in causes.items()),
    }


def drawn(charts: list[dashboard.Chart]) -> dict[str, list[list[object]]]:
    found = {c.name: c.rows for c in charts}
    triage = next(c for c in charts if c.name == "time_to_triage")
    return {
        **{k: found[k] for k in ("incidents_by_month", "open_by_division", "time_to_triage", "time_to_notify",
                                 "deadline_compliance")},
        "triage_note": [int(x) for x in triage.notes[0].split(" triaged")[0].split(" of ")],
        "failure_modes": sorted([r[0], r[1]] for r in found["failure_modes"]),
        "causes": sorted([r[0], r[1]] for r in found["causes"]),
    }


@pytest.mark.parametrize("who", ["hq", "qa"])
def test_figures_equal_counting_every_row(demo, sample, clock, who):
    viewer = sample[who]
    expected = straightforward(demo, viewer, clock())
    assert sum(n for _label, n in expected["time_to_triage"]) > 10  # the sample reaches this viewer
    for _view in range(3):  # counted (and the version row made), counted and kept, then reused
        demo.rollback()
        assert drawn(dashboard.charts(demo, user=viewer, now=clock())) == expected


def test_edge_times_fall_in_the_buckets_python_puts_them_in(demo, sample, clock):
    triage = {label: n for label, n in straightforward(demo, sample["hq"], clock())["time_to_triage"]}
    counted = dashboard._count_triage(demo, sample["hq"], dashboard.DEFAULT_TRIAGE_SLA_HOURS)
    assert counted["buckets"] == [triage[label] for _lo, _hi, label in dashboard.TRIAGE_BUCKETS]
    assert counted["buckets"][-1] >= 2  # 168 h, 500 h and the decision made before awareness


def set_stored(session, value: int) -> None:
    """Overwrite every stored figure's incident count by hazard: a number no count could give."""
    session.rollback()  # a fresh transaction sees what the dashboard stored on its own connection
    rows = list(session.scalars(sa.select(DashboardFigures)))
    assert rows
    for row in rows:
        row.figures = row.figures | {"hazards": [["other", value]]}
    session.commit()


def hazards_of(session, viewer, now) -> dict[object, object]:
    """The hazard Pareto as a viewer sees it, in a transaction of its own (as a page view is)."""
    session.rollback()
    found = {r[0]: r[1] for r in next(c for c in dashboard.charts(session, user=viewer, now=now)
                                      if c.name == "failure_modes").rows}
    session.rollback()
    return found


def test_kept_figures_are_reused_until_a_watched_write(demo, sample, clock):
    hq = sample["hq"]
    hazards_of(demo, hq, clock())  # makes the version row
    hazards_of(demo, hq, clock())  # counts and keeps
    set_stored(demo, 123456)
    assert hazards_of(demo, hq, clock()) == {"Other": 123456}  # reused, not counted again
    # An unwatched column (the description) leaves the figures as they are...
    incident = demo.scalar(sa.select(Incident).limit(1))
    incident.description = "Edited description"
    demo.commit()
    assert hazards_of(demo, hq, clock()) == {"Other": 123456}
    # ...a watched one (the hazard) makes the next view count again.
    incident.hazard = Hazard.CHOKING
    demo.commit()
    counted = hazards_of(demo, hq, clock())
    assert 123456 not in counted.values()
    assert sum(counted.values()) == demo.scalar(sa.select(sa.func.count()).select_from(Incident))


@pytest.mark.parametrize("table", ["incident", "triage_decision", "notification_record", "division"])
def test_every_watched_table_moves_the_version(demo, sample, clock, table):
    hazards_of(demo, sample["hq"], clock())
    before = marker(demo, dashboard.VERSION)
    column = {"incident": "status", "triage_decision": "decided_at", "notification_record": "state",
              "division": "name"}[table]
    demo.execute(sa.text(f"UPDATE {table} SET {column} = {column} WHERE id = (SELECT MIN(id) FROM {table})"))
    demo.commit()
    assert marker(demo, dashboard.VERSION) not in (None, before)


def test_uncommitted_writes_are_counted_for_the_writer_but_never_kept(demo, sample, clock, engine):
    hq = sample["hq"]
    hazards_of(demo, hq, clock())
    truth = hazards_of(demo, hq, clock())
    incident = demo.scalar(sa.select(Incident).where(Incident.hazard != Hazard.CHOKING).limit(1))
    incident.hazard = Hazard.CHOKING
    demo.flush()
    seen = {r[0]: r[1] for r in next(c for c in dashboard.charts(demo, user=hq, now=clock())
                                     if c.name == "failure_modes").rows}
    assert seen[str(HAZARD_TITLES[Hazard.CHOKING])] == truth.get(str(HAZARD_TITLES[Hazard.CHOKING]), 0) + 1
    demo.rollback()  # the write never happened: nobody may be shown it
    assert hazards_of(demo, hq, clock()) == truth


def test_each_scope_keeps_its_own_figures(demo, sample, clock):
    qa, hq = sample["qa"], sample["hq"]
    for _ in range(2):
        mine, every = hazards_of(demo, qa, clock()), hazards_of(demo, hq, clock())
    own = demo.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.division_id == qa.division_id))
    assert sum(mine.values()) == own < sum(every.values())
    assert len(list(demo.scalars(sa.select(DashboardFigures.key)))) == 2


def test_a_new_review_is_counted_at_the_next_view(demo, sample, clock):
    from qa_incidents.reviews import service as reviews

    qa, hq = sample["qa"], sample["hq"]

    def causes() -> dict[object, object]:
        demo.rollback()
        found = {r[0]: r[1] for r in next(c for c in dashboard.charts(demo, user=hq, now=clock())
                                          if c.name == "causes").rows}
        demo.rollback()
        return found

    causes()
    before = causes()  # kept
    incident = demo.scalar(sa.select(Incident).where(Incident.division_id == qa.division_id).limit(1))
    incident.severity, incident.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    reviews.start_review(demo, user=qa, incident_ids=[incident.id], title="Why did the hinge snap?", now=clock())
    demo.commit()
    assert causes() == before | {"not stated": before.get("not stated", 0) + 1}


def test_refresh_counts_only_the_scopes_the_data_outran(demo, sample, clock, engine):
    import sqlalchemy.orm as so

    factory = so.sessionmaker(bind=engine, expire_on_commit=False)
    demo.rollback()
    first = dashboard.refresh(factory, now=clock())
    assert first >= 2  # every division and head office
    assert dashboard.refresh(factory, now=clock()) == 0  # nothing written since
    assert len(list(demo.scalars(sa.select(DashboardFigures.key)))) == first
    set_stored(demo, 654321)
    assert hazards_of(demo, sample["hq"], clock()) == {"Other": 654321}  # a view finds them ready
    incident = demo.scalar(sa.select(Incident).limit(1))
    incident.status = Status.CLOSED
    demo.commit()
    assert dashboard.refresh(factory, now=clock()) == first
    assert 654321 not in hazards_of(demo, sample["hq"], clock()).values()
