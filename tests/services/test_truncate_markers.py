"""On PostgreSQL a TRUNCATE gives the change markers a fresh value, as any other write to their tables does
(SQLite has no TRUNCATE; its unconditional DELETE fires the row triggers)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from qa_incidents.core.sequences import marker

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="TRUNCATE is PostgreSQL's")


@pytest.mark.parametrize(("table", "name"), [
    ("law_category", "laws-map"),
    ("obligation", "laws-map"),
    ("product_category", "register-page"),
    ("incident", "incident-register"),
    ("notification_record", "notification-board"),
])
def test_a_truncated_table_moves_its_marker(demo, table, name):  # type: ignore[no-untyped-def]
    before = marker(demo, name)
    assert before is not None  # the demo's writes made it
    demo.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    after = marker(demo, name)
    assert after is not None and after != before
    demo.rollback()


def test_a_truncated_table_moves_the_dashboard_figures(demo):  # type: ignore[no-untyped-def]
    version = sa.text("SELECT value FROM data_version WHERE name = 'dashboard'")
    demo.execute(sa.text("INSERT INTO data_version (name, value) VALUES ('dashboard', 1) ON CONFLICT (name) DO NOTHING"))
    before = demo.scalar(version)
    demo.execute(sa.text("TRUNCATE triage_decision"))
    assert demo.scalar(version) == before + 1
    demo.rollback()
