"""Database engine, sessions, the declarative base and the aware-UTC column type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import SQLCompiler


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware, on SQLite as on PostgreSQL.

    SQLite has no time zone type, so without this a value read back would be naive and a
    comparison with an aware 'now' would fail or, worse, silently shift by hours.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(so.DeclarativeBase):
    """Base of every table; constraint names are stable so migrations can refer to them."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class HardDeleteRefused(RuntimeError):
    """Raised when code tries to delete a row: records are evidence and are never deleted."""


#: The id columns' range: INTEGER, which PostgreSQL stores in 32 bits (SQLite in 64).
ID_MAX = 2**31 - 1


def is_db_id(value: Any) -> bool:
    """An int an id column can hold (1 … ID_MAX): a larger one is looked up as nothing, never bound (PostgreSQL
    answers 'integer out of range' to an INTEGER parameter past 32 bits)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ID_MAX


def is_db_int(value: Any) -> bool:
    """An int the database can compare with an id column (JSON true is not one; nor is 10**30, which SQLite's driver
    cannot bind and PostgreSQL refuses): look such an id up and find nothing, rather than fail."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with SQLite set up for concurrent use (WAL, foreign keys, busy timeout)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", sa.pool.StaticPool)
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself, so a transaction really starts at BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # A transaction that will write takes the write lock at BEGIN: otherwise a read
            # followed by a write fails with "database is locked" when another writer
            # committed in between, instead of waiting its turn (busy timeout).
            if conn.get_execution_options().get(WRITE_OPTION):
                _begin_immediate(conn)
            else:
                conn.exec_driver_sql("BEGIN")

    return engine


WRITE_OPTION = "qa_begin_write"

#: How long a writer waits for SQLite's write lock before "database is locked" (the connections' busy timeout,
#: which bounds the wait in _begin_immediate).
SQLITE_BUSY_SECONDS = 30.0
#: How often a waiting writer asks for the lock again.
_WRITE_LOCK_POLL = 0.0005


def _begin_immediate(conn: sa.Connection) -> None:
    """BEGIN IMMEDIATE, asking again every half millisecond while another connection holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries: a writer that finds the lock held
    for the 5 ms of a filing sleeps up to 10-20 ms longer than it had to, idle, with its request waiting. Asked
    this often, the lock changes hands within a millisecond of its release.

    The connection's busy timeout is turned off for the BEGIN alone (so a try fails at once rather than sleep) and
    put back after it, for the transaction's other statements; it still bounds the wait. The first and the last
    tries go through SQLAlchemy (seen by its events like any statement; a failure is its OperationalError, as
    callers expect); the tries in between go to the driver, so a long wait costs no error handling per try."""
    import sqlite3
    import time

    raw = conn.connection.driver_connection
    assert raw is not None
    timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    deadline = time.monotonic() + timeout_ms / 1000
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except sa.exc.OperationalError as e:
            if not _lock_held(e.orig):
                raise
        while time.monotonic() < deadline:
            time.sleep(_WRITE_LOCK_POLL)
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if not _lock_held(e):
                    break  # the last try below raises it, as SQLAlchemy's error
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout = {timeout_ms}")


def _lock_held(error: BaseException | None) -> bool:
    """Whether SQLite refused a BEGIN IMMEDIATE because another connection holds the write lock."""
    return "locked" in str(error) or "busy" in str(error)


def begin_write(session: so.Session) -> None:
    """Start the session's next transaction as a writer (BEGIN IMMEDIATE on SQLite; nothing special elsewhere).

    Call before the first read of a unit of work that will write. No effect if a transaction
    is already open.
    """
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})


def dialect_insert(session: so.Session) -> Any:
    """The database's own INSERT construct (PostgreSQL's or SQLite's), for `.on_conflict_do_nothing(...)`."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def make_session_factory(engine: Engine) -> so.sessionmaker[so.Session]:
    """A session factory; every session refuses to hard-delete anything (see below)."""
    return so.sessionmaker(bind=engine, expire_on_commit=False)


@sa.event.listens_for(so.Session, "before_flush")
def _refuse_deletes(session: so.Session, _ctx: Any, _instances: Any) -> None:
    if session.deleted:
        names = ", ".join(sorted({type(o).__name__ for o in session.deleted}))
        raise HardDeleteRefused(f"rows are never deleted (tried: {names}); deactivate or retire instead")


KEPT_KEY = "kept_after_rollback"


def keep_after_rollback(session: so.Session, write: Any) -> None:
    """Make a write survive the unit of work's failure: if it rolls back, `write(session)` runs again in a
    transaction of its own (e.g. a wrong password is counted even though the signature it refused rolls back)."""
    session.info.setdefault(KEPT_KEY, []).append(write)


def rolled_back(session: so.Session) -> None:
    """After a unit of work rolled back: commit the writes it asked to keep (see keep_after_rollback)."""
    kept = session.info.pop(KEPT_KEY, [])
    if kept:
        begin_write(session)
        for write in kept:
            write(session)
        session.commit()


@sa.event.listens_for(so.Session, "after_commit")
def _forget_kept(session: so.Session) -> None:
    session.info.pop(KEPT_KEY, None)  # committed with the unit of work itself


@contextmanager
def transaction(session: so.Session) -> Iterator[so.Session]:
    """One unit of work: commit on success, roll back on any error (keeping the writes meant to survive it)."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        rolled_back(session)
        raise


# --- SQLite table hints ------------------------------------------------------------------------------------------
# `Select.with_hint(table, text, "sqlite")` is SQLAlchemy's public way to name an index, but its SQLite compiler
# writes no table hint (it inherits the base compiler's get_from_hint_text, which drops them). The register tells
# SQLite's planner which index to read (`INDEXED BY`, `NOT INDEXED`: incidents/service.py), so here, the one place
# that knows dialects, the SQLite compiler writes a hint after its table, as the MySQL and Oracle compilers do.
# Only when SQLAlchemy itself has none (a version that adds its own keeps it); tests/services/test_register_index.py
# checks the plans, so a hint that stops being written fails there, not silently.
def _sqlite_from_hint(_compiler: Any, _table: Any, text: str) -> str:
    return text


if SQLiteCompiler.get_from_hint_text is SQLCompiler.get_from_hint_text:
    SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign]
