"""A group-wide early alert end to end: head office sends it about an escalated fire, two other divisions answer
(one with a file), and the incident page and the status report to top management show the answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from qa_incidents.accounts import service as accounts
from qa_incidents.accounts.models import Division, User
from qa_incidents.alerts import service as alerts
from qa_incidents.catalogue.models import Product
from qa_incidents.core.permissions import Role
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity

pytestmark = pytest.mark.browser
PASSWORD = "demo-password-2026"


@pytest.fixture
def escalated_fire(demo, clock) -> int:
    """The refrigerator fire escalated and approved; the catalogue links it to the cable and magnets divisions (a
    shared relay supplier, a shared design); a QA manager for the magnets division."""
    now = clock()

    def product_id(model: str) -> int:
        return demo.scalar(sa.select(Product.id).where(Product.model == model))

    alerts.add_part(demo, product_id=product_id("R-HW540"), kind="part", code="PR-7", name="PTC starter relay",
                    supplier="Kanto Relay Co.", actor_id=None, now=now)
    alerts.add_part(demo, product_id=product_id("EX-15A3"), kind="part", code="TF-152", name="Thermal fuse",
                    supplier="Kanto Relay Co.", actor_id=None, now=now)
    for model in ("R-HW540", "MR-GC1"):
        alerts.add_part(demo, product_id=product_id(model), kind="design", code="Cool-Core 2", actor_id=None, now=now)
    magnets = demo.scalar(sa.select(Division.id).where(Division.code == "MM"))
    accounts.create_user(demo, data=accounts.UserInput(email="magnets.qa@example.com", name="Mina Ito",
                                                       role=Role.DIVISION_QA, division_id=magnets, timezone="Asia/Tokyo"),
                         password=PASSWORD, actor_id=None, now=now)
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=now)
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire at a customer's home.", now=now)
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD,
                               comment="Head office leads.", now=now)
    demo.commit()
    return fire.id


def test_head_office_alerts_two_divisions_and_their_answers_reach_management(
        new_page: Callable[[], Page], log_in, escalated_fire: int, tmp_path) -> None:
    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto(f"/incidents/{escalated_fire}")
    hq.get_by_role("link", name="Send a group-wide alert").click()
    divisions = hq.locator("#alert-divisions")
    expect(divisions).to_contain_text("same supplier Kanto Relay Co. (EX-15A3)")
    expect(divisions).to_contain_text("same design Cool-Core 2 (MR-GC1)")
    expect(divisions.get_by_label("Cable Materials")).to_be_checked()
    expect(divisions.get_by_label("Magnetic Materials")).to_be_checked()
    expect(divisions.get_by_label("Specialty Steel")).not_to_be_checked()
    hq.get_by_label("What to check (subject)").fill("Check PTC relays from Kanto Relay Co. and Cool-Core 2 designs")
    hq.get_by_label("Message to the divisions' QA").fill("The relay contacts welded and overheated in a refrigerator.")
    hq.get_by_role("button", name="Send the alert").click()
    expect(hq.locator(".flash-success")).to_contain_text("went to 2 divisions")
    expect(hq.locator("#group-alerts")).to_contain_text("Not answered yet")

    cable = new_page()
    log_in(cable, "cable.qa@example.com")
    cable.goto("/my-work")
    cable.locator("#my-group-alerts").get_by_role("link", name="Check PTC relays").click()
    expect(cable.locator("h1")).to_contain_text("Check PTC relays")
    expect(cable.locator("body")).not_to_contain_text("Refrigerator caught fire")  # the division reads the alert only
    cable.get_by_label("Not affected", exact=True).check()
    cable.get_by_label("Evidence", exact=True).fill("EX-15A3 uses TF-152 thermal fuses, no relay; 40 cords checked.")
    evidence = tmp_path / "tf152-check.txt"
    evidence.write_text("TF-152 sample check: 40 of 40 fine\n")
    cable.get_by_label("Evidence file (optional)").set_input_files(str(evidence))
    cable.get_by_role("button", name="Send the answer").click()
    expect(cable.locator(".flash-success")).to_contain_text("answer is recorded")

    magnets = new_page()
    log_in(magnets, "magnets.qa@example.com")
    magnets.goto("/notifications/inbox")  # the bell
    expect(magnets.locator("body")).to_contain_text("Group-wide alert: check your products")
    magnets.goto("/my-work")
    magnets.locator("#my-group-alerts").get_by_role("link").first.click()
    magnets.get_by_label("Affected", exact=True).check()
    magnets.get_by_label("Evidence", exact=True).fill("MR-GC1 coolers of lot 2609 use the same relay batch.")
    magnets.get_by_role("button", name="Send the answer").click()
    expect(magnets.locator(".flash-success")).to_contain_text("answer is recorded")

    hq.goto(f"/incidents/{escalated_fire}")
    answers = hq.locator("#group-alerts")
    expect(answers.locator("tr[data-division='Cable Materials']")).to_contain_text("Not affected")
    expect(answers.locator("tr[data-division='Cable Materials']")).to_contain_text("tf152-check.txt")
    expect(answers.locator("tr[data-division='Magnetic Materials']")).to_contain_text("Affected")
    expect(answers).to_contain_text("MR-GC1 coolers of lot 2609 use the same relay batch.")
    expect(hq.locator("#timeline")).to_contain_text("answered the group-wide alert")

    hq.get_by_role("link", name="Next report: pending, add narrative").click()
    hq.get_by_role("button", name="Issue and send now").click()
    expect(hq.locator(".flash-success")).to_contain_text("issued")
    hq.goto(f"/incidents/{escalated_fire}")
    hq.locator("#status-reports").get_by_role("link").first.click()
    report = hq.locator(".status-report")
    expect(report).to_contain_text("Another division is affected (group-wide alert)")
    table = report.locator(".group-alert-answers")
    expect(table).to_contain_text("Cable Materials")
    expect(table).to_contain_text("Not affected")
    expect(table).to_contain_text("EX-15A3 uses TF-152 thermal fuses")
    expect(table).to_contain_text("Magnetic Materials")
    expect(table).to_contain_text("MR-GC1 coolers of lot 2609")
