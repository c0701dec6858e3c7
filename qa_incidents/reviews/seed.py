"""Demo data for reviews and lessons: the bundled lessons sample and one approved review. Idempotent."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.incidents.models import Incident
from qa_incidents.reviews import lessons, service
from qa_incidents.reviews.models import Lesson, Review
from qa_incidents.reviews.rules import CountermeasureType, Dimension

DEMO_PASSWORD = "demo-password-2026"


def seed_demo(session: so.Session) -> None:
    """Import the lessons sample and, on the refrigerator fire, an approved review with its lesson."""
    now = utcnow()
    if session.scalar(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.source == "fda")) == 0:
        lessons.import_rows(session, lessons.read_sample(), now=now)
    incident = session.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    writer = session.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    approver = session.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    if incident is None or writer is None or approver is None or session.scalar(sa.select(Review.id).limit(1)):
        return
    if service.review_blocked_for(incident) is not None:
        # A review starts on a triaged case: division QA triages the fire as the matrix suggests first.
        from qa_incidents.incidents import workflow

        suggested = workflow.suggestion_for(session, incident, now=now).severity
        workflow.triage(session, user=writer, incident_id=incident.id, severity=suggested, override_reason="", now=now)
    review = service.start_review(session, user=writer, incident_ids=[incident.id],
                                  title="Compressor relay contact overheating", now=now)
    service.update_review(session, user=writer, review_id=review.id, expected_version=review.version, now=now,
                          data=service.ReviewInput(
        title=review.title, meeting_on=now.date(), participants="Division QA, design, manufacturing, service",
        phenomenon="Smoke and flames at the rear of the refrigerator around the compressor relay.",
        failure_mode="Fire / overheating",
        mechanism="Loose crimp at the relay terminal raised contact resistance; the joint overheated and ignited the housing.",
        process_stage="manufacturing", process_cause="Crimp height was not controlled after a tool change.",
        escape_reason="The end-of-line test measures function, not joint resistance.",
        framework_cause="The tool-change procedure did not require a first-article crimp check.",
        motivating_factors=["schedule"], motivating_cause="Line restarted quickly after the tool change to meet output.",
        design_review_checks="Is every power joint specified with a crimp-height window?\nIs the relay housing V-0 rated?"))
    service.add_why_step(session, user=writer, review_id=review.id, dimension=Dimension.TECHNICAL,
                         question="Why did the relay terminal overheat?", answer="Contact resistance was 20 times nominal.",
                         evidence="Resistance test report TR-118", now=now)
    service.add_countermeasure(session, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE,
        description="First-article crimp height and pull test after every tool change", owner_id=writer.id,
        due_on=now.date() + timedelta(days=30), check_method="Audit 3 months of tool changes"))
    # A full review answers every dimension that found a cause: technical (its safety tier), framework, motivating.
    for dimension, description, tier in (
            (Dimension.TECHNICAL, "Relay terminal redesigned with a welded joint and a V-0 housing", "design"),
            (Dimension.FRAMEWORK, "Tool-change procedure requires a first-article crimp check before release", ""),
            (Dimension.MOTIVATING, "Output targets paused for the restart shift after a tool change", "")):
        service.add_countermeasure(session, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
            dimension=dimension, kind=CountermeasureType.ELIMINATE_CAUSE, description=description, owner_id=writer.id,
            due_on=now.date() + timedelta(days=60), check_method="Audit at the next design review", safety_tier=tier))
    service.submit_review(session, user=writer, review_id=review.id, now=now)
    service.approve_review(session, user=approver, review_id=review.id, password=DEMO_PASSWORD,
                           comment="Demo approval", now=now)
