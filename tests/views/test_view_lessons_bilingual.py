"""Lessons across languages in the browser: a Japanese search finds English lessons and says which words matched;
opens are counted by where the reader came from; "this helped"; searches that found nothing; the vocabulary page."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.core.audit import AuditEvent
from qa_incidents.reviews import lessons, vocabulary
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.reading import LessonReading, LessonSearchMiss
from qa_incidents.reviews.vocabulary import QaTerm


def _library(demo, clock):  # type: ignore[no-untyped-def]
    vocabulary.ensure_loaded(demo)  # the migration loads it; a PostgreSQL test database is emptied before each test
    lessons.import_rows(demo, lessons.read_sample()[:400], now=clock())
    demo.commit()


def test_a_japanese_search_finds_english_lessons_and_shows_the_words_matched_across(browser_as, demo, clock, fresh):
    _library(demo, clock)
    engineer = browser_as("engineer@example.com")
    english = text(engineer.get("/reviews/lessons?q=software"))
    page = engineer.get("/reviews/lessons?q=ソフトウェア")
    assert page.status_code == 200
    body = text(page)
    assert "Matched across languages: ソフトウェア → software" in body
    count = fresh(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.summary.ilike("%software%")))
    assert count > 0 and "0 lessons" not in body
    assert english.split("lessons")[0].strip() != ""


def test_opens_are_counted_by_origin_and_helped_once_per_reader(browser_as, demo, clock, fresh, fresh_all):
    _library(demo, clock)
    engineer = browser_as("engineer@example.com")
    lesson_id = fresh(sa.select(sa.func.min(Lesson.id)))
    search_page = engineer.get("/reviews/lessons?q=software").get_data(as_text=True)
    assert "from=search" in search_page
    shown = engineer.get(f"/reviews/lessons/{lesson_id}?from=similar")
    assert shown.status_code == 200
    engineer.get(f"/reviews/lessons/{lesson_id}?from=search")
    engineer.get(f"/reviews/lessons/{lesson_id}?from=nonsense")
    origins = sorted(fresh_all(sa.select(LessonReading.origin).where(
        LessonReading.lesson_id == lesson_id, LessonReading.kind == "open")))
    assert origins == ["", "search", "similar"]
    token = csrf_token(engineer, f"/reviews/lessons/{lesson_id}")
    assert engineer.post(f"/reviews/lessons/{lesson_id}/helped", data={"csrf_token": token, "from": "similar"}).status_code == 302
    engineer.post(f"/reviews/lessons/{lesson_id}/helped", data={"csrf_token": token, "from": "similar"})
    again = text(engineer.get(f"/reviews/lessons/{lesson_id}"))
    assert "1 reader marked this lesson as helpful." in again
    assert "You marked this lesson as helpful." in again
    assert engineer.post(f"/reviews/lessons/{lesson_id}/helped", data={}).status_code == 400


def test_searches_that_found_nothing_are_listed_for_head_office_qa_only(browser_as, demo, clock, fresh):
    _library(demo, clock)
    engineer = browser_as("engineer@example.com")
    assert "0 lessons" in text(engineer.get("/reviews/lessons?q=zzqqxx+flux"))
    engineer.get("/reviews/lessons?q=ZZQQXX  flux")
    assert fresh(sa.select(sa.func.count()).select_from(LessonSearchMiss)) == 2
    report = browser_as("hq.qa@example.com").get("/reviews/lessons/reading")
    assert report.status_code == 200
    assert "zzqqxx flux" in text(report).lower()
    assert engineer.get("/reviews/lessons/reading").status_code == 403


def test_an_administrator_edits_the_vocabulary_with_history_and_lessons_follow(browser_as, demo, clock, fresh):
    _library(demo, clock)
    admin = browser_as("admin@example.com")
    listing = admin.get("/reviews/lessons/vocabulary?q=overheating")
    assert listing.status_code == 200 and "過熱" in text(listing)
    bad = admin.post("/reviews/lessons/vocabulary", data={"csrf_token": csrf_token(admin, "/reviews/lessons/vocabulary"), "en": "syringe",
                                                          "ja": "", "kind": "component", "source": "own translation"})
    assert bad.status_code == 422 and 'value="syringe"' in bad.get_data(as_text=True)
    made = admin.post("/reviews/lessons/vocabulary", data={"csrf_token": csrf_token(admin, "/reviews/lessons/vocabulary"), "en": "software",
                                                           "ja": "ソフト不具合", "kind": "cause", "source": "own translation"})
    assert made.status_code == 302
    term_id = fresh(sa.select(QaTerm.id).where(QaTerm.ja == "ソフト不具合"))
    assert fresh(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "qa_term", AuditEvent.entity_id == term_id)) == 1
    engineer = browser_as("engineer@example.com")
    assert "Matched across languages: ソフト不具合 → software" in text(engineer.get("/reviews/lessons?q=ソフト不具合"))
    changed = admin.post(f"/reviews/lessons/vocabulary/{term_id}", data={
        "csrf_token": csrf_token(admin, f"/reviews/lessons/vocabulary/{term_id}"), "en": "software", "ja": "ソフト不具合", "kind": "cause",
        "source": "own translation", "version": "1"})  # active unticked: withdrawn
    assert changed.status_code == 302
    assert fresh(sa.select(QaTerm.version).where(QaTerm.id == term_id)) == 2
    stale = admin.post(f"/reviews/lessons/vocabulary/{term_id}", data={
        "csrf_token": csrf_token(admin, f"/reviews/lessons/vocabulary/{term_id}"), "en": "software", "ja": "ソフト不具合", "kind": "cause",
        "source": "own translation", "active": "y", "version": "1"})
    assert stale.status_code == 422 and "Someone else changed this term" in text(stale)
    assert "ソフト不具合 → software" not in text(engineer.get("/reviews/lessons?q=ソフト不具合"))  # withdrawn
    assert browser_as("engineer@example.com").get("/reviews/lessons/vocabulary").status_code == 403


def test_each_way_to_a_lesson_carries_its_origin_and_the_report_counts_them(browser_as, demo, clock, fresh):
    from qa_incidents.incidents.models import Incident

    _library(demo, clock)
    hq = browser_as("hq.qa@example.com")
    incident_id = fresh(sa.select(sa.func.min(Incident.id)))
    panel = hq.get(f"/incidents/{incident_id}/similar-lessons?fragment=1").get_data(as_text=True)
    assert "from=similar" in panel
    link = panel.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert hq.get(link).status_code == 200
    # A new lesson's e-mail to its subscribers links with from=subscription.
    lesson = demo.scalar(sa.select(Lesson).order_by(Lesson.id))
    from qa_incidents.reviews.models import LessonSubscription

    engineer_id = fresh(sa.text("SELECT id FROM user_account WHERE email = 'engineer@example.com'"))
    demo.add(LessonSubscription(user_id=engineer_id, kind="failure_mode", value=lesson.failure_mode, active=True,
                              created_at=clock()))
    demo.flush()
    assert lessons.notify_subscribers(demo, lesson=lesson, now=clock(), base_url="https://qa.example") == 1
    demo.commit()
    from qa_incidents.core.outbox import OutboxMessage

    body = fresh(sa.select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc()))
    assert f"https://qa.example/reviews/lessons/{lesson.id}?from=subscription" in body
    hq.get(f"/reviews/lessons/{lesson.id}?from=subscription")
    report = text(hq.get("/reviews/lessons/reading"))
    assert "From similar lessons 1 0" in report
    assert "From subscription e-mails 1 0" in report
