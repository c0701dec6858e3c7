"""Group-wide early alert pages: head office sends from the incident, the addressed divisions' QA answer with
evidence, per role and division; what each one sees (an addressed division never sees the incident)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, form_with, text

from qa_incidents.accounts.models import Division, User
from qa_incidents.alerts import service as alerts
from qa_incidents.alerts.models import GroupAlert, GroupAlertDivision
from qa_incidents.catalogue.models import Product
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity

PASSWORD = "demo-password-2026"


def _user(demo, email):
    return demo.scalar(sa.select(User).where(User.email == email))


def _division_id(demo, code):
    return demo.scalar(sa.select(Division.id).where(Division.code == code))


@pytest.fixture
def fire(demo, clock):
    """The refrigerator fire, escalated and approved; its relay's supplier also supplies the cable division."""
    now = clock()
    for model, code in (("R-HW540", "PR-7"), ("EX-15A3", "TF-152")):
        alerts.add_part(demo, product_id=demo.scalar(sa.select(Product.id).where(Product.model == model)), kind="part",
                        code=code, supplier="Kanto Relay Co.", actor_id=None, now=now)
    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    qa, hq = _user(demo, "division.qa@example.com"), _user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S1, override_reason="", now=now)
    workflow.request_escalation(demo, user=qa, incident_id=incident.id, reason="Fire", now=now)
    workflow.decide_escalation(demo, user=hq, incident_id=incident.id, approve=True, password=PASSWORD,
                               comment="Head office leads.", now=now)
    demo.commit()
    return incident


def _send(hq, fire, demo, divisions=("CM", "SS")):
    page = hq.get(f"/incidents/{fire.id}/group-alert")
    data = form_with(page, "subject").data(subject="Check PTC relays from Kanto Relay Co.",
                                           message="Relay contacts welded; check lots since 2026-06.")
    data["division_ids"] = [str(_division_id(demo, c)) for c in divisions]
    return hq.post(f"/incidents/{fire.id}/group-alert", data=data)


def test_only_head_office_qa_opens_the_alert_form_with_suggestions(browser_as, fire, demo):
    hq = browser_as("hq.qa@example.com")
    page = hq.get(f"/incidents/{fire.id}/group-alert")
    assert page.status_code == 200
    body = text(page)
    assert "Cable Materials" in body and "same supplier Kanto Relay Co. (EX-15A3)" in body
    assert "no match in the catalogue" in body  # the other divisions, which head office may still choose
    ticked = form_with(page, "subject").values.get("division_ids")
    assert ticked == str(_division_id(demo, "CM"))  # the suggestion comes ticked
    for email in ("division.qa@example.com", "reporter@example.com", "executive@example.com", "cable.qa@example.com",
                  "engineer@example.com", "admin@example.com"):
        assert browser_as(email).get(f"/incidents/{fire.id}/group-alert").status_code == 403, email
    assert "Send a group-wide alert" in text(hq.get(f"/incidents/{fire.id}"))
    assert "Send a group-wide alert" not in text(browser_as("division.qa@example.com").get(f"/incidents/{fire.id}"))


def test_a_refused_alert_shows_the_reasons_and_keeps_the_input(browser_as, fire, demo):
    hq = browser_as("hq.qa@example.com")
    page = hq.get(f"/incidents/{fire.id}/group-alert")
    data = form_with(page, "subject").data(subject="", message="Relay contacts welded.", due_on="2020-01-01")
    data.pop("division_ids", None)
    refused = hq.post(f"/incidents/{fire.id}/group-alert", data=data)
    assert refused.status_code == 422
    body = text(refused)
    assert "Say in a line what the divisions should check." in body and "Choose at least one division." in body
    assert "The due date cannot be in the past." in body and "Relay contacts welded." in body
    assert demo.scalar(sa.select(sa.func.count(GroupAlert.id))) == 0


def test_no_alert_before_the_escalation_is_approved(browser_as, demo, clock):
    smoke = demo.scalar(sa.select(Incident).where(Incident.title == "Indoor unit emitted smoke, breaker tripped"))
    hq = browser_as("hq.qa@example.com")
    page = hq.get(f"/incidents/{smoke.id}/group-alert")
    assert page.status_code == 200 and "S1 and S2 incidents only" in text(page)
    refused = hq.post(f"/incidents/{smoke.id}/group-alert", data={
        "csrf_token": form_with(hq.get(f"/incidents/{smoke.id}"), "body").values["csrf_token"],
        "subject": "x", "message": "y", "division_ids": str(_division_id(demo, "CM")), "due_on": "2026-11-27"})
    assert refused.status_code == 422 and "S1 and S2 incidents only" in text(refused)


