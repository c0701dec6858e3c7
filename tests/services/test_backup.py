"""`qa-incidents backup` and `restore`: a whole deployment, database and attachments, restored row for row."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import config
from qa_incidents import create_app
from qa_incidents.core.db import make_engine
from qa_incidents.core.migrate import upgrade
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own with no tables at all."""
    if not PG_URL.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"qa_restore_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield str(sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _all_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as connection:
        metadata = sa.MetaData()
        metadata.reflect(connection)
        return {name: [tuple(r) for r in connection.execute(
                    sa.select(table).order_by(*(table.primary_key.columns or table.columns)))]
                for name, table in sorted(metadata.tables.items())}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def deployment(app, demo, demo_user, clock):
    """The demo data plus two attachments and a comment with awkward text."""
    storage = app.extensions["qa_storage"]
    user = demo_user("hq.qa@example.com")
    incident_id = demo.scalar(sa.select(Incident.id).order_by(Incident.id).limit(1))
    for name, content in (("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40), ("notes.txt", "日本語 ✓\n".encode())):
        stored = storage.put(io.BytesIO(content))
        service.add_attachment(demo, user=user, incident_id=incident_id, stored=stored, filename=name, now=clock())
    service.add_comment(demo, user=user, incident_id=incident_id, body="Quotes ' \" and \\ and 🔥 and \u202eRTL",
                        now=clock())
    demo.commit()
    return storage.root


@pytest.mark.parametrize("target", ["blank", "migrated"])
def test_backup_restores_into_an_empty_database_row_for_row(app, engine, deployment, empty_url, tmp_path, target):
    archive = tmp_path / "backup.tar.gz"
    made = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "2 attachments" in made.output and "schema revision" in made.output
    with tarfile.open(archive) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
    assert manifest["tables"]["incident"] == 6 and manifest["attachments"] == 2
    assert len([n for n in names if n.startswith("attachments/")]) == 2

    if target == "migrated":
        upgrade(empty_url)  # `db upgrade` run first: tables, but no rows
    restored_dir = tmp_path / "restored-attachments"
    restored_app = create_app(config.TestConfig(), DATABASE_URL=empty_url, ATTACHMENT_DIR=str(restored_dir),
                              INSTANCE_DIR=str(tmp_path / "restored-instance"))
    runner = restored_app.test_cli_runner()
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "2 attachments" in result.output and "Audit trail intact" in result.output

    restored_engine = restored_app.extensions["qa_engine"]
    source_rows, restored_rows = _all_rows(engine), _all_rows(restored_engine)
    assert restored_rows.keys() == source_rows.keys()
    for table, rows in source_rows.items():
        assert restored_rows[table] == rows, table
    assert sum(len(r) for r in source_rows.values()) > 100
    assert _files(restored_dir) == _files(deployment)

    again = runner.invoke(args=["restore", str(archive)])
    assert again.exit_code != 0 and "not empty" in again.output  # never over existing records
    assert _all_rows(restored_engine) == source_rows
    restored_engine.dispose()


def test_a_damaged_archive_is_refused_and_changes_nothing(app, deployment, empty_url, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code != 0  # never overwrites one
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.startswith("database."):
                data = data[:-10] + b"0123456789"
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    restored_app = create_app(config.TestConfig(), DATABASE_URL=empty_url, ATTACHMENT_DIR=str(tmp_path / "att"),
                              INSTANCE_DIR=str(tmp_path / "inst"))
    result = restored_app.test_cli_runner().invoke(args=["restore", str(damaged)])
    assert result.exit_code != 0 and "damaged" in result.output
    with restored_app.extensions["qa_engine"].connect() as c:
        assert sa.inspect(c).get_table_names() == []
    restored_app.extensions["qa_engine"].dispose()
