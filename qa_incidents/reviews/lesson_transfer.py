"""The lessons library's own export read back in: `qa-incidents lessons import FILE` of a `qa-incidents export lessons` file.

A file is in the library's format when it has a ``source_ref`` column (the FDA device-recall sample has
none); it must then have every column of the export (exports.LESSON_COLUMNS). CSV (with or without a
byte-order mark), XLSX and JSON are read by the bulk importer's own reader, so a row's line is the same
as there (the header is line 1; a JSON record is numbered from 1).

Each lesson is keyed by its ``source_ref``: a row whose key is already in the library (or earlier in the
same file) is counted as already present and changes nothing, so a second import adds nothing. Every
other row is validated as a whole and either becomes a lesson or is rejected with its line and reason;
the good rows are kept. An imported lesson keeps every exported column as written (its ``published_at``
too); it is linked to no review (the review stays in the installation that approved it) and has not been
opened yet. New lessons are indexed for the library's search in the same transaction.

The command line imports such a file as proposals (`propose_as`): each new lesson waits under *Proposed lessons* for
head-office QA's signed publication (api/pending_lessons.py), as every import of lessons does; publishing makes the
lesson from the kept row exactly as above.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.api import importer
from qa_incidents.api.exports import LESSON_COLUMNS
from qa_incidents.core import csvsafe
from qa_incidents.reviews import lessons
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.rules import Dimension, ProcessStage

KEY = "source_ref"
#: Columns a row cannot do without; every other text may be empty.
REQUIRED = ("source_ref", "source", "title", "year", "published_at")
#: Columns read as they are written (no trimming), apart from the spreadsheet formula guard (undone) and line
#: breaks (always "\n", as the export writes them).
TEXTS = tuple(c for c in LESSON_COLUMNS if c not in ("source_ref", "source", "cause_dimension", "process_stage",
                                                     "design_review_checks", "year", "published_at"))
#: The longest value each column may hold (String(n) columns of the lesson table).
LIMITS: dict[str, int] = {
    name: column.type.length for name, column in Lesson.__table__.columns.items()
    if isinstance(column.type, sa.String) and column.type.length
}
CHUNK = 500
_LINE_BREAK = re.compile(r"\r\n?")


def is_library_export(columns: Iterable[str]) -> bool:
    """Whether a file with these columns is meant to be the library's own export (it has a source_ref column)."""
    return KEY in set(columns)


def missing_columns(columns: Iterable[str]) -> list[str]:
    """The export's columns the file lacks, in the export's order (a file lacking any cannot round-trip)."""
    present = set(columns)
    return [c for c in LESSON_COLUMNS if c not in present]


def lesson_from_row(record: dict[str, str], *, fmt: str, now: datetime) -> Lesson:
    """The lesson one exported row describes; ValueError says why the row cannot be one."""
    if importer.INVALID in record:
        raise ValueError(f"not an object but {record[importer.INVALID]}")
    if importer.WIDTH in record:
        raise ValueError(f"{record[importer.WIDTH]} cells where the header has {len(LESSON_COLUMNS)}")

    def text(name: str) -> str:
        value = _LINE_BREAK.sub("\n", record.get(name) or "")
        # CSV and XLSX exports put an apostrophe before a text a spreadsheet would run as a formula: take it off.
        return value if fmt == "json" else csvsafe.restore(value)

    values: dict[str, str] = {name: text(name) for name in TEXTS}
    values.update({name: text(name).strip() for name in ("source_ref", "source", "cause_dimension", "process_stage",
                                                        "year", "published_at")})
    for name in REQUIRED:
        if not values[name].strip():
            raise ValueError(f"no {name}")
    for name, limit in LIMITS.items():
        if name in values and len(values[name]) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    if values["cause_dimension"] and values["cause_dimension"] not in {d.value for d in Dimension}:
        raise ValueError(f"cause_dimension {values['cause_dimension']!r} is not one of "
                         f"{', '.join(d.value for d in Dimension)}")
    if values["process_stage"] and values["process_stage"] not in {s.value for s in ProcessStage}:
        raise ValueError(f"process_stage {values['process_stage']!r} is not one of "
                         f"{', '.join(s.value for s in ProcessStage)}")
    try:
        year = int(values["year"])
    except ValueError:
        raise ValueError(f"year {values['year']!r} is not a whole number") from None
    if not 1900 <= year <= now.year:
        raise ValueError(f"year {year} out of range (1900–{now.year})")
    try:
        published_at = datetime.fromisoformat(values["published_at"])
    except ValueError:
        raise ValueError(f"published_at {values['published_at']!r} is not an ISO date and time") from None
    if published_at.tzinfo is None:
        raise ValueError(f"published_at {values['published_at']!r} has no time zone (e.g. +00:00)")
    checks = [line for line in text("design_review_checks").splitlines() if line.strip()]
    del values["year"], values["published_at"]
    return Lesson(**values, review_id=None, design_review_checks=checks, year=year,
                  published_at=published_at.astimezone(UTC), times_opened=0)


def import_lessons(session: so.Session, source: importer.SourceFile, *, now: datetime,
                   report: importer.ImportReport | None = None,
                   progress: Callable[[int], None] | None = None,
                   propose_as: Any = None) -> importer.ImportReport:
    """Add the file's lessons that the library lacks (by source_ref); report each rejected row. Idempotent.

    With ``propose_as`` (a user), each new lesson is only proposed, held for head-office QA's signed publication
    (api.pending_lessons), as every import from the command line or the web does; ``imported`` then counts the
    proposals. Without it the lessons join the library at once (a library rebuilt from a backup's own export).

    Flushes and indexes, never commits: the caller owns the transaction. Raises importer.ImportFileError
    when the file lacks a column of the export.
    """
    missing = missing_columns(source.columns)
    if missing:
        raise importer.ImportFileError(f"the file has no column(s) {', '.join(missing)} of the lessons export")
    from qa_incidents.api import pending_lessons

    report = report or importer.ImportReport()
    existing = set(session.scalars(sa.select(Lesson.source_ref)))
    batch: list[Lesson] = []
    where = "item" if source.format == "json" else "line"
    for line, record in source.rows:
        report.rows += 1
        key = (record.get(KEY) or "").strip()
        try:
            lesson = lesson_from_row(record, fmt=source.format, now=now)
        except ValueError as e:
            report.rejected.append(importer.Rejection(line, key, str(e)))
        else:
            if key in report.seen:
                report.warnings.append(importer.Rejection(
                    line, key, f"the same source_ref as {where} {report.seen[key]}: counted as already present"))
                report.already_present += 1
            elif key in existing:
                report.seen[key] = line
                report.already_present += 1
            elif propose_as is not None:
                report.seen[key] = line
                outcome = pending_lessons.propose_exported(session, record=record, fmt=source.format,
                                                           user=propose_as, now=now)
                if outcome == "created":
                    report.imported += 1
                elif outcome == "present":
                    report.already_present += 1
                else:
                    report.rejected.append(importer.Rejection(line, key, outcome.removeprefix("rejected: ")))
            else:
                report.seen[key] = line
                batch.append(lesson)
                if len(batch) >= CHUNK:
                    report.imported += _add(session, batch)
                    batch = []
        if progress:
            progress(1)
    report.imported += _add(session, batch)
    return report


def _add(session: so.Session, batch: list[Lesson]) -> int:
    lessons.add_indexed(session, batch)
    return len(batch)
