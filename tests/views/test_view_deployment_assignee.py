"""Who answers a horizontal deployment: named by the receiving division's QA manager or head-office QA, audited,
shown on the review and on the assignee's My work."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reviews import service
from qa_incidents.reviews.models import Deployment
from qa_incidents.reviews.rules import CountermeasureType, Dimension


def _deployment(demo, clock) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A review of the refrigerator fire with one countermeasure deployed to the cable division: (review, deployment)."""
    writer = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    fire.severity, fire.status = Severity.S3, Status.TRIAGED
    review = service.start_review(demo, user=writer, incident_ids=[fire.id], title="Relay terminal fire", now=clock())
    cm = service.add_countermeasure(demo, user=writer, review_id=review.id, now=clock(), data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="Crimp height check",
        owner_id=writer.id, due_on=clock().date()))
    cable = demo.scalar(sa.select(Division).where(Division.code == "CM"))
    deployment = service.add_deployment(demo, user=writer, countermeasure_id=cm.id, division_id=cable.id,
                                        target="Cable drum crimps", now=clock())
    demo.commit()
    return review.id, deployment.id


def _assign(client, deployment_id: int, person: int | None):  # type: ignore[no-untyped-def]
    return client.post(f"/reviews/deployments/{deployment_id}/assignee", data={
        "csrf_token": csrf_token(client, "/notifications/inbox"), "assignee_id": "" if person is None else str(person)})


def test_the_receiving_division_names_who_answers(browser_as, demo, clock, fresh, fresh_all):  # type: ignore[no-untyped-def]
    review_id, deployment_id = _deployment(demo, clock)
    cable_qa = browser_as("cable.qa@example.com")
    oliver = fresh(sa.select(User.id).where(User.email == "cable.qa@example.com"))
    chooser = text(cable_qa.get(f"/reviews/deployments/{deployment_id}/assignee"))
    assert "Oliver Hughes (Cable Materials)" in chooser and "Kenji Sato" not in chooser and "Emma Walsh" not in chooser
    assert _assign(cable_qa, deployment_id, oliver).status_code == 302
    assert fresh(sa.select(Deployment.assignee_id).where(Deployment.id == deployment_id)) == oliver
    events = fresh_all(sa.select(AuditEvent).where(AuditEvent.entity_type == "deployment",
                                                   AuditEvent.action == "deployment assigned"))
    assert events and events[0].changes["assignee"] == [None, "Oliver Hughes"]
    review = text(browser_as("division.qa@example.com").get(f"/reviews/{review_id}"))
    assert "Cable drum crimps" in review and "Oliver Hughes" in review
    work = cable_qa.get("/my-work")
    assert "Horizontal deployments to answer (1)" in text(work) and "assigned to you" in text(work)
    fire = fresh(sa.select(Incident.id).where(Incident.title == "Refrigerator caught fire in kitchen"))
    assert "assigned a horizontal deployment" in text(browser_as("hq.qa@example.com").get(f"/incidents/{fire}"))


def test_only_the_receiving_division_or_head_office_assigns(browser_as, demo, clock, fresh):  # type: ignore[no-untyped-def]
    _review_id, deployment_id = _deployment(demo, clock)
    kenji = fresh(sa.select(User.id).where(User.email == "division.qa@example.com"))
    oliver = fresh(sa.select(User.id).where(User.email == "cable.qa@example.com"))
    # The review's own division sent it; answering (and naming who answers) is the receiving division's.
    assert _assign(browser_as("division.qa@example.com"), deployment_id, kenji).status_code == 403
    assert _assign(browser_as("cable.reporter@example.com"), deployment_id, oliver).status_code == 403
    assert _assign(browser_as("engineer@example.com"), deployment_id, oliver).status_code == 403
    hq = browser_as("hq.qa@example.com")
    refused = _assign(hq, deployment_id, kenji)  # a QA manager of another division does not answer it
    assert refused.status_code == 422 and "answers a deployment" in text(refused)
    assert fresh(sa.select(Deployment.assignee_id).where(Deployment.id == deployment_id)) is None
    assert _assign(hq, deployment_id, oliver).status_code == 302
    assert fresh(sa.select(Deployment.assignee_id).where(Deployment.id == deployment_id)) == oliver
