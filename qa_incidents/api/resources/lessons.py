"""API: the lessons-learned library: full-text search with facets, one lesson, and the lessons most like it.

Lessons carry no customer data and are readable by every role with READ_LESSONS (engineers included).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from qa_incidents.api import schemas as s
from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db
from qa_incidents.reviews import lessons, search
from qa_incidents.reviews.lessons import for_readers
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.rules import scrub_personal_data

TAG = "Lessons learned"


def _require(user: Any) -> None:
    if not can(user.actor, Capability.READ_LESSONS):
        raise Problem(403, "Your role does not read the lessons-learned library.")


def hit_out(hit: search.LessonHit) -> s.LessonHitOut:
    lesson = hit.lesson
    return s.LessonHitOut(id=lesson.id, source_ref=lesson.source_ref, title=scrub_personal_data(lesson.title),
                          product_category=lesson.product_category or "", failure_mode=lesson.failure_mode or "",
                          cause_category=lesson.cause_category or "", cause_dimension=lesson.cause_dimension or "",
                          division=lesson.division or "", year=lesson.year, score=hit.score, snippet_html=str(hit.snippet))


def lesson_out(lesson: Lesson) -> s.LessonOut:
    """A lesson as engineers read it: free texts scrubbed of personal data on the way out (see for_readers)."""
    shown = for_readers(lesson)
    return s.LessonOut(**{name: getattr(shown, name) for name in s.LessonOut.model_fields if name != "design_review_checks"},
                       design_review_checks=list(shown.design_review_checks))


def filters_of(query: s.LessonQuery) -> search.LessonFilters:
    return search.LessonFilters(product_category=query.category or None, failure_mode=query.failure_mode or None,
                                cause_dimension=query.cause_dimension or None, division=query.division or None,
                                year=query.year)


@operation("GET", "/lessons", summary="Search the lessons-learned library", tag=TAG, query=s.LessonQuery,
           responses={200: s.LessonSearchPage},
           description="The same search as the library page: every word must match (prefixes and Japanese terms too), "
                       "best first, with highlighted snippets and facet counts. Without q, the newest lessons. "
                       "Page on with next_offset.")
def search_lessons(*, user: Any, query: s.LessonQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    page = search.search_lessons(db(), query.q, limit=query.limit, offset=query.offset, filters=filters_of(query))
    following = query.offset + len(page.hits)
    facets = {name: [s.FacetCount(value=value if isinstance(value, int) else str(value or ""), count=count)
                     for value, count in values] for name, values in page.facets.items()}
    return json_response(s.LessonSearchPage(items=[hit_out(h) for h in page.hits], total=page.total,
                                            estimated=page.estimated,
                                            next_offset=following if page.hits and following < page.total else None,
                                            facets=facets))


@operation("GET", "/lessons/{lesson_id}", summary="Read a lesson learned", tag=TAG, responses={200: s.LessonOut},
           description="Reading through the API does not count as an opening of the lesson (the page counts people).")
def get_lesson(*, user: Any, lesson_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    return json_response(lesson_out(lessons.get_lesson(db(), lesson_id)))


@operation("GET", "/lessons/{lesson_id}/similar", summary="The lessons most like this one", tag=TAG,
           query=s.SimilarQuery, responses={200: list[s.LessonHitOut]},
           description="As the panel on the lesson's page: ranked by the words of its title, summary and mechanism.")
def similar_lessons(*, user: Any, lesson_id: int, query: s.SimilarQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    found = lessons.get_lesson(db(), lesson_id)
    hits = search.similar_lessons(db(), text=f"{found.title} {found.summary} {found.mechanism}", limit=query.limit,
                                  exclude_refs=[found.source_ref])
    return json_response([hit_out(h) for h in hits])
