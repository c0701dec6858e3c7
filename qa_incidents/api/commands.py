"""`qa-incidents import FILE --profile NAME` and `qa-incidents export KIND`: bulk import and exports from the shell."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.api import exports, importer


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _actor(session, email: str | None):  # type: ignore[no-untyped-def]
    """The user the import or export acts as: the one named, else the first active head-office QA user."""
    from qa_incidents.accounts.models import User
    from qa_incidents.core.permissions import Role

    if email:
        user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
        if user is None or not user.active:
            _fail(f"no active user with the e-mail {email}")
        return user
    user = session.scalar(sa.select(User).where(User.role == Role.HEAD_OFFICE_QA, User.active.is_(True))
                          .order_by(User.id).limit(1))
    if user is None:
        _fail("no active head-office QA user to act as; name one with --actor EMAIL")
    return user


def report_path_for(file: str) -> Path:
    """Where the rejected-rows report goes: next to the file, e.g. recalls.csv → recalls.csv.rejected.csv."""
    return Path(file).with_name(Path(file).name + ".rejected.csv")


def run_import(*, file: str, profile_name: str, actor_email: str | None, report: str | None,
               show_progress: bool = True) -> dict:  # type: ignore[type-arg]
    """Import a file as the CLI does (also used by the demo-data loader); returns the summary."""
    from qa_incidents.core.db import begin_write
    from qa_incidents.core.web import now

    try:
        source = importer.stream_file(file, max_bytes=current_app.config.get("IMPORT_MAX_INFLATED_BYTES",
                                                                             importer.MAX_INFLATED_BYTES),
                                      max_rows=current_app.config.get("IMPORT_MAX_ROWS", importer.MAX_ROWS))
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}")
    except importer.ImportFileError as e:
        _fail(f"{file}: {e}")
    session = current_app.extensions["qa_session_factory"]()
    try:
        try:
            profile = importer.load_profile(session, profile_name)
        except importer.ProfileError as e:
            _fail(str(e))
        user = _actor(session, actor_email)
        missing = profile.missing_columns(set(source.columns))
        if missing and source.format != "json":
            _fail(f"the file has no column(s) {', '.join(missing)} that the profile {profile.name} reads")
        result = importer.ImportReport()
        # One transaction per batch of rows (importer.CHUNK), read from the file as it goes (a CSV file is never
        # held whole): a crash keeps what was imported, and the next run skips it by its key. The next batch is
        # read and mapped (importer.prepare: no database) in a thread while one is written, so its Python work
        # runs while the database works (SQLite's and PostgreSQL's drivers let other threads run while they wait).
        rows = source.iter_rows()

        def read_next() -> importer.Prepared:
            return importer.prepare(profile, list(itertools.islice(rows, importer.CHUNK)))

        with click.progressbar(length=source.total, label=f"Importing {Path(file).name}", file=None,
                               show_pos=True) if show_progress else _NoBar() as bar, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-read") as reader:
            coming = reader.submit(read_next)
            while True:
                try:
                    batch = coming.result()
                except importer.ImportFileError as e:  # the file changed since it was checked
                    _fail(f"{file}: {e}")
                if not batch:
                    break
                coming = reader.submit(read_next)
                begin_write(session)
                try:
                    importer.import_rows(session, profile=profile, rows=[batch], user=user, now=now(), report=result,
                                         progress=bar.update)
                    session.commit()
                except importer.ProfileError as e:
                    session.rollback()
                    _fail(str(e))
                except BaseException:
                    session.rollback()
                    raise
    finally:
        session.close()
    summary = result.summary()
    if result.rejected or result.warnings:
        path = Path(report) if report else report_path_for(file)
        try:
            path.write_text(importer.rejected_csv(result), encoding="utf-8")
            summary["report"] = str(path)
        except OSError as e:
            click.echo(f"Cannot write the report to {path}: {e.strerror or e}; rejected rows follow.", err=True)
            for r in result.rejected:
                click.echo(f"line {r.line}: {r.reason}", err=True)
    return summary


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        pass


@click.command("import", help="Import incidents from a CSV, XLSX or JSON file (also .gz) through a mapping profile. "
                              "Prints a progress bar, then one JSON line: rows, imported, rejected, already_present "
                              "(rows = imported + rejected + already_present). Rejected rows, with their line and "
                              "reason, go to FILE.rejected.csv. Running it again on the same file adds nothing. "
                              "Exit status: 0 no row rejected, 1 some rows rejected (the others are saved), "
                              "2 the file or profile could not be used.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--profile", "profile_name", required=True, metavar="NAME",
              help="A shipped profile (fda-device-recalls, canada-consumer-recalls, nhtsa-complaints, "
                   "qa-incidents-register) or one saved on the import page.")
@click.option("--actor", "actor_email", default=None, metavar="EMAIL",
              help="File the incidents as this user (default: the first head-office QA user).")
@click.option("--report", default=None, type=click.Path(dir_okay=False),
              help="Where to write the rejected rows (default: next to FILE).")
@click.option("--list-profiles", is_flag=True, default=False, help="List the shipped profiles and stop.")
@with_appcontext
def import_command(file: str, profile_name: str, actor_email: str | None, report: str | None,
                   list_profiles: bool) -> None:
    if list_profiles:
        for name, definition in importer.shipped_profiles().items():
            click.echo(f"{name}: {definition.get('title', '')}")
        return
    summary = run_import(file=file, profile_name=profile_name, actor_email=actor_email, report=report)
    click.echo(json.dumps(summary))
    if summary["rejected"]:
        raise click.exceptions.Exit(1)


@click.command("export", help="Export the incident register, the deadline board, recalls (with their progress) or the "
                              "lessons-learned library as CSV, XLSX or JSON, as the named user may see it (division "
                              "scoping applies; lessons are not scoped).")
@click.argument("kind", type=click.Choice(sorted(exports.EXPORTS)))
@click.option("--format", "fmt", type=click.Choice(sorted(exports.FORMATS)), default=None,
              help="Default: from the --output extension, else csv.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@click.option("--actor", "actor_email", default=None, metavar="EMAIL",
              help="Export what this user may read (default: the first head-office QA user).")
@click.option("--status", default=None, help="Only incidents (register, deadlines) or recalls in this status.")
@click.option("--division", "division_code", default=None, help="Only this division (code).")
@click.option("--query", "words", default="", help="Lessons: only those the library's search finds for these words.")
@with_appcontext
def export_command(kind: str, fmt: str | None, output: str, actor_email: str | None, status: str | None,
                   division_code: str | None, words: str) -> None:
    from qa_incidents.core.errors import Forbidden

    fmt = fmt or (Path(output).suffix.lower().lstrip(".") if Path(output).suffix.lower().lstrip(".") in exports.FORMATS
                  else "csv")
    session = current_app.extensions["qa_session_factory"]()
    try:
        user = _actor(session, actor_email)
        filters = _export_filters(session, kind, status=status, division_code=division_code, words=words)
        try:
            body = exports.render(kind, fmt, session=session, user=user, filters=filters)
        except Forbidden as e:
            _fail(f"{user.email}: {e}")
    finally:
        session.close()
    Path(output).write_bytes(body)
    click.echo(f"{kind} written to {output} ({fmt}).", err=True)


def _export_filters(session, kind: str, *, status: str | None, division_code: str | None, words: str):  # type: ignore[no-untyped-def]
    """The filters of one kind of export from the command's options (exit 2 on an unknown value)."""
    from qa_incidents.accounts.models import Division
    from qa_incidents.incidents.rules import Status
    from qa_incidents.incidents.service import RegisterFilter
    from qa_incidents.recalls.rules import RecallStatus

    division = None
    if division_code:
        division = session.scalar(sa.select(Division).where(Division.code == division_code.upper()))
        if division is None:
            _fail(f"no division with the code {division_code}")
    if kind == "lessons":
        return exports.LessonFilter(text=words, division=division.name if division else None)
    if kind == "recalls":
        if status and status not in {s.value for s in RecallStatus}:
            _fail(f"unknown recall status {status!r}")
        return exports.RecallFilter(status=status or None, division_id=division.id if division else None)
    filters = RegisterFilter()
    if status:
        try:
            filters.status = Status(status)
        except ValueError:
            _fail(f"unknown status {status!r}")
    if division is not None:
        filters.division_id = division.id
    return filters


COMMANDS = [import_command, export_command]
