"""One registry of change markers (core/freshness.py): the database's triggers are exactly the ones it lists, a
write to each watched table moves its marker while a rolled-back one does not, and values are kept by one rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic.migration import MigrationContext
from alembic.operations import Operations

from qa_incidents.core import freshness
from qa_incidents.core.db import Base
from qa_incidents.core.freshness import REGISTRY, Kept, Marker, Watch
from qa_incidents.core.migrate import drop_marker_triggers, marker_triggers
from qa_incidents.incidents import saved_views, workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.reviews import lessons
from qa_incidents.reviews import service as reviews
from qa_incidents.reviews.models import Lesson

#: Every (marker, watched table), and (marker, None) for a marker the application moves itself.
WRITES = [(m.name, w.table) for m in REGISTRY.values() for w in m.watches] + [
    (m.name, None) for m in REGISTRY.values() if m.touched_by]


@pytest.fixture
def rows(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    """The demo data, with a row in every watched table: the demo fire triaged (a decision and its notification
    records), a review of it started, and a lesson."""
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    qa = demo_user("division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    reviews.start_review(demo, user=qa, incident_ids=[fire.id], title="Why the fire", now=clock())
    lessons.add_indexed(demo, [Lesson(
        source="test", source_ref="T-1", title="Relay overheating", summary="The housing was inspected.", product="",
        product_category="Appliances", failure_mode="Fire / overheating", mechanism="", technical_cause="",
        process_cause="", framework_cause="", motivating_cause="", cause_category="", cause_dimension="",
        process_stage="", countermeasures="", design_review_checks=[], division="", year=2024, published_at=clock(),
        times_opened=0)])
    saved_views.save(demo, user=qa, name="Open fires", query="status=reported", now=clock())
    demo.commit()
    return demo


def _watch(name: str, table: str) -> Watch:
    return next(w for w in REGISTRY[name].watches if w.table == table)


def _write(conn: sa.Connection, name: str, table: str | None, column: str | None = None) -> None:
    """A write the marker must see: an update of one watched column of one row, to its own value."""
    if table is None:
        conn.execute(sa.text(freshness.touch_sql(name, conn.dialect.name)))
        return
    t = Base.metadata.tables[table]
    keys = [c.name for c in t.primary_key.columns]
    if column is None:
        watched = _watch(name, table).columns_on(conn.dialect.name)
        candidates = watched or [c.name for c in t.columns]
        # a column that is not the key, or (a table of keys alone, such as a link table) a key set to itself
        column = next((c for c in candidates if c not in keys), candidates[0])
    row = conn.execute(sa.select(*[t.c[k] for k in keys]).limit(1)).first()
    assert row is not None, f"the demo data has no {table} row to write"
    result = conn.execute(sa.update(t).where(*[t.c[k] == v for k, v in zip(keys, row, strict=True)])
                          .values({column: t.c[column]}))
    assert result.rowcount == 1


def _committed(engine: sa.Engine, name: str) -> int | None:
    with engine.connect() as conn:
        return freshness.value(conn, name)


def test_the_database_triggers_are_the_registry(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        installed = freshness.installed_triggers(conn)
    expected = freshness.expected_triggers(engine.dialect.name)
    assert sorted(installed - expected, key=str) == [], "triggers that move a marker the registry does not list"
    assert sorted(expected - installed, key=str) == [], "writes the registry lists that no trigger sees"


@pytest.mark.parametrize(("name", "table"), WRITES, ids=[f"{n}-{t or 'touch'}" for n, t in WRITES])
def test_a_write_moves_its_marker_and_a_rolled_back_write_does_not(rows, engine, name, table):  # type: ignore[no-untyped-def]
    assert freshness.make_missing(rows, name)  # the rows some markers only get at their first reading
    rows.rollback()
    before = _committed(engine, name)
    assert before is not None
    with engine.connect() as conn:
        with conn.begin() as transaction:
            _write(conn, name, table)
            assert freshness.value(conn, name) != before  # the writer sees its own move
            transaction.rollback()
    assert _committed(engine, name) == before
    with engine.begin() as conn:
        _write(conn, name, table)
    after = _committed(engine, name)
    assert after is not None and after != before


@pytest.mark.parametrize(("name", "table", "column"), [
    ("lesson-library", "lesson", "times_opened"),  # raised by every reading; no count depends on it
    ("incident-register", "incident", "title"),
    ("notification-board", "notification_record", "kind"),
])
def test_a_write_to_a_column_it_does_not_watch_leaves_the_marker(rows, engine, name, table, column):  # type: ignore[no-untyped-def]
    rows.rollback()
    before = _committed(engine, name)
    assert before is not None
    with engine.begin() as conn:
        _write(conn, name, table, column)
    assert _committed(engine, name) == before


def test_the_migration_helper_makes_triggers_the_catalogue_reads_as_registered(demo, engine):  # type: ignore[no-untyped-def]
    watched = {"division": ("name",), "product": None}
    demo.rollback()
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        marker_triggers("test-marker", watched)
    try:
        _helper_triggers_work(engine, watched)
    finally:
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            drop_marker_triggers("test-marker", list(watched))
    with engine.connect() as conn:
        assert not {t for t in freshness.installed_triggers(conn) if t[0] == "test-marker"}


def _helper_triggers_work(engine: sa.Engine, watched: dict[str, tuple[str, ...] | None]) -> None:
    marker = Marker("test-marker", tuple(Watch(t, c) for t, c in watched.items()), kept="", where="")
    with engine.connect() as conn:
        made = {t for t in freshness.installed_triggers(conn) if t[0] == "test-marker"}
    assert made == freshness.expected_triggers(engine.dialect.name, [marker])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE division SET name = name WHERE id = (SELECT min(id) FROM division)"))
        first = conn.scalar(sa.text("SELECT value FROM counter WHERE name = 'test-marker'"))
    assert first is not None
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE division SET code = code"))  # a column it does not watch
    assert _committed_raw(engine) == first
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE product SET name = name"))  # any column of product
    assert _committed_raw(engine) != first


def _committed_raw(engine: sa.Engine) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT value FROM counter WHERE name = 'test-marker'"))


# --- the one rule -------------------------------------------------------------------------------------------------

def _move(engine: sa.Engine) -> None:
    """Another user's committed write that moves `incident-register`."""
    with engine.begin() as conn:
        _write(conn, "incident-register", "incident")


