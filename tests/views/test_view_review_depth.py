"""Review pages in proportion to severity: the short form, safety tiers that come back with their reasons, the
per-dimension refusal at approval, and the dashboard's closed-without-review gap per division."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from view_helpers import csrf_token, form_with, text

from qa_incidents.accounts.models import User
from qa_incidents.incidents.models import Incident
from qa_incidents.reviews import service
from qa_incidents.reviews.models import Countermeasure, Review
from qa_incidents.reviews.rules import CountermeasureType, Dimension


def _triaged(demo, fresh, title: str, severity: str) -> int:  # type: ignore[no-untyped-def]
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == title))
    demo.execute(sa.update(Incident).where(Incident.id == incident_id).values(severity=severity, status="triaged"))
    demo.commit()
    return incident_id


def _start(qa, fresh, incident_id: int, title: str) -> int:  # type: ignore[no-untyped-def]
    page = qa.get(f"/reviews/new?incident={incident_id}")
    assert qa.post("/reviews/new", data=form_with(page, "title").data(title=title)).status_code == 302
    return fresh(sa.select(Review.id).where(Review.title == title))


def test_short_form_asks_one_line_per_dimension_and_keeps_the_input_when_refused(browser_as, demo, fresh):
    incident_id = _triaged(demo, fresh, "Door glass shattered during drying cycle", "S4")
    qa = browser_as("division.qa@example.com")
    review_id = _start(qa, fresh, incident_id, "Glass fracture")
    edit = qa.get(f"/reviews/{review_id}/edit")
    shown = text(edit)
    assert "Short review (S3/S4)" in shown and "Framework cause: why no countermeasure" in shown
    assert "Process stage where the cause was introduced" not in shown  # the full form's question
    bad = qa.post(f"/reviews/{review_id}/edit", data=form_with(edit, "mechanism").data(
        mechanism="Thermal shock", framework_cause="first line\nsecond line", no_cm_process="Supplier fixes it"))
    assert bad.status_code == 422
    page = text(bad)
    assert "One line of at most 300 characters in a short review." in page
    assert "Thermal shock" in page and "second line" in page
    assert 'value="Supplier fixes it"' in bad.get_data(as_text=True)
    ok = qa.post(f"/reviews/{review_id}/edit", data=form_with(edit, "mechanism").data(
        mechanism="Thermal shock", framework_cause="No change notice rule", no_cm_process="Supplier fixes it"))
    assert ok.status_code == 302
    page = text(qa.get(f"/reviews/{review_id}"))
    assert "Supplier fixes it" in page and "Short review (S3/S4)" in page
    # What is still missing says, per dimension, that a cause needs a countermeasure or why none.
    assert "Technical cause (failure mechanism): a cause was found; add a countermeasure or say why there is none." in page


def test_a_lower_safety_tier_without_a_reason_comes_back_with_the_reason_and_the_input(browser_as, demo, fresh):
    incident_id = _triaged(demo, fresh, "Door glass shattered during drying cycle", "S3")
    qa = browser_as("division.qa@example.com")
    review_id = _start(qa, fresh, incident_id, "Glass fracture")
    page = qa.get(f"/reviews/{review_id}")
    form = form_with(page, "safety_tier")
    data = form.data(dimension="technical", kind="eliminate_cause", safety_tier="usage_information", tier_reason="",
                     description="Warning label on the door glass", due_on="2099-01-31",
                     owner_id=str(fresh(sa.select(User.id).where(User.email == "division.qa@example.com"))))
    bad = qa.post(f"/reviews/{review_id}/countermeasures", data=data)
    assert bad.status_code == 422
    shown = text(bad)
    assert "Say why a higher tier is not practicable" in shown and "Warning label on the door glass" in shown
    assert fresh(sa.select(sa.func.count()).select_from(Countermeasure).where(Countermeasure.review_id == review_id)) == 0
    data["tier_reason"] = "The glass is the OEM's design; a guard would block the door."
    assert qa.post(f"/reviews/{review_id}/countermeasures", data=data).status_code == 302
    shown = text(qa.get(f"/reviews/{review_id}"))
    assert "3. Usage information (manuals, labels)" in shown and "a guard would block the door" in shown


def test_a_safety_tier_is_corrected_with_a_reason_until_the_review_is_approved(browser_as, demo, fresh):
    from qa_incidents.core.audit import AuditEvent

    incident_id = _triaged(demo, fresh, "Door glass shattered during drying cycle", "S3")
    qa = browser_as("division.qa@example.com")
    review_id = _start(qa, fresh, incident_id, "Glass fracture")
    data = form_with(qa.get(f"/reviews/{review_id}"), "description").data(
        dimension="technical", kind="eliminate_cause", safety_tier="usage_information",
        tier_reason="Thought a guard impossible", description="Warning label on the door glass", due_on="2099-01-31",
        owner_id=str(fresh(sa.select(User.id).where(User.email == "division.qa@example.com"))))
    assert qa.post(f"/reviews/{review_id}/countermeasures", data=data).status_code == 302
    cm_id = fresh(sa.select(Countermeasure.id).where(Countermeasure.review_id == review_id))
    page = qa.get(f"/reviews/{review_id}")
    assert "Correct the safety tier" in text(page)
    form = form_with(page, "reason")
    bad = qa.post(f"/reviews/countermeasures/{cm_id}/tier", data=form.data(safety_tier="safeguard", tier_reason="",
                                                                            reason=""))
    assert bad.status_code == 422
    shown = text(bad)
    assert "Say why a higher tier is not practicable" in shown and "Say why the safety tier is corrected." in shown
    assert fresh(sa.select(Countermeasure.safety_tier).where(Countermeasure.id == cm_id)).value == "usage_information"
    ok = qa.post(f"/reviews/countermeasures/{cm_id}/tier", data=form.data(
        safety_tier="design", tier_reason="", reason="The glass supplier can laminate it: a design change after all."))
    assert ok.status_code == 303
    shown = text(qa.get(f"/reviews/{review_id}"))
    assert "1. Design (fundamental safety design)" in shown and "Thought a guard impossible" not in shown
    event = fresh(sa.select(AuditEvent).where(AuditEvent.action == "tier corrected"))
    assert event.changes["safety_tier"] == ["usage_information", "design"]
    assert event.changes["reason"][1].startswith("The glass supplier can laminate it")
    assert "corrected a countermeasure's safety tier" in text(qa.get(f"/incidents/{incident_id}"))  # the timeline
    # Not by someone outside the review's division (once the review is approved: tests/services/test_review_depth.py).
    cable = browser_as("cable.qa@example.com")
    foreign = cable.post(f"/reviews/countermeasures/{cm_id}/tier", data={
        "csrf_token": csrf_token(cable, "/my-work"), "safety_tier": "safeguard", "tier_reason": "x", "reason": "x"})
    assert foreign.status_code in (403, 404)


def test_approval_of_a_full_review_is_refused_with_the_reason_per_dimension(browser_as, demo, fresh, clock):
    incident_id = _triaged(demo, fresh, "Refrigerator caught fire in kitchen", "S1")
    writer = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    now = clock()
    review = service.start_review(demo, user=writer, incident_ids=[incident_id], title="Relay depth", now=now)
    service.update_review(demo, user=writer, review_id=review.id, expected_version=review.version, now=now,
                          data=service.ReviewInput(title="Relay depth", phenomenon="Smoke", mechanism="Loose crimp",
                                                   process_stage="manufacturing", process_cause="No crimp control",
                                                   escape_reason="Function test only", framework_cause="No rule",
                                                   motivating_cause="Schedule"))
    for dimension in (Dimension.TECHNICAL, Dimension.PROCESS):
        service.add_countermeasure(demo, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
            dimension=dimension, kind=CountermeasureType.ELIMINATE_CAUSE, description=f"Fix {dimension}",
            owner_id=writer.id, due_on=now.date() + timedelta(days=5), safety_tier="design" if dimension == "technical" else ""))
    review.status, review.submitted_by_id = "submitted", writer.id  # as a review submitted before the rule
    demo.commit()
    hq = browser_as("hq.qa@example.com")
    page = hq.get(f"/reviews/{review.id}/approve")
    assert "Causes no countermeasure answers" in text(page)
    refused = hq.post(f"/reviews/{review.id}/approve", data=form_with(page, "password").data(
        password="demo-password-2026"))
    assert refused.status_code == 422
    shown = text(refused)
    assert "Framework cause (rules, standards, organisation): a cause was found but no countermeasure answers it." in shown
    assert "Motivating factors (schedule, cost, communication, skills): a cause was found but no countermeasure" in shown
    assert fresh(sa.select(Review.status).where(Review.id == review.id)).value == "submitted"
    assert "1. Design (fundamental safety design)" in text(hq.get(f"/reviews/{review.id}"))


def test_the_dashboard_lists_closed_minor_incidents_without_review_to_their_division_only(browser_as, demo, fresh):
    incident_id = _triaged(demo, fresh, "Door glass shattered during drying cycle", "S4")
    demo.execute(sa.update(Incident).where(Incident.id == incident_id).values(status="closed"))
    demo.commit()
    reference = fresh(sa.select(Incident.reference).where(Incident.id == incident_id))
    for email in ("division.qa@example.com", "hq.qa@example.com", "executive@example.com"):
        page = browser_as(email).get("/dashboard")
        assert page.status_code == 200 and "Closed without review" in text(page) and reference in text(page), email
    other = browser_as("cable.qa@example.com").get("/dashboard")
    assert "Closed without review" in text(other) and reference not in text(other)
    csv = browser_as("hq.qa@example.com").get("/dashboard/closed_without_review.csv")
    assert csv.status_code == 200 and reference in csv.get_data(as_text=True)
    assert browser_as("engineer@example.com").get("/dashboard").status_code == 403


def test_the_workflow_panel_says_a_started_review_holds_a_minor_incident_open(browser_as, demo, fresh):
    incident_id = _triaged(demo, fresh, "Door glass shattered during drying cycle", "S4")
    qa = browser_as("division.qa@example.com")
    page = text(qa.get(f"/incidents/{incident_id}"))
    assert "Close the incident" in page and "the review started on it is not approved yet" not in page
    _start(qa, fresh, incident_id, "Glass fracture")
    page = text(qa.get(f"/incidents/{incident_id}"))
    assert "Cannot close: the review started on it is not approved yet." in page
