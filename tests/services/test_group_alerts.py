"""Group-wide early alerts through the services: who sends and answers, what a division is told (never the
incident), answers kept when changed, evidence files, reminders, the incident page's data and the status report."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts import service as accounts
from qa_incidents.accounts.models import Division, User
from qa_incidents.alerts import service as alerts
from qa_incidents.alerts.models import GroupAlertAnswer, GroupAlertDivision
from qa_incidents.alerts.rules import AlertAnswer, Basis
from qa_incidents.catalogue.models import Product
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.permissions import Role
from qa_incidents.core.storage import Storage
from qa_incidents.inbox import service as inbox
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Attachment, Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.reports import service as reports

PASSWORD = "demo-password-2026"


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


def division(session, code) -> Division:
    return session.scalar(sa.select(Division).where(Division.code == code))


def product(session, model) -> Product:
    return session.scalar(sa.select(Product).where(Product.model == model))


@pytest.fixture
def world(demo, clock):
    """The refrigerator fire escalated by head office; the catalogue says which other divisions share what; a QA
    manager for the magnets division (the demo has none)."""
    now = clock()
    alerts.add_part(demo, product_id=product(demo, "R-HW540").id, kind="part", code="PR-7", name="PTC starter relay",
                    supplier="Kanto Relay Co.", actor_id=None, now=now)
    alerts.add_part(demo, product_id=product(demo, "EX-15A3").id, kind="part", code="TF-152", name="Thermal fuse",
                    supplier="Kanto Relay Co.", actor_id=None, now=now)
    alerts.add_part(demo, product_id=product(demo, "R-HW540").id, kind="design", code="Cool-Core 2", actor_id=None,
                    now=now)
    alerts.add_part(demo, product_id=product(demo, "MR-GC1").id, kind="design", code="cool-core 2", actor_id=None,
                    now=now)
    accounts.create_user(demo, data=accounts.UserInput(email="magnets.qa@example.com", name="Mina Ito",
                                                       role=Role.DIVISION_QA, division_id=division(demo, "MM").id,
                                                       timezone="Asia/Tokyo"),
                         password=PASSWORD, actor_id=None, now=now)
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    qa = user(demo, "division.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=now)
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=now)
    demo.commit()
    return fire


def send(session, incident, clock, *, divisions=("CM", "MM"), by="hq.qa@example.com", **changes):
    args = {"subject": "Check PTC relays from Kanto Relay Co.", "message": "Relay contacts welded and overheated.",
            "division_ids": [division(session, c).id for c in divisions], "due_on": clock().date() + timedelta(days=7)}
    return alerts.send_alert(session, user=user(session, by), incident_id=incident.id, now=clock(),
                             today=clock().date(), **(args | changes))


def approve(session, incident, clock):
    workflow.decide_escalation(session, user=user(session, "hq.qa@example.com"), incident_id=incident.id, approve=True,
                               password=PASSWORD, comment="Head office leads.", now=clock())
    session.commit()


def test_the_catalogue_suggests_divisions_sharing_a_supplier_or_a_design(demo, world):
    choices = {c.division.code: c for c in alerts.suggestions(demo, world)}
    assert "HA" not in choices and "HQ" not in choices  # the incident's own division works the case already
    assert [(m.basis, m.value, m.model) for m in choices["CM"].matches] == [(Basis.SUPPLIER, "Kanto Relay Co.", "EX-15A3")]
    assert [(m.basis, m.value) for m in choices["MM"].matches] == [(Basis.DESIGN, "Cool-Core 2")]
    assert not choices["SS"].suggested
    assert [c.division.code for c in alerts.suggestions(demo, world)][:2] == ["CM", "MM"]  # suggested ones first


def test_an_alert_waits_for_the_escalation_to_be_approved(demo, world, clock):
    with pytest.raises(DomainError, match="approved the escalation"):
        send(demo, world, clock)


def test_only_head_office_qa_sends(demo, world, clock):
    approve(demo, world, clock)
    for email in ("division.qa@example.com", "cable.qa@example.com", "executive@example.com"):
        with pytest.raises(Forbidden):
            send(demo, world, clock, by=email)


def test_a_refused_alert_says_why_by_field(demo, world, clock):
    approve(demo, world, clock)
    with pytest.raises(ValidationFailed) as refused:
        send(demo, world, clock, subject=" ", message="", divisions=("HA",), due_on=clock().date() - timedelta(days=1))
    assert set(refused.value.errors) == {"subject", "message", "division_ids", "due_on"}
    assert "own division" in refused.value.errors["division_ids"]


def test_sending_tells_each_division_without_naming_the_incident(demo, world, clock):
    approve(demo, world, clock)
    alert = send(demo, world, clock)
    demo.commit()
    rows = {a.division.code: a for a in alert.addressees}
    assert set(rows) == {"CM", "MM"} and all(a.answer == AlertAnswer.PENDING for a in rows.values())
    assert rows["CM"].basis == "same supplier Kanto Relay Co. (EX-15A3)"
    sent = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("group-alert-sent:%"))).all()
    assert {m.to_addrs for m in sent} == {"cable.qa@example.com", "magnets.qa@example.com"}
    for m in sent:
        assert m.incident_id is None and world.reference not in m.body_text and world.title not in m.subject
        assert "Check PTC relays" in m.subject
    cable_qa = user(demo, "cable.qa@example.com")
    assert any("Check PTC relays" in i["item"].text for i in inbox.items(demo, user=cable_qa))  # the bell
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.action == "group alert sent"))
    assert event.incident_id == world.id and event.changes["divisions"][1] == "Magnetic Materials, Cable Materials"
    assert [a.division.code for a in alerts.to_answer(demo, cable_qa)] == ["CM"]
    assert len(alerts.awaiting_answers(demo, user(demo, "hq.qa@example.com"))) == 2


def test_only_the_addressed_divisions_qa_answers(demo, world, clock):
    approve(demo, world, clock)
    alert = send(demo, world, clock, divisions=("CM",))
    demo.commit()
    for email in ("hq.qa@example.com", "division.qa@example.com"):  # head office does not answer for a division
        with pytest.raises(Forbidden):
            alerts.answer_alert(demo, user=user(demo, email), alert_id=alert.id, answer="not_affected",
                                evidence="x", now=clock())
    for email in ("cable.reporter@example.com", "magnets.qa@example.com", "engineer@example.com"):
        with pytest.raises(NotFound):  # not addressed: the alert does not exist for them
            alerts.answer_alert(demo, user=user(demo, email), alert_id=alert.id, answer="not_affected",
                                evidence="x", now=clock())
    with pytest.raises(ValidationFailed) as refused:
        alerts.answer_alert(demo, user=user(demo, "cable.qa@example.com"), alert_id=alert.id, answer="maybe",
                            evidence=" ", now=clock())
    assert set(refused.value.errors) == {"answer", "evidence"}


def test_a_changed_answer_keeps_the_earlier_one(demo, world, clock, tmp_path):
    approve(demo, world, clock)
    alert = send(demo, world, clock)
    cable_qa = user(demo, "cable.qa@example.com")
    alerts.answer_alert(demo, user=cable_qa, alert_id=alert.id, answer="investigating",
                        evidence="Checking which cords use TF-152.", now=clock())
    stored = Storage(tmp_path, max_bytes=10_000).put(io.BytesIO(b"TF-152 lot check: no welded contacts\n"))
    later = clock() + timedelta(days=2)
    alerts.answer_alert(demo, user=cable_qa, alert_id=alert.id, answer="not_affected",
                        evidence="TF-152 is a fuse, not a relay; 40 samples fine.", stored=stored,
                        filename="tf152-check.txt", now=later)
    demo.commit()
    row = demo.scalar(sa.select(GroupAlertDivision).where(GroupAlertDivision.division_id == cable_qa.division_id))
    assert row.answer == AlertAnswer.NOT_AFFECTED and row.answered_at == later
    assert [(a.answer, a.evidence[:8]) for a in row.answers] == [(AlertAnswer.INVESTIGATING, "Checking"),
                                                                (AlertAnswer.NOT_AFFECTED, "TF-152 i")]
    # the file is one of the incident's attachments, uploaded by the division that answered
    attachment = demo.scalar(sa.select(Attachment).where(Attachment.filename == "tf152-check.txt"))
    assert attachment.incident_id == world.id and attachment.uploaded_by_id == cable_qa.id
    assert alerts.evidence(demo, user=cable_qa, answer_id=row.answers[1].id).id == attachment.id
    with pytest.raises(NotFound):  # another division's QA
        alerts.evidence(demo, user=user(demo, "magnets.qa@example.com"), answer_id=row.answers[1].id)
    answered = demo.scalars(sa.select(AuditEvent).where(AuditEvent.action == "group alert answered")
                            .order_by(AuditEvent.id)).all()
    assert [e.changes["answer"] for e in answered] == [["pending", "investigating"], ["investigating", "not_affected"]]
    # never changed nor deleted, by the ORM or behind its back
    with pytest.raises(RuntimeError):
        row.answers[0].evidence = "rewritten"
        demo.flush()
    demo.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        demo.execute(sa.delete(GroupAlertAnswer))
    demo.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        demo.execute(sa.update(GroupAlertAnswer).values(evidence="rewritten"))
    demo.rollback()


def test_an_addressed_division_reads_its_own_answer_only(demo, world, clock):
    approve(demo, world, clock)
    alert = send(demo, world, clock)
    demo.commit()
    cable_qa, hq = user(demo, "cable.qa@example.com"), user(demo, "hq.qa@example.com")
    assert [a.division.code for a in alerts.visible_addressees(demo, cable_qa, alert)] == ["CM"]
    assert not alerts.reads_incident(demo, cable_qa, alert)
    assert len(alerts.visible_addressees(demo, hq, alert)) == 2
    assert [a.id for a, _ in alerts.list_alerts(demo, user=cable_qa)] == [alert.id]
    assert alerts.list_alerts(demo, user=user(demo, "cable.reporter@example.com")) == []
    with pytest.raises(NotFound):
        alerts.get_alert(demo, user=user(demo, "cable.reporter@example.com"), alert_id=alert.id)


def test_answers_reach_the_status_report_and_affected_triggers_one(demo, world, clock):
    approve(demo, world, clock)
    alert = send(demo, world, clock)
    alerts.answer_alert(demo, user=user(demo, "cable.qa@example.com"), alert_id=alert.id, answer="affected",
                        evidence="EX-15A3 lots 2609-2611 use the same relay batch.", now=clock())
    demo.commit()
    pending = reports.pending_for(demo, world.id)
    assert ["group_alert_affected", "Cable Materials"] in [[t["kind"], t["detail"]] for t in pending.triggers]
    report = reports.issue(demo, incident=world, now=clock() + timedelta(minutes=1))
    demo.commit()
    [line] = report.content["group_alerts"]
    assert line["subject"] == "Check PTC relays from Kanto Relay Co."
    assert {d["division"]: d["answer"] for d in line["divisions"]} == {"Cable Materials": "affected",
                                                                       "Magnetic Materials": "pending"}
    assert "EX-15A3 lots 2609-2611" in report.html and "Not answered yet" in report.html
    # the division that has not answered is a next step, with its due date
    steps = [s for s in report.content["next_steps"] if s["kind"] == "group_alert"]
    assert [(s["owner"], s["due"][:10]) for s in steps] == [("Magnetic Materials", alert.due_on.isoformat())]
    assert "Answer the group-wide alert: Check PTC relays from Kanto Relay Co. — Magnetic Materials" in report.html


def test_reminder_the_day_before_and_overdue_notice_once(demo, world, clock):
    approve(demo, world, clock)
    alert = send(demo, world, clock, due_on=clock().date() + timedelta(days=3))
    alerts.answer_alert(demo, user=user(demo, "magnets.qa@example.com"), alert_id=alert.id, answer="not_affected",
                        evidence="No Cool-Core 2 part in the coil assembly.", now=clock())
    demo.commit()
    assert alerts.alert_scan(demo, clock()) == 0
    assert alerts.alert_scan(demo, clock() + timedelta(days=2)) == 1  # the cable division only: magnets answered
    assert alerts.alert_scan(demo, clock() + timedelta(days=2, hours=1)) == 0  # once
    assert alerts.alert_scan(demo, clock() + timedelta(days=4)) == 2  # the division and the sender
    assert alerts.alert_scan(demo, clock() + timedelta(days=5)) == 0
    demo.commit()
    keys = set(demo.scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("group-alert-%"))))
    assert any(k.startswith("group-alert-reminder:") for k in keys)
    assert any(k.startswith("group-alert-overdue:") for k in keys)
    assert any(k.startswith("group-alert-overdue-sender:") for k in keys)
    # investigating keeps it open, and late
    alerts.answer_alert(demo, user=user(demo, "cable.qa@example.com"), alert_id=alert.id, answer="investigating",
                        evidence="Still testing.", now=clock() + timedelta(days=5))
    assert [a.division.code for a in alerts.to_answer(demo, user(demo, "cable.qa@example.com"))] == ["CM"]


def test_the_demo_parts_suggest_divisions_for_the_demo_heater(demo, clock):
    from qa_incidents.alerts.seed import seed_demo

    assert seed_demo(demo, now=clock()) == 6
    assert seed_demo(demo, now=clock()) == 0  # idempotent
    heater = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    found = {c.division.code: [(m.basis.value, m.value) for m in c.matches]
             for c in alerts.suggestions(demo, heater) if c.suggested}
    assert found == {"CM": [("supplier", "Kanto Relay Co.")],
                     "MM": [("part", "TS-40"), ("supplier", "Kanto Relay Co.")]}


def test_the_scheduler_job_sends_the_reminders(app, demo, world, clock):
    from qa_incidents.core.scheduler import JOBS, run_group_alert_scan

    approve(demo, world, clock)
    send(demo, world, clock, divisions=("CM",), due_on=clock().date() + timedelta(days=1))
    demo.commit()
    assert JOBS["group_alerts"][0] is run_group_alert_scan
    assert run_group_alert_scan(app) == 1  # due tomorrow (the app's clock is the test's)
    assert run_group_alert_scan(app) == 0
    demo.rollback()
    reminder = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("group-alert-reminder:%")))
    assert reminder.to_addrs == "cable.qa@example.com" and reminder.subject.startswith("Reminder: group-wide alert due")


def test_sending_is_among_what_management_reads_as_decided(demo, world, clock):
    approve(demo, world, clock)
    send(demo, world, clock)
    demo.commit()
    report = reports.issue(demo, incident=world, now=clock() + timedelta(minutes=1))
    assert ("group_alert", "group alert sent") in [(d["entity"], d["action"]) for d in report.content["decided"]]
    assert "sent a group-wide alert to other divisions" in report.html
