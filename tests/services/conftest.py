"""Helpers for service tests: demo users by e-mail, valid incident facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.incidents.rules import Hazard, IncidentFacts, Source


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
