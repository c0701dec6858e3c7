"""The lessons export read back by `qa-incidents lessons import`: every column equal, idempotent, bad rows reported."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

import config
from qa_incidents import create_app
from qa_incidents.api import exports, importer
from qa_incidents.api.models import PendingLesson
from qa_incidents.core.db import Base, make_engine, make_session_factory
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reviews import lesson_transfer, lessons, search, service
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.rules import CountermeasureType, Dimension

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_PG = PG_URL.startswith("postgresql")
PASSWORD = "demo-password-2026"
FORMATS = ("csv", "xlsx", "json")


@pytest.fixture
def library(demo: so.Session, demo_user, clock) -> so.Session:  # type: ignore[no-untyped-def]
    """Sixty FDA lessons, one lesson published from an approved review in Japanese, and two awkward lessons."""
    lessons.import_rows(demo, lessons.read_sample()[:60], now=clock())
    writer, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    fire.severity, fire.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    review = service.start_review(demo, user=writer, incident_ids=[fire.id], title="冷蔵庫リレー端子の発火", now=clock())
    service.update_review(demo, user=writer, review_id=review.id, expected_version=review.version, now=clock(),
                          data=service.ReviewInput(
        title="冷蔵庫リレー端子の発火", phenomenon="圧縮機リレー付近から発煙し、発火した。", failure_mode="Fire / overheating",
        mechanism="圧着不良で接触抵抗が増大し、端子が過熱した。", process_stage="manufacturing",
        process_cause="工具交換後の圧着高さ管理なし", escape_reason="出荷検査は機能のみ", framework_cause="初品確認の規定なし",
        motivating_factors=["schedule"], motivating_cause="納期優先",
        design_review_checks="電源端子ごとに圧着高さの範囲を規定しているか？\n- Is the relay housing V-0 rated?\n"
                             "Is the crimp pull-tested, \"first article\", after every tool change?",
        no_countermeasure_reasons={"technical": "工程対策で圧着不良そのものを除く", "framework": "初品確認を手順に入れる",
                                   "motivating": "一度きりの再開"}))
    service.add_why_step(demo, user=writer, review_id=review.id, dimension=Dimension.TECHNICAL,
                         question="なぜ過熱したか？", answer="接触抵抗が公称の20倍", evidence="TR-118", now=clock())
    service.add_countermeasure(demo, user=writer, review_id=review.id, now=clock(), data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="工具交換ごとの初品圧着確認",
        owner_id=writer.id, due_on=clock().date()))
    service.submit_review(demo, user=writer, review_id=review.id, now=clock())
    service.approve_review(demo, user=hq, review_id=review.id, password=PASSWORD, comment="", now=clock())
    # Texts a spreadsheet would take for formulas, spaces at the ends, Windows line breaks, quotes and commas.
    awkward = [
        Lesson(source="tokyo-qa", source_ref="TQA-2024-0007", title="=HYPERLINK(\"x\") looks like a formula",
               summary="+ plus at the start, then text\r\nand a Windows line break", product="  padded product  ",
               product_category="Home appliances › Refrigerators", failure_mode="Fire / overheating",
               mechanism="@mention, \"quoted\", comma", technical_cause="", process_cause="- a dash line\n- another",
               framework_cause="", motivating_cause="", cause_category="Unclassified", cause_dimension="framework",
               process_stage="design", countermeasures="'already quoted", design_review_checks=["=COUNT(A:A) as a check?", "@ the line"],
               division="Tokyo QA", year=2019, published_at=clock().replace(year=2019, microsecond=123456),
               times_opened=5),
        Lesson(source="tokyo-qa", source_ref="TQA-2025-0001", title="+81 telephone-like title", summary="",
               product="", product_category="", failure_mode="", mechanism="", technical_cause="", process_cause="",
               framework_cause="", motivating_cause="", cause_category="", cause_dimension="", process_stage="",
               countermeasures="", design_review_checks=[], division="", year=2025,
               published_at=clock().replace(year=2025), times_opened=0),
    ]
    demo.add_all(awkward)
    demo.flush()
    search.index_lessons(demo, awkward)
    demo.commit()
    return demo


@pytest.fixture
def empty_database(session: so.Session, _template_db: str, tmp_path: Path) -> Iterator[Callable[[], so.Session]]:
    """empty_database() is a session on a migrated database with no rows (call it after taking the exports).

    SQLite: a new database file. PostgreSQL: the test database emptied (there is only one).
    """
    made: list[tuple[sa.Engine, so.Session]] = []

    def make() -> so.Session:
        if ON_PG:
            session.commit()
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            session.connection().exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            session.commit()
            engine = make_engine(PG_URL)
        else:
            path = tmp_path / f"empty-{len(made)}.sqlite3"
            shutil.copyfile(_template_db, path)
            engine = make_engine(f"sqlite:///{path}")
        fresh = make_session_factory(engine)()
        made.append((engine, fresh))
        return fresh

    yield make
    for engine, fresh in made:
        fresh.close()
        engine.dispose()


def _export(session: so.Session, user: Any, fmt: str) -> bytes:
    return exports.render("lessons", fmt, session=session, user=user)


def _exported_rows(session: so.Session, user: Any) -> dict[str, dict[str, Any]]:
    """Every lesson as the export writes it, by its key."""
    rows = exports.lesson_rows(session, user=user, filters=exports.LessonFilter())
    return {row["source_ref"]: row for row in rows}


def _import(session: so.Session, filename: str, body: bytes, clock: Any) -> importer.ImportReport:
    source = importer.read_file(filename, body)
    assert lesson_transfer.is_library_export(source.columns)
    report = lesson_transfer.import_lessons(session, source, now=clock())
    session.commit()
    return report


@pytest.mark.parametrize("fmt", FORMATS)
def test_lessons_export_imports_into_an_empty_library_without_loss(library, demo_user, empty_database, clock, fmt):  # type: ignore[no-untyped-def]
    engineer = demo_user("engineer@example.com")
    before = _exported_rows(library, engineer)
    body = _export(library, engineer, fmt)
    assert len(before) == 63 and "REVIEW-1" in before
    assert before["REVIEW-1"]["design_review_checks"].count("\n") == 2

    fresh = empty_database()
    report = _import(fresh, f"lessons.{fmt}", body, clock)
    assert report.summary() == {"rows": 63, "imported": 63, "rejected": 0, "already_present": 0, "warnings": 0}
    after = _exported_rows(fresh, engineer)
    assert after.keys() == before.keys()
    for key, row in before.items():
        assert after[key] == row, key
    if fmt != "xlsx":  # a workbook carries its own creation time; the others are the very same bytes
        assert _export(fresh, engineer, fmt) == body
    review_lesson = fresh.scalar(sa.select(Lesson).where(Lesson.source_ref == "REVIEW-1"))
    assert review_lesson.review_id is None and review_lesson.source == "review"
    assert review_lesson.design_review_checks == library.scalar(
        sa.select(Lesson.design_review_checks).where(Lesson.source_ref == "REVIEW-1"))

    again = _import(fresh, f"lessons.{fmt}", body, clock)
    assert (again.imported, again.already_present, again.rejected) == (0, 63, [])
    assert fresh.scalar(sa.select(sa.func.count()).select_from(Lesson)) == 63


def test_imported_lessons_are_found_by_the_library_search(library, demo_user, empty_database, clock):  # type: ignore[no-untyped-def]
    engineer = demo_user("engineer@example.com")
    body = _export(library, engineer, "csv")
    fda = library.scalar(sa.select(Lesson).where(Lesson.source == "fda", Lesson.summary.contains("pump")).limit(1))
    assert fda is not None
    fresh = empty_database()
    # Searched once while empty, so the search index exists before the import and must be kept by it.
    assert search.search_lessons(fresh, "pump", limit=5).hits == []
    _import(fresh, "lessons.csv", body, clock)
    assert fda.source_ref in [h.lesson.source_ref for h in search.search_lessons(fresh, "pump", limit=100).hits]
    assert [h.lesson.source_ref for h in search.search_lessons(fresh, "発火", limit=5).hits] == ["REVIEW-1"]


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(exports.LESSON_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _line_of(body: bytes, key: str) -> int:
    """The line of the CSV file on which the row of this key starts (counted by hand, not by the reader)."""
    lines = body.decode("utf-8-sig").split("\n")
    return next(number for number, text in enumerate(lines, start=1) if text.startswith(key + ","))


BAD = {  # what is wrong with the row → what the import says
    "title": ("   ", "no title"),
    "year": ("1850", "year 1850 out of range"),
    "published_at": ("2024-05-01T10:00:00", "has no time zone"),
    "cause_dimension": ("cosmic", "cause_dimension 'cosmic' is not one of"),
    "product_category": ("x" * 121, "product_category is longer than 120 characters"),
    "source": ("", "no source"),
}


def test_bad_rows_are_rejected_by_line_and_the_others_imported(library, demo_user, empty_database, clock):  # type: ignore[no-untyped-def]
    rows = list(_exported_rows(library, demo_user("engineer@example.com")).values())
    # Bad rows after multi-line ones, so a line is not simply the row's position.
    review_row = next(r for r in rows if r["source_ref"] == "REVIEW-1")
    rows.remove(review_row)
    rows.insert(0, review_row)
    spoiled: dict[str, str] = {}
    for row, (column, (value, reason)) in zip(rows[3::7], BAD.items(), strict=False):
        row[column] = value
        spoiled[row["source_ref"]] = reason
    body = _csv(rows)

    fresh = empty_database()
    report = _import(fresh, "lessons.csv", body, clock)
    assert (report.rows, report.imported, report.already_present) == (63, 63 - len(BAD), 0)
    got = {r.key: r for r in report.rejected}
    assert got.keys() == spoiled.keys()
    for key, reason in spoiled.items():
        assert got[key].line == _line_of(body, key) and reason in got[key].reason, (key, got[key])
    present = set(fresh.scalars(sa.select(Lesson.source_ref)))
    assert present == {r["source_ref"] for r in rows} - spoiled.keys()


@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_a_bad_row_in_a_workbook_or_json_is_reported_by_its_row(library, demo_user, empty_database, clock, fmt):  # type: ignore[no-untyped-def]
    rows = list(_exported_rows(library, demo_user("engineer@example.com")).values())
    rows[4]["year"] = "next year"
    if fmt == "json":
        body = json.dumps({"export": "lessons", "items": rows}, ensure_ascii=False).encode()
    else:
        body = exports._xlsx("lessons", exports.LESSON_COLUMNS, iter(rows))  # the export's own workbook writer
    fresh = empty_database()
    report = _import(fresh, f"lessons.{fmt}", body, clock)
    # The fifth record: row 6 of the sheet (after the header), item 5 of the JSON list.
    assert [(r.line, r.key, r.reason) for r in report.rejected] == [
        (6 if fmt == "xlsx" else 5, rows[4]["source_ref"], "year 'next year' is not a whole number")]
    assert report.imported == 62


def test_a_repeated_key_counts_once_and_a_known_key_is_already_present(library, demo_user, clock):  # type: ignore[no-untyped-def]
    rows = list(_exported_rows(library, demo_user("engineer@example.com")).values())
    new = dict(rows[0], source_ref="ELSEWHERE-1", title="A lesson from another installation")
    body = _csv([*rows, new, dict(new, title="The same key again")])
    report = _import(library, "lessons.csv", body, clock)
    assert report.summary() == {"rows": 65, "imported": 1, "rejected": 0, "already_present": 64, "warnings": 1}
    assert "the same source_ref as line" in report.warnings[0].reason
    titles = library.scalars(sa.select(Lesson.title).where(Lesson.source_ref == "ELSEWHERE-1")).all()
    assert titles == ["A lesson from another installation"]


def test_a_file_without_every_export_column_is_refused(library, clock):  # type: ignore[no-untyped-def]
    source = importer.read_file("l.csv", "\ufeffsource_ref,title\r\nX-1,Only a title\r\n".encode())
    assert lesson_transfer.is_library_export(source.columns)
    with pytest.raises(importer.ImportFileError, match="no column.*summary"):
        lesson_transfer.import_lessons(library, source, now=clock())


def test_the_lessons_command_reads_back_the_export_command(app, library, empty_database, clock, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "lessons.csv"
    result = app.test_cli_runner().invoke(args=["export", "lessons", "-o", str(out), "--actor", "engineer@example.com"])
    assert result.exit_code == 0, result.output
    body = out.read_bytes()
    bad = body.replace(b"TQA-2025-0001,tokyo-qa,'+81", b"TQA-2025-0001,,'+81")  # '+81: kept text, not a formula
    assert bad != body
    (tmp_path / "bad.csv").write_bytes(bad)

    fresh = empty_database()
    fresh_app = create_app(config.TestConfig(), ENGINE=fresh.get_bind(), CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "a"),
                           INSTANCE_DIR=str(tmp_path))
    runner = fresh_app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "--email", "qa@elsewhere.example", "--name", "Importing QA",
                               "--role", "head_office_qa", "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    first = runner.invoke(args=["lessons", "import", str(tmp_path / "bad.csv")])
    assert first.exit_code == 1, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {
        "rows": 63, "imported": 62, "rejected": 1, "already_present": 0, "warnings": 0}
    assert f"rejected line {_line_of(bad, 'TQA-2025-0001')}: no source" in first.stderr
    second = runner.invoke(args=["lessons", "import", str(out)])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout.strip().splitlines()[-1]) == {
        "rows": 63, "imported": 1, "rejected": 0, "already_present": 62, "warnings": 0}
    # Imported lessons are proposals: none is in the library until head-office QA signs its publication.
    assert fresh.scalar(sa.select(sa.func.count()).select_from(Lesson)) == 0
    assert fresh.scalar(sa.select(sa.func.count()).select_from(PendingLesson)
                        .where(PendingLesson.decision.is_(None))) == 63


def test_the_lessons_command_still_reads_the_fda_sample_format(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    rows = lessons.read_sample()[:5]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    fda = tmp_path / "fda.csv"
    fda.write_text(buffer.getvalue(), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lessons", "import", str(fda)])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["proposed"] + counts["rejected"] == 5 and counts["proposed"] > 0
    demo.rollback()  # read what the command committed, not an older snapshot
    assert demo.scalar(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.source == "fda")) == 0
    assert demo.scalar(sa.select(sa.func.count()).select_from(PendingLesson)) == counts["proposed"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"title": "not a lesson export"}]), encoding="utf-8")
    refused = runner.invoke(args=["lessons", "import", str(other)])
    assert refused.exit_code == 2 and "neither the lessons export" in refused.stderr
