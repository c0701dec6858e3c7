"""Regulator notification records on a real database: derivation, drafts, signatures, submission, board, warnings."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from test_outbox_smtp import Inbox, free_port

from qa_incidents.accounts.models import User
from qa_incidents.core import outbox
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.outbox import OutboxAttachment, OutboxMessage, SmtpSender
from qa_incidents.core.signatures import Signature, SignatureRefused
from qa_incidents.core.storage import Storage
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Attachment, Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import Urgency, parse_points

PASSWORD = "demo-password-2026"


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def fire(demo):
    """The demo refrigerator fire in Japan: JP-CPSA-35 (serious product accident: fire) applies."""
    return demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


@pytest.fixture
def storage(tmp_path):
    return Storage(tmp_path / "files", max_bytes=10_000_000)


@pytest.fixture
def triaged(demo, fire, clock):
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    return fire


def jp_record(session, incident):
    return session.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == incident.id,
                                                             NotificationRecord.regime_code == "JP-CPSA-35"))


def test_triage_derives_a_required_record_with_its_legal_deadline(demo, triaged):
    record = jp_record(demo, triaged)
    assert record is not None and record.state == "required" and record.origin == "derived"
    # 10 days counting the day of knowledge, in Tokyo: due at the end of knowledge date + 9
    aware_tokyo = triaged.aware_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).date()
    due_tokyo = record.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    # Day 10 (knowledge date + 9) is Monday 23 November 2026, Labour Thanksgiving Day, an administrative holiday:
    # the deadline moves to the next day (Act No. 91 of 1988 Art. 2).
    assert aware_tokyo + timedelta(days=9) == date(2026, 11, 23)
    assert due_tokyo.date() == date(2026, 11, 24)
    assert "2026-11-23 is not a working day" in record.due_explanation
    assert (due_tokyo.hour, due_tokyo.minute) == (23, 59)
    assert "Asia/Tokyo" in record.due_explanation
    assert record.owner.email == "division.qa@example.com"
    events = demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "notification_record")).all()
    assert [e.action for e in events] == ["notification_required"]


def test_cannot_close_while_a_report_is_owed(demo, triaged):
    case = workflow.case_of(demo, triaged)
    assert case.open_notifications == 1


def test_correcting_aware_at_moves_the_deadline_and_is_audited(demo, triaged, clock):
    record = jp_record(demo, triaged)
    old_due = record.due_at
    qa = user(demo, "division.qa@example.com")
    facts = incidents.facts_of(triaged)
    facts.aware_at = triaged.aware_at + timedelta(days=2)  # day 10 from 24 Nov (after the holiday) to 25 Nov
    incidents.update_incident(demo, user=qa, incident_id=triaged.id, facts=facts, expected_version=triaged.version,
                              now=clock())
    demo.commit()
    demo.refresh(record)
    assert record.due_at == old_due + timedelta(days=1)
    assert demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_id == record.id,
                                                   AuditEvent.action == "notification_rederived")) is not None


def test_facts_that_no_longer_trigger_flag_the_record_never_drop_it(demo, triaged, clock):
    qa = user(demo, "division.qa@example.com")
    facts = incidents.facts_of(triaged)
    facts.fire = facts.smoke = facts.property_damage = False
    facts.minor_injuries = 0
    facts.no_harm = True
    incidents.update_incident(demo, user=qa, incident_id=triaged.id, facts=facts, expected_version=triaged.version,
                              now=clock())
    demo.commit()
    record = jp_record(demo, triaged)
    assert record.state == "required"
    assert "no longer trigger" in record.attention


def draft_all(session, record, who, clock, **overrides):
    fields = records.proposed_draft(session, record) | overrides
    return records.save_draft(session, user=who, record=record, fields=fields, missing_explanation="",
                              expected_version=record.version, now=clock())


def test_draft_is_prefilled_and_lists_what_is_missing(demo, triaged):
    record = jp_record(demo, triaged)
    draft = records.proposed_draft(demo, record)
    # Form 1 (様式第一), Japanese throughout: the model in its item, the fire as reported, the quantities left to a person
    assert "R-HW540" in draft["製品の名称及び型式"]
    assert draft["火災の有無"] == "有"
    missing = records.rules.missing_fields(records.required_fields(record), draft)
    assert "商標" in missing and "販売数量" in missing and "製品の名称及び型式" not in missing


def test_full_flow_with_signatures_document_and_acknowledgement(demo, triaged, clock, storage):
    record = jp_record(demo, triaged)
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    draft_all(demo, record, qa, clock)
    demo.commit()
    assert record.state == "drafted"
    # missing fields without a word on when they follow: refused, nothing signed
    with pytest.raises(ValidationFailed) as e:
        records.approve(demo, user=hq, record=record, password=PASSWORD, comment="", now=clock())
    assert "商標" in e.value.errors["missing"]
    demo.rollback()
    record = jp_record(demo, triaged)
    records.save_draft(demo, user=qa, record=record, fields=records.proposed_draft(demo, record) | {
        "商標": "Acme", "製造国": "タイ", "製品の損害の有無": "有", "事故原因の区分": "部品", "製造（輸入）期間": "2024年1月〜2025年3月",
        "製造（輸入）数量": "52,000台", "販売期間": "2024年2月〜", "販売数量": "48,900台", "再発防止措置": "調査中"},
        missing_explanation="", expected_version=record.version, now=clock())
    demo.commit()
    # division QA may not sign; a wrong password signs nothing
    with pytest.raises(Forbidden):
        records.approve(demo, user=qa, record=record, password=PASSWORD, comment="", now=clock())
    with pytest.raises(SignatureRefused):
        records.approve(demo, user=hq, record=record, password="wrong", comment="", now=clock())
    demo.rollback()
    record = jp_record(demo, triaged)
    records.approve(demo, user=hq, record=record, password=PASSWORD, comment="OK to send", now=clock())
    demo.commit()
    signature = demo.get(Signature, record.approval_signature_id)
    assert signature.meaning == "approved regulator notification for submission"
    assert signature.content["draft"]["商標"] == "Acme"
    # submission: in the future is refused
    with pytest.raises(ValidationFailed) as e:
        records.submit(demo, user=qa, record=record, channel="CAA web form", authority_reference="",
                       submitted_at=clock() + timedelta(hours=2), now=clock(), storage=storage)
    assert "future" in e.value.errors["submitted_at"]
    demo.rollback()
    record = jp_record(demo, triaged)
    records.submit(demo, user=qa, record=record, channel="CAA web form", authority_reference="CAA-2026-0042",
                   submitted_at=clock() - timedelta(minutes=30), now=clock(), storage=storage)
    demo.commit()
    assert record.state == "submitted" and record.authority_reference == "CAA-2026-0042"
    attachment = demo.get(Attachment, record.document_id)
    assert attachment.sha256 == record.document_sha256
    assert storage.path_for(attachment.sha256).read_bytes().startswith(b"%PDF")
    assert workflow.case_of(demo, triaged).open_notifications == 0
    records.acknowledge(demo, user=qa, record=record, acknowledged_at=clock(), text="Received, case officer Sato", now=clock())
    demo.commit()
    assert record.state == "acknowledged"
    actions = demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == record.id,
                                                              AuditEvent.entity_type == "notification_record")
                           .order_by(AuditEvent.id)).all()
    assert actions == ["notification_required", "notification_drafted", "notification_drafted",
                       "notification_approved", "notification_submitted", "notification_acknowledged"]


def test_uploaded_document_is_the_one_kept(demo, triaged, clock, storage):
    record = jp_record(demo, triaged)
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    draft_all(demo, record, qa, clock)
    record.missing_explanation = "Brand and origin follow on 15 March."
    records.approve(demo, user=hq, record=record, password=PASSWORD, comment="", now=clock())
    stored = storage.put(io.BytesIO(b"%PDF-1.4 the form as faxed"))
    records.submit(demo, user=qa, record=record, channel="fax", authority_reference="", submitted_at=clock(),
                   now=clock(), storage=storage, upload=stored, filename="form1.pdf")
    demo.commit()
    assert record.document.filename == "form1.pdf" and record.document_sha256 == stored.sha256


def test_not_required_needs_a_signed_justification(demo, triaged, clock):
    record = jp_record(demo, triaged)
    hq = user(demo, "hq.qa@example.com")
    with pytest.raises(ValidationFailed):
        records.mark_not_required(demo, user=hq, record=record, reason=" ", password=PASSWORD, now=clock())
    demo.rollback()
    record = jp_record(demo, triaged)
    records.mark_not_required(demo, user=hq, record=record, reason="Fire service found arson; not a product accident.",
                              password=PASSWORD, now=clock())
    demo.commit()
    assert record.state == "not_required"
    assert record.not_required_signature.meaning == "determined regulator notification not required"
    assert workflow.case_of(demo, triaged).open_notifications == 0
    records.reopen(demo, user=hq, record=record, reason="Police withdrew the arson finding", now=clock())
    demo.commit()
    assert record.state == "required"


def test_add_an_obligation_the_rules_missed(demo, triaged, clock):
    qa = user(demo, "division.qa@example.com")
    with pytest.raises(ValidationFailed) as e:
        records.add_obligation(demo, user=qa, incident_id=triaged.id, obligation_id=None, reason="", now=clock())
    assert set(e.value.errors) == {"reason", "regime_code", "authority", "title", "due_at"}
    demo.rollback()
    record = records.add_obligation(demo, user=qa, incident_id=triaged.id, obligation_id=None,
                                    reason="Also sold in Korea; KATS asks for accident reports",
                                    regime_code="kr-psa-13", authority="KATS", title="Accident report",
                                    due_at=clock() + timedelta(days=5), now=clock())
    demo.commit()
    assert (record.regime_code, record.origin, record.state) == ("KR-PSA-13", "added", "required")
    with pytest.raises(ValidationFailed) as e:
        records.add_obligation(demo, user=qa, incident_id=triaged.id, obligation_id=None, reason="again",
                               regime_code="KR-PSA-13", authority="KATS", title="x", due_at=clock(), now=clock())
    assert "already has" in e.value.errors["regime_code"]


def test_another_divisions_user_cannot_touch_the_record(demo, triaged, clock):
    record = jp_record(demo, triaged)
    other = user(demo, "cable.reporter@example.com")
    with pytest.raises(NotFound):
        records.get_record(demo, user=other, incident_id=triaged.id, record_id=record.id)
    with pytest.raises(Forbidden):
        records.save_draft(demo, user=other, record=record, fields={}, missing_explanation="",
                           expected_version=record.version, now=record.created_at)


def test_submission_schedules_follow_ups_once(demo, triaged, clock):
    first = records.schedule_follow_up(demo, incident_id=triaged.id, regime_code="US-CPSC-MPR", kind="progress_report",
                                       period_label="2026-03", title="Monthly progress report, March 2026",
                                       due_at=clock() + timedelta(days=20), actor_id=None, recall_id=7, now=clock())
    again = records.schedule_follow_up(demo, incident_id=triaged.id, regime_code="US-CPSC-MPR", kind="progress_report",
                                       period_label="2026-03", title="Monthly progress report, March 2026",
                                       due_at=clock() + timedelta(days=20), actor_id=None, recall_id=7, now=clock())
    demo.commit()
    assert first.id == again.id and first.recall_id == 7 and first.origin == "follow_up"


def test_board_orders_overdue_first_and_scopes_by_division(demo, triaged, clock):
    qa = user(demo, "division.qa@example.com")
    records.add_obligation(demo, user=qa, incident_id=triaged.id, obligation_id=None, reason="late one",
                           regime_code="XX-LATE", authority="Late Authority", title="Report",
                           due_at=clock() - timedelta(hours=1), now=clock())
    demo.commit()
    board = records.board(demo, user=user(demo, "hq.qa@example.com"), now=clock())
    assert [r.record.regime_code for r in board.rows][:2] == ["XX-LATE", "JP-CPSA-35"]
    assert board.rows[0].urgency == Urgency.OVERDUE and board.counts[Urgency.OVERDUE] == 1
    assert records.board(demo, user=user(demo, "cable.reporter@example.com"), now=clock()).rows == []
    only = records.board(demo, user=user(demo, "hq.qa@example.com"), now=clock(), authority="Late Authority")
    assert [r.record.regime_code for r in only.rows] == ["XX-LATE"]


def test_warnings_go_once_each_over_real_smtp(demo, triaged, clock):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        record = jp_record(demo, triaged)
        sender = SmtpSender("127.0.0.1", controller.port, "qa-incidents@example.com")
        points = parse_points("50%,24h,4h")
        demo.execute(sa.delete(OutboxAttachment))  # e.g. the status report that went out at triage
        demo.execute(sa.delete(OutboxAttachment))
        demo.execute(sa.delete(OutboxMessage))
        demo.commit()

        def scan_at(moment):
            queued = records.warning_scan(demo, now=moment, points=points, base_url="http://qa.example")
            demo.commit()
            outbox.deliver_pending(demo, sender=sender, now=moment)
            return queued

        due = record.due_at
        assert scan_at(due - timedelta(hours=30)) == 1  # more than half the time used: the 50 % warning
        assert scan_at(due - timedelta(hours=29)) == 0  # the same point again: nothing
        assert scan_at(due - timedelta(hours=23)) == 1  # 24 h before
        assert scan_at(due - timedelta(hours=3)) == 1  # 4 h before
        assert scan_at(due + timedelta(minutes=1)) == 1  # overdue
        assert scan_at(due + timedelta(hours=5)) == 0
        subjects = [" ".join(str(m["Subject"]).split()) for m in inbox.messages]
        assert len(subjects) == 4 and subjects[-1].startswith("OVERDUE: JP-CPSA-35 report for")
        overdue = inbox.messages[-1]
        assert "hq.qa@example.com" in overdue["To"] and "division.qa@example.com" in overdue["To"]
        assert "division.qa@example.com" in inbox.messages[0]["To"] and "hq.qa@example.com" not in inbox.messages[0]["To"]
        assert f"http://qa.example/incidents/{triaged.id}/notifications/{record.id}" in inbox.messages[0].get_payload()
    finally:
        controller.stop()


def test_a_submitted_record_gets_no_warning(demo, triaged, clock, storage):
    record = jp_record(demo, triaged)
    record.state = "submitted"
    demo.commit()
    assert records.warning_scan(demo, now=record.due_at + timedelta(hours=1)) == 0
