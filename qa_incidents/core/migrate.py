"""Alembic, configured from code: one set of migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from config import BASE_DIR

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Alembic (with Mako and Pygments, about 15 MB) is imported by the functions that use it, not with this module: a
# web worker imports it for all_models() (core/events.py), and never migrates.


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at url up to the given revision."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def all_models() -> None:
    """Import every model module so Base.metadata knows every table."""
    import qa_incidents.accounts.models  # noqa: F401
    import qa_incidents.alerts.models  # noqa: F401
    import qa_incidents.api.models  # noqa: F401
    import qa_incidents.catalogue.models  # noqa: F401
    import qa_incidents.complaints.models  # noqa: F401
    import qa_incidents.core.audit  # noqa: F401
    import qa_incidents.core.outbox  # noqa: F401
    import qa_incidents.core.sequences  # noqa: F401
    import qa_incidents.core.signatures  # noqa: F401
    import qa_incidents.inbox.models  # noqa: F401
    import qa_incidents.incidents.models  # noqa: F401
    import qa_incidents.incidents.workflow_models  # noqa: F401
    import qa_incidents.laws.models  # noqa: F401
    import qa_incidents.notifications.models  # noqa: F401
    import qa_incidents.recalls.models  # noqa: F401
    import qa_incidents.reports.models  # noqa: F401
    import qa_incidents.reviews.models  # noqa: F401
    import qa_incidents.reviews.reading  # noqa: F401
    import qa_incidents.reviews.vocabulary  # noqa: F401
    import qa_incidents.risk.models  # noqa: F401
    import qa_incidents.safety_notices.models  # noqa: F401
    import qa_incidents.sso.models  # noqa: F401


def append_only(table: str) -> None:
    """In a migration: the database itself refuses to change or delete rows of an evidence table."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END $$ LANGUAGE plpgsql""")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def drop_append_only(table: str) -> None:
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")



def marker_triggers(marker: str, watched: Mapping[str, Sequence[str] | None]) -> None:
    """In a migration: triggers that give a change marker a fresh random value, in the writer's own transaction, on
    every insert and delete (PostgreSQL: and TRUNCATE) of each watched table and every update of its listed columns
    (None: of any column), whatever makes the write.

    Write the table list out in the migration (never read it from core/freshness.py), so the migration's history
    stays as it was; add the same to the registry there: tests/services/test_freshness.py compares the database's
    triggers with it. PostgreSQL fires once per statement, SQLite once per row.
    """
    from alembic import op

    from qa_incidents.core.freshness import touch_sql

    dialect = op.get_bind().dialect.name
    short = marker.replace("-", "_")
    if dialect == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION touch_{short}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {touch_sql(marker, dialect)};
                RETURN NULL;
            END $$""")
    for table, columns in watched.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_touches_{short} AFTER INSERT OR DELETE OR TRUNCATE OR {update} "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION touch_{short}()")
        else:
            for event in ("INSERT", "DELETE", update):
                op.execute(f"CREATE TRIGGER {table}_{event.split()[0].lower()}_touches_{short} AFTER {event} "
                           f"ON {table} BEGIN {touch_sql(marker, dialect)}; END")


def drop_marker_triggers(marker: str, tables: Sequence[str]) -> None:
    """In a migration's downgrade: drop the triggers `marker_triggers` made on these tables."""
    from alembic import op

    short = marker.replace("-", "_")
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_touches_{short} ON {table}")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_touches_{short}")