def test_a_division_without_a_qa_manager_is_not_alerted_silently(browser_as, fire, demo, fresh):
    """Specialty Steel has no QA manager in the demo: the sender is told, the alert says so, head office is e-mailed."""
    from qa_incidents.core.audit import AuditEvent
    from qa_incidents.core.outbox import OutboxMessage

    hq = browser_as("hq.qa@example.com")
    sent = _send(hq, fire, demo, divisions=("CM", "SS"))
    assert sent.status_code == 302
    told = " ".join(m for m in text(hq.get(sent.headers["Location"])).split("\n"))
    assert "Nobody in Specialty Steel receives the alert: no active QA manager." in told
    assert "Cable Materials receives" not in told
    alert_id = fresh(sa.select(GroupAlert.id))
    page = text(hq.get(f"/group-alerts/{alert_id}"))
    assert "Nobody in Specialty Steel receives or may answer this alert" in page
    assert "Cable Materials" not in page.split("Nobody in")[1].split("alert")[0]
    mail = fresh(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("group-alert-sent-unreceived:%")))
    assert mail.to_addrs == "hq.qa@example.com"
    assert "Nobody in Specialty Steel receives the group-wide alert" in mail.subject
    event = fresh(sa.select(AuditEvent).where(AuditEvent.action == "group alert sent"))
    assert event.changes["no_qa_manager"] == [None, "Specialty Steel"]
    # The cable division's QA manager, who does receive it, sees no such warning.
    assert "Nobody in" not in text(browser_as("cable.qa@example.com").get(f"/group-alerts/{alert_id}"))


def test_the_addressed_division_answers_with_a_file_and_never_sees_the_incident(browser_as, fire, demo, fresh):
    hq = browser_as("hq.qa@example.com")
    sent = _send(hq, fire, demo)
    assert sent.status_code == 302 and "#group-alerts" in sent.headers["Location"]
    alert_id = fresh(sa.select(GroupAlert.id))
    cable = browser_as("cable.qa@example.com")
    work = text(cable.get("/my-work"))
    assert "Group-wide alerts to answer" in work and "Check PTC relays from Kanto Relay Co." in work
    assert "Check PTC relays" in text(cable.get("/notifications/inbox"))  # the bell
    page = cable.get(f"/group-alerts/{alert_id}")
    body = text(page)
    assert page.status_code == 200 and "Relay contacts welded" in body and "Answer for Cable Materials" in body
    assert fire.reference not in body and fire.title not in body and "Specialty Steel" not in body
    assert cable.get(f"/incidents/{fire.id}").status_code == 404
    answered = cable.post(f"/group-alerts/{alert_id}/answer", content_type="multipart/form-data", data={
        **form_with(page, "evidence").data(answer="not_affected", evidence="EX-15A3 uses TF-152 fuses; 40 checked."),
        "file": (io.BytesIO(b"TF-152 sample check: all fine\n"), "tf152.txt")})
    assert answered.status_code == 302
    incident_page = text(hq.get(f"/incidents/{fire.id}"))
    assert "Group-wide early alert" in incident_page and "EX-15A3 uses TF-152 fuses; 40 checked." in incident_page
    assert "Not affected" in incident_page and "Not answered yet" in incident_page and "tf152.txt" in incident_page
    answer_id = fresh(sa.select(GroupAlertDivision.id).where(GroupAlertDivision.division_id == _division_id(demo, "CM")))
    from qa_incidents.alerts.models import GroupAlertAnswer

    evidence_id = fresh(sa.select(GroupAlertAnswer.id).where(GroupAlertAnswer.addressee_id == answer_id))
    for email in ("hq.qa@example.com", "cable.qa@example.com", "division.qa@example.com", "executive@example.com"):
        got = browser_as(email).get(f"/group-alerts/answers/{evidence_id}/evidence")
        assert got.status_code == 200 and got.data == b"TF-152 sample check: all fine\n", email
    for email in ("cable.reporter@example.com", "engineer@example.com"):
        assert browser_as(email).get(f"/group-alerts/answers/{evidence_id}/evidence").status_code == 404, email


