"""Lessons search keeps its total and facet counts while the library stands still, and never shows stale ones.

Every way a lesson changes (the ORM, plain SQL, a delete, a rolled-back write) must give the counts of the
library as it is; reading a lesson (times_opened) must not throw the kept counts away.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.reviews import lessons, search
from qa_incidents.reviews.models import Lesson


def _lesson(n: int, title: str, *, mode: str = "Fire / overheating", year: int = 2024) -> Lesson:
    return Lesson(source="test", source_ref=f"T-{n}", title=title, summary=f"{title}. The housing was inspected.",
                  product="", product_category="Appliances", failure_mode=mode, mechanism="", technical_cause="",
                  process_cause="", framework_cause="", motivating_cause="", cause_category="", cause_dimension="",
                  process_stage="", countermeasures="", design_review_checks=[], division="", year=year,
                  published_at=datetime(2024, 1, 1, tzinfo=UTC), times_opened=0)


@pytest.fixture
def library(session: so.Session) -> list[Lesson]:
    rows = [_lesson(i, f"Relay overheating {i}") for i in range(6)] + [_lesson(6, "Relay welded", mode="Electrical failure")]
    lessons.add_indexed(session, rows)
    session.commit()
    return rows


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times search really counted (rather than reusing kept counts)."""
    calls: list[int] = []
    real = search._facets

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "_facets", counting)
    return calls


def _modes(page: search.LessonPage) -> dict[str, int]:
    return dict(page.facets["failure_mode"])


def test_the_same_search_reuses_its_counts_while_no_lesson_changes(session, library, counted):  # type: ignore[no-untyped-def]
    first = search.search_lessons(session, "relay")
    again = search.search_lessons(session, "relay")
    assert len(counted) == 1
    assert (again.total, again.facets) == (first.total, first.facets) == (7, first.facets)
    assert _modes(again) == {"Fire / overheating": 6, "Electrical failure": 1}
    # Another query, or the same one narrowed by a facet, is counted on its own.
    narrowed = search.search_lessons(session, "relay", filters=search.LessonFilters(failure_mode="Electrical failure"))
    assert narrowed.total == 1 and len(counted) == 2


def test_reading_a_lesson_keeps_the_counts(session, library, counted):  # type: ignore[no-untyped-def]
    search.search_lessons(session, "relay")
    lessons.record_open(session, library[0].id)
    session.commit()
    search.search_lessons(session, "relay")
    assert len(counted) == 1


def test_a_new_lesson_is_counted_at_once(session, library, counted):  # type: ignore[no-untyped-def]
    assert search.search_lessons(session, "relay").total == 7
    lessons.add_indexed(session, [_lesson(7, "Relay chatter", mode="Electrical failure")])
    session.commit()
    page = search.search_lessons(session, "relay")
    assert page.total == 8
    assert _modes(page) == {"Fire / overheating": 6, "Electrical failure": 2}


def test_a_lesson_changed_or_deleted_by_plain_sql_is_counted_at_once(session, library, counted):  # type: ignore[no-untyped-def]
    assert _modes(search.search_lessons(session, "relay")) == {"Fire / overheating": 6, "Electrical failure": 1}
    session.execute(sa.update(Lesson).where(Lesson.source_ref == "T-0").values(failure_mode="Electrical failure"))
    session.commit()
    assert _modes(search.search_lessons(session, "relay")) == {"Fire / overheating": 5, "Electrical failure": 2}
    session.execute(sa.delete(Lesson).where(Lesson.source_ref == "T-6"))
    session.commit()
    page = search.search_lessons(session, "")
    assert (page.total, _modes(page)) == (6, {"Fire / overheating": 5, "Electrical failure": 1})


def test_counts_that_saw_an_uncommitted_lesson_are_not_kept(session, library, counted):  # type: ignore[no-untyped-def]
    lessons.add_indexed(session, [_lesson(7, "Relay chatter")])
    assert search.search_lessons(session, "relay").total == 8  # the writer sees its own lesson
    session.rollback()
    assert search.search_lessons(session, "relay").total == 7
    assert search.search_lessons(session, "relay").total == 7
    assert len(counted) == 2  # counted again after the rollback, then kept


def test_kept_counts_equal_counting_afresh(session, library):  # type: ignore[no-untyped-def]
    for query in ("relay", "overheating", "", "welded"):
        search.search_lessons(session, query)
        kept = search.search_lessons(session, query)
        match = search._fts5_all(search._groups(query)) if search._is_sqlite(session) else search._pg_all(search._groups(query))
        where = [search._ranked(session, match=match, any_terms=False, filters=None)[1]] if query else []
        assert (kept.total, kept.facets) == search._facets(session, where)


def test_search_shows_the_counts_with_the_results(login_as, session):  # type: ignore[no-untyped-def]
    client = login_as("hq.qa@example.com")
    session.rollback()  # leave the demo loader's read snapshot: the login has written since
    lessons.add_indexed(session, [_lesson(i, f"Gasket perished {i}", mode="Leak / seal failure") for i in range(3)])
    session.commit()
    for _ in range(2):
        page = client.get("/reviews/lessons?q=gasket").get_data(as_text=True)
        assert "3 lessons" in page
        assert "Leak / seal failure</a> <span class=\"muted\">(3)</span>" in page
        assert 'href="/reviews/lessons?q=gasket&amp;failure_mode=Leak+%2F+seal+failure"' in page
    lessons.add_indexed(session, [_lesson(9, "Gasket cracked", mode="Leak / seal failure")])
    session.commit()
    page = client.get("/reviews/lessons?q=gasket").get_data(as_text=True)
    assert "4 lessons" in page and "(4)" in page


def test_lesson_vectors_are_kept_in_the_row_on_postgresql(session):  # type: ignore[no-untyped-def]
    if search._is_sqlite(session):
        pytest.skip("PostgreSQL storage")
    storage = session.scalar(sa.text(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'lesson'::regclass AND attname = 'search_vector'"))
    assert storage == "m"
