"""Fixtures for view tests: more than one browser, and fresh reads from the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy.orm as so
from flask import Flask
from flask.testing import FlaskClient
from view_helpers import logged_in


@pytest.fixture
def browser_as(app: Flask, demo: so.Session) -> Callable[[str], FlaskClient]:
    """browser_as(email): a separate test client (own cookies) logged in as that demo user."""
    return lambda email: logged_in(app, email)


@pytest.fixture
def fresh(demo: so.Session) -> Callable[[Any], Any]:
    """fresh(stmt): a scalar read in a new transaction, so it sees what the views committed."""

    def read(stmt: Any) -> Any:
        demo.rollback()
        demo.expire_all()
        try:
            return demo.scalar(stmt)
        finally:
            demo.rollback()

    return read


@pytest.fixture
def fresh_all(demo: so.Session) -> Callable[[Any], list[Any]]:
    """fresh_all(stmt): every row of a read in a new transaction."""

    def read(stmt: Any) -> list[Any]:
        demo.rollback()
        demo.expire_all()
        try:
            return list(demo.scalars(stmt))
        finally:
            demo.rollback()

    return read
