"""Backup and restore of a whole deployment: the database and the attachment store, in one archive.

The archive is a gzipped tar holding
- `manifest.json`: when, from which kind of database, at which schema revision, the row count
  of every table, and the SHA-256 of the database dump;
- `database.sqlite3` (SQLite's online backup API: a consistent copy while the application runs)
  or `database.pgdump` (`pg_dump --format=custom`, a consistent snapshot);
- `attachments/ab/cd/<sha256>`: every stored file, under its own hash.

pg_dump and pg_restore run with argument lists, never through a shell.

A restore goes only into an empty database (no rows in any table) and checks every file
against its hash and every table's row count against the manifest before it reports success.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404
import tarfile
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from qa_incidents.core.sequences import CHANGE_MARKERS, Counter

FORMAT = "qa-incidents-backup/1"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
ATTACHMENT_PATH = re.compile(r"^attachments/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")


class BackupError(Exception):
    """The backup or restore could not be done; nothing was changed in the target."""


@dataclass
class BackupReport:
    path: Path
    tables: dict[str, int]
    attachments: int
    revision: str | None


@dataclass
class RestoreReport:
    tables: dict[str, int]
    attachments: int
    revision: str | None
    problems: list[str] = field(default_factory=list)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(connection: sa.Connection) -> dict[str, int]:
    """Rows in every table of the database (the schema as it is, not as the models say)."""
    names = sorted(sa.inspect(connection).get_table_names())
    return {name: int(connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0)
            for name in names}


def _revision(connection: sa.Connection) -> str | None:
    if "alembic_version" not in sa.inspect(connection).get_table_names():
        return None
    return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _pg_args(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL tools; the password goes in the environment, not argv."""
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _attachment_files(root: Path) -> list[tuple[str, Path]]:
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("??/??/*")):
        name = f"attachments/{path.relative_to(root).as_posix()}"
        if path.is_file() and ATTACHMENT_PATH.match(name):
            found.append((name, path))
    return found


