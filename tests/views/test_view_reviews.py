"""Review and lessons pages: who may see and do what, forms that keep input, the library's search."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import form_with, text

from qa_incidents.incidents.models import Incident
from qa_incidents.reviews.models import Lesson, Review


def _fire_id(fresh, demo=None) -> int:
    """The refrigerator fire, triaged (a review starts on a triaged incident) when a session is given."""
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == "Refrigerator caught fire in kitchen"))
    if demo is not None:
        demo.execute(sa.update(Incident).where(Incident.id == incident_id, Incident.severity.is_(None))
                     .values(severity="S2", status="triaged"))
        demo.commit()
    return incident_id


def test_division_qa_starts_and_fills_a_review_other_division_gets_404(browser_as, fresh, demo):
    incident_id = _fire_id(fresh, demo)
    qa = browser_as("division.qa@example.com")
    page = qa.get(f"/reviews/new?incident={incident_id}")
    assert page.status_code == 200
    response = qa.post("/reviews/new", data=form_with(page, "title").data(title="Relay overheating"))
    assert response.status_code == 302
    review_id = fresh(sa.select(Review.id).where(Review.title == "Relay overheating"))
    edit = qa.get(f"/reviews/{review_id}/edit")
    bad = qa.post(f"/reviews/{review_id}/edit", data=form_with(edit, "phenomenon").data(title="", mechanism="Loose crimp"))
    assert bad.status_code == 422 and "Give the review a title." in text(bad) and "Loose crimp" in text(bad)
    ok = qa.post(f"/reviews/{review_id}/edit", data=form_with(edit, "phenomenon").data(mechanism="Loose crimp"))
    assert ok.status_code == 302
    assert "Loose crimp" in text(qa.get(f"/reviews/{review_id}"))
    assert browser_as("cable.reporter@example.com").get(f"/reviews/{review_id}").status_code == 404
    assert browser_as("cable.reporter@example.com").get(f"/reviews/new?incident={incident_id}").status_code == 403
    assert browser_as("engineer@example.com").get(f"/reviews/{review_id}").status_code == 403
    assert browser_as("reporter@example.com").post(f"/reviews/{review_id}/why", data={}).status_code in (400, 403)


def test_engineer_searches_lessons_but_never_incidents(browser_as, demo, clock, fresh):
    from qa_incidents.reviews import lessons

    lessons.import_rows(demo, lessons.read_sample()[:300], now=clock())
    demo.commit()
    engineer = browser_as("engineer@example.com")
    assert engineer.get("/incidents/").status_code == 403
    page = engineer.get("/reviews/lessons?q=software")
    assert page.status_code == 200
    assert "<mark>" in page.get_data(as_text=True).lower()
    lesson_id = fresh(sa.select(Lesson.id).order_by(Lesson.id))
    first = engineer.get(f"/reviews/lessons/{lesson_id}")
    assert "opened 1 time" in text(first)
    assert "opened 2 times" in text(engineer.get(f"/reviews/lessons/{lesson_id}"))
    similar = engineer.get("/reviews/lessons/similar.json?text=software+error+display").get_json()
    assert similar and {"id", "title", "cause_category", "source_ref", "score"} <= set(similar[0])
    assert browser_as("admin@example.com").get("/reviews/lessons").status_code == 403
