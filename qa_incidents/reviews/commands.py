"""`qa-incidents lessons import|similar|reindex`: load the lessons sample or a library export; rank lessons like a text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.api import importer, pending_lessons
from qa_incidents.core import web
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import begin_write, transaction
from qa_incidents.reviews import lesson_transfer, lessons, search


def _fail(message: str) -> NoReturn:
    """Stop with exit status 2: the file could not be used at all (as `qa-incidents import` does)."""
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(2)


@click.group("lessons", help="The lessons-learned library.")
def lessons_group() -> None:
    pass


@lessons_group.command("import", help="Load lessons from the bundled FDA device-recall sample (data/lessons/) or FILE: "
                                      "a file of the same columns (.csv or .csv.gz), or the library's own export "
                                      "(`qa-incidents export lessons`, .csv, .xlsx or .json, also .gz; recognised by "
                                      "its source_ref column). Adds what is missing (by source reference), never "
                                      "duplicates; prints each rejected row on standard error, then one JSON line of "
                                      "counts. For an export: rows, imported, rejected, already_present, warnings "
                                      "(exit status 1 if any row was rejected; the others are saved). Nothing joins the library "
                                      "at once: each new lesson is proposed, as on the web import, and waits for "
                                      "head-office QA (someone other than the --actor) to sign its publication "
                                      "under *Proposed lessons*; FDA sample counts: proposed, unchanged, rejected.")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
@click.option("--actor", "actor_email", default=None, metavar="EMAIL",
              help="Propose the lessons as this user (default: the first head-office QA user).")
@with_appcontext
def import_command(file: Path | None, actor_email: str | None) -> None:
    if file is not None:
        try:
            source = importer.read_file(file.name, file.read_bytes())
        except importer.ImportFileError as e:
            _fail(f"{file}: {e}")
        if lesson_transfer.is_library_export(source.columns):
            _import_export(file, source, actor_email)
            return
        if source.format != "csv":
            _fail(f"{file}: neither the lessons export (no source_ref column) nor the FDA device-recall sample "
                  "(a .csv file)")
    rows = lessons.read_sample(file or lessons.SAMPLE_PATH)
    session = current_app.extensions["qa_session_factory"]()
    counts = {"proposed": 0, "unchanged": 0, "rejected": 0}
    try:
        user = _actor(session, actor_email)
        begin_write(session)
        now = utcnow()
        with transaction(session), click.progressbar(length=len(rows), label="Proposing lessons", file=None) as bar:
            for number, row in enumerate(lessons.rows_with_progress(rows, bar), start=2):  # line 1 is the header
                outcome = pending_lessons.propose(session, record=row, incident_id=None, user=user, now=now)
                if outcome == "created":
                    counts["proposed"] += 1
                elif outcome == "present":
                    counts["unchanged"] += 1
                else:
                    counts["rejected"] += 1
                    click.echo(f"rejected line {number}: {outcome.removeprefix('rejected: ')}", err=True)
    finally:
        session.close()
    click.echo(json.dumps(counts))


def _actor(session, email: str | None):  # type: ignore[no-untyped-def]
    """The user who proposes the lessons (they wait for another person's signed publication)."""
    from qa_incidents.api.commands import _actor as import_actor

    return import_actor(session, email)


def _import_export(file: Path, source: importer.SourceFile, actor_email: str | None) -> None:
    """Read back a file of `qa-incidents export lessons`: one transaction, every row counted once."""
    missing = lesson_transfer.missing_columns(source.columns)
    if missing:
        _fail(f"{file}: the file has no column(s) {', '.join(missing)} of the lessons export")
    session = current_app.extensions["qa_session_factory"]()
    try:
        user = _actor(session, actor_email)
        begin_write(session)
        with transaction(session), click.progressbar(length=len(source.rows), label=f"Importing {file.name}",
                                                     file=None) as bar:
            report = lesson_transfer.import_lessons(session, source, now=web.now(), progress=bar.update,
                                                    propose_as=user)
    finally:
        session.close()
    where = "item" if source.format == "json" else "line"
    for r in report.rejected:
        click.echo(f"rejected {where} {r.line}: {r.reason}", err=True)
    for r in report.warnings:
        click.echo(f"warning {where} {r.line}: {r.reason}", err=True)
    click.echo(json.dumps(report.summary()))
    if report.rejected:
        raise click.exceptions.Exit(1)


@lessons_group.command("similar", help="Print, as one JSON list, the lessons most like TEXT, best first.")
@click.argument("text")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@with_appcontext
def similar_command(text: str, limit: int) -> None:
    session = current_app.extensions["qa_session_factory"]()
    try:
        hits = search.similar_lessons(session, text=text, limit=limit)
        out = [{"id": h.lesson.id, "title": h.lesson.title, "cause_category": h.lesson.cause_category,
                "cause_dimension": h.lesson.cause_dimension, "failure_mode": h.lesson.failure_mode,
                "product_category": h.lesson.product_category, "source_ref": h.lesson.source_ref, "score": h.score}
               for h in hits]
    finally:
        session.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@lessons_group.command("reindex", help="Index every lesson again with the bilingual vocabulary in force (once after "
                                       "upgrading a PostgreSQL database; SQLite rebuilds its index by itself).")
@with_appcontext
def reindex_command() -> None:
    import sqlalchemy as sa

    from qa_incidents.reviews.models import Lesson

    session = current_app.extensions["qa_session_factory"]()
    done = 0
    try:
        ids = list(session.scalars(sa.select(Lesson.id).order_by(Lesson.id)))
        for start in range(0, len(ids), 500):
            with transaction(session) as s:
                search.index_lessons(s, s.scalars(sa.select(Lesson).where(Lesson.id.in_(ids[start:start + 500]))))
            done += len(ids[start:start + 500])
    finally:
        session.close()
    click.echo(json.dumps({"indexed": done}))


COMMANDS = [lessons_group]
