"""`qa-incidents lessons import` proposes lessons: nothing joins the library without head-office QA's signature."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from qa_incidents.api import exports, pending_lessons
from qa_incidents.api.models import PendingLesson
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import DomainError
from qa_incidents.reviews import lessons
from qa_incidents.reviews.models import Lesson

PASSWORD = "demo-password-2026"


def _fda_file(tmp_path, rows):  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "fda.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _count(session, model, *where):  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_fda_sample_import_waits_for_a_signed_publication(app, demo, demo_user, clock, tmp_path):  # type: ignore[no-untyped-def]
    before = _count(demo, Lesson)
    path = _fda_file(tmp_path, lessons.read_sample()[:5])
    result = app.test_cli_runner().invoke(args=["lessons", "import", str(path), "--actor", "division.qa@example.com"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["proposed"] > 0 and counts["proposed"] + counts["rejected"] == 5
    demo.rollback()
    assert _count(demo, Lesson) == before  # the old command put them straight into the library
    waiting = pending_lessons.waiting(demo)
    assert len(waiting) == counts["proposed"]
    writer = demo_user("division.qa@example.com")
    assert {p.imported_by_id for p in waiting} == {writer.id}
    assert _count(demo, AuditEvent, AuditEvent.entity_type == "pending_lesson",
                  AuditEvent.action == "proposed") == counts["proposed"]
    again = app.test_cli_runner().invoke(args=["lessons", "import", str(path), "--actor", "division.qa@example.com"])
    assert json.loads(again.stdout.strip().splitlines()[-1])["proposed"] == 0

    lesson = pending_lessons.publish(demo, user=demo_user("hq.qa@example.com"), pending_id=waiting[0].id,
                                     password=PASSWORD, comment="", now=clock())
    assert lesson.source_ref == waiting[0].source_ref and _count(demo, Lesson) == before + 1


def test_an_actor_without_the_right_to_propose_is_refused_row_by_row(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    path = _fda_file(tmp_path, lessons.read_sample()[:3])
    result = app.test_cli_runner().invoke(args=["lessons", "import", str(path), "--actor", "reporter@example.com"])
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["proposed"] == 0 and "may not propose lessons learned" in result.stderr
    demo.rollback()
    assert _count(demo, PendingLesson) == 0


def test_a_library_export_from_elsewhere_is_proposed_and_the_importer_cannot_publish_it(  # type: ignore[no-untyped-def]
        app, demo, demo_user, clock, tmp_path):
    lessons.import_rows(demo, lessons.read_sample()[:3], now=clock())
    demo.commit()
    body = exports.render("lessons", "json", session=demo, user=demo_user("engineer@example.com"))
    items = json.loads(body)["items"]
    new = dict(items[0], source_ref="ELSEWHERE-7", title="A lesson another installation approved")
    path = tmp_path / "lessons.json"
    path.write_text(json.dumps({"export": "lessons", "items": [*items, new]}, ensure_ascii=False), encoding="utf-8")
    before = _count(demo, Lesson)
    result = app.test_cli_runner().invoke(args=["lessons", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"] == 1
    demo.rollback()
    assert _count(demo, Lesson) == before
    held = demo.scalar(sa.select(PendingLesson).where(PendingLesson.source_ref == "ELSEWHERE-7"))
    assert held is not None and held.title == "A lesson another installation approved"
    assert pending_lessons.preview(held, clock()).summary == new["summary"]
    with pytest.raises(DomainError):  # the first head-office QA user imported it: someone else must sign
        pending_lessons.publish(demo, user=held.imported_by, pending_id=held.id, password=PASSWORD, comment="",
                                now=clock())
