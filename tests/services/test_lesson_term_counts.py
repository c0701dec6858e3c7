"""PostgreSQL keeps how many lessons hold each term (lesson_term), so similar lessons chooses its rarest terms without
counting them through the index; the counts stay exact through indexing, re-indexing and rollback, the plan reads
them, and the rows ranked stay within the cap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.reviews import search
from qa_incidents.reviews.models import Lesson


@pytest.fixture(autouse=True)
def _postgresql_only(session: so.Session) -> None:
    if search._is_sqlite(session):
        pytest.skip("lesson_term is PostgreSQL's (SQLite counts through FTS5)")


def _lesson(n: int, title: str, summary: str) -> Lesson:
    return Lesson(source="test", source_ref=f"T-{n}", title=title, summary=summary, product="", product_category="",
                  failure_mode="", mechanism="", technical_cause="", process_cause="", framework_cause="",
                  motivating_cause="", cause_category="", cause_dimension="", process_stage="", countermeasures="",
                  design_review_checks=[], division="", year=2024, published_at=datetime(2024, 1, 1, tzinfo=UTC),
                  times_opened=0)


def _library(session: so.Session) -> list[Lesson]:
    rows = [_lesson(i, f"Housing report {i}", "The housing was inspected.") for i in range(8)]
    rows.append(_lesson(8, "Housing gasket", "The housing gasket perished and let water in."))
    rows.append(_lesson(9, "Housing relay", "The housing relay welded shut."))
    session.add_all(rows)
    session.flush()
    search.index_lessons(session, rows)
    session.commit()
    return rows


def _kept(session: so.Session) -> dict[str, int]:
    return {t: n for t, n in session.execute(sa.text("SELECT term, lessons FROM lesson_term WHERE lessons <> 0"))}


def _true(session: so.Session) -> dict[str, int]:
    return {t: int(n) for t, n in session.execute(sa.text(
        "SELECT lexeme, count(*) FROM lesson, unnest(search_vector) GROUP BY lexeme"))}


def test_counts_are_exact_after_indexing_reindexing_and_rollback(session):  # type: ignore[no-untyped-def]
    rows = _library(session)
    assert _kept(session) == _true(session)
    assert _kept(session)["hous"] == 10 and _kept(session)["gasket"] == 1

    # A lesson indexed again with other words: its old words no longer count, its new ones do.
    rows[8].summary = "The housing seal of the zeppelin perished."
    rows[8].title = "Housing seal"
    search.index_lessons(session, [rows[8]])
    session.commit()
    assert _kept(session) == _true(session)
    assert "gasket" not in _kept(session) and _kept(session)["zeppelin"] == 1 and _kept(session)["hous"] == 10

    # Indexing the same lesson twice changes nothing.
    search.index_lessons(session, [rows[8], rows[8], rows[9]])
    session.commit()
    assert _kept(session) == _true(session)

    # A rolled-back indexing leaves the counts as they were.
    before = _kept(session)
    rows[9].summary = "A gasket, a gasket and another gasket."
    search.index_lessons(session, [rows[9]])
    assert _kept(session)["gasket"] == 1
    session.rollback()
    assert _kept(session) == before == _true(session)

    # Re-indexing the lessons holding a word (a vocabulary edit) keeps them exact too.
    session.execute(sa.update(Lesson).where(Lesson.id == rows[9].id).values(summary="The housing relay chattered."))
    assert search.reindex_holding(session, ["relay"]) == 1
    session.commit()
    assert _kept(session) == _true(session)
    assert "weld" not in _kept(session) and _kept(session)["chatter"] == 1


def test_a_bulk_count_gives_the_same_counts(session):  # type: ignore[no-untyped-def]
    _library(session)
    session.execute(sa.text("UPDATE lesson_term SET lessons = 999"))
    search.count_all_terms(session)
    session.commit()
    assert _kept(session) == _true(session)


def test_the_plan_reads_the_kept_counts(session):  # type: ignore[no-untyped-def]
    _library(session)
    assert search.similar_plan(session, ["housing", "gasket"]).rare == [("gasket", 1), ("housing", 10)]
    # Were housing held by one lesson only, it would come first: the plan reads lesson_term, not the index.
    session.execute(sa.text("UPDATE lesson_term SET lessons = 0 WHERE term = 'hous'"))
    assert search.similar_plan(session, ["housing", "gasket"]).rare == [("gasket", 1)]
    session.execute(sa.text("UPDATE lesson_term SET lessons = 1 WHERE term IN ('hous', 'gasket')"))
    assert search.similar_plan(session, ["gasket", "housing"]).rare == [("gasket", 1), ("housing", 1)]
    session.rollback()


def _ranking_statements(session: so.Session) -> tuple[list[tuple[str, Any]], Any]:
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "ts_rank" in statement:
            seen.append((statement, parameters))
    return seen, record


def test_the_rows_ranked_are_capped_even_if_the_counts_were_wrong(session, monkeypatch):  # type: ignore[no-untyped-def]
    _library(session)
    monkeypatch.setattr(search, "POSTINGS_AT_MOST", 3)
    plan = search.similar_plan(session, ["housing", "gasket", "relay"])
    assert plan.rare == [("gasket", 1), ("relay", 1)] and plan.postings <= 3  # housing (10) is over the cap

    seen, record = _ranking_statements(session)
    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        hits = search.similar_lessons(session, text="housing gasket relay", limit=2)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [h.lesson.source_ref for h in hits] == ["T-8", "T-9"]
    assert len(seen) == 1  # two hits, no fallback
    statement, parameters = seen[0]
    assert parameters["cap"] == 3
    assert parameters["match"].startswith("'gasket' | 'relay'") and "housing" not in parameters["match"]

    # lesson_term says housing is rare, yet ten lessons hold it: at most the cap of them are ranked.
    session.execute(sa.text("UPDATE lesson_term SET lessons = 1 WHERE term = 'hous'"))
    assert search.similar_plan(session, ["housing"]).rare == [("housing", 1)]
    assert len(search._pg_top_of(session, ["housing"], limit=50, newest=False)) == 3
    session.rollback()
