"""`qa-incidents lessons import|similar`: load the bundled lessons sample; rank lessons like a text, for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import begin_write, transaction
from qa_incidents.reviews import lessons, search


@click.group("lessons", help="The lessons-learned library.")
def lessons_group() -> None:
    pass


@lessons_group.command("import", help="Load lessons from the bundled FDA device-recall sample (data/lessons/) or FILE "
                                      "(.csv or .csv.gz, same columns). Adds what is missing, never duplicates; prints "
                                      "each rejected row on standard error, then one JSON line of counts.")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
@with_appcontext
def import_command(file: Path | None) -> None:
    rows = lessons.read_sample(file or lessons.SAMPLE_PATH)
    session = current_app.extensions["qa_session_factory"]()
    try:
        begin_write(session)
        with transaction(session), click.progressbar(length=len(rows), label="Importing lessons", file=None) as bar:
            report = lessons.import_rows(session, lessons.rows_with_progress(rows, bar), now=utcnow())
    finally:
        session.close()
    for line in report.rejected:
        click.echo(f"rejected {line}", err=True)
    click.echo(json.dumps({"created": report.created, "unchanged": report.unchanged, "rejected": len(report.rejected)}))


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


COMMANDS = [lessons_group]
