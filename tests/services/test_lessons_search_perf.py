"""Bounded ranking of similar lessons: only lessons holding a rarer word of the text are scored (with every word),
the plain ranking is the fallback, and search ranks and pages inside the full-text index."""

from __future__ import annotations

from datetime import UTC, datetime

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


def test_words_found_in_most_lessons_are_common_and_words_in_none_are_dropped(session):  # type: ignore[no-untyped-def]
    _library(session)
    rare, common = search.split_terms(session, ["housing", "gasket", "zeppelin", "relay"])
    if search._is_sqlite(session):
        # housing is in all ten lessons, zeppelin in none.
        assert (rare, common) == (["gasket", "relay"], ["housing"])
    else:
        # Without ANALYZE statistics PostgreSQL knows no word to be common: every lesson is scored.
        assert (rare, common) == (["housing", "gasket", "zeppelin", "relay"], [])


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
