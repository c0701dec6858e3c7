"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qa_incidents.core.db import Base
from qa_incidents.core.migrate import all_models


def test_migrated_database_matches_the_models(engine: sa.Engine):
    all_models()
    with engine.connect() as connection:
        # compare_type=True (Alembic's default, spelled out). UTCDateTime needs no special case:
        # Alembic compares the types as the dialect writes them in DDL, and a TypeDecorator is
        # written as its impl, DateTime(timezone=True), just as the migrations spell it.
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_audit_event_has_its_append_only_triggers(engine: sa.Engine):
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            names = set(connection.scalars(sa.text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")))
            assert names == {"audit_event_append_only"}
        else:
            names = set(connection.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")))
            assert names == {"audit_event_no_update", "audit_event_no_delete"}
