"""Reviews end to end in the service layer: write, chain, countermeasures, deployment, approval, lesson, scans."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.signatures import SignatureRefused
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reviews import lessons, search, service
from qa_incidents.reviews.models import Lesson
from qa_incidents.reviews.rules import (
    CountermeasureStatus,
    CountermeasureType,
    DeploymentAnswer,
    Dimension,
    ReviewStatus,
)

PASSWORD = "demo-password-2026"
#: An S3 incident gets a short review: each cause found has a countermeasure or says why there is none.
SHORT_REASONS = {"technical": "The process countermeasure removes the loose crimp itself.",
                 "framework": "The first-article check goes into the tool-change procedure with it.",
                 "motivating": "One restart; output targets are not the pattern."}


@pytest.fixture
def fire(demo):
    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    incident.severity, incident.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    demo.commit()
    return incident


def _complete_review(session, user, incident, now):
    review = service.start_review(session, user=user, incident_ids=[incident.id], title="Relay contact overheating",
                                  now=now)
    service.update_review(session, user=user, review_id=review.id, expected_version=review.version, now=now,
                          data=service.ReviewInput(
        title="Relay contact overheating at SN-0001 in Setagaya, Tokyo",
        phenomenon="Flames at the compressor relay. Customer Mrs. Hanako Suzuki, call 03-1234-5678, hanako@example.jp.",
        failure_mode="Fire / overheating", mechanism="Loose crimp raised contact resistance; the joint overheated.",
        process_stage="manufacturing", process_cause="Crimp height not controlled after tool change.",
        escape_reason="End-of-line test checks function only.", framework_cause="No first-article rule.",
        motivating_factors=["schedule"], motivating_cause="Restarted quickly to meet output.",
        design_review_checks="Is every power joint given a crimp-height window?",
        no_countermeasure_reasons=SHORT_REASONS))
    service.add_why_step(session, user=user, review_id=review.id, dimension=Dimension.TECHNICAL,
                         question="Why did it overheat?", answer="Resistance 20x nominal", evidence="TR-118", now=now)
    cm = service.add_countermeasure(session, user=user, review_id=review.id, now=now, data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="First-article crimp check",
        owner_id=user.id, due_on=now.date() + timedelta(days=10)))
    return review, cm


def answer_other_causes(session, user, review, now):
    """Countermeasures for the technical, framework and motivating causes: every dimension that found a cause is
    answered (approval refuses otherwise)."""
    for dimension, tier in ((Dimension.TECHNICAL, "design"), (Dimension.FRAMEWORK, ""), (Dimension.MOTIVATING, "")):
        service.add_countermeasure(session, user=user, review_id=review.id, now=now, data=service.CountermeasureInput(
            dimension=dimension, kind=CountermeasureType.ELIMINATE_CAUSE, description=f"Answer the {dimension} cause",
            owner_id=user.id, due_on=now.date() + timedelta(days=10), safety_tier=tier))


def test_review_is_written_approved_and_publishes_a_lesson_without_customer_data(demo, demo_user, fire, clock):
    writer, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    fire.serial_numbers = "SN-0001"
    demo.commit()
    review, cm = _complete_review(demo, writer, fire, clock())
    assert not service.review_approved_for(demo, fire.id)
    service.submit_review(demo, user=writer, review_id=review.id, now=clock())
    demo.commit()
    with pytest.raises(SignatureRefused):
        service.approve_review(demo, user=hq, review_id=review.id, password="wrong", comment="", now=clock())
    demo.rollback()
    with pytest.raises(Forbidden):
        service.approve_review(demo, user=writer, review_id=review.id, password=PASSWORD, comment="", now=clock())
    service.approve_review(demo, user=hq, review_id=review.id, password=PASSWORD, comment="ok", now=clock())
    demo.commit()

    assert demo.get(type(review), review.id).status == ReviewStatus.APPROVED
    assert service.review_approved_for(demo, fire.id)
    lesson = demo.scalar(sa.select(Lesson).where(Lesson.review_id == review.id))
    text = " ".join(str(getattr(lesson, c.key)) for c in Lesson.__table__.columns if c.key != "search_vector")
    for secret in ("SN-0001", "Setagaya", "Hanako", "Suzuki", "03-1234-5678", "hanako@example.jp", fire.place):
        assert secret not in text
    assert "Loose crimp" in lesson.mechanism and "First-article crimp check" in lesson.countermeasures
    assert lesson.design_review_checks == ["Is every power joint given a crimp-height window?"]
    # ...and the library finds it
    page = search.search_lessons(demo, "crimp overheated", limit=5)
    assert [h.lesson.id for h in page.hits] == [lesson.id]
    assert "<mark>" in page.hits[0].snippet
    actions = set(demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.incident_id == fire.id)))
    assert {"review started", "review updated", "why added", "countermeasure added", "review submitted",
            "review approved", "lesson published", "signed"} <= actions


def test_incomplete_review_cannot_be_submitted(demo, demo_user, fire, clock):
    writer = demo_user("division.qa@example.com")
    review = service.start_review(demo, user=writer, incident_ids=[fire.id], title="Fire", now=clock())
    with pytest.raises(ValidationFailed) as e:
        service.submit_review(demo, user=writer, review_id=review.id, now=clock())
    # An S3 incident's review is the short form: each dimension's cause, and per cause a countermeasure or why none.
    assert {"mechanism", "process_cause", "countermeasures_technical"} <= set(e.value.errors)


def test_other_division_neither_sees_nor_writes_the_review(demo, demo_user, fire, clock):
    writer = demo_user("division.qa@example.com")
    review = service.start_review(demo, user=writer, incident_ids=[fire.id], title="Fire", now=clock())
    with pytest.raises(NotFound):
        service.get_review(demo, user=demo_user("cable.reporter@example.com"), review_id=review.id)
    with pytest.raises(NotFound):
        service.get_review(demo, user=demo_user("engineer@example.com"), review_id=review.id)
    with pytest.raises(Forbidden):
        service.start_review(demo, user=demo_user("reporter@example.com"), incident_ids=[fire.id], title="x", now=clock())


def test_countermeasure_is_verified_only_by_an_effective_check_and_overdue_mail_goes_once(demo, demo_user, fire, clock):
    writer = demo_user("division.qa@example.com")
    review, cm = _complete_review(demo, writer, fire, clock())
    demo.commit()
    with pytest.raises(ValidationFailed):
        service.record_check(demo, user=writer, countermeasure_id=cm.id, method="audit", result="ok", effective=True,
                             now=clock())
    assert service.countermeasure_scan(demo, clock()) == 0
    late = clock() + timedelta(days=11)
    assert service.countermeasure_scan(demo, late) == 1
    assert service.countermeasure_scan(demo, late + timedelta(days=1)) == 0  # once per countermeasure and due day
    mail = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("countermeasure-overdue:%")))
    assert writer.email in mail.to_addrs and "Overdue countermeasure" in mail.subject
    assert [c.id for c in service.my_countermeasures(demo, writer)] == [cm.id]
    service.mark_implemented(demo, user=writer, countermeasure_id=cm.id, now=late)
    service.record_check(demo, user=writer, countermeasure_id=cm.id, method="3-month audit", result="recurred",
                         effective=False, now=late)
    assert cm.status == CountermeasureStatus.OPEN
    service.mark_implemented(demo, user=writer, countermeasure_id=cm.id, now=late)
    service.record_check(demo, user=writer, countermeasure_id=cm.id, method="3-month audit", result="no recurrence",
                         effective=True, now=late)
    assert cm.status == CountermeasureStatus.VERIFIED
    assert service.my_countermeasures(demo, writer) == []


def test_horizontal_deployment_is_answered_by_the_receiving_division(demo, demo_user, demo_division, fire, clock):
    writer = demo_user("division.qa@example.com")
    review, cm = _complete_review(demo, writer, fire, clock())
    cables = demo_division("CM")
    d = service.add_deployment(demo, user=writer, countermeasure_id=cm.id, division_id=cables.id,
                               target="EX-15A3 plug crimp joints", now=clock())
    with pytest.raises(Forbidden):
        service.answer_deployment(demo, user=writer, deployment_id=d.id, answer=DeploymentAnswer.DONE, reason="",
                                  now=clock())
    hq = demo_user("hq.qa@example.com")
    with pytest.raises(ValidationFailed):
        service.answer_deployment(demo, user=hq, deployment_id=d.id, answer=DeploymentAnswer.NOT_APPLICABLE,
                                  reason="", now=clock())
    service.answer_deployment(demo, user=hq, deployment_id=d.id, answer=DeploymentAnswer.NOT_APPLICABLE,
                              reason="Plugs are moulded, not crimped", now=clock())
    progress = service.deployment_progress(service.deployments_of(demo, review.id))
    assert progress["answered"] == 1 and progress["not_applicable"] == 1


def test_lessons_import_is_idempotent_and_reports_rejected_rows(demo, clock):
    rows = lessons.read_sample()[:200] + [{"Recall Event ID": "x", "Reason for Recall": ""}]
    first = lessons.import_rows(demo, rows, now=clock())
    demo.commit()
    again = lessons.import_rows(demo, rows, now=clock())
    assert first.created > 150 and again.created == 0 and again.unchanged == first.created
    assert any("no recall event id" in r for r in first.rejected)
    assert demo.scalar(sa.select(sa.func.count()).select_from(Lesson)) == first.created


def test_imported_lessons_carry_no_contact_details(demo, clock):
    lessons.import_rows(demo, lessons.read_sample(), now=clock())
    for lesson in demo.scalars(sa.select(Lesson)):
        for text in (lesson.summary, lesson.countermeasures, lesson.product):
            assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", text), text
            assert not re.search(r"\b\d{3}[-.]\d{3}[-.]\d{4}\b", text), text


def test_japanese_lessons_are_found_by_japanese_terms(demo, demo_user, fire, clock):
    writer, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    review, _cm = _complete_review(demo, writer, fire, clock())
    service.update_review(demo, user=writer, review_id=review.id, expected_version=review.version, now=clock(),
                          data=service.ReviewInput(
        title="冷蔵庫リレー端子の発火", phenomenon="圧縮機リレー付近から発煙し発火した。", mechanism="圧着不良で接触抵抗が増大した。",
        process_stage="manufacturing", process_cause="工具交換後の圧着高さ管理なし", escape_reason="出荷検査は機能のみ",
        framework_cause="初品確認の規定なし", motivating_cause="納期優先", no_countermeasure_reasons=SHORT_REASONS))
    service.submit_review(demo, user=writer, review_id=review.id, now=clock())
    service.approve_review(demo, user=hq, review_id=review.id, password=PASSWORD, comment="", now=clock())
    demo.commit()
    for term in ("発火", "接触抵抗", "リレー"):
        hits = search.search_lessons(demo, term, limit=5).hits
        assert [h.lesson.title for h in hits] == ["冷蔵庫リレー端子の発火"], term
    assert search.similar_lessons(demo, text="洗濯機の端子が発火した", limit=1)[0].lesson.review_id == review.id
