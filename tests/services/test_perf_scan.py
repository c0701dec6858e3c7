"""The deadline board and the warning scan at scale: counts and picks made in the database give what the rules in
notifications/rules.py give record by record, on edge cases (a deadline exactly now, exactly 4 or 24 hours away,
exactly half the time used, no clock start, no deadline); warnings in each recipient's language."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.outbox import OutboxAttachment, OutboxMessage
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES, due_warning, parse_points, urgency

H = timedelta(hours=1)
US = timedelta(microseconds=1)


def user(session, email: str) -> User:
    found = session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


@pytest.fixture
def owed(demo, clock):
    """300 more records on two incidents of two divisions, in every state, around now and on its edges."""
    now = clock()
    qa = user(demo, "division.qa@example.com")
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=now)
    demo.commit()
    other = demo.scalar(sa.select(Incident).where(Incident.division_id != fire.division_id).limit(1))
    base = dict(demo.execute(sa.select(NotificationRecord.__table__).limit(1)).mappings().one())
    rng = random.Random(11)
    edges = [(now - 10 * H, now), (now - 10 * H, now + 4 * H), (now - 10 * H, now + 4 * H + US), (now - H, now + 24 * H),
             (now - 30 * H, now + 24 * H + US), (now - 30 * H, now + 30 * H), (now - 30 * H - US, now + 30 * H + US),
             (None, now + 2 * H), (None, now - 2 * H), (now - H, None), (now + H, now - H), (now - 47 * H, now + H),
             (now - 24 * H, now + 24 * H), (now - 36 * H, now + 12 * H)]
    rows = []
    for i in range(300):
        if i < len(edges):
            start, due = edges[i]
        else:
            start = now - timedelta(days=rng.uniform(0, 20), microseconds=rng.randrange(10**6))
            due = start + timedelta(hours=rng.uniform(1, 600), microseconds=rng.randrange(10**6))
        rows.append({k: v for k, v in base.items() if k not in ("id", "half_time_at")} | {
            "incident_id": (fire if i % 4 else other).id, "regime_code": f"XX-{i:04d}", "clock_start": start,
            "due_at": due, "owner_id": None if i % 3 == 0 and i % 4 else qa.id,  # else nobody to tell
            "state": "submitted" if i % 7 == 0 else rng.choice(["required", "drafted", "approved"])})
    demo.connection().execute(NotificationRecord.__table__.insert(), rows)
    demo.execute(sa.delete(OutboxAttachment))  # the demo's status reports carry their PDFs
    demo.execute(sa.delete(OutboxMessage))
    demo.commit()
    return fire


def open_records(session, division_id: int | None = None) -> list[NotificationRecord]:
    stmt = sa.select(NotificationRecord).where(NotificationRecord.state.in_([s.value for s in OPEN_STATES]))
    if division_id is not None:
        stmt = stmt.join(Incident, Incident.id == NotificationRecord.incident_id).where(Incident.division_id == division_id)
    return list(session.scalars(stmt))


@pytest.mark.parametrize("who", ["hq.qa@example.com", "division.qa@example.com"])
def test_board_counts_every_open_record_as_the_rule_does(demo, owed, clock, who):
    viewer = user(demo, who)
    scope = None if who.startswith("hq") else viewer.division_id
    everyone = open_records(demo, scope)
    now = clock()
    expected = Counter(urgency(start=r.clock_start, due=r.due_at, now=now) for r in everyone)
    board = records.board(demo, user=viewer, now=now, limit=20)
    assert {u: n for u, n in board.counts.items() if n} == dict(expected)
    assert board.total == len(everyone) > 20 and len(board.rows) == 20
    assert board.authorities == sorted({r.authority for r in everyone})
    first = sorted(everyone, key=lambda r: (r.due_at is None, r.due_at or now, r.clock_start or now, r.id))[:20]
    assert [row.record.id for row in board.rows] == [r.id for r in first]
    assert [row.urgency for row in board.rows] == [urgency(start=r.clock_start, due=r.due_at, now=now) for r in first]


def test_records_without_a_deadline_come_last(demo, owed, clock):
    everyone = open_records(demo)
    board = records.board(demo, user=user(demo, "hq.qa@example.com"), now=clock(), limit=len(everyone))
    assert len(board.rows) == len(everyone)
    assert board.rows[-1].record.due_at is None and board.rows[0].record.due_at is not None


def test_half_time_is_kept_by_the_database_on_every_write(demo, owed, clock):
    for record in open_records(demo)[:40]:
        if record.clock_start and record.due_at and record.due_at > record.clock_start:
            half = record.clock_start + (record.due_at - record.clock_start) / 2
            assert abs(record.half_time_at - half) <= US
        else:
            assert record.half_time_at is None
    record = open_records(demo)[20]
    record.due_at = record.clock_start + timedelta(days=3, microseconds=2)
    demo.commit()
    demo.expire_all()
    assert demo.get(NotificationRecord, record.id).half_time_at == record.clock_start + timedelta(days=1.5, microseconds=1)


def owed_warnings(session, points, now) -> dict[int, str]:
    found = {}
    for r in open_records(session):
        point = due_warning(points, start=r.clock_start, due=r.due_at, now=now)
        if point is not None:
            found[r.id] = records.warning_key(r.id, point, r.due_at)
    return found


@pytest.mark.parametrize("spec", ["50%,24h,4h", "25%,75%,48h", "24h,1h", "10%"])
def test_scan_queues_exactly_the_warnings_the_rule_owes(demo, owed, clock, spec):
    points, now = parse_points(spec), clock()
    expected = owed_warnings(demo, points, now)
    assert len(expected) > 30
    # Some were warned of already: under the plain key (before warnings were per language), in a language, or for
    # an earlier point or an earlier deadline (those do not count).
    already = {}
    for n, (record_id, key) in enumerate(sorted(expected.items())):
        kind = n % 5
        if kind in (0, 1):
            already[record_id] = key
        written = {0: key, 1: f"{key}:ja", 2: key.replace(":overdue:", ":earlier:").rsplit(":", 1)[0] + ":1",
                   3: None, 4: None}[kind]
        if written:
            demo.add(OutboxMessage(created_at=now, dedupe_key=written, to_addrs="x@example.com", subject="s",
                                   body_text="b", status="sent", attempts=1, next_attempt_at=now, last_error=""))
    demo.commit()
    queued = records.warning_scan(demo, now=now, points=points)
    demo.commit()
    assert queued == len(expected) - len(already)
    new = set(demo.scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.status == "pending")))
    assert new == {f"{key}:en" for record_id, key in expected.items() if record_id not in already}
    assert records.warning_scan(demo, now=now, points=points) == 0  # once each
    assert records.warning_scan(demo, now=now + 25 * H, points=points) > 0  # later points are still to come


def test_warnings_are_written_in_each_recipients_language(demo, owed, clock):
    now = clock()
    reporter = user(demo, "reporter@example.com")
    reporter.locale = "ja"
    record = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.regime_code == "XX-0001"))
    record.owner_id = reporter.id
    record.due_at = now - H
    demo.commit()
    records.warning_scan(demo, now=now, points=parse_points("24h"))
    demo.commit()
    key = records.warning_key(record.id, parse_points("24h")[-1], record.due_at)
    sent = {m.dedupe_key: m for m in demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like(key + ":%")))}
    assert set(sent) == {f"{key}:en", f"{key}:ja"}
    english, japanese = sent[f"{key}:en"], sent[f"{key}:ja"]
    assert japanese.to_addrs == "reporter@example.com"
    assert "division.qa@example.com" in english.to_addrs and "hq.qa@example.com" in english.to_addrs
    assert "reporter@example.com" not in english.to_addrs
    assert english.subject.startswith("OVERDUE: XX-0001 report for") and "年" not in english.subject
    assert "年" in japanese.subject and "XX-0001" in japanese.subject  # the deadline written as Japanese write dates
    assert f"/incidents/{record.incident_id}/notifications/{record.id}" in japanese.body_text


def test_each_record_carries_its_incidents_division(demo, owed, clock):
    other = demo.scalar(sa.select(Incident).where(Incident.division_id != owed.division_id).limit(1))
    ids = list(demo.scalars(sa.select(NotificationRecord.id).where(NotificationRecord.incident_id == owed.id)))
    assert set(demo.scalars(sa.select(NotificationRecord.division_id).where(NotificationRecord.id.in_(ids)))) == {
        owed.division_id}
    demo.execute(sa.update(Incident).where(Incident.id == owed.id).values(division_id=other.division_id))
    demo.commit()
    assert set(demo.scalars(sa.select(NotificationRecord.division_id).where(NotificationRecord.id.in_(ids)))) == {
        other.division_id}
    board = records.board(demo, user=user(demo, "division.qa@example.com"), now=clock())
    assert not {row.record.id for row in board.rows} & set(ids)  # no longer the division's to see
