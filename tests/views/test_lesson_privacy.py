"""Personal data never reaches engineers through lessons: the approver sees what will be removed before signing,
the published lesson is scrubbed, and every lesson is scrubbed again on its page and in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import User
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reviews import service
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.rules import CountermeasureType, Dimension

SECRETS = ["佐藤 花子", "世田谷区", "桜丘3丁目", "09012345678", "hanako at example dot com", "Tanaka-san"]


def _submitted_review(demo, clock) -> int:  # type: ignore[no-untyped-def]
    writer = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    fire.severity, fire.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    demo.commit()
    now = clock()
    review = service.start_review(demo, user=writer, incident_ids=[fire.id], title="Relay overheating", now=now)
    service.update_review(demo, user=writer, review_id=review.id, expected_version=review.version, now=now,
                          data=service.ReviewInput(
        title="Relay overheating",
        phenomenon="お客様の佐藤 花子さん（東京都世田谷区桜丘3丁目12番地）から電話 09012345678。"
                   "Also wrote from hanako at example dot com; Tanaka-san at the service centre confirmed.",
        failure_mode="Fire / overheating", mechanism="Loose crimp raised contact resistance.",
        process_stage="manufacturing", process_cause="Crimp height not controlled after tool change.",
        escape_reason="End-of-line test checks function only.", framework_cause="No first-article rule.",
        motivating_factors=["schedule"], motivating_cause="Restarted quickly to meet output.",
        design_review_checks="Is every power joint given a crimp-height window?",
        # An S3 incident's short review: each cause found has a countermeasure or says why there is none.
        no_countermeasure_reasons={"technical": "The process check removes the loose crimp.",
                                   "framework": "Goes into the tool-change procedure.", "motivating": "A single restart."}))
    service.add_why_step(demo, user=writer, review_id=review.id, dimension=Dimension.TECHNICAL,
                         question="Why did it overheat?", answer="Resistance 20x nominal", evidence="TR-118", now=now)
    service.add_countermeasure(demo, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="First-article crimp check",
        owner_id=writer.id, due_on=now.date() + timedelta(days=10)))
    service.submit_review(demo, user=writer, review_id=review.id, now=now)
    demo.commit()
    return review.id


def test_the_approver_sees_what_is_removed_and_engineers_never_see_it(demo, clock, browser_as, fresh):  # type: ignore[no-untyped-def]
    review_id = _submitted_review(demo, clock)
    hq = browser_as("hq.qa@example.com")
    page = hq.get(f"/reviews/{review_id}/approve")
    assert page.status_code == 200
    shown = text(page)
    assert "Personal data in the lesson" in shown
    for secret in SECRETS:
        assert secret in shown, secret  # the approver is shown each finding before signing
    assert "Phone number" in shown and "E-mail address" in shown and "Address" in shown and "Personal name" in shown

    hq_user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    service.approve_review(demo, user=hq_user, review_id=review_id, password="demo-password-2026", comment="ok",
                           now=clock())
    demo.commit()
    lesson_id = fresh(sa.select(Lesson.id).where(Lesson.review_id == review_id))
    engineer_page = text(browser_as("engineer@example.com").get(f"/reviews/lessons/{lesson_id}"))
    assert "Loose crimp raised contact resistance." in engineer_page
    assert not [s for s in SECRETS if s in engineer_page]


def test_lessons_stored_with_personal_data_are_scrubbed_on_the_page_and_in_the_api(demo, app, browser_as):  # type: ignore[no-untyped-def]
    """A lesson that came in with personal data (an import, or one published before a pattern was known)."""
    from qa_incidents.api.resources.lessons import lesson_out

    lesson = Lesson(source="tokyo-qa", source_ref="TQA-1", title="Relay fire at 佐藤 花子さん",
                    summary="Contact hanako at example dot com or 09012345678, 世田谷区桜丘3丁目.", product="R-HW540",
                    product_category="Refrigerators", failure_mode="Fire", mechanism="Crimp.", technical_cause="",
                    process_cause="", framework_cause="", motivating_cause="", cause_category="Manufacturing",
                    cause_dimension="process", process_stage="manufacturing", countermeasures="Call Tanaka-san.",
                    design_review_checks=["Ask 佐藤 花子さん"], division="HA", year=2026,
                    published_at=datetime(2026, 1, 1, tzinfo=UTC), times_opened=0)
    demo.add(lesson)
    demo.commit()
    page = text(browser_as("engineer@example.com").get(f"/reviews/lessons/{lesson.id}"))
    assert "Relay fire at" in page and "Crimp." in page
    assert not [s for s in SECRETS if s in page]
    with app.app_context():
        api = lesson_out(demo.get(Lesson, lesson.id)).model_dump_json()
    assert "Relay fire at" in api and not [s for s in SECRETS if s in api]
