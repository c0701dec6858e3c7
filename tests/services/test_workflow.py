"""Triage, escalation with electronic signatures, the outbox and SLA warnings, on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.signatures import Signature, SignatureRefused, content_hash
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.incidents.workflow_models import Escalation, TriageDecision

PASSWORD = "demo-password-2026"


def user(session, email):
    return session.scalar(sa.select(User).where(User.email == email))


def incident_titled(session, text):
    return session.scalar(sa.select(Incident).where(Incident.title.contains(text)))


@pytest.fixture
def fire(demo):
    """The demo refrigerator fire (48,200 units in the field): the matrix suggests S1 by rule F1."""
    return incident_titled(demo, "Refrigerator caught fire")


def test_suggestion_explains_the_rule(demo, fire, clock):
    suggestion = workflow.suggestion_for(demo, fire, now=clock())
    assert suggestion.severity == Severity.S1 and suggestion.rule_id == "F1"
    assert "10,000" in suggestion.reason


def test_triage_records_decision_with_matrix_version(demo, fire, clock):
    qa = user(demo, "division.qa@example.com")
    decision = workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    assert (decision.suggested, decision.severity, decision.matrix_version, decision.suggested_rule) == (
        Severity.S1, Severity.S1, 1, "F1")
    assert fire.status == Status.TRIAGED and fire.severity == Severity.S1


def test_override_needs_a_reason(demo, fire, clock):
    qa = user(demo, "division.qa@example.com")
    with pytest.raises(ValidationFailed) as e:
        workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S3, override_reason=" ", now=clock())
    assert "matrix suggests S1" in e.value.errors["override_reason"]
    demo.rollback()
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S2, override_reason="Relay fault isolated to one lot",
                    now=clock())
    demo.commit()
    assert demo.scalar(sa.select(TriageDecision.override_reason)) == "Relay fault isolated to one lot"


def test_reporter_cannot_triage(demo, fire, clock):
    with pytest.raises(Forbidden):
        workflow.triage(demo, user=user(demo, "reporter@example.com"), incident_id=fire.id, severity=Severity.S1,
                        override_reason="", now=clock())


def _escalate(session, incident, clock):
    qa = user(session, "division.qa@example.com")
    workflow.triage(session, user=qa, incident_id=incident.id, severity=Severity.S1, override_reason="", now=clock())
    clock.advance(minutes=30)
    workflow.request_escalation(session, user=qa, incident_id=incident.id, reason="Fire, 48k units", now=clock())
    session.commit()


def test_escalation_request_queues_mail_to_head_office(demo, fire, clock):
    _escalate(demo, fire, clock)
    mail = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.subject.contains("Escalation requested")))
    assert mail.to_addrs == "hq.qa@example.com" and fire.reference in mail.subject
    queue = workflow.escalation_queue(demo, now=clock())
    assert [item.incident.id for item in queue] == [fire.id]


def test_approval_with_signature(demo, fire, clock):
    _escalate(demo, fire, clock)
    hq = user(demo, "hq.qa@example.com")
    escalation = workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD,
                                            comment="Agreed", now=clock())
    demo.commit()
    assert fire.status == Status.ESCALATED and escalation.decision == "approved"
    signature = demo.get(Signature, escalation.signature_id)
    assert (signature.signer_name, signature.meaning, signature.comment) == ("Yuki Nakamura", "approved escalation", "Agreed")
    assert signature.content["incident"] == fire.reference
    assert signature.content_sha256 == content_hash(signature.content)


def test_wrong_password_signs_nothing(demo, fire, clock):
    _escalate(demo, fire, clock)
    hq = user(demo, "hq.qa@example.com")
    with pytest.raises(SignatureRefused):
        workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password="wrong", comment="",
                                   now=clock())
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Signature.id))) == 0
    assert demo.get(Incident, fire.id).status == Status.ESCALATION_REQUESTED


def test_rejection_needs_a_comment_and_returns_to_triaged(demo, fire, clock):
    _escalate(demo, fire, clock)
    hq = user(demo, "hq.qa@example.com")
    with pytest.raises(ValidationFailed):
        workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=False, password=PASSWORD, comment="",
                                   now=clock())
    demo.rollback()
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=False, password=PASSWORD,
                               comment="Contained by the division; no escalation", now=clock())
    demo.commit()
    assert demo.get(Incident, fire.id).status == Status.TRIAGED
    assert demo.scalar(sa.select(Escalation.decision)) == "rejected"
    assert demo.scalar(sa.select(Signature.meaning)) == "rejected escalation"


def test_division_qa_cannot_approve(demo, fire, clock):
    _escalate(demo, fire, clock)
    with pytest.raises(Forbidden):
        workflow.decide_escalation(demo, user=user(demo, "division.qa@example.com"), incident_id=fire.id, approve=True,
                                   password=PASSWORD, comment="", now=clock())


def test_signatures_are_immutable_in_the_database(demo, fire, clock):
    _escalate(demo, fire, clock)
    workflow.decide_escalation(demo, user=user(demo, "hq.qa@example.com"), incident_id=fire.id, approve=True,
                               password=PASSWORD, comment="", now=clock())
    demo.commit()
    with pytest.raises(sa.exc.DBAPIError):
        demo.execute(sa.text("UPDATE signature SET meaning = 'forged'"))
        demo.flush()
    demo.rollback()
    with pytest.raises(sa.exc.DBAPIError):
        demo.execute(sa.text("DELETE FROM signature"))
    demo.rollback()
    assert demo.scalar(sa.select(Signature.meaning)) == "approved escalation"


def test_full_path_to_closure_is_guarded(demo, fire, clock):
    _escalate(demo, fire, clock)
    qa = user(demo, "division.qa@example.com")
    workflow.decide_escalation(demo, user=user(demo, "hq.qa@example.com"), incident_id=fire.id, approve=True,
                               password=PASSWORD, comment="", now=clock())
    workflow.contain(demo, user=qa, incident_id=fire.id, reason="Shipments of lot L2611 stopped", now=clock())
    workflow.start_review(demo, user=qa, incident_id=fire.id, now=clock())
    with pytest.raises(Forbidden) as e:
        workflow.close(demo, user=qa, incident_id=fire.id, reason="done", now=clock())
    assert "review is not approved" in str(e.value)


def test_minor_case_closes_from_triage(demo, clock):
    smoke = incident_titled(demo, "Indoor unit emitted smoke")
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=smoke.id, severity=Severity.S3, override_reason="", now=clock())
    workflow.close(demo, user=qa, incident_id=smoke.id, reason="Installer error; terminal re-made", now=clock())
    demo.commit()
    assert demo.get(Incident, smoke.id).status == Status.CLOSED


def test_sla_scan_warns_once_then_reports_the_breach(demo, fire, clock):
    # The fire was known a day before the frozen clock: its S1 triage SLA (4 h) is long breached.
    assert workflow.sla_scan(demo, now=clock()) >= 1
    demo.commit()
    breach = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == f"sla:triage:breached:{fire.id}:0"))
    assert "SLA BREACHED" in breach.subject and "hq.qa@example.com" in breach.to_addrs
    before = demo.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    workflow.sla_scan(demo, now=clock.advance(hours=1))
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count(OutboxMessage.id))) == before  # never twice


def test_escalation_decision_sla(demo, fire, clock):
    _escalate(demo, fire, clock)
    workflow.sla_scan(demo, now=clock())
    demo.commit()
    assert demo.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.subject.contains("escalation decision"))) is None
    workflow.sla_scan(demo, now=clock.advance(hours=18))  # 75 % of 24 h
    demo.commit()
    warning = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.subject.contains("SLA due soon: escalation decision")))
    assert warning is not None and warning.to_addrs == "hq.qa@example.com"
    workflow.sla_scan(demo, now=clock.advance(hours=6))
    demo.commit()
    breach = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.subject.contains("SLA BREACHED: escalation decision")))
    assert "division.qa@example.com" in breach.to_addrs
    assert workflow.escalation_queue(demo, now=clock())[0].state.value == "breached"


def test_my_work_by_role(demo, fire, clock):
    qa = user(demo, "division.qa@example.com")
    work = workflow.my_work(demo, user=qa, now=clock())
    assert fire.id in [i.incident.id for i in work.to_triage]
    assert all(i.incident.division_id == qa.division_id for i in work.to_triage)
    _escalate(demo, fire, clock)
    hq_work = workflow.my_work(demo, user=user(demo, "hq.qa@example.com"), now=clock())
    assert [i.incident.id for i in hq_work.escalations] == [fire.id]


def test_matrix_edit_makes_a_new_version_and_new_triage_uses_it(demo, fire, clock):
    from qa_incidents.incidents.severity import DEFAULT_MATRIX, HarmClass, MatrixRule

    admin = user(demo, "admin@example.com")
    rules = [MatrixRule("X1", Severity.S2, harm=(HarmClass.FIRE,)), *DEFAULT_MATRIX.rules]
    new = workflow.save_matrix(demo, user=admin, rules=rules, fallback=Severity.S4, similar_window_days=365,
                               note="Fires are S2 unless exposure says otherwise", now=clock())
    demo.commit()
    assert new.version == 2
    suggestion = workflow.suggestion_for(demo, fire, now=clock())
    assert (suggestion.severity, suggestion.rule_id, suggestion.matrix_version) == (Severity.S2, "X1", 2)
    with pytest.raises(ValidationFailed):
        workflow.save_matrix(demo, user=admin, rules=rules, fallback=Severity.S4, similar_window_days=365,
                             note="no change", now=clock())


def test_similar_reports_count_same_product_within_window(demo, fire, clock):
    assert workflow.similar_reports(demo, fire, window_days=365) == 0
    clone = Incident(**{c.key: getattr(fire, c.key) for c in Incident.__table__.columns if c.key not in ("id", "reference")},
                     reference="INC-2026-900000")
    clone.aware_at = fire.aware_at - timedelta(days=10)
    clone.occurred_at = clone.aware_at - timedelta(hours=1)
    demo.add(clone)
    demo.commit()
    assert workflow.similar_reports(demo, fire, window_days=365) == 1
    assert workflow.similar_reports(demo, fire, window_days=5) == 0


def test_a_case_known_to_have_no_children_equals_the_counted_one(demo, fire, clock):
    """The incident page skips the counts of kinds of record the incident has none of: the case must not change."""
    assert workflow.case_of(demo, fire, absent=workflow.CASE_CHILDREN) == workflow.case_of(demo, fire)
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.flush()
    counted = workflow.case_of(demo, fire)
    assert counted.open_notifications > 0  # triage derived the records the laws map requires
    assert workflow.case_of(demo, fire, absent=frozenset({"recalls", "reviews"})) == counted
