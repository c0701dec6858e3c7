"""Fixtures for every layer: a fresh migrated database per test, a frozen clock, demo users.

SQLite (the default): the schema is migrated once into a template file, and each test gets
its own copy. PostgreSQL (TEST_DATABASE_URL=postgresql+psycopg://…): migrated once, and
every table truncated before each test.

The demo data (`demo`) is loaded through the services once per run, and later tests get the
very same rows: a copy of a demo template file (SQLite), or the rows copied back in with
COPY (PostgreSQL). Either way the change markers then take fresh values, as after any write.

Under pytest-xdist (`make test` runs on every core) each worker has a PostgreSQL database of
its own, named after the one given with the worker's id appended.
"""

from __future__ import annotations

import os

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_BASE_PG_URL = os.environ.get("TEST_DATABASE_URL", "")
if _WORKER and _BASE_PG_URL.startswith("postgresql"):
    # Before anything reads it (config.TestConfig, test modules that make databases of their own).
    _base_name = _BASE_PG_URL.rsplit("/", 1)[1]
    os.environ["TEST_DATABASE_URL"] = f"{_BASE_PG_URL.rsplit('/', 1)[0]}/{_base_name}_{_WORKER}"

import re  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import sqlalchemy.orm as so  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from config import TestConfig  # noqa: E402
from qa_incidents import create_app  # noqa: E402
from qa_incidents.core.db import Base, make_engine, make_session_factory  # noqa: E402
from qa_incidents.core.migrate import all_models, upgrade  # noqa: E402
from qa_incidents.core.sequences import CHANGE_MARKERS  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_PG = PG_URL.startswith("postgresql")


