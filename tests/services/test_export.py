"""Exports: the register as CSV, XLSX and JSON, scoped to the reader, and round-tripping through import."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from qa_incidents.api import exports, importer
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status


def _rows(fmt: str, body: bytes) -> list[dict[str, str]]:
    return importer.read_file(f"export.{fmt}", body).rows and [r for _, r in importer.read_file(f"export.{fmt}", body).rows]


def _write(fmt: str, rows: list[dict[str, str]]) -> bytes:
    if fmt == "json":
        return json.dumps({"items": rows}).encode()
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(list(rows[0]))
        for r in rows:
            sheet.append(list(r.values()))
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_register_export_round_trips_through_import(demo, demo_user, clock, fmt):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    first = demo.get(Incident, 1)
    first.title = "=SUM(A1) and a “quoted” title &amp; more"  # formula-like text and entities survive as typed
    demo.get(Incident, 2).title = "=1+1 units overheated"  # a workbook would keep only the formula's result
    demo.commit()
    body = exports.render("register", fmt, session=demo, user=hq, filters=service.RegisterFilter())
    rows = _rows(fmt, body)
    originals = {i.reference: i for i in demo.scalars(sa.select(Incident))}
    assert {r["reference"] for r in rows} == set(originals)

    profile = importer.load_profile(demo, "qa-incidents-register")
    # Into the same installation: every row is already there, nothing is added.
    again = importer.import_rows(demo, profile=profile, source=importer.read_file(f"e.{fmt}", body), user=hq, now=clock())
    demo.commit()
    assert (again.imported, again.already_present, again.rejected) == (0, len(rows), [])

    # As records from elsewhere (new references): each comes back with the very same facts.
    renamed = [{**r, "reference": "RT-" + r["reference"]} for r in rows]
    report = importer.import_rows(demo, profile=profile, source=importer.read_file(f"e.{fmt}", _write(fmt, renamed)),
                                  user=hq, now=clock())
    demo.commit()
    assert report.rejected == [] and report.imported == len(rows)
    from qa_incidents.api.models import ImportedRecord

    for row in renamed:
        new_id = demo.scalar(sa.select(ImportedRecord.entity_id).where(ImportedRecord.source_key == row["reference"]))
        assert service.facts_of(demo.get(Incident, new_id)) == service.facts_of(originals[row["reference"][3:]])


@pytest.mark.parametrize("email, divisions", [
    ("reporter@example.com", {"HA"}),
    ("cable.reporter@example.com", {"CM"}),
    ("executive@example.com", {"HA", "CM"}),
])
def test_exports_are_scoped_to_what_the_user_may_read(demo, demo_user, email, divisions):  # type: ignore[no-untyped-def]
    for kind in ("register", "deadlines"):
        body = exports.render(kind, "csv", session=demo, user=demo_user(email), filters=service.RegisterFilter())
        found = {r["division"] for r in _rows("csv", body)}
        assert found <= divisions
        if kind == "register":
            assert found == divisions


def test_export_applies_the_register_filters(demo, demo_user):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    body = exports.render("register", "json", session=demo, user=hq,
                          filters=service.RegisterFilter(status=Status.REPORTED))
    items = json.loads(body)["items"]
    expected = demo.scalar(sa.select(sa.func.count(Incident.id)).where(Incident.status == Status.REPORTED))
    assert len(items) == expected and all(i["status"] == "reported" for i in items)


def test_engineers_cannot_export_incidents(demo, demo_user):  # type: ignore[no-untyped-def]
    from qa_incidents.core.errors import Forbidden

    with pytest.raises(Forbidden):
        exports.render("register", "csv", session=demo, user=demo_user("engineer@example.com"),
                       filters=service.RegisterFilter())


# --- recalls and lessons ---------------------------------------------------------------------------------------


@pytest.fixture
def recalls_and_lessons(demo):  # type: ignore[no-untyped-def]
    """The two demo recalls (one launched with four weeks of progress, one being prepared) and 120 lessons."""
    from qa_incidents.recalls.seed import seed_demo
    from qa_incidents.reviews import lessons

    seed_demo(demo)
    lessons.import_rows(demo, lessons.read_sample()[:120], now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    demo.commit()
    return demo


@pytest.mark.parametrize("email, divisions", [
    ("hq.qa@example.com", {"HA", "CM"}),
    ("executive@example.com", {"HA", "CM"}),
    ("reporter@example.com", {"HA"}),
    ("cable.reporter@example.com", {"CM"}),
])
def test_recall_export_is_scoped_and_carries_the_progress(recalls_and_lessons, demo_user, email, divisions):  # type: ignore[no-untyped-def]
    body = exports.render("recalls", "csv", session=recalls_and_lessons, user=demo_user(email))
    rows = _rows("csv", body)
    assert {r["division"] for r in rows} == divisions
    cord = [r for r in rows if r["division"] == "CM"]
    if cord:
        assert cord[0]["status"] == "launched" and cord[0]["replaced"] == cord[0]["remedied"] == "15500"
        assert cord[0]["completion_percent"] == "24.2" and cord[0]["countries"] == "CA US"
        assert cord[0]["incidents"].startswith("INC-")


def test_recall_export_applies_the_list_filters(recalls_and_lessons, demo_user):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    body = exports.render("recalls", "json", session=recalls_and_lessons, user=hq,
                          filters=exports.RecallFilter(status="draft"))
    items = json.loads(body)["items"]
    assert [i["status"] for i in items] == ["draft"] and items[0]["division"] == "HA"


def test_engineers_export_lessons_but_not_recalls(recalls_and_lessons, demo_user):  # type: ignore[no-untyped-def]
    from qa_incidents.core.errors import Forbidden

    engineer = demo_user("engineer@example.com")
    rows = _rows("xlsx", exports.render("lessons", "xlsx", session=recalls_and_lessons, user=engineer))
    assert len(rows) == 120 and all(r["source_ref"].startswith("FDA-") and r["cause_category"] for r in rows)
    with pytest.raises(Forbidden):
        exports.render("recalls", "csv", session=recalls_and_lessons, user=engineer)
    with pytest.raises(Forbidden):
        exports.render("lessons", "csv", session=recalls_and_lessons, user=demo_user("admin@example.com"))


def test_lesson_export_is_what_the_library_search_finds(recalls_and_lessons, demo_user):  # type: ignore[no-untyped-def]
    from qa_incidents.reviews import search

    found = search.search_lessons(recalls_and_lessons, "pump", limit=500)
    body = exports.render("lessons", "json", session=recalls_and_lessons, user=demo_user("reporter@example.com"),
                          filters=exports.LessonFilter(text="pump"))
    items = json.loads(body)["items"]
    assert 0 < len(items) == found.total < 120
    assert [i["source_ref"] for i in items] == [h.lesson.source_ref for h in found.hits]
    year = found.hits[0].lesson.year
    only = json.loads(exports.render("lessons", "json", session=recalls_and_lessons, user=demo_user("reporter@example.com"),
                                     filters=exports.LessonFilter(year=year)))["items"]
    assert only and {i["year"] for i in only} == {year}  # JSON keeps numbers as numbers


def test_the_deadlines_export_reads_its_pages_in_due_order_without_sorting(demo, demo_user):  # type: ignore[no-untyped-def]
    """Each page of the deadlines export is a range of the due date's index that stops at the page: sorting every
    remaining open record for each page made a million incidents' export take minutes."""
    if demo.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL reads the due index by itself)")
    seen: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    engine = demo.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        rows = list(exports.deadline_rows(demo, user=demo_user("hq.qa@example.com"), filters=service.RegisterFilter()))
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    due = [r["due_at"] for r in rows if r["due_at"]]
    assert due == sorted(due)  # soonest first, as the board shows them
    statement, parameters = next((s, p) for s, p in seen if "notification_record.due_at IS NOT NULL" in s)
    plan = " ".join(str(r[-1]) for r in demo.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                          parameters).all())
    assert "ix_notification_record_due_at" in plan and "TEMP B-TREE" not in plan, plan
