"""SQLite's write lock changes hands promptly: a waiting writer asks for it again every half millisecond instead of
sleeping through SQLite's own back-off (1, 2, 5, 10, 15, 20 … ms), and still gives up after the busy timeout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sql_helpers import statements_sent
from sqlalchemy.exc import OperationalError

from qa_incidents.core.db import begin_write, make_engine, make_session_factory


@pytest.fixture
def sqlite_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield engine
    engine.dispose()


def _lateness(engine: sa.Engine, hold: float) -> float:
    """How long after the holder's commit a waiting writer got the lock."""
    factory = make_session_factory(engine)
    holder, waiter = factory(), factory()
    released, acquired = [0.0], [0.0]
    try:
        begin_write(holder)
        holder.execute(sa.text("INSERT INTO t VALUES (1)"))

        def wait() -> None:
            begin_write(waiter)
            acquired[0] = time.perf_counter()
            waiter.execute(sa.text("INSERT INTO t VALUES (2)"))
            waiter.commit()

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(hold)
        holder.commit()
        released[0] = time.perf_counter()
        thread.join(timeout=10)
    finally:
        holder.close()
        waiter.close()
    return acquired[0] - released[0]


def test_a_waiting_writer_gets_the_lock_within_milliseconds_of_its_release(sqlite_file) -> None:  # type: ignore[no-untyped-def]
    # Held 36 ms: SQLite's back-off would try again at 33 and 53 ms, 17 ms after the release.
    lateness = min(_lateness(sqlite_file, 0.036) for _ in range(5))
    assert lateness < 0.008, f"the waiting writer got the lock {lateness * 1000:.1f} ms after its release"
    with sqlite_file.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 10  # every write kept


def test_a_writer_still_gives_up_after_its_busy_timeout_and_keeps_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The connection's own busy timeout (here 0.2 s, not the default 30 s) bounds the wait and is put back after it.
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}", connect_args={"check_same_thread": False,
                                                                                "timeout": 0.2})
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    factory = make_session_factory(engine)
    holder, waiter = factory(), factory()
    try:
        begin_write(holder)
        holder.execute(sa.text("INSERT INTO t VALUES (1)"))
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="locked"):
            begin_write(waiter)
        assert 0.2 <= time.perf_counter() - started < 2
        waiter.rollback()
        # The connection's busy timeout is back for the other statements of later transactions.
        assert waiter.execute(sa.text("PRAGMA busy_timeout")).scalar() == 200
    finally:
        holder.rollback()
        holder.close()
        waiter.close()
        engine.dispose()


def test_the_write_lock_waits_show_only_the_begin_to_statement_listeners(sqlite_file) -> None:  # type: ignore[no-untyped-def]
    """What SQLAlchemy's listeners (the statement log, the freshness rule's write detection) see of a wait: the
    BEGIN IMMEDIATE that took the lock, not the busy-timeout switches nor each refused try."""
    with statements_sent(sqlite_file) as seen:
        assert _lateness(sqlite_file, 0.02) < 1.0
    assert not [s for s in seen if "busy_timeout" in s], seen
    assert seen.count("BEGIN IMMEDIATE") == 2, seen  # the holder's, and the waiter's first try (the later ones go to the driver)
