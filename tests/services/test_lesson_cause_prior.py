"""The cause prior of similar lessons: how likely each cause category is given a text's words, counted on the
library's own lessons, kept while the library stands still and counted afresh when a lesson is added."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy.orm as so

from qa_incidents.reviews import lessons, search
from qa_incidents.reviews.models import Lesson


def _lesson(n: int, cause: str, summary: str) -> Lesson:
    return Lesson(source="test", source_ref=f"P-{n}", title=summary[:40], summary=summary, product="", product_category="",
                  failure_mode="", mechanism="", technical_cause="", process_cause="", framework_cause="",
                  motivating_cause="", cause_category=cause, cause_dimension="", process_stage="", countermeasures="",
                  design_review_checks=[], division="", year=2024, published_at=datetime(2024, 1, 1, tzinfo=UTC),
                  times_opened=0)


def _library(session: so.Session) -> list[Lesson]:
    rows = [_lesson(i, "Software design", text) for i, text in enumerate((
        "The firmware froze after the update.", "A firmware update made the display freeze.",
        "The display froze when the update was installed."))]
    rows += [_lesson(10 + i, "Labeling", text) for i, text in enumerate((
        "The label misprinted the expiry date.", "The expiry date on the label was wrong.",
        "The carton label was misprinted."))]
    rows.append(_lesson(20, "Unclassified", "The firmware label froze."))  # no cause category: not counted
    lessons.add_indexed(session, rows)
    session.commit()
    return rows


def test_the_cause_whose_lessons_use_the_texts_words_is_the_likeliest(session):  # type: ignore[no-untyped-def]
    _library(session)
    prior = search.cause_prior(session, "Infusion pump firmware froze after an update")
    assert set(prior) == {"Software design", "Labeling"}
    assert prior["Software design"] > 0.5 > prior["Labeling"]
    assert abs(sum(prior.values()) - 1) < 1e-9
    labels = search.cause_prior(session, "Misprinted expiry date on the carton label")
    assert labels["Labeling"] > labels["Software design"]


def test_excluded_lessons_do_not_count(session):  # type: ignore[no-untyped-def]
    rows = _library(session)
    software = [lesson.id for lesson in rows if lesson.cause_category == "Software design"]
    prior = search.cause_prior(session, "The firmware froze after the update", skip=software[:2])
    alone = search.cause_prior(session, "The firmware froze after the update")
    assert prior["Software design"] < alone["Software design"]
    assert "Software design" not in search.cause_prior(session, "The firmware froze", skip=software)


def test_a_lesson_added_counts_at_once(session):  # type: ignore[no-untyped-def]
    _library(session)
    text = "The sealing temperature drifted and the pouch seal opened"
    before = search.cause_prior(session, text)  # counted and kept now
    assert "Process control" not in before
    lessons.add_indexed(session, [_lesson(30, "Process control", "Sealing temperature drifted; pouch seals opened.")])
    session.commit()
    after = search.cause_prior(session, text)
    assert max(after, key=after.__getitem__) == "Process control"


def test_the_prior_orders_lessons_the_scores_and_votes_leave_level(session):  # type: ignore[no-untyped-def]
    rows = _library(session)
    software, label = rows[0].id, rows[3].id
    level = [search._Ranked(software, 1.0), search._Ranked(label, 1.0)]
    assert [r.id for r in search._by_cause_agreement(session, level)] == sorted([software, label])
    out = search._by_cause_agreement(session, level, {"Labeling": 0.8, "Software design": 0.2})
    assert [r.id for r in out] == [label, software]
    out = search._by_cause_agreement(session, level, {"Labeling": 0.2, "Software design": 0.8})
    assert [r.id for r in out] == [software, label]



def test_the_lessons_words_are_kept_and_searched_texts_are_not(session):  # type: ignore[no-untyped-def]
    """Counting again after a change splits only the lessons whose text changed; the texts people search with are
    never kept (each is another text: they pushed the lessons' out and doubled the cache)."""
    _library(session)
    search._lesson_words.cache_clear()
    search.cause_prior(session, "Infusion pump firmware froze after an update")
    assert search._lesson_words.cache_info().currsize == 6  # the six lessons with a cause category
    for n in range(5):
        search.cause_prior(session, f"Pump number {n} froze after its firmware update")
    assert search._lesson_words.cache_info().currsize == 6
    lessons.add_indexed(session, [_lesson(30, "Labeling", "The label fell off the carton.")])
    session.commit()
    before = search._lesson_words.cache_info()
    search.cause_prior(session, "The label fell off")
    after = search._lesson_words.cache_info()
    assert (after.currsize, after.misses - before.misses, after.hits - before.hits) == (7, 1, 6)
