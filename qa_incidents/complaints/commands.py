"""`qa-incidents complaints import FILE` (with a progress bar) and `qa-incidents complaints scan`."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext


@click.group("complaints", help="Customer complaints: bulk import and the early-warning scan.")
def complaints_group() -> None:
    pass


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")  # type: ignore[return-value]


def _count_lines(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:  # type: ignore[operator]
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1)


@complaints_group.command("import", help="Import complaints from a CSV file (.csv or .csv.gz): the call-centre layout "
                                         "or the NHTSA complaints layout. Duplicates (same source and id) are skipped; "
                                         "bad rows are listed with their line and reason; good rows are kept.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Name of the sending system (call-centre layout; default: the file's stem).")
@click.option("--division", "division_code", default=None,
              help="Division (code) for models not in the product catalogue, e.g. vehicle models of the NHTSA file.")
@click.option("--actor", "actor_email", default=None, metavar="EMAIL", help="User the import acts as.")
@click.option("--batch", "batch_size", default=1000, show_default=True, help="Rows per INSERT and transaction.")
@with_appcontext
def import_command(file: Path, source: str | None, division_code: str | None, actor_email: str | None,
                   batch_size: int) -> None:
    from qa_incidents.accounts.models import Division
    from qa_incidents.api.commands import _actor, _fail
    from qa_incidents.complaints import service
    from qa_incidents.core.clock import utcnow

    factory = current_app.extensions["qa_session_factory"]
    session = factory()
    try:
        user = _actor(session, actor_email)
        division_id = None
        if division_code:
            division_id = session.scalar(sa.select(Division.id).where(Division.code == division_code))
            if division_id is None:
                _fail(f"no division with the code {division_code}")
        user_id = user.id
    finally:
        session.close()
    name = (source or file.name.split(".")[0])[:32]
    total = _count_lines(file)
    with _open(file) as stream, click.progressbar(length=total, label=f"Importing {file.name}", show_pos=True,
                                                  show_eta=True) as bar:
        result = service.import_complaints(factory, user_id=user_id, rows=service.read_rows(stream, source=name),
                                           now=utcnow(), default_division_id=division_id, batch_size=batch_size,
                                           progress=bar.update)
    for line, reason in result.errors[:200]:
        click.echo(f"line {line}: {reason}", err=True)
    if len(result.errors) > 200:
        click.echo(f"… {len(result.errors) - 200} more rejected rows", err=True)
    click.echo(json.dumps({"rows": result.read, "imported": result.inserted, "duplicates": result.duplicates,
                           "rejected": len(result.errors), "flagged": result.flagged}))


@complaints_group.command("scan", help="Compare each model's weekly complaints per symptom with its own history now.")
@with_appcontext
def scan_command() -> None:
    from qa_incidents.core.scheduler import run_complaint_scan

    click.echo(json.dumps({"signals": run_complaint_scan(current_app)}))


COMMANDS = [complaints_group]
