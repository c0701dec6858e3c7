"""Migration 0030 adds the customer contact fields and keeps every existing incident as it was."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from qa_incidents.core.migrate import alembic_config, upgrade

COLUMNS = "id, reference, title, place, description, deaths, aware_at"


def test_the_contact_migration_keeps_existing_incidents(demo, engine, database_url):  # type: ignore[no-untyped-def]
    demo.close()
    with engine.connect() as conn:
        before = conn.execute(sa.text(f"SELECT {COLUMNS} FROM incident ORDER BY id")).all()
    assert len(before) == 6
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0029")
    with engine.connect() as conn:
        names = {c["name"] for c in sa.inspect(conn).get_columns("incident")}
        assert "customer_phone" not in names
        assert conn.execute(sa.text(f"SELECT {COLUMNS} FROM incident ORDER BY id")).all() == before
    engine.dispose()
    upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT {COLUMNS} FROM incident ORDER BY id")).all() == before
        contact = conn.execute(sa.text("SELECT customer_name, customer_phone, customer_email, customer_address "
                                       "FROM incident")).all()
    assert contact == [("", "", "", "")] * 6
