"""Bounded ranking of similar lessons: only lessons holding the text's rarest words are scored, a capped scan is the
fallback, and search ranks and pages inside the full-text index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.reviews import search
from qa_incidents.reviews.models import Lesson


def _lesson(n: int, title: str, summary: str) -> Lesson:
    return Lesson(source="test", source_ref=f"T-{n}", title=title, summary=summary, product="", product_category="",
                  failure_mode="", mechanism="", technical_cause="", process_cause="", framework_cause="",
                  motivating_cause="", cause_category="", cause_dimension="", process_stage="", countermeasures="",
                  design_review_checks=[], division="", year=2024, published_at=datetime(2024, 1, 1, tzinfo=UTC),
                  times_opened=0)


def _library(session: so.Session) -> list[Lesson]:
    """Ten lessons that all speak of a housing; one of them of a gasket as well, another of a relay."""
    rows = [_lesson(i, f"Housing report {i}", "The housing was inspected.") for i in range(8)]
    rows.append(_lesson(8, "Housing gasket", "The housing gasket perished and let water in."))
    rows.append(_lesson(9, "Housing relay", "The housing relay welded shut."))
    session.add_all(rows)
    session.flush()
    search.index_lessons(session, rows)
    session.commit()
    return rows


def test_the_plan_takes_the_rarest_terms_first_and_drops_words_in_no_lesson(session):  # type: ignore[no-untyped-def]
    _library(session)
    # housing is in all ten lessons, gasket and relay in one each, zeppelin in none (SQLite counts through FTS5,
    # PostgreSQL reads lesson_term).
    plan = search.similar_plan(session, ["housing", "gasket", "zeppelin", "relay"])
    assert plan.rare == [("gasket", 1), ("relay", 1), ("housing", 10)]
    assert plan.postings == 12


def test_a_text_of_common_words_still_finds_lessons(session):  # type: ignore[no-untyped-def]
    _library(session)
    hits = search.similar_lessons(session, text="housing housing", limit=3)
    assert len(hits) == 3


def test_when_few_lessons_share_a_rare_word_the_others_follow(session):  # type: ignore[no-untyped-def]
    _library(session)
    hits = search.similar_lessons(session, text="housing gasket", limit=3)
    assert [h.lesson.source_ref for h in hits][0] == "T-8"
    assert len(hits) == 3


def test_the_lesson_sharing_the_rare_word_comes_first_and_exclusions_hold(session):  # type: ignore[no-untyped-def]
    _library(session)
    text = "The housing of the pump cracked and the gasket leaked"
    hits = search.similar_lessons(session, text=text, limit=3)
    assert hits[0].lesson.source_ref == "T-8"
    assert "<mark>gasket</mark>" in hits[0].snippet
    again = search.similar_lessons(session, text=text, limit=3, exclude_refs=["T-8"])
    assert "T-8" not in [h.lesson.source_ref for h in again]


def test_search_ranks_inside_the_index_and_pages_in_order(session):  # type: ignore[no-untyped-def]
    _library(session)
    first = search.search_lessons(session, "housing", limit=4)
    second = search.search_lessons(session, "housing", limit=4, offset=4)
    assert first.total == 10
    ids = [h.lesson.id for h in first.hits + second.hits]
    assert len(set(ids)) == 8
    scores = [h.score for h in first.hits + second.hits]
    assert scores == sorted(scores, reverse=True)


# --- the bound on what similar lessons reads (SQLite) -------------------------------------


def _statements(session: so.Session) -> tuple[list[tuple[str, Any]], Any]:
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "lesson_fts MATCH" in statement and "count(*)" not in statement:
            seen.append((statement, parameters))
    return seen, record


def test_similar_lessons_ranks_with_the_rarest_terms_within_the_postings_cap(session, monkeypatch):  # type: ignore[no-untyped-def]
    if not search._is_sqlite(session):
        pytest.skip("the postings cap is SQLite's (FTS5)")
    rows = [_lesson(i, f"Housing report {i}", "The housing was inspected." + (" Seal worn." if i < 4 else ""))
            for i in range(8)]
    rows += [_lesson(8, "Housing gasket", "The housing gasket perished and let water in."),
             _lesson(9, "Housing relay", "The housing relay welded shut.")]
    session.add_all(rows)
    session.flush()
    search.index_lessons(session, rows)
    session.commit()
    monkeypatch.setattr(search, "POSTINGS_AT_MOST", 5)
    plan = search.similar_plan(session, ["housing", "seal", "gasket", "relay"])
    # housing (10 lessons) is over the cap; gasket and relay (1 each) fit, seal (4) no longer does after them.
    assert plan.rare == [("gasket", 1), ("relay", 1)]
    assert plan.postings <= search.POSTINGS_AT_MOST
    monkeypatch.setattr(search, "RARE_AT_MOST", 1)
    assert search.similar_plan(session, ["housing", "seal", "gasket", "relay"]).rare == [("gasket", 1)]

    seen, record = _statements(session)
    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        hits = search.similar_lessons(session, text="housing seal gasket relay", limit=3)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert hits[0].lesson.source_ref == "T-8"
    # The ranking statement names the chosen term only; the lessons that follow come from a scan that stops at the cap.
    ranked = [tuple(params) for statement, params in seen if "ORDER BY score" in statement]
    assert [p[0] for p in ranked] == ['"gasket"']
    newest = [tuple(params) for statement, params in seen if "ORDER BY rowid DESC" in statement]
    assert len(newest) == 1 and newest[0][1] == 5 and '"gasket"' not in newest[0][0]
    assert len(hits) == 3


def test_the_cause_most_of_the_best_matches_share_comes_first_unless_a_match_is_far_better(session):  # type: ignore[no-untyped-def]
    causes = ["Software design", "Component", "Component", "Component", "Component", "Labeling"]
    rows = [_lesson(i, f"Lesson {i}", "text") for i in range(len(causes))]
    for lesson, cause in zip(rows, causes, strict=True):
        lesson.cause_category = cause
    session.add_all(rows)
    session.commit()
    ids = [lesson.id for lesson in rows]

    def ranked(scores: list[float]) -> list[str]:
        out = search._by_cause_agreement(session, [search._Ranked(i, s) for i, s in zip(ids, scores, strict=True)])
        return [causes[ids.index(r.id)] for r in out]

    # A lesson a little better than four of one cause falls below them; so does the lone one of a third cause.
    assert ranked([10.0, 9.0, 8.5, 8.0, 7.5, 9.5]) == ["Component"] * 4 + ["Software design", "Labeling"]
    # A match far better than the rest keeps its place.
    assert ranked([10.0, 2.0, 1.5, 1.2, 1.0, 1.0])[0] == "Software design"
    # A text of lessons without a cause category is ranked by score alone.
    for lesson in rows:
        lesson.cause_category = ""
    session.commit()
    out = search._by_cause_agreement(session, [search._Ranked(i, s) for i, s in zip(ids, [1.0, 3.0, 2.0, 0.5, 0.4, 0.3], strict=True)])
    assert [r.id for r in out] == [ids[1], ids[2], ids[0], ids[3], ids[4], ids[5]]


def test_more_similar_lessons_than_the_re_ranked_ones_can_be_asked_for(session, monkeypatch):  # type: ignore[no-untyped-def]
    _library(session)
    monkeypatch.setattr(search, "NEIGHBOURS", 3)
    hits = search.similar_lessons(session, text="housing gasket relay", limit=10)
    assert len(hits) == 10
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


# --- a broad search reads at most BROAD_AT_MOST matches -----------------------------------


def test_a_broad_search_ranks_the_newest_matches_and_pages_through_every_match_once(session, monkeypatch):  # type: ignore[no-untyped-def]
    rows = [_lesson(i, f"Housing report {i}", "The housing was inspected." + (" Housing housing." if i % 3 == 0 else ""))
            for i in range(12)]
    session.add_all(rows)
    session.flush()
    search.index_lessons(session, rows)
    session.commit()
    exact = search.search_lessons(session, "inspected", limit=20)
    assert (exact.total, exact.estimated) == (12, False)

    monkeypatch.setattr(search, "BROAD_AT_MOST", 5)
    seen: list[str] = []  # the statements that score lessons: one, over the five newest only

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if ("bm25" in statement or "ts_rank" in statement):
            seen.append(statement)
    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        first = search.search_lessons(session, "housing", limit=4)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert first.estimated and first.ranked_among == 5
    assert first.total == 12  # ids are dense: the estimate is exact here
    newest = {lesson.id for lesson in rows[-5:]}
    assert {h.lesson.id for h in first.hits} <= newest
    scores = [h.score for h in first.hits]
    assert scores == sorted(scores, reverse=True)
    assert len(seen) == 1
    # Facet counts are scaled estimates (every lesson here has year 2024).
    assert first.facets["year"] == [(2024, 12)]

    # Paging goes through every match exactly once: the five newest ranked, then the rest newest first.
    pages = [first]
    for offset in (4, 8):
        pages.append(search.search_lessons(session, "housing", limit=4, offset=offset))
    ids = [h.lesson.id for p in pages for h in p.hits]
    assert sorted(ids) == sorted(lesson.id for lesson in rows)
    assert {h.lesson.id for h in pages[0].hits + pages[1].hits[:1]} == newest
    older = ids[5:]
    assert older == sorted(older, reverse=True)
    assert search.search_lessons(session, "housing", limit=4, offset=12).hits == []


def test_the_lessons_page_says_the_counts_are_estimated(login_as, demo, monkeypatch):  # type: ignore[no-untyped-def]
    _library(demo)
    monkeypatch.setattr(search, "BROAD_AT_MOST", 2)
    client = login_as("hq.qa@example.com")
    response = client.get("/reviews/lessons?q=housing")
    body = response.get_data(as_text=True)
    assert response.status_code == 200, response.status_code
    assert 'id="result-estimated"' in body, body[body.find('result-count'):][:300]
    assert "About 10 lessons" in body and "newest 2 are shown first" in body and "(≈10)" in body
