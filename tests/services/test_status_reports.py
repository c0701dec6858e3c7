"""Status reports to top management with a frozen clock: triggers, hold, cadence, immutable versions,
e-mail with the PDF over real SMTP, acknowledgement and escalation; the dashboard's numbers against SQL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from test_outbox_smtp import Inbox, free_port

from qa_incidents.accounts.models import User
from qa_incidents.core import outbox
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.outbox import OutboxMessage, SmtpSender
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.notifications import records
from qa_incidents.reports import dashboard
from qa_incidents.reports import service as reports
from qa_incidents.reports.models import DistributionEntry
from qa_incidents.reports.rules import ReportSettings, Trigger

PASSWORD = "demo-password-2026"
SETTINGS = ReportSettings(hold_minutes=30, cadence_hours={"S1": 24, "S2": 168}, ack_escalate_hours=4)


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def fire(demo):
    return demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


@pytest.fixture
def escalated(demo, fire, clock):
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=clock())
    demo.commit()
    assert reports.pending_for(demo, fire.id) is None  # not yet: only approved escalations are reported
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD, comment="Agreed",
                               now=clock())
    demo.commit()
    return fire


def test_approval_triggers_a_report_that_waits_for_the_hold(demo, escalated, clock):
    pending = reports.pending_for(demo, escalated.id)
    assert [t["kind"] for t in pending.triggers] == ["escalation_approved"]
    assert reports.scan(demo, now=clock() + timedelta(minutes=29), settings=SETTINGS).issued == 0
    result = reports.scan(demo, now=clock() + timedelta(minutes=30), settings=SETTINGS)
    demo.commit()
    assert result.issued == 1
    report = reports.last_report(demo, escalated.id)
    # report 1 went out at triage, when JP-CPSA-35 was first found reportable (see test_reportable_status_report)
    assert report.number == 2 and report.content["severity"] == "S1"
    assert report.content["notifications"][0]["regime"] == "JP-CPSA-35"
    assert {r.email for r in report.recipients} == {"executive@example.com"}
    assert reports.pending_for(demo, escalated.id) is None


def test_unescalated_or_minor_incidents_are_not_reported(demo, fire, clock):
    assert reports.trigger(demo, incident=fire, kind=Trigger.NEW_HARM, now=clock()) is False


def test_narrative_goes_into_the_report_and_issue_now(demo, escalated, clock):
    qa = user(demo, "division.qa@example.com")
    reports.save_narrative(demo, user=qa, incident=escalated, text="Stop-ship on lot L2405 since 09:00.", now=clock())
    report = reports.issue_now(demo, user=qa, incident=escalated, now=clock())
    demo.commit()
    assert report.content["narrative"] == "Stop-ship on lot L2405 since 09:00."
    assert "Stop-ship on lot L2405" in report.html
    with pytest.raises(Forbidden):
        reports.save_narrative(demo, user=user(demo, "reporter@example.com"), incident=escalated, text="x", now=clock())
    with pytest.raises(Forbidden):
        reports.issue_now(demo, user=user(demo, "executive@example.com"), incident=escalated, now=clock())


def test_significant_changes_and_cadence_make_new_numbered_versions(demo, escalated, clock):
    reports.scan(demo, now=clock() + timedelta(minutes=31), settings=SETTINGS)
    demo.commit()
    qa = user(demo, "division.qa@example.com")
    facts = incidents.facts_of(escalated)
    facts.serious_injuries = 1
    incidents.update_incident(demo, user=qa, incident_id=escalated.id, facts=facts, expected_version=escalated.version,
                              now=clock() + timedelta(hours=2))
    demo.commit()
    pending = reports.pending_for(demo, escalated.id)
    assert pending.triggers[0]["kind"] == "new_harm" and "serious injuries" in pending.triggers[0]["detail"]
    reports.scan(demo, now=clock() + timedelta(hours=3), settings=SETTINGS)
    demo.commit()
    second = reports.last_report(demo, escalated.id)
    assert second.number == 3
    assert any("serious_injuries" in c["fields"] for c in second.content["changes_since_last"])
    # nothing happens for a day: the S1 cadence issues report 4
    assert reports.scan(demo, now=clock() + timedelta(hours=26), settings=SETTINGS).issued == 0
    assert reports.scan(demo, now=clock() + timedelta(hours=27, minutes=1), settings=SETTINGS).issued == 1
    demo.commit()
    third = reports.last_report(demo, escalated.id)
    assert third.number == 4 and third.triggers[-1]["kind"] == "cadence"


def test_issued_versions_cannot_change(demo, escalated, clock, engine):
    report = reports.issue_now(demo, user=user(demo, "hq.qa@example.com"), incident=escalated, now=clock())
    demo.commit()
    with pytest.raises(RuntimeError, match="immutable"):
        report.content = {"tampered": True}
        demo.flush()
    demo.rollback()
    with engine.connect() as c, pytest.raises(sa.exc.DatabaseError):
        c.execute(sa.text("UPDATE status_report SET html = 'x' WHERE id = :i"), {"i": report.id})
        c.commit()


def test_email_carries_html_and_the_pdf_over_real_smtp(demo, escalated, clock):
    demo.add(DistributionEntry(email="plant.manager@example.com", division_id=escalated.division_id, severities=["S1"],
                               active=True, created_at=clock()))
    demo.commit()
    report = reports.issue_now(demo, user=user(demo, "hq.qa@example.com"), incident=escalated, now=clock())
    demo.commit()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        outbox.deliver_pending(demo, sender=SmtpSender("127.0.0.1", controller.port, "qa@example.com"), now=clock())
    finally:
        controller.stop()
    [message] = [m for m in inbox.messages if f"Status report {report.number}:" in m["Subject"]]
    assert "executive@example.com" in message["To"] and "plant.manager@example.com" in message["To"]
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "text/html" in parts and escalated.reference in parts["text/html"].get_payload(decode=True).decode()
    pdf = parts["application/pdf"].get_payload(decode=True)
    text = pdf_text(pdf)
    assert escalated.reference in text and "S1" in text
    assert pdf == report.printed.pdf  # the copy kept with the version, printed for this delivery


def test_acknowledgement_and_escalation_of_unacknowledged_s1(demo, escalated, clock):
    demo.add(DistributionEntry(email="plant.manager@example.com", division_id=None, severities=[], active=True,
                               created_at=clock()))
    demo.commit()
    report = reports.issue_now(demo, user=user(demo, "hq.qa@example.com"), incident=escalated, now=clock())
    demo.commit()
    executive = user(demo, "executive@example.com")
    with pytest.raises(Forbidden):
        reports.acknowledge(demo, user=user(demo, "engineer@example.com"), report=report, now=clock())
    for earlier in reports.reports_of(demo, escalated.id):  # report 1, issued at triage, is read as well
        if earlier.id != report.id:
            reports.acknowledge(demo, user=executive, report=earlier, now=clock() + timedelta(minutes=30))
    reports.acknowledge(demo, user=executive, report=report, now=clock() + timedelta(hours=1))
    demo.commit()
    assert reports.unacknowledged_for(demo, executive) == []
    assert reports.scan(demo, now=clock() + timedelta(hours=3), settings=SETTINGS).escalated == 0
    result = reports.scan(demo, now=clock() + timedelta(hours=4, minutes=1), settings=SETTINGS)
    demo.commit()
    assert result.escalated == 1
    mail = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.subject.startswith("UNACKNOWLEDGED")))
    assert "plant.manager@example.com" in mail.body_text and "hq.qa@example.com" in mail.to_addrs
    assert "executive@example.com" not in mail.body_text
    assert reports.scan(demo, now=clock() + timedelta(hours=9), settings=SETTINGS).escalated == 0  # once


def test_narrative_refused_before_reporting_starts(demo, fire, clock):
    with pytest.raises(ValidationFailed):
        reports.save_narrative(demo, user=user(demo, "division.qa@example.com"), incident=fire, text="x", now=clock())


def test_dashboard_numbers_equal_sql_counts(demo, escalated, clock):
    hq = user(demo, "hq.qa@example.com")
    charts = {c.name: c for c in dashboard.charts(demo, user=hq, now=clock())}
    open_total = demo.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.status != Status.CLOSED))
    assert sum(sum(r[1:]) for r in charts["open_by_division"].rows) == open_total
    by_month = sum(sum(r[1:]) for r in charts["incidents_by_month"].rows)
    since = clock() - timedelta(days=400)
    assert by_month == demo.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.aware_at >= since))
    hazards = {r[0]: r[1] for r in charts["failure_modes"].rows}
    assert sum(hazards.values()) == demo.scalar(sa.select(sa.func.count()).select_from(Incident))
    assert sum(r[1] for r in charts["time_to_triage"].rows) == 1  # one incident triaged
    assert charts["failure_modes"].csv().splitlines()[0] == "category,count,cumulative_pct"
    # a division sees only its own numbers
    cable = user(demo, "cable.reporter@example.com")
    own = demo.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.division_id == cable.division_id))
    assert sum(r[1] for r in {c.name: c for c in dashboard.charts(demo, user=cable, now=clock())}["failure_modes"].rows) == own


def test_reportable_status_report_goes_out_at_once_with_the_first_reportable_obligation(demo, fire, clock):
    """Top management hears when the first obligation is found reportable, at the same time as the report to the
    government is prepared: before (and without) any escalation; a second obligation does not issue another."""
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    [report] = reports.reports_of(demo, fire.id)
    assert report.number == 1 and report.issued_at == clock()
    assert [(t["kind"], t["detail"]) for t in report.triggers] == [("reportable", "JP-CPSA-35")]
    assert report.triggers[0]["title"] == "Report to a regulator required"
    assert {r.email for r in report.recipients} == {"executive@example.com"}
    assert reports.escalation_approved(demo, fire.id) is False
    mail = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.subject.contains("Status report 1:")))
    assert mail is not None and fire.reference in mail.subject
    # more facts keep the obligation reportable: no second "first" report
    facts = incidents.facts_of(fire)
    facts.serious_injuries = (facts.serious_injuries or 0) + 1
    incidents.update_incident(demo, user=qa, incident_id=fire.id, facts=facts, expected_version=fire.version,
                              now=clock() + timedelta(hours=1))
    demo.commit()
    assert [r.number for r in reports.reports_of(demo, fire.id)] == [1]


def test_no_report_while_no_obligation_is_reportable(demo, clock):
    qa = user(demo, "division.qa@example.com")
    minor = demo.scalar(sa.select(Incident).where(Incident.id == 3))
    before = records.reportable_record_ids(demo, minor.id)
    assert reports.first_reportable(demo, incident=minor, before=before, now=clock(), user=qa) is None
    assert reports.reports_of(demo, minor.id) == []


def test_an_older_report_is_no_longer_waiting_once_a_newer_one_of_the_incident_came(demo, escalated, clock):
    """Report 1 is superseded by report 2 of the same incident: My work lists report 2 only, and once the executive
    acknowledges it nothing of the incident waits."""
    executive = user(demo, "executive@example.com")
    report = reports.issue_now(demo, user=user(demo, "hq.qa@example.com"), incident=escalated, now=clock())
    demo.commit()
    assert len(reports.reports_of(demo, escalated.id)) >= 2
    assert [r.number for r in reports.unacknowledged_for(demo, executive)] == [report.number]
    reports.acknowledge(demo, user=executive, report=report, now=clock() + timedelta(minutes=5))
    demo.commit()
    assert reports.unacknowledged_for(demo, executive) == []


def test_an_older_s1_report_is_not_escalated_once_its_reader_acknowledged_a_newer_one(demo, escalated, clock):
    executive = user(demo, "executive@example.com")
    hq = user(demo, "hq.qa@example.com")
    older = reports.issue_now(demo, user=hq, incident=escalated, now=clock())
    newer = reports.issue_now(demo, user=hq, incident=escalated, now=clock() + timedelta(minutes=10))
    demo.commit()
    assert older.content.get("severity") == "S1" and newer.number == older.number + 1
    for report in reports.reports_of(demo, escalated.id):  # everyone else read every report
        for r in report.recipients:
            if r.email != executive.email and r.acknowledged_at is None:
                r.acknowledged_at = clock()
    reports.acknowledge(demo, user=executive, report=newer, now=clock() + timedelta(minutes=20))
    demo.commit()
    assert reports.scan(demo, now=clock() + timedelta(hours=5), settings=SETTINGS).escalated == 0
