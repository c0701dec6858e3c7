"""Alembic, configured from code: one set of migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command, op
from alembic.config import Config as AlembicConfig

from config import BASE_DIR


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at url up to the given revision."""
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
    import qa_incidents.sso.models  # noqa: F401


def append_only(table: str) -> None:
    """In a migration: the database itself refuses to change or delete rows of an evidence table."""
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")