def test_a_value_is_kept_under_the_markers_read_and_not_after_they_move(demo, engine):  # type: ignore[no-untyped-def]
    kept = Kept("incident-register", size=4)
    assert kept.get(demo, "key", lambda: "counted") == "counted"
    assert kept.get(demo, "key", lambda: "counted again") == "counted"  # kept
    demo.rollback()
    _move(engine)
    assert kept.get(demo, "key", lambda: "after the write") == "after the write"


def test_a_value_computed_while_a_write_committed_is_never_served_after_it(demo, engine):  # type: ignore[no-untyped-def]
    kept = Kept("incident-register", size=4)
    reading = kept.read(demo)
    _move(engine)  # between the reading and the keeping
    kept.keep(demo, reading, "key", "counted before the write")
    demo.rollback()
    assert kept.get(demo, "key", lambda: "counted after it") == "counted after it"


def test_only_a_reader_that_wrote_asks_the_committed_markers(demo, engine, monkeypatch):  # type: ignore[no-untyped-def]
    kept = Kept("incident-register", size=4)
    asked: list[object] = []
    real = freshness.committed
    monkeypatch.setattr(freshness, "committed", lambda session, names: asked.append(names) or real(session, names))
    reading = kept.read(demo)
    assert kept.keep(demo, reading, "read only", 1) and asked == []  # the markers it read were committed ones
    demo.execute(sa.text("UPDATE division SET code = code"))  # a write it does not watch: the markers stand
    assert freshness.wrote(demo)
    assert kept.keep(demo, reading, "after a write", 2) and len(asked) == 1
    demo.rollback()
    assert not freshness.wrote(demo)


def test_a_value_that_saw_the_readers_own_uncommitted_write_is_not_kept(demo, engine):  # type: ignore[no-untyped-def]
    kept = Kept("incident-register", size=4)
    _write(demo.connection(), "incident-register", "incident")
    reading = kept.read(demo)
    assert reading is not None and reading.values != (_committed(engine, "incident-register"),)
    assert not kept.keep(demo, reading, "key", "counted with my write") and len(kept) == 0
    demo.rollback()


def test_without_a_marker_row_nothing_is_kept(demo, engine):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM counter WHERE name = 'incident-register'"))
    kept = Kept("incident-register", size=4)
    assert kept.get(demo, "key", lambda: 1) == 1 and kept.get(demo, "key", lambda: 2) == 2
    assert len(kept) == 0 and _committed(engine, "incident-register") is None  # not made: only where registered


def test_a_missing_row_is_made_for_the_next_reader_where_registered(demo, engine):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM counter WHERE name = 'notification-board'"))
    kept = Kept("notification-board", size=4)
    assert kept.read(demo) is None
    demo.rollback()
    assert _committed(engine, "notification-board") is not None
    assert kept.get(demo, "key", lambda: 1) == 1 and kept.get(demo, "key", lambda: 2) == 1


def test_kept_values_are_bounded_by_number_and_by_bytes(demo):  # type: ignore[no-untyped-def]
    by_number = Kept("laws-map", size=2)
    for key in "abc":
        by_number.get(demo, key, lambda k=key: k)
    assert len(by_number) == 2 and by_number.get(demo, "a", lambda: "again") == "again"  # the oldest went first
    by_bytes = Kept("laws-map", size=None, max_bytes=800, weigh=len)
    for key in "abcd":
        by_bytes.get(demo, key, lambda: "x" * 100)
    assert len(by_bytes) == 4 and by_bytes.weight == 400
    for key in "efgh":
        by_bytes.get(demo, key, lambda: "x" * 100)
    assert len(by_bytes) == 8
    by_bytes.get(demo, "i", lambda: "x" * 100)
    assert len(by_bytes) == 8 and by_bytes.weight == 800
    assert not by_bytes.keep(demo, by_bytes.read(demo), "big", "x" * 101)  # over an eighth: never kept


def test_only_registered_markers_are_read_or_kept(session: so.Session):
    with pytest.raises(ValueError):
        Kept("no-such-marker")
    with pytest.raises(ValueError):
        freshness.read(session, ["no-such-marker"])


def test_every_marker_says_what_is_kept_where():
    for marker in REGISTRY.values():
        assert marker.kept and marker.where and (marker.watches or marker.touched_by), marker.name
