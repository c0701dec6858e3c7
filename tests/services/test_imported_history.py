"""Imported public data arrives as history: outside queues, SLA scans, My work and current figures, yet in trends and
search, dated by when it happened; a closed incident changes only by a signed reopening."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.api import importer
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.signatures import SignatureRefused
from qa_incidents.incidents import service, workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.reports import dashboard
from qa_incidents.seed import DEMO_PASSWORD

ROWS = 60


def _import(session, user, clock, profile="fda-device-recalls", sample="fda_device_recalls.csv.gz"):  # type: ignore[no-untyped-def]
    whole = importer.read_file(sample, importer.sample_path(sample).read_bytes())
    source = importer.SourceFile(whole.format, whole.columns, whole.rows[:ROWS])
    report = importer.import_rows(session, profile=importer.load_profile(session, profile), source=source, user=user,
                                  now=clock())
    session.commit()
    return report


def _imported_ids(session) -> list[int]:  # type: ignore[no-untyped-def]
    from qa_incidents.api.models import ImportedRecord

    return list(session.scalars(sa.select(ImportedRecord.entity_id).where(ImportedRecord.entity_type == "incident")))


def test_public_rows_arrive_as_history_not_as_work(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    before = workflow.my_work(demo, user=hq, now=clock())
    report = _import(demo, hq, clock)
    assert report.imported > 10
    ids = _imported_ids(demo)
    statuses = set(demo.scalars(sa.select(Incident.status).where(Incident.id.in_(ids))))
    assert statuses == {Status.HISTORICAL}
    # Each says so in its trail, with the source.
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.incident_id == ids[0],
                                                           AuditEvent.action == "imported_history")))
    assert events and events[0].changes["source"] == [None, "fda-device-recalls"]
    # Dated by when it happened (the source's dates), years before the import.
    incident = demo.get(Incident, ids[0])
    assert incident.aware_at < clock() - timedelta(days=365)

    # My work, the triage queue and the SLA scan: exactly as before the import.
    after = workflow.my_work(demo, user=hq, now=clock())
    assert after.to_triage_total == before.to_triage_total
    assert [i.id for i in after.my_open] == [i.id for i in before.my_open]
    assert not set(ids) & {item.incident.id for item in workflow.triage_queue(demo, division_id=None, now=clock())}
    assert workflow.sla_scan(demo, now=clock() + timedelta(days=30)) > 0  # the live reports' breaches
    demo.flush()
    assert demo.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.incident_id.in_(ids))) == 0


def test_history_stays_out_of_current_figures_but_in_trends_and_search(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    _import(demo, hq, clock)
    ids = _imported_ids(demo)
    now = clock()
    p = dashboard.portfolio(demo, user=hq, start=now - timedelta(days=7), end=now + timedelta(minutes=1))
    live_new = demo.scalar(sa.select(sa.func.count(Incident.id)).where(
        Incident.created_at >= now - timedelta(days=7), Incident.status != Status.HISTORICAL))
    assert p.new == live_new  # not the imported rows (created at import time)
    assert "Imported history" not in {row[0] for row in p.open_by_division_severity[1:]}
    assert not any(row[0] == "Imported history" for row in dashboard._count_open(demo, hq))
    # Search (the register) still finds them, by when they happened.
    incident = demo.get(Incident, ids[0])
    page = service.register(demo, user=hq, filters=service.RegisterFilter(text=incident.reference))
    assert [i.id for i in page.items] == [incident.id]


def test_imported_history_is_frozen_until_head_office_reopens_it_as_live(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    _import(demo, hq, clock)
    incident = demo.get(Incident, _imported_ids(demo)[0])
    with pytest.raises(service.RecordEnded):
        service.update_incident(demo, user=hq, incident_id=incident.id, facts=service.facts_of(incident),
                                expected_version=incident.version, now=clock())
    demo.rollback()
    actions = [v.action.value for v in workflow.actions_for(demo, user=hq, incident=incident)]
    assert actions == ["reopen_as_live"]
    with pytest.raises(ValidationFailed):
        workflow.reopen_as_live(demo, user=hq, incident_id=incident.id, reason=" ", now=clock())
    demo.rollback()
    workflow.reopen_as_live(demo, user=hq, incident_id=incident.id, reason="Same failure seen again in 2026.",
                            now=clock())
    demo.commit()
    assert demo.get(Incident, incident.id).status == Status.REPORTED
    assert incident.id in {i.incident.id for i in workflow.triage_queue(demo, division_id=None, now=clock())}


def _decide_not_reportable(demo, incident, hq, now):  # type: ignore[no-untyped-def]
    """Head-office QA signs "not reportable" for each candidate the triage left to decide (closure waits for them)."""
    from qa_incidents.notifications import records
    from qa_incidents.notifications.models import NotificationRecord

    for record in demo.scalars(sa.select(NotificationRecord).where(NotificationRecord.incident_id == incident.id,
                                                                   NotificationRecord.state == "required")):
        records.mark_not_required(demo, user=hq, record=record, reason="Minor cut: no regime's trigger is met.",
                                  password="demo-password-2026", now=now)


def test_a_closed_incident_changes_only_by_a_signed_reopening(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    qa = demo_user("division.qa@example.com")
    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Door glass shattered during drying cycle"))
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S4,
                    override_reason="Minor cut only; glass batch already replaced.", now=clock())
    _decide_not_reportable(demo, incident, demo_user("hq.qa@example.com"), clock())
    workflow.close(demo, user=qa, incident_id=incident.id, reason="Isolated case.", now=clock())
    demo.commit()
    facts = service.facts_of(incident)
    facts.serious_injuries = 3
    with pytest.raises(service.RecordEnded):
        service.update_incident(demo, user=qa, incident_id=incident.id, facts=facts,
                                expected_version=incident.version, now=clock())
    demo.rollback()
    assert demo.get(Incident, incident.id).serious_injuries == 0
    with pytest.raises(SignatureRefused):
        workflow.reopen(demo, user=qa, incident_id=incident.id, reason="Two more reports.", password="wrong",
                        now=clock())
    demo.rollback()
    assert demo.get(Incident, incident.id).status == Status.CLOSED
    with pytest.raises(ValidationFailed):
        workflow.reopen(demo, user=qa, incident_id=incident.id, reason="", password=DEMO_PASSWORD, now=clock())
    demo.rollback()
    workflow.reopen(demo, user=qa, incident_id=incident.id, reason="Two more reports.", password=DEMO_PASSWORD,
                    now=clock())
    demo.commit()
    incident = demo.get(Incident, incident.id)
    assert incident.status == Status.TRIAGED
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.incident_id == incident.id,
                                                    AuditEvent.action == "reopen"))
    assert event.changes["reason"] == [None, "Two more reports."] and "reopened closed incident" in event.changes["signature"][1]
    facts = service.facts_of(incident)
    facts.serious_injuries = 3
    service.update_incident(demo, user=qa, incident_id=incident.id, facts=facts, expected_version=incident.version,
                            now=clock())
    demo.commit()
    assert demo.get(Incident, incident.id).serious_injuries == 3


def test_a_reporter_cannot_reopen(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    qa, reporter = demo_user("division.qa@example.com"), demo_user("reporter@example.com")
    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Door glass shattered during drying cycle"))
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S4, override_reason="Minor.", now=clock())
    _decide_not_reportable(demo, incident, demo_user("hq.qa@example.com"), clock())
    workflow.close(demo, user=qa, incident_id=incident.id, reason="Isolated case.", now=clock())
    demo.commit()
    with pytest.raises(Forbidden):
        workflow.reopen(demo, user=reporter, incident_id=incident.id, reason="x", password=DEMO_PASSWORD, now=clock())
