"""The audit trail is tamper-evident: a hash chain over every event, checked by `qa-incidents audit verify`."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from qa_incidents.core.audit import GENESIS_HASH, AuditEvent, event_hash, record
from qa_incidents.core.db import UTCDateTime, begin_write, make_engine, make_session_factory
from qa_incidents.core.migrate import upgrade
from qa_incidents.core.signatures import sign
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.integrity.chain import verify_chain

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DEMO_PASSWORD = "demo-password-2026"


def _events(session) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def _tamper(session, statement: str, params: dict) -> None:
    """Change the trail behind the application's back, as the database owner could."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        connection.execute(sa.text(statement), params)
        connection.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        connection.execute(sa.text(statement), params)
        for verb in ("UPDATE", "DELETE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
    session.commit()


def test_every_event_links_to_the_one_before(demo):
    events = _events(demo)
    assert len(events) > 20
    assert events[0].prev_hash == GENESIS_HASH
    for before, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == before.hash
        assert event.hash == event_hash(event, before.hash)
    assert len({e.hash for e in events}) == len(events)
    report = verify_chain(demo)
    assert report.ok and report.checked == len(events) and report.head == events[-1].hash


def test_new_events_extend_the_chain(demo, demo_user, clock):
    head = verify_chain(demo).head
    incident_id = demo.scalar(sa.select(Incident.id).limit(1))
    service.add_comment(demo, user=demo_user("hq.qa@example.com"), incident_id=incident_id,
                        body="Still chained", now=clock())
    demo.commit()
    newest = _events(demo)[-1]
    assert newest.prev_hash == head and newest.action
    assert verify_chain(demo).ok


@pytest.mark.parametrize("statement, what", [
    ("UPDATE audit_event SET changes = :forged WHERE id = :id", "was changed after it was written"),
    ("UPDATE audit_event SET entity_id = entity_id + 1 WHERE id = :id", "was changed after it was written"),
    ("UPDATE audit_event SET occurred_at = occurred_at WHERE id = :id", None),  # a no-op: still intact
    ("DELETE FROM audit_event WHERE id = :id", "does not follow the event before it"),
])
def test_a_row_edited_behind_the_apps_back_is_caught(app, demo, statement, what):
    events = _events(demo)
    victim = events[len(events) // 2]
    _tamper(demo, statement, {"id": victim.id, "forged": '{"title": ["x", "forged"]}'})
    demo.expire_all()
    report = verify_chain(demo)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    if what is None:
        assert report.ok and result.exit_code == 0, result.output
        assert f"OK: {len(events)} audit events, chain intact." in result.output
        return
    broken = victim.id if statement.startswith("UPDATE") else events[len(events) // 2 + 1].id
    assert not report.ok and report.broken_at == broken and what in report.problem
    assert report.checked == len(events) // 2  # everything before the broken link is vouched for
    assert result.exit_code == 1
    assert f"BROKEN: audit event {broken} " in result.output and what in result.output


def test_a_recomputed_hash_does_not_hide_an_edit(demo):
    """Whoever edits a row and recomputes its hash breaks the link to the next event instead."""
    events = _events(demo)
    victim, following = events[3], events[4]
    fields = ("occurred_at", "actor_id", "entity_type", "entity_id", "incident_id", "action")
    forged = SimpleNamespace(**{f: getattr(victim, f) for f in fields},
                             changes=dict(victim.changes) | {"forged": [None, True]})
    _tamper(demo, "UPDATE audit_event SET changes = :c, hash = :h WHERE id = :id",
            {"c": json.dumps(forged.changes), "h": event_hash(forged, victim.prev_hash), "id": victim.id})
    demo.expire_all()
    report = verify_chain(demo)
    assert report.broken_at == following.id and "does not follow" in report.problem


def test_verify_with_an_expected_head_notices_events_cut_from_the_end(app, demo):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["audit", "verify"])
    assert first.exit_code == 0, first.output
    head = first.output.rsplit("Head hash: ", 1)[1].strip()
    assert runner.invoke(args=["audit", "verify", "--head", head]).exit_code == 0
    last = _events(demo)[-1]
    _tamper(demo, "DELETE FROM audit_event WHERE id = :id", {"id": last.id})
    cut = runner.invoke(args=["audit", "verify", "--head", head])
    assert cut.exit_code == 1 and "events were removed from the end" in cut.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # without the anchor the shorter chain is whole


def test_events_and_signatures_cannot_be_changed_or_deleted(demo, demo_user, clock):
    signature = sign(demo, user=demo_user("hq.qa@example.com"), password=DEMO_PASSWORD, meaning="approved escalation",
                     entity_type="incident", entity_id=1, content={"title": "Case"}, now=clock(), prepared_by=())
    demo.commit()
    event = _events(demo)[0]
    for statement, ident in (("UPDATE audit_event SET hash = 'x' WHERE id = :id", event.id),
                             ("DELETE FROM audit_event WHERE id = :id", event.id),
                             ("UPDATE signature SET meaning = 'x' WHERE id = :id", signature.id),
                             ("DELETE FROM signature WHERE id = :id", signature.id)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            demo.execute(sa.text(statement), {"id": ident})
        demo.rollback()
    assert verify_chain(demo).ok


def test_parallel_writers_never_fork_the_chain(demo, engine, clock):
    factory = make_session_factory(engine)
    errors: list[BaseException] = []
    writers, per_writer = 6, 8

    def write(n: int) -> None:
        session = factory()
        try:
            for i in range(per_writer):
                begin_write(session)
                record(session, actor_id=None, entity_type="test", entity_id=n, action="parallel", now=clock(),
                       changes={"writer": [None, n], "i": [None, i]})
                session.commit()
        except BaseException as e:  # the test reports any failure below
            errors.append(e)
        finally:
            session.close()

    before = demo.scalar(sa.select(sa.func.count(AuditEvent.id)))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    demo.rollback()
    report = verify_chain(demo)
    assert report.ok, report.problem
    assert report.checked == before + writers * per_writer
    prevs = list(demo.scalars(sa.select(AuditEvent.prev_hash)))
    assert len(prevs) == len(set(prevs))  # no two events claim the same predecessor: no fork


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own with no tables at all."""
    if not PG_URL.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"qa_chain_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield str(sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_the_migration_chains_the_events_already_there(empty_url):
    upgrade(empty_url, "0008")
    engine = make_engine(empty_url)
    old = sa.table("audit_event", sa.column("occurred_at", UTCDateTime()), sa.column("entity_type"),
                   sa.column("entity_id"), sa.column("action"), sa.column("changes", sa.JSON()))
    with engine.begin() as c:
        c.execute(old.insert(), [
            {"occurred_at": datetime(2026, 1, 1, 9, n, 30, 123456 * (n % 2), tzinfo=UTC), "entity_type": "incident",
             "entity_id": n, "action": "created", "changes": {"title": [None, f"Case {n} – 日本語"], "n": [None, n / 3]}}
            for n in range(5)])
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    session = make_session_factory(engine)()
    try:
        report = verify_chain(session)
        assert report.ok and report.checked == 5
        record(session, actor_id=None, entity_type="incident", entity_id=9, action="created",
               now=datetime(2026, 2, 1, tzinfo=UTC), changes={})
        session.commit()
        assert verify_chain(session).checked == 6
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(sa.text("UPDATE audit_event SET action = 'x'"))
            session.flush()
        session.rollback()
    finally:
        session.close()
        engine.dispose()
