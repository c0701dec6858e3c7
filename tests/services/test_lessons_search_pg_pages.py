"""Lessons search keeps the ranked rows of a page while the library stands still, and never shows a stale page.

PostgreSQL ranks and counts a search it has not kept in one pass over the matches; what users see (the hits in
their order, the scores, the total and the facet counts) must be exactly what ranking and counting apart give.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.freshness import Kept
from qa_incidents.reviews import lessons, search
from qa_incidents.reviews.models import Lesson


def _lesson(n: int, title: str, *, summary: str = "", mode: str = "Fire / overheating", year: int = 2024,
            division: str = "Home") -> Lesson:
    return Lesson(source="test", source_ref=f"P-{n}", title=title, summary=summary or f"{title}. The housing was inspected.",
                  product="", product_category="Appliances" if n % 2 else "Tools", failure_mode=mode, mechanism="",
                  technical_cause="", process_cause="", framework_cause="", motivating_cause="", cause_category="",
                  cause_dimension="Technical" if n % 3 else "Process", process_stage="", countermeasures="",
                  design_review_checks=[], division=division, year=year,
                  published_at=datetime(2024, 1, 1, tzinfo=UTC), times_opened=0)


@pytest.fixture
def library(session: so.Session) -> list[Lesson]:
    rows = [_lesson(i, f"Relay overheating {i}", summary="Relay " * (1 + i % 4) + "contacts overheated.",
                    year=2020 + i % 5, mode="Electrical failure" if i % 4 == 0 else "Fire / overheating",
                    division=("Home", "Medical", "Auto")[i % 3]) for i in range(30)]
    rows.append(_lesson(30, "Gasket perished", mode="Leak / seal failure"))
    lessons.add_indexed(session, rows)
    session.commit()
    return rows


@pytest.fixture
def ranked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each pass search really made over the matching lessons (rather than reusing a kept page or kept counts)."""
    calls: list[str] = []
    real_rank, real_facets = search._rank, search._facets

    def rank(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("rank")
        return real_rank(*args, **kwargs)

    def facets(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("rank+count" if kwargs.get("top") is not None else "count")
        return real_facets(*args, **kwargs)

    monkeypatch.setattr(search, "_rank", rank)
    monkeypatch.setattr(search, "_facets", facets)
    return calls


def _seen(page: search.LessonPage) -> tuple[int, list[tuple[str, float]], dict[str, list[tuple[object, int]]]]:
    return page.total, [(h.lesson.source_ref, h.score) for h in page.hits], page.facets


def _afresh(session: so.Session, query: str, **kwargs: object) -> search.LessonPage:
    search._kept.clear()
    search._kept_pages.clear()
    return search.search_lessons(session, query, **kwargs)  # type: ignore[arg-type]


def test_a_page_is_ranked_once_while_no_lesson_changes(session, library, ranked):  # type: ignore[no-untyped-def]
    first = search.search_lessons(session, "relay", limit=5)
    again = search.search_lessons(session, "relay", limit=5)
    assert _seen(again) == _seen(first)
    assert first.total == 30 and len(first.hits) == 5
    assert ranked == (["rank", "count"] if search._is_sqlite(session) else ["rank+count"])
    # The next page is ranked on its own; its counts are the kept ones.
    second = search.search_lessons(session, "relay", limit=5, offset=5)
    assert ranked[-1] == "rank" and second.total == 30
    assert not {h.lesson.id for h in first.hits} & {h.lesson.id for h in second.hits}


def test_kept_pages_equal_ranking_afresh(session, library):  # type: ignore[no-untyped-def]
    cases = [("relay", {}), ("relay", {"offset": 10}), ("overheating", {"filters": search.LessonFilters(year=2022)}),
             ("relay contacts", {"filters": search.LessonFilters(division="Medical")}), ("gasket", {})]
    for query, kwargs in cases:
        fresh = _seen(_afresh(session, query, limit=10, **kwargs))
        kept = _seen(search.search_lessons(session, query, limit=10, **kwargs))  # type: ignore[arg-type]
        assert kept == fresh, query
        assert fresh[0] > 0


def test_a_better_lesson_is_shown_first_at_once(session, library):  # type: ignore[no-untyped-def]
    before = search.search_lessons(session, "relay", limit=3)
    lessons.add_indexed(session, [_lesson(40, "Relay relay relay", summary="Relay relay relay relay.")])
    session.commit()
    after = search.search_lessons(session, "relay", limit=3)
    assert after.hits[0].lesson.source_ref == "P-40"
    assert after.total == before.total + 1


def test_a_page_that_saw_an_uncommitted_lesson_is_not_kept(session, library):  # type: ignore[no-untyped-def]
    lessons.add_indexed(session, [_lesson(41, "Relay relay relay", summary="Relay relay relay relay.")])
    assert search.search_lessons(session, "relay", limit=3).hits[0].lesson.source_ref == "P-41"  # the writer's own
    session.rollback()
    for _ in range(2):
        page = search.search_lessons(session, "relay", limit=3)
        assert "P-41" not in [h.lesson.source_ref for h in page.hits] and page.total == 30


def test_a_lesson_changed_by_plain_sql_moves_at_once(session, library):  # type: ignore[no-untyped-def]
    first = search.search_lessons(session, "gasket")
    assert [h.lesson.source_ref for h in first.hits] == ["P-30"]
    session.execute(sa.update(Lesson).where(Lesson.source_ref == "P-30").values(title="Gasket perished again"))
    search.index_lessons(session, session.scalars(sa.select(Lesson).where(Lesson.source_ref == "P-30")))
    session.commit()
    assert search.search_lessons(session, "gasket").hits[0].lesson.title == "Gasket perished again"
    lessons.add_indexed(session, [_lesson(42, "Gasket gasket", summary="Gasket gasket gasket.")])
    session.commit()
    assert [h.lesson.source_ref for h in search.search_lessons(session, "gasket").hits] == ["P-42", "P-30"]


def test_facet_counts_are_those_of_the_matching_lessons(session, library):  # type: ignore[no-untyped-def]
    page = _afresh(session, "relay", filters=search.LessonFilters(division="Home"))
    matching = [lesson for lesson in library if lesson.title.startswith("Relay") and lesson.division == "Home"]
    assert page.total == len(matching) == 10
    for name in search.FACETS:
        counted = Counter(getattr(lesson, name) for lesson in matching)
        expected = sorted(counted.items(), reverse=True) if name == "year" else \
            sorted(counted.items(), key=lambda kv: (-kv[1], str(kv[0])))
        assert page.facets[name] == expected, name


def test_ranking_and_counting_in_one_pass_equals_apart(session, library):  # type: ignore[no-untyped-def]
    if search._is_sqlite(session):
        pytest.skip("PostgreSQL ranks and counts in one statement")
    for query, filters, limit, offset in [("relay", None, 7, 0), ("relay", None, 7, 21), ("overheat", None, 50, 0),
                                          ("relay", search.LessonFilters(year=2021, division="Medical"), 5, 0),
                                          ("zeppelin", None, 5, 0)]:
        match = search._pg_all(search._groups(query))
        base, matched = search._ranked(session, match=match, any_terms=False, filters=filters)
        where = [matched, *(filters or search.LessonFilters()).where()]
        top = search._Top(base, limit, offset)
        together = search._facets(session, where, top=top)
        assert together == search._facets(session, where)
        assert top.rows == search._rank(session, base, match=match, filtered=True, limit=limit, offset=offset)


def test_kept_pages_are_bounded(session, library, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(search, "_kept_pages", Kept(search.LIBRARY_MARKER, size=3))
    for offset in range(6):
        search.search_lessons(session, "relay", limit=2, offset=offset)
    assert len(search._kept_pages) == 3


def test_the_lessons_page_shows_kept_hits_in_order(login_as, session):  # type: ignore[no-untyped-def]
    client = login_as("hq.qa@example.com")
    session.rollback()  # leave the demo loader's read snapshot: the login has written since
    lessons.add_indexed(session, [_lesson(50, "Hinge snapped", summary="Hinge, hinge and hinge snapped."),
                                  _lesson(51, "Hinge loose")])
    session.commit()
    for _ in range(2):
        page = client.get("/reviews/lessons?q=hinge").get_data(as_text=True)
        assert "2 lessons" in page
        assert page.index("Hinge snapped") < page.index("Hinge loose")
    lessons.add_indexed(session, [_lesson(52, "Hinge hinge hinge", summary="Hinge hinge hinge hinge hinge.")])
    session.commit()
    page = client.get("/reviews/lessons?q=hinge").get_data(as_text=True)
    assert "3 lessons" in page and "Hinge hinge hinge" in page  # not the page kept before the new lesson
    session.rollback()
    ranked = [hit.lesson.title for hit in search.search_lessons(session, "hinge").hits]
    assert sorted(ranked) == ["Hinge hinge hinge", "Hinge loose", "Hinge snapped"]
    assert [page.index(title) for title in ranked] == sorted(page.index(title) for title in ranked)
