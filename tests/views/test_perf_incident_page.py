"""The incident page at scale: similar lessons come from a page of their own, linked (and loadable) from it."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.incidents.models import Incident


def _fire_id(fresh) -> int:  # type: ignore[no-untyped-def]
    return fresh(sa.select(Incident.id).where(Incident.title == "Refrigerator caught fire in kitchen"))


def test_incident_page_links_to_its_similar_lessons(browser_as, demo, clock, fresh):  # type: ignore[no-untyped-def]
    from qa_incidents.reviews import lessons

    lessons.import_rows(demo, lessons.read_sample()[:300], now=clock())
    demo.commit()
    incident_id = _fire_id(fresh)
    qa = browser_as("division.qa@example.com")
    page = qa.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    link = f"/incidents/{incident_id}/similar-lessons"
    assert f'href="{link}"' in page.get_data(as_text=True)
    assert "Find lessons learned from similar incidents" in text(page)

    similar = qa.get(link)
    assert similar.status_code == 200
    body = similar.get_data(as_text=True)
    assert "Lessons similar to INC-" in text(similar)
    assert len(re.findall(r'href="/reviews/lessons/\d+(?:\?from=[a-z]+)?"', body)) >= 1  # a fire in a refrigerator: the FDA sample has fires

    fragment = qa.get(f"{link}?fragment=1").get_data(as_text=True)
    assert "<html" not in fragment and re.findall(r'href="/reviews/lessons/\d+(?:\?from=[a-z]+)?"', fragment) == re.findall(
        r'href="/reviews/lessons/\d+(?:\?from=[a-z]+)?"', body)


def test_similar_lessons_follow_the_incidents_scope(browser_as, fresh):  # type: ignore[no-untyped-def]
    incident_id = _fire_id(fresh)
    assert browser_as("cable.reporter@example.com").get(f"/incidents/{incident_id}/similar-lessons").status_code == 404
    assert browser_as("engineer@example.com").get(f"/incidents/{incident_id}/similar-lessons").status_code == 403
    empty = browser_as("division.qa@example.com").get(f"/incidents/{incident_id}/similar-lessons")
    assert empty.status_code == 200 and "No lesson in the library is like this incident." in text(empty)