class ReadingClient(FlaskClient):
    """The test client, reading every response to its end and closing it as a server does: a streamed export
    that a test only checks the status of would otherwise keep its database transaction open (and on
    PostgreSQL block the next test's TRUNCATE). `buffered=False` keeps a response streamed."""

    def open(self, *args: object, buffered: bool = True, **kwargs: object):  # type: ignore[no-untyped-def, override]
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ReadingClient
DEMO_PASSWORD = "demo-password-2026"
FROZEN_NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = FROZEN_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _create_worker_database() -> None:
    """This worker's own PostgreSQL database, made afresh (test data: commits need not wait for the disk)."""
    name = sa.make_url(PG_URL).database
    admin = make_engine(_BASE_PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    admin.dispose()


def _drop_worker_database() -> None:
    name = sa.make_url(PG_URL).database
    admin = make_engine(_BASE_PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per run: a template SQLite file, or the PostgreSQL test database."""
    all_models()
    if ON_PG:
        if _WORKER:
            _create_worker_database()
        upgrade(PG_URL)
        yield PG_URL
        if _WORKER:
            _drop_worker_database()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:  # fold the WAL into the main file so a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield str(path)


#: When the demo data is loaded: a day before the frozen clock.
DEMO_NOW = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
_TABLES = None  # every table, in dependency order (filled on first use)
_TRUNCATE = ""


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> None:
    # The app factory does the same under TestConfig; service tests have no app, and the production Argon2
    # cost would make every demo load take a second.
    from qa_incidents.accounts.service import use_fast_hashing

    use_fast_hashing()


def _truncate_all(conn: sa.Connection) -> None:
    """Empty every table; a transaction an earlier test left open (which would make this wait for ever) fails
    the test with what that transaction last ran."""
    conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
    try:
        conn.exec_driver_sql(_TRUNCATE)
    except sa.exc.OperationalError:
        other_engine = make_engine(PG_URL, poolclass=sa.pool.NullPool)
        with other_engine.connect() as other:
            left = other.exec_driver_sql(
                "SELECT left(query, 300) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'").scalars().all()
        other_engine.dispose()
        pytest.fail(f"an earlier test left a transaction open: {left}")


def _fresh_markers(conn: sa.Connection) -> None:
    """New values for the change markers, as any write to what they guard gives them: nothing kept under the
    values of an earlier test is reused."""
    conn.execute(sa.text("UPDATE counter SET value = floor(random() * 9e15)::bigint + 1 WHERE name IN :names")
                 .bindparams(sa.bindparam("names", expanding=True)), {"names": list(CHANGE_MARKERS)})


@pytest.fixture(scope="session")
def _demo_template(_template_db: str, tmp_path_factory: pytest.TempPathFactory, _fast_password_hashing: None) -> object:
    """The demo data, loaded through the services once: a SQLite file to copy, or (PostgreSQL) each table's
    rows in COPY's binary format and every sequence's position."""
    global _TABLES, _TRUNCATE
    from qa_incidents.seed import load_demo

    if not ON_PG:
        path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
        shutil.copyfile(_template_db, path)
        engine = make_engine(f"sqlite:///{path}")
        with make_session_factory(engine)() as session:
            load_demo(session, now=DEMO_NOW)
            session.commit()
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return str(path)
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        _truncate_all(conn)
    with make_session_factory(engine)() as session:
        load_demo(session, now=DEMO_NOW)
        session.commit()
    copies: list[tuple[str, bytes]] = []
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        for table in _TABLES:
            with cursor.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            if conn.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM "{table}")').scalar():
                copies.append((table, data))
        sequences = [(row.name, row.last_value) for row in conn.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name, last_value "
            "FROM pg_sequences WHERE last_value IS NOT NULL")]
        conn.rollback()
    engine.dispose()
    return copies, sequences


@pytest.fixture
def database_url(_template_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with the migrated schema and no rows (or, for a test that asks for `demo` and keeps the frozen
    clock, the demo rows), for this test alone."""
    global _TABLES, _TRUNCATE
    if _TABLES is None:
        all_models()
        _TABLES = [t.name for t in Base.metadata.sorted_tables]
        _TRUNCATE = "TRUNCATE " + ", ".join(f'"{t}"' for t in _TABLES) + " RESTART IDENTITY CASCADE"
    with_demo = "demo" in request.fixturenames and request.getfixturevalue("clock")() == FROZEN_NOW
    template = request.getfixturevalue("_demo_template") if with_demo else None
    request.node.stash[_DEMO_COPIED] = with_demo
    if ON_PG:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            if template is None:
                _truncate_all(conn)
            else:
                copies, sequences = template
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # rows as they were: no triggers
                _truncate_all(conn)
                cursor = conn.connection.dbapi_connection.cursor()
                for table, data in copies:
                    with cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                        copy.write(data)
                for name, value in sequences:
                    conn.execute(sa.text("SELECT setval(CAST(:n AS regclass), :v)"), {"n": name, "v": value})
                conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
                _fresh_markers(conn)
        engine.dispose()
        global _TEST_NUMBER
        _TEST_NUMBER += 1
        name = f"test-{_TEST_NUMBER}"  # this test's connections carry it, so what it left open can be told apart
        yield f"{PG_URL}?application_name={name}"
        _no_transaction_left_open(name)
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template if template is not None else _template_db, path)
        if template is not None:
            with sqlite3.connect(path) as raw:
                _fresh_markers_sqlite(raw)
            raw.close()
        yield f"sqlite:///{path}"


_TEST_NUMBER = 0


def _no_transaction_left_open(name: str) -> None:
    """A test whose code left a transaction open (a session never closed, a response never read) fails here,
    and the transaction is ended so the next test starts clean."""
    engine = make_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        left = conn.execute(sa.text(
            "SELECT pid, left(query, 300) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :name AND state LIKE 'idle in transaction%'"), {"name": name}).all()
        for pid, _ in left:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    engine.dispose()
    if left:
        pytest.fail(f"the test left a transaction open: {[q for _, q in left]}")


def _fresh_markers_sqlite(raw: sqlite3.Connection) -> None:
    marks = ",".join("?" * len(CHANGE_MARKERS))
    raw.execute(f"UPDATE counter SET value = ABS(RANDOM()) % 9007199254740991 + 1 WHERE name IN ({marks})",
                CHANGE_MARKERS)


_DEMO_COPIED = pytest.StashKey[bool]()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[so.Session]:
    """A session for service-layer tests (commit explicitly, as a view would)."""
    s = make_session_factory(engine)()
    yield s
    s.close()


@pytest.fixture
def demo(session: so.Session, clock: FrozenClock, request: pytest.FixtureRequest) -> so.Session:
    """The demo divisions, catalogue, one user per role and six incidents, committed."""
    if request.node.stash.get(_DEMO_COPIED, False):
        return session  # database_url copied the rows in
    from qa_incidents.seed import load_demo

    load_demo(session, now=clock() - timedelta(days=1))
    session.commit()
    return session


@pytest.fixture
def app(engine: sa.Engine, clock: FrozenClock, tmp_path: Path) -> Flask:
    return create_app(TestConfig(), ENGINE=engine, CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "attachments"),
                      INSTANCE_DIR=str(tmp_path))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on the page at path (tests post as a browser would)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form, CSRF token included."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def login_as(client: FlaskClient, demo: so.Session):  # type: ignore[no-untyped-def]
    """login_as('reporter@example.com') logs the test client in as a demo user."""

    def _login(email: str) -> FlaskClient:
        login(client, email)
        return client

    return _login
