"""A reportability decision for every candidate obligation: "to decide" candidates become records awaiting a signed
decision (due date, owner, warnings); "reportable" and "not reportable" are signatures on the facts they rest on."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.signatures import Signature, SignatureRefused
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.obligations import Verdict
from qa_incidents.notifications.service import obligations_for
from qa_incidents.reports.rules import Trigger
from qa_incidents.reports.service import reported, reports_of, trigger

PASSWORD = "demo-password-2026"


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def glass(demo, clock):
    """The demo door glass in the US (a minor injury): CPSC 15(b) is "to decide"."""
    incident = demo.scalar(sa.select(Incident).where(Incident.title.contains("Door glass shattered")))
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S2, override_reason="", now=clock())
    demo.commit()
    return incident


def cpsc(session, incident) -> NotificationRecord:
    return session.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == incident.id,
                                                             NotificationRecord.regime_code == "US-CPSC-15B"))


def test_a_to_decide_candidate_gets_a_pending_decision_with_due_date_owner_and_warning(demo, glass, clock):
    record = cpsc(demo, glass)
    assert record is not None and record.decision_pending and record.state == "required"
    assert record.owner.email == "division.qa@example.com"
    assert record.due_at is not None and record.due_at > glass.aware_at
    assert record.due_explanation.startswith("Decision due")
    # Not yet reportable: no status report to top management for it.
    assert not reports_of(demo, glass.id)
    assert [d.verdict for d in records.decisions_of(demo, glass.id) if d.record.id == record.id] == ["pending"]
    # The warning scan reminds the owner when the decision is overdue.
    assert records.warning_scan(demo, now=record.due_at + timedelta(minutes=1)) >= 1
    subjects = demo.scalars(sa.select(OutboxMessage.subject).where(OutboxMessage.incident_id == glass.id)).all()
    assert any("US-CPSC-15B" in s and "OVERDUE" in s for s in subjects)
    bodies = demo.scalars(sa.select(OutboxMessage.body_text).where(OutboxMessage.incident_id == glass.id)).all()
    assert any("State: To decide" in b for b in bodies)
    # Drafting waits for the decision.
    assert records.Step.DRAFT not in records.steps_for(record, user(demo, "division.qa@example.com"))


def test_not_reportable_keeps_reasons_and_the_facts_it_rested_on(demo, glass, clock):
    record = cpsc(demo, glass)
    hq = user(demo, "hq.qa@example.com")
    records.mark_not_required(demo, user=hq, record=record, reason="Tempered glass broke on impact; no hazard.",
                              password=PASSWORD, now=clock())
    demo.commit()
    assert record.state == "not_required" and not record.decision_pending
    signature = demo.get(Signature, record.not_required_signature_id)
    assert signature.signer_name == hq.name and signature.content["decision"] == "not reportable"
    assert signature.content["justification"] == "Tempered glass broke on impact; no hazard."
    assert signature.content["facts"]["country"] == "US" and signature.content["facts"]["title"] == glass.title
    assert signature.content["assessment"] == record.origin_reason != ""
    [row] = [d for d in records.decisions_of(demo, glass.id) if d.record.id == record.id]
    assert row.verdict == "not_reportable" and row.signature.id == signature.id


def test_reportable_makes_it_required_and_issues_the_status_report(demo, glass, clock):
    record = cpsc(demo, glass)
    hq = user(demo, "hq.qa@example.com")
    with pytest.raises(records.ValidationFailed):
        records.decide_reportable(demo, user=hq, record=record, reasons="", password=PASSWORD, now=clock())
    records.decide_reportable(demo, user=hq, record=record, reasons="Repeated failures support a hazard.",
                              password=PASSWORD, now=clock())
    demo.commit()
    assert record.state == "required" and not record.decision_pending
    signature = demo.get(Signature, record.decision_signature_id)
    assert signature.meaning == "decided regulator notification reportable"
    assert signature.content["reasons"] == "Repeated failures support a hazard." and signature.content["facts"]
    [report] = reports_of(demo, glass.id)
    # top management reads the decision among what was decided, not "nothing decided yet"
    assert ("notification_record", "notification_decided_reportable") in {
        (d["entity"], d["action"]) for d in report.content["decided"]}
    assert records.Step.DRAFT in records.steps_for(record, user(demo, "division.qa@example.com"))
    # reported on from now on, escalated or not: the next change is queued for the next report
    assert reported(demo, glass) and trigger(demo, incident=glass, kind=Trigger.MANUAL, now=clock())
    # Its draft is the authority's form: the items of 16 CFR 1115.13(d).
    assert record.obligation is not None and record.obligation.regime_code == "US-CPSC-15B"
    assert "(7) number of products involved" in records.missing(record)


def test_the_requester_cannot_sign_the_decision(demo, glass, clock):
    record = cpsc(demo, glass)
    hq = user(demo, "hq.qa@example.com")
    records.request_clock_event(demo, user=hq, record=record, comment="please decide", now=clock())
    with pytest.raises(SignatureRefused):
        records.decide_reportable(demo, user=hq, record=record, reasons="x", password=PASSWORD, now=clock())
    with pytest.raises(SignatureRefused):
        records.mark_not_required(demo, user=hq, record=record, reason="x", password=PASSWORD, now=clock())
    assert record.decision_pending


def test_division_qa_cannot_decide(demo, glass, clock):
    record = cpsc(demo, glass)
    with pytest.raises(records.Forbidden):
        records.decide_reportable(demo, user=user(demo, "division.qa@example.com"), record=record, reasons="x",
                                  password=PASSWORD, now=clock())


def test_every_candidate_of_the_demo_incidents_has_a_decision_or_an_open_decision_record(demo, glass, clock):
    records.derive_all(demo, now=clock())
    demo.commit()
    worked = demo.scalars(sa.select(Incident).where(Incident.status.not_in(["reported", "closed", "historical"]))).all()
    assert glass in worked
    for incident in worked:
        found = {r.regime_code: r for r in records.records_of(demo, incident.id) if r.kind == "initial"}
        for item in obligations_for(demo, incident):
            if item.assessment.verdict == Verdict.NOT_TRIGGERED:
                continue
            assert item.obligation.regime_code in found, (incident.reference, item.obligation.regime_code)
    # Run again: nothing more to add.
    assert records.derive_all(demo, now=clock()) == 0


def test_the_command_gives_existing_incidents_their_decision_records(app, demo):
    import json

    from qa_incidents.incidents.rules import Status

    # An incident triaged before decision records existed: worked on, but without a record for its candidates.
    incident = demo.scalar(sa.select(Incident).where(Incident.title.contains("Door glass shattered")))
    incident.status = Status.TRIAGED
    demo.commit()
    assert cpsc(demo, incident) is None
    result = app.test_cli_runner().invoke(args=["derive-decisions"])
    assert result.exit_code == 0 and json.loads(result.stdout.strip().splitlines()[-1])["incidents_changed"] >= 1
    demo.rollback()
    record = cpsc(demo, incident)
    assert record is not None and record.decision_pending and record.due_at is not None
    again = app.test_cli_runner().invoke(args=["derive-decisions"])
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"incidents_changed": 0}


# --- before triage: every candidate has its record from filing on ------------------------------------------------


def _candidates_have_records(session, incident) -> dict[str, NotificationRecord]:
    """Every candidate obligation (not "not triggered") of the incident has a record: a decision (a signed one, or
    required by the facts) or an open decision record with a due date. Returns the records by regime."""
    found = {r.regime_code: r for r in records.records_of(session, incident.id) if r.kind == "initial"}
    for item in obligations_for(session, incident):
        if item.assessment.verdict == Verdict.NOT_TRIGGERED:
            continue
        code = item.obligation.regime_code
        assert code in found, (incident.reference, code)
        assert found[code].due_at is not None, code
        if item.assessment.verdict == Verdict.DECIDE:
            assert found[code].decision_pending, code
    return found


def test_a_filed_incident_has_its_decision_records_before_triage(demo, demo_user, make_facts, clock):
    from qa_incidents.incidents import service
    from qa_incidents.incidents.rules import Status

    reporter = demo_user("reporter@example.com")
    facts = make_facts("BD-SX120", title="Smoke from the control panel again", country="US", place="Columbus, OH",
                       smoke=True, no_harm=False, recurrence_risk=True)
    incident = service.file_incident(demo, user=reporter, facts=facts, now=clock())
    demo.commit()
    assert incident.status == Status.REPORTED
    found = _candidates_have_records(demo, incident)
    record = found["US-CPSC-15B"]
    assert record.decision_pending and record.due_at > incident.aware_at
    assert record.due_explanation.startswith("Decision due")
    # A reporter files; the decision belongs to the division's QA.
    assert record.owner.email == "division.qa@example.com"
    from qa_incidents.core.audit import AuditEvent

    audit_actions = demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.incident_id == incident.id)).all()
    assert "notification_decision_due" in audit_actions


def test_a_facts_change_before_triage_derives_through_the_same_place(demo, demo_user, make_facts, clock):
    from qa_incidents.incidents import service
    from qa_incidents.incidents.rules import Care

    reporter = demo_user("reporter@example.com")
    incident = service.file_incident(demo, user=reporter, facts=make_facts("BD-SX120", country="AU",
                                                                           place="Melbourne"), now=clock())
    demo.commit()
    # One injury, the care it received not stated: whether it was serious under the ACL is to be decided.
    assert _candidates_have_records(demo, incident)["AU-ACL-131"].decision_pending
    facts = service.facts_of(incident)
    facts.injury_care = Care.DOCTOR_OR_NURSE  # now the facts decide it
    service.update_incident(demo, user=reporter, incident_id=incident.id, facts=facts, expected_version=1,
                            now=clock() + timedelta(minutes=5))
    demo.commit()
    found = _candidates_have_records(demo, incident)
    assert found["AU-ACL-131"].state == "required" and not found["AU-ACL-131"].decision_pending


def test_imported_history_gets_no_decision_records(demo, demo_user, make_facts, clock):
    from qa_incidents.incidents import service, workflow

    hq = demo_user("hq.qa@example.com")
    facts = make_facts("BD-SX120", country="US", place="Columbus, OH", smoke=True, no_harm=False,
                       recurrence_risk=True)
    incident = service.file_incident(demo, user=hq, facts=facts, now=clock(), history=True)
    workflow.record_as_history(demo, user=hq, incident=incident, source="test", now=clock())
    demo.commit()
    assert records.records_of(demo, incident.id) == []
    assert records.derive(demo, incident=incident, user=hq, now=clock()) == []
    records.derive_all(demo, now=clock())
    assert records.records_of(demo, incident.id) == []
    # Made live work again, it gets them like a new report.
    workflow.reopen_as_live(demo, user=hq, incident_id=incident.id, reason="A customer reported it again.", now=clock())
    demo.commit()
    assert _candidates_have_records(demo, incident)["US-CPSC-15B"].decision_pending


def test_every_live_demo_incident_triaged_or_not_has_its_decision_records(demo, clock):
    records.derive_all(demo, now=clock())
    demo.commit()
    live = demo.scalars(sa.select(Incident).where(Incident.status.not_in(["closed", "historical"]))).all()
    assert any(i.status.value == "reported" for i in live)
    for incident in live:
        _candidates_have_records(demo, incident)


def test_a_severity_change_after_a_report_became_owed_is_recorded(demo, clock):
    """Changing the severity of an incident that already owes a report works (the derivation's own bookkeeping does
    not stand in for the severity it was changed from)."""
    incident = demo.get(Incident, 1)
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    assert any(r.state == "required" and not r.decision_pending for r in records.records_of(demo, incident.id))
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S2,
                    override_reason="The board was replaced before anyone was hurt.", now=clock())
    demo.commit()
    assert incident.severity == Severity.S2
    assert [d.severity for d in workflow.triage_decisions(demo, incident.id)] == [Severity.S1, Severity.S2]
