"""Fixtures for every layer: a fresh migrated database per test, a frozen clock, demo users.

SQLite (the default): the schema is migrated once into a template file, and each test gets
its own copy. PostgreSQL (TEST_DATABASE_URL=postgresql+psycopg://…): migrated once, and
every table truncated before each test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask
from flask.testing import FlaskClient

from config import TestConfig
from qa_incidents import create_app
from qa_incidents.core.db import Base, make_engine, make_session_factory
from qa_incidents.core.migrate import all_models, upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_PG = PG_URL.startswith("postgresql")
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


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run: a template SQLite file, or the PostgreSQL test database."""
    all_models()
    if ON_PG:
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:  # fold the WAL into the main file so a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture
def database_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """A database with the migrated schema and no rows, for this test alone."""
    if ON_PG:
        engine = make_engine(PG_URL)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
        yield PG_URL
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(_template_db, path)
        yield f"sqlite:///{path}"


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
def demo(session: so.Session, clock: FrozenClock) -> so.Session:
    """The demo divisions, catalogue, one user per role and six incidents, committed."""
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