def backup(engine: sa.Engine, attachment_root: Path, target: Path, *, now: datetime,
           progress: Callable[[int], None] | None = None) -> BackupReport:
    """Write a backup archive of the database behind engine and the attachment store to target."""
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="qa-backup-") as tmp:
        work = Path(tmp)
        with engine.connect() as connection:
            counts = table_counts(connection)
            revision = _revision(connection)
            connection.rollback()
        if engine.dialect.name == "sqlite":
            member = SQLITE_MEMBER
            dump = work / member
            raw = engine.raw_connection()
            try:
                destination = sqlite3.connect(dump)
                try:
                    raw.driver_connection.backup(destination)  # type: ignore[union-attr]
                finally:
                    destination.close()
            finally:
                raw.close()
            copy = sa.create_engine(f"sqlite:///{dump}")  # the counts of the copy itself, not of a moment before
            with copy.connect() as connection:
                counts = table_counts(connection)
            copy.dispose()
        elif engine.dialect.name == "postgresql":
            member = PG_MEMBER
            dump = work / member
            args, env = _pg_args(engine.url)
            result = subprocess.run(  # nosec B603 B607
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump), *args,
                 "--dbname", str(engine.url.database)],
                env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        else:
            raise BackupError(f"no backup method for {engine.dialect.name}")

        files = _attachment_files(Path(attachment_root))
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "dialect": engine.dialect.name,
            "revision": revision,
            "database": {"member": member, "sha256": _sha256_file(dump), "size": dump.stat().st_size},
            "tables": counts,
            "attachments": len(files),
        }
        manifest_path = work / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")

        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(manifest_path, arcname="manifest.json")
            archive.add(dump, arcname=member)
            for name, path in files:
                archive.add(path, arcname=name)
                if progress is not None:
                    progress(1)
        os.replace(partial, target)  # a half-written archive never carries the final name
    return BackupReport(path=target, tables=counts, attachments=len(files), revision=revision)


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember("manifest.json")
    except KeyError:
        raise BackupError("not a qa-incidents backup: manifest.json is missing") from None
    handle = archive.extractfile(member)
    if handle is None:
        raise BackupError("not a qa-incidents backup: manifest.json is not a file")
    manifest = json.loads(handle.read().decode("utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return dict(manifest)


def _extract_member(archive: tarfile.TarFile, name: str, destination: Path) -> None:
    """Copy one regular-file member out by name (never trusting paths or links inside the archive)."""
    member = archive.getmember(name)
    if not member.isfile():
        raise BackupError(f"{name} in the backup is not a regular file")
    source = archive.extractfile(member)
    if source is None:
        raise BackupError(f"{name} cannot be read from the backup")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with source, open(destination, "wb") as out:
        shutil.copyfileobj(source, out)


#: Rows that `db upgrade` itself writes into a new database: the bilingual QA vocabulary (migration 0027) and its
#: edition counter. A database holding only these is still empty for a restore, which replaces them.
UPGRADE_TABLES = ("qa_term",)
UPGRADE_COUNTERS = ("qa-vocabulary",)
#: The tables SQLite's FTS5 keeps for a full-text index X (X_config, X_data, …): rows even when X indexes nothing;
#: the index itself (X) counts what it indexes.
FTS_SHADOW = re.compile(r"^(.+)_(config|data|idx|docsize|content)$")


def restore(engine: sa.Engine, attachment_root: Path, source: Path,
            progress: Callable[[int], None] | None = None) -> RestoreReport:
    """Restore a backup archive into the empty database behind engine and into the attachment store."""
    with engine.connect() as connection:
        existing = table_counts(connection)
        if existing.get("counter"):  # the change markers `db upgrade` starts (the restore replaces them)
            existing["counter"] = int(connection.scalar(sa.select(sa.func.count()).select_from(Counter).where(
                Counter.name.not_in((*CHANGE_MARKERS, *UPGRADE_COUNTERS)))) or 0)
        for table in UPGRADE_TABLES:  # reference data `db upgrade` loads (the restore replaces it too)
            existing.pop(table, None)
        for table in list(existing):  # an empty SQLite full-text index still keeps its own bookkeeping rows
            shadow = FTS_SHADOW.match(table)
            if shadow and shadow.group(1) in existing:
                existing.pop(table)
        connection.rollback()
    if any(n for t, n in existing.items() if t != "alembic_version"):  # `db upgrade` alone leaves a database empty
        busy = ", ".join(f"{t} ({n})" for t, n in existing.items() if n and t != "alembic_version")
        raise BackupError(f"the target database is not empty: {busy}. Restore into a new, empty database.")

    with tarfile.open(source, "r:gz") as archive, tempfile.TemporaryDirectory(prefix="qa-restore-") as tmp:
        manifest = _read_manifest(archive)
        if manifest["dialect"] != engine.dialect.name:
            raise BackupError(f"this backup is of a {manifest['dialect']} database; "
                              f"the target is {engine.dialect.name}")
        database = manifest["database"]
        dump = Path(tmp) / database["member"]
        _extract_member(archive, database["member"], dump)
        if _sha256_file(dump) != database["sha256"]:
            raise BackupError("the database dump in the backup is damaged (its SHA-256 does not match)")

        # Attachments first: a restored database never points at a missing file.
        attachments = 0
        root = Path(attachment_root)
        for member in archive.getmembers():
            match = ATTACHMENT_PATH.match(member.name)
            if not match:
                continue
            final = root / match.group(1) / match.group(2) / match.group(3)
            if not final.exists():
                staged = Path(tmp) / "file"
                _extract_member(archive, member.name, staged)
                if _sha256_file(staged) != match.group(3):
                    raise BackupError(f"{member.name} in the backup is damaged (its SHA-256 does not match)")
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staged, final)
            attachments += 1
            if progress is not None:
                progress(1)
        if attachments != manifest["attachments"]:
            raise BackupError(f"the backup lists {manifest['attachments']} attachments but holds {attachments}")

        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                with closing(sqlite3.connect(dump)) as copy:
                    copy.backup(raw.driver_connection)  # type: ignore[arg-type]
            finally:
                raw.close()
        else:
            args, env = _pg_args(engine.url)
            clean = ["--clean", "--if-exists"] if existing else []  # empty tables made by `db upgrade`
            result = subprocess.run(  # nosec B603 B607
                ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", *clean,
                 *args, "--dbname", str(engine.url.database), str(dump)],
                env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")

    engine.dispose()  # no pooled connection keeps a view of the database from before
    with engine.connect() as connection:
        counts = table_counts(connection)
        revision = _revision(connection)
        connection.rollback()
    problems = [f"{table}: {counts.get(table)} rows restored, {n} in the backup"
                for table, n in manifest["tables"].items() if counts.get(table) != n]
    if problems:
        raise BackupError("the restored database does not match the backup: " + "; ".join(problems))
    return RestoreReport(tables=counts, attachments=attachments, revision=revision)