def test_who_may_read_and_answer_per_role_and_division(browser_as, fire, demo, fresh):
    _send(browser_as("hq.qa@example.com"), fire, demo)
    alert_id = fresh(sa.select(GroupAlert.id))
    statuses = {email: browser_as(email).get(f"/group-alerts/{alert_id}").status_code for email in (
        "hq.qa@example.com", "executive@example.com", "division.qa@example.com", "reporter@example.com",
        "cable.qa@example.com", "cable.reporter@example.com", "engineer@example.com", "admin@example.com")}
    assert statuses == {"hq.qa@example.com": 200, "executive@example.com": 200, "division.qa@example.com": 200,
                        "reporter@example.com": 200, "cable.qa@example.com": 200, "cable.reporter@example.com": 404,
                        "engineer@example.com": 404, "admin@example.com": 404}
    for email, status in (("hq.qa@example.com", 403), ("division.qa@example.com", 403),
                          ("executive@example.com", 403), ("cable.reporter@example.com", 404)):
        client = browser_as(email)
        got = client.post(f"/group-alerts/{alert_id}/answer", data={
            "csrf_token": csrf_token(client, "/account"), "answer": "affected", "evidence": "x"})
        assert got.status_code == status, email
    assert "Check PTC relays" in text(browser_as("cable.qa@example.com").get("/group-alerts/"))
    assert "Check PTC relays" in text(browser_as("reporter@example.com").get("/group-alerts/"))  # its incident's division
    assert "No group-wide alert." in text(browser_as("cable.reporter@example.com").get("/group-alerts/"))
    assert fresh(sa.select(sa.func.count()).select_from(GroupAlertDivision)
                 .where(GroupAlertDivision.answer != "pending")) == 0


def test_a_changed_answer_shows_the_earlier_one_and_a_bad_one_keeps_the_input(browser_as, fire, demo, fresh):
    _send(browser_as("hq.qa@example.com"), fire, demo)
    alert_id = fresh(sa.select(GroupAlert.id))
    cable = browser_as("cable.qa@example.com")
    page = cable.get(f"/group-alerts/{alert_id}")
    bad = cable.post(f"/group-alerts/{alert_id}/answer", data=form_with(page, "evidence").data(answer="investigating",
                                                                                               evidence=" "))
    assert bad.status_code == 422 and "Give the evidence" in text(bad)
    assert form_with(bad, "evidence").values.get("answer") == "investigating"
    for answer, evidence in (("investigating", "Pulling samples of lot 2609."), ("affected", "Lot 2609 relays welded.")):
        page = cable.get(f"/group-alerts/{alert_id}")
        assert cable.post(f"/group-alerts/{alert_id}/answer", data=form_with(page, "evidence").data(
            answer=answer, evidence=evidence)).status_code == 302
    body = text(browser_as("hq.qa@example.com").get(f"/group-alerts/{alert_id}"))
    assert "Lot 2609 relays welded." in body and "Earlier answers (1)" in body and "Pulling samples of lot 2609." in body
    pending = text(browser_as("division.qa@example.com").get(f"/incidents/{fire.id}/status-reports/next"))
    assert "Another division is affected (group-wide alert)" in pending and "Lot 2609 relays welded." in pending


def test_overdue_answers_show_on_my_work(browser_as, fire, demo, fresh, clock):
    _send(browser_as("hq.qa@example.com"), fire, demo)
    demo.rollback()  # a fresh transaction: the views wrote since this session last read
    demo.execute(sa.update(GroupAlert).values(due_on=clock().date() - timedelta(days=2)))
    demo.commit()
    assert "overdue by 2 days" in text(browser_as("cable.qa@example.com").get("/my-work"))
    hq_work = text(browser_as("hq.qa@example.com").get("/my-work"))
    assert "Group-wide alerts waiting for answers" in hq_work and "overdue by 2 days" in hq_work


def test_an_administrator_records_parts_and_designs_that_then_suggest_divisions(browser_as, demo, fresh):
    product_id = fresh(sa.select(Product.id).where(Product.model == "RS-FR95"))
    admin = browser_as("admin@example.com")
    assert "Parts, suppliers and designs" in text(admin.get(f"/admin/catalogue/products/{product_id}"))
    page = admin.get(f"/admin/catalogue/products/{product_id}/parts")
    assert page.status_code == 200
    bad = admin.post(f"/admin/catalogue/products/{product_id}/parts",
                     data=form_with(page, "code").data(kind="part", code="", supplier="Kanto Relay Co."))
    assert bad.status_code == 422 and "Give the part number" in text(bad)
    assert form_with(bad, "code").values["supplier"] == "Kanto Relay Co."  # what was typed is kept
    added = admin.post(f"/admin/catalogue/products/{product_id}/parts", data=form_with(page, "code").data(
        kind="part", code="CR-9", name="Crimp ring", supplier="Kanto Relay Co."))
    assert added.status_code == 302
    assert "Crimp ring" in text(admin.get(f"/admin/catalogue/products/{product_id}/parts"))
    for email in ("hq.qa@example.com", "cable.qa@example.com"):
        assert browser_as(email).get(f"/admin/catalogue/products/{product_id}/parts").status_code == 403


