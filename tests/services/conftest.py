"""Helpers for service tests: demo data loaded once per run, demo users by e-mail, valid incident facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.accounts.service import use_fast_hashing
from qa_incidents.catalogue.models import Product
from qa_incidents.core.db import Base
from qa_incidents.incidents.rules import Hazard, IncidentFacts, Source


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> None:
    # The app factory does the same under TestConfig; service tests have no app, and the
    # production Argon2 cost would make every demo load take a second.
    use_fast_hashing()


#: The demo rows, table by table, as first loaded in this run (keyed by the load's 'now').
_DEMO_ROWS: dict[datetime, list[tuple[sa.Table, list[dict[str, Any]]]]] = {}


@pytest.fixture
def demo(session: so.Session, clock, _fast_password_hashing: None) -> so.Session:  # type: ignore[no-untyped-def]
    """The same demo data as the shared fixture, but loaded through the services only once per run.

    Later tests get the very same rows copied in, which keeps the service suite several times
    faster (on PostgreSQL especially) without changing what any test sees.
    """
    from qa_incidents.seed import load_demo

    now = clock() - timedelta(days=1)
    tables = _DEMO_ROWS.get(now)
    if tables is None:
        load_demo(session, now=now)
        session.commit()
        _DEMO_ROWS[now] = [
            (table, [dict(row._mapping) for row in session.execute(sa.select(table).order_by(*table.primary_key))])
            for table in Base.metadata.sorted_tables
        ]
        return session
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")  # test data: no need to wait for the disk
    for table, rows in tables:
        if rows:
            if table.name in ("counter", "qa_term"):  # rows the migrations made (change markers, the vocabulary): the copies replace them
                connection.execute(table.delete())
            connection.execute(table.insert(), rows)
            column = table.autoincrement_column
            if column is not None and connection.dialect.name == "postgresql":
                # The rows came with their ids, so move the id sequence past them.
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"(SELECT MAX({column.name}) FROM {table.name}))"))
    session.commit()
    return session


@pytest.fixture
def demo_user(demo: so.Session) -> Callable[[str], User]:
    """demo_user('reporter@example.com') is that demo user."""

    def get(email: str) -> User:
        found = demo.scalar(sa.select(User).where(User.email == email))
        assert found is not None, email
        return found

    return get


@pytest.fixture
def demo_division(demo: so.Session) -> Callable[[str], Division]:
    """demo_division('HA') is the Home Appliances division."""

    def get(code: str) -> Division:
        found = demo.scalar(sa.select(Division).where(Division.code == code))
        assert found is not None, code
        return found

    return get


@pytest.fixture
def demo_product(demo: so.Session) -> Callable[[str], Product]:
    """demo_product('R-HW540') is that demo product."""

    def get(model: str) -> Product:
        found = demo.scalar(sa.select(Product).where(Product.model == model))
        assert found is not None, model
        return found

    return get


@pytest.fixture
def make_facts(demo_product: Callable[[str], Product], clock) -> Callable[..., IncidentFacts]:  # type: ignore[no-untyped-def]
    """make_facts('R-HW540', title=...) is a valid report about that product, changed as asked."""

    def build(model: str = "R-HW540", **changes: object) -> IncidentFacts:
        p = demo_product(model)
        facts = IncidentFacts(
            division_id=p.division_id,
            product_id=p.id,
            title="Door hinge snapped",
            lot_numbers="L2611-01",
            serial_numbers="SN-0001",
            country="JP",
            place="Osaka",
            occurred_at=clock() - timedelta(hours=30),
            aware_at=clock() - timedelta(hours=6),
            source=Source.CUSTOMER_COMPLAINT,
            hazard=Hazard.MECHANICAL,
            deaths=0,
            serious_injuries=0,
            minor_injuries=1,
            fire=False,
            smoke=False,
            co_poisoning=False,
            property_damage=False,
            no_harm=False,
            units_in_field=1000,
            description="The upper hinge snapped when the door was opened; a finger was pinched.",
        )
        return replace(facts, **changes)

    return build
