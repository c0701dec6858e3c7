"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qa_incidents.core.db import Base
from qa_incidents.core.migrate import all_models


def _json_defaults_by_value(context, inspected_column, metadata_column, inspected_default, metadata_default,  # type: ignore[no-untyped-def]
                            rendered_metadata_default):
    """JSON defaults compared as JSON values (PostgreSQL has no json = json operator for Alembic's own comparison);
    every other default as Alembic compares it (None)."""
    if not isinstance(metadata_column.type, sa.JSON) or inspected_default is None or rendered_metadata_default is None:
        return None

    def value(text: str) -> object:
        text = re.sub(r"::\w+$", "", text.strip()).strip("'\"")
        return json.loads(text)

    return value(inspected_default) != value(rendered_metadata_default)


def _not_a_search_index(name, type_, _parent_names):  # type: ignore[no-untyped-def]
    """SQLite's FTS5 table of the register (migration 0038) and its shadow tables are no model: derived data kept
    by triggers, like PostgreSQL's trigram index over the same columns (an expression index, also no model's)."""
    return not (type_ == "table" and (name or "").startswith("incident_fts")) and name != "ix_incident_text_trgm"


def test_migrated_database_matches_the_models(engine: sa.Engine):
    all_models()
    with engine.connect() as connection:
        # compare_type=True (Alembic's default, spelled out). UTCDateTime needs no special case:
        # Alembic compares the types as the dialect writes them in DDL, and a TypeDecorator is
        # written as its impl, DateTime(timezone=True), just as the migrations spell it.
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": _json_defaults_by_value,
                                                               "include_name": _not_a_search_index})
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