def test_an_administrator_corrects_and_retires_a_part_audited_and_nothing_is_deleted(browser_as, fire, demo, fresh):
    from qa_incidents.alerts.models import ProductPart

    part = fresh(sa.select(ProductPart).where(ProductPart.code == "TF-152"))
    part_id, product_id = part.id, part.product_id
    admin = browser_as("admin@example.com")
    edit = admin.get(f"/admin/catalogue/parts/{part_id}")
    assert edit.status_code == 200
    bad = admin.post(f"/admin/catalogue/parts/{part_id}", data=form_with(edit, "code").data(code="TF-153", reason=""))
    assert bad.status_code == 422 and "Say why it is corrected." in text(bad)
    assert form_with(bad, "code").values["code"] == "TF-153"  # what was typed is kept
    fixed = admin.post(f"/admin/catalogue/parts/{part_id}", data=form_with(edit, "code").data(
        code="TF-153", supplier="Kanto Relay Co.", reason="Typo in the part number"))
    assert fixed.status_code == 303
    page = text(admin.get(f"/admin/catalogue/products/{product_id}/parts"))
    assert "TF-153" in page and "corrected TF-153 (TF-152 → TF-153) — Typo in the part number" in page

    hq = browser_as("hq.qa@example.com")
    assert "same supplier Kanto Relay Co. (EX-15A3)" in text(hq.get(f"/incidents/{fire.id}/group-alert"))
    token = csrf_token(admin, f"/admin/catalogue/products/{product_id}/parts")
    refused = admin.post(f"/admin/catalogue/parts/{part_id}/retire", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and "Say why it is retired." in text(refused)
    retired = admin.post(f"/admin/catalogue/parts/{part_id}/retire",
                         data={"csrf_token": token, "reason": "The EX-15A3 now uses another relay"})
    assert retired.status_code == 303
    page = text(admin.get(f"/admin/catalogue/products/{product_id}/parts"))
    assert "Retired" in page and "Reinstate" in page and "The EX-15A3 now uses another relay" in page
    # A retired part suggests no division any more; it is still on record.
    assert "same supplier Kanto Relay Co. (EX-15A3)" not in text(hq.get(f"/incidents/{fire.id}/group-alert"))
    assert fresh(sa.select(ProductPart.active).where(ProductPart.id == part_id)) is False
    actions = set(fresh_all_actions(demo, part_id))
    assert {"corrected", "retired"} <= actions
    for email in ("hq.qa@example.com", "division.qa@example.com"):
        assert browser_as(email).get(f"/admin/catalogue/parts/{part_id}").status_code == 403


def fresh_all_actions(demo, part_id):  # type: ignore[no-untyped-def]
    from qa_incidents.core.audit import AuditEvent

    demo.rollback()
    return list(demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "product_part",
                                                                AuditEvent.entity_id == part_id)))


def test_the_alert_pages_in_japanese(browser_as, fire, demo, fresh):
    demo.execute(sa.update(User).values(locale="ja"))
    demo.commit()
    hq = browser_as("hq.qa@example.com")
    form = hq.get(f"/incidents/{fire.id}/group-alert")
    assert "グループ横断早期警報を発信" in text(form) and "同じサプライヤー" in text(form)
    data = form_with(form, "subject").data(subject="関東リレー製PTCリレーの確認", message="接点の溶着を確認してください。")
    data["division_ids"] = [str(_division_id(demo, "CM"))]
    assert hq.post(f"/incidents/{fire.id}/group-alert", data=data).status_code == 302
    alert_id = fresh(sa.select(GroupAlert.id))
    cable = browser_as("cable.qa@example.com")
    page = cable.get(f"/group-alerts/{alert_id}")
    assert "該当なし" in text(page) and "回答を送信" in text(page)
    cable.post(f"/group-alerts/{alert_id}/answer", data=form_with(page, "evidence").data(answer="investigating",
                                                                                        evidence="サンプル調査中。"))
    pages = [text(hq.get(f"/incidents/{fire.id}")), text(hq.get(f"/group-alerts/{alert_id}")),
             text(hq.get("/my-work")), text(cable.get("/my-work")), text(cable.get(f"/group-alerts/{alert_id}")),
             text(hq.get("/group-alerts/"))]
    english = ("Group-wide", "Not answered", "Investigating", "Why asked", "Answer for", "Earlier answers",
               "Send the", "due soon", "chosen by head office", "What head office", "answered the group-wide")
    for body in pages:
        assert [w for w in english if w in body] == []
    assert "調査中" in pages[0] and "グループ横断早期警報に回答" in pages[0]  # the answer, and the timeline's words
