"""`qa-incidents audit verify`, `qa-incidents backup PATH` and `qa-incidents restore PATH`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.clock import utcnow
from qa_incidents.integrity.backup import BackupError
from qa_incidents.integrity.backup import backup as make_backup
from qa_incidents.integrity.backup import restore as restore_backup
from qa_incidents.integrity.chain import verify_chain


@click.group("audit", help="The audit trail.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Recompute the hash chain of the whole audit trail and name the first broken "
                                    "link. Exit status 0 when intact, 1 when broken.")
@click.option("--head", "expected_head", default=None,
              help="The head hash printed by an earlier check: also proves no event was removed from the end.")
@with_appcontext
def verify_command(expected_head: str | None) -> None:
    session = current_app.extensions["qa_session_factory"]()
    try:
        total = session.scalar(sa.select(sa.func.count(AuditEvent.id))) or 0
        with click.progressbar(length=total, label="Checking the audit trail", file=sys.stderr) as bar:
            report = verify_chain(session, progress=bar.update)
    finally:
        session.close()
    if not report.ok:
        click.echo(f"BROKEN: {report.problem}", err=True)
        click.echo(f"{report.checked} events before it are intact.", err=True)
        sys.exit(1)
    if expected_head and expected_head not in _chain_hashes():
        click.echo(f"BROKEN: the chain does not contain the expected head {expected_head}: events were removed "
                   "from the end of the trail.", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.checked} audit events, chain intact. Head hash: {report.head}")


def _chain_hashes() -> set[str]:
    """Every hash in the chain: the head seen by an earlier check may since have been followed by others."""
    session = current_app.extensions["qa_session_factory"]()
    try:
        return set(session.scalars(sa.select(AuditEvent.hash)))
    finally:
        session.close()


def _storage_root() -> Path:
    return Path(current_app.extensions["qa_storage"].root)


@click.command("backup", help="Write the database and every attachment to one archive (.tar.gz), consistently, "
                              "while the application runs.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    if path.exists():
        raise click.ClickException(f"{path} exists already; choose a new name")
    try:
        report = make_backup(current_app.extensions["qa_engine"], _storage_root(), path, now=utcnow())
    except BackupError as e:
        raise click.ClickException(str(e)) from e
    rows = sum(report.tables.values())
    click.echo(f"Backup written to {report.path}: {len(report.tables)} tables, {rows} rows, "
               f"{report.attachments} attachments, schema revision {report.revision}.")


@click.command("restore", help="Restore an archive made by `backup` into an empty database (DATABASE_URL) and the "
                               "attachment store, checking every file and table against the archive.")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    try:
        report = restore_backup(current_app.extensions["qa_engine"], _storage_root(), path)
    except BackupError as e:
        raise click.ClickException(str(e)) from e
    session = current_app.extensions["qa_session_factory"]()
    try:
        chain = verify_chain(session)
    finally:
        session.close()
    rows = sum(report.tables.values())
    click.echo(f"Restored {len(report.tables)} tables, {rows} rows, {report.attachments} attachments, "
               f"schema revision {report.revision}.")
    if not chain.ok:
        raise click.ClickException(f"the restored audit trail is broken: {chain.problem}")
    click.echo(f"Audit trail intact: {chain.checked} events.")


COMMANDS = [audit_group, backup_command, restore_command]
