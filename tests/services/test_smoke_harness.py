"""The harness itself: a fresh, migrated, empty database per test."""

import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.incidents.models import Incident


def test_demo_fixture_loads_users_and_incidents(demo):
    assert demo.scalar(sa.select(sa.func.count(User.id))) == 8
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) == 6


def test_each_test_starts_empty(session):
    assert session.scalar(sa.select(sa.func.count(User.id))) == 0
