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
    ("triage_decision", "dashboard"),
])
def test_a_truncated_table_moves_its_marker(demo, table, name):  # type: ignore[no-untyped-def]
    demo.execute(sa.text("INSERT INTO counter (name, value) VALUES (:name, 1) ON CONFLICT (name) DO NOTHING"),
                 {"name": name})  # the dashboard's row is made at its first view
    before = marker(demo, name)
    assert before is not None
    demo.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    after = marker(demo, name)
    assert after is not None and after != before
    demo.rollback()
