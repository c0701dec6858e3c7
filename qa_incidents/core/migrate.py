"""Alembic, configured from code: one set of migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
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
    import qa_incidents.catalogue.models  # noqa: F401
    import qa_incidents.core.audit  # noqa: F401
    import qa_incidents.core.outbox  # noqa: F401
    import qa_incidents.core.sequences  # noqa: F401
    import qa_incidents.core.signatures  # noqa: F401
    import qa_incidents.incidents.models  # noqa: F401
    import qa_incidents.incidents.workflow_models  # noqa: F401
