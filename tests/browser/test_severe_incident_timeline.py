"""One severe incident walked through in a real browser, and its ONE timeline: the report to the government (submitted),
the status report to top management, the public safety notice (with its risk assessment) and the group-wide alert
answered by two other divisions, each on the incident page's timeline with what it was about."""

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
def severe_fire(demo, clock) -> int:
    """The refrigerator fire triaged S1 (its JP-CPSA-35 report to the Consumer Affairs Agency is due) and escalated;
    the catalogue ties it to the cable and magnets divisions; the magnets division gets a QA manager."""
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
                                                       role=Role.DIVISION_QA, division_id=magnets,
                                                       timezone="Asia/Tokyo"),
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


def test_a_severe_incident_shows_every_duty_done_on_one_timeline(
        new_page: Callable[[], Page], log_in, severe_fire: int) -> None:
    incident = f"/incidents/{severe_fire}"
    division = new_page()
    log_in(division, "division.qa@example.com")
    hq = new_page()
    log_in(hq, "hq.qa@example.com")

    # 1. The report to the government: drafted by the division, signed by head office, submitted.
    division.goto(incident)
    division.locator("table.notification-records").get_by_role("link", name="JP-CPSA-35").click()
    record_url = division.url
    division.get_by_label("商標", exact=True).fill("Acme")
    division.get_by_label("Information to follow").fill("Cause code follows with the analysis.")
    division.get_by_role("button", name="Save draft").click()
    expect(division.locator("#record-state")).to_have_text("Drafted")
    hq.goto(record_url)
    hq.locator("#approve").get_by_label("Your password (signature)").fill(PASSWORD)
    hq.get_by_role("button", name="Sign approval").click()
    expect(hq.locator(".flash-success")).to_contain_text("approved for submission")
    division.reload()
    division.get_by_label("Sent through").fill("Consumer Affairs Agency web form")
    division.get_by_label("Authority's reference number").fill("CAA-2026-0042")
    division.get_by_role("button", name="Record submission").click()
    expect(division.locator("#record-state")).to_have_text("Submitted")

    # 2. The public safety notice: drafted, its risk assessed (R-Map), signed by head office.
    division.goto(incident)
    division.get_by_role("link", name="Draft a safety notice").click()
    division.get_by_label("Contact phone").fill("0120-000-000")
    division.get_by_label("Heading (English)").fill("Stop using R-HW540 refrigerators")
    division.get_by_label("Product, in customers' words (English)").fill("French-door refrigerator R-HW540")
    division.get_by_label("What happened (English)").fill("A refrigerator caught fire in a customer's kitchen.")
    division.get_by_role("button", name="Save the draft").click()
    expect(division.locator(".flash-success")).to_contain_text("Version 1 of the safety notice is saved")
    notice_url = division.url
    division.get_by_role("link", name="Assess the risk").click()
    division.get_by_label("Frequency (accidents per unit-year)").fill("1/48200")
    division.get_by_label("Severity of harm").select_option("3")
    division.get_by_label("Rationale").fill("One kitchen fire among 48,200 units in their first year: region A.")
    division.get_by_role("button", name="Record the assessment").click()
    expect(division.locator(".flash-success")).to_contain_text("Risk assessment recorded: A: unacceptable risk")
    hq.goto(notice_url)
    expect(hq.locator(".risk-panel")).to_contain_text("A: unacceptable risk")
    hq.get_by_label("Your password").fill(PASSWORD)
    hq.get_by_role("button", name="Sign and publish").click()
    expect(hq.locator(".flash-success")).to_contain_text("is signed and on the public page")

    # 3. The group-wide alert, answered by two other divisions.
    hq.goto(incident)
    hq.get_by_role("link", name="Send a group-wide alert").click()
    hq.get_by_label("What to check (subject)").fill("Check PTC relays from Kanto Relay Co.")
    hq.get_by_label("Message to the divisions' QA").fill("The relay contacts welded and overheated in a refrigerator.")
    hq.get_by_role("button", name="Send the alert").click()
    expect(hq.locator(".flash-success")).to_contain_text("went to 2 divisions")
    for email, answer, evidence in (
            ("cable.qa@example.com", "Not affected", "EX-15A3 uses TF-152 thermal fuses, no relay."),
            ("magnets.qa@example.com", "Affected", "MR-GC1 coolers of lot 2609 use the same relay batch.")):
        other = new_page()
        log_in(other, email)
        other.goto("/my-work")
        other.locator("#my-group-alerts").get_by_role("link", name="Check PTC relays").click()
        other.get_by_label(answer, exact=True).check()
        other.get_by_label("Evidence", exact=True).fill(evidence)
        other.get_by_role("button", name="Send the answer").click()
        expect(other.locator(".flash-success")).to_contain_text("answer is recorded")

    # 4. The status report to top management, issued now.
    hq.goto(incident)
    hq.get_by_role("link", name="Next report: pending, add narrative").click()
    hq.get_by_role("button", name="Issue and send now").click()
    expect(hq.locator(".flash-success")).to_contain_text("issued")

    # ONE timeline, on the incident page, holds them all, each saying what it was about.
    division.goto(incident)
    timeline = division.locator("#timeline")
    expect(timeline.locator("li", has_text="recorded the submission of a regulator notification")).to_contain_text(
        "CAA-2026-0042")
    expect(timeline.locator("li", has_text="issued a status report to top management").first).to_be_visible()
    expect(timeline.locator("li", has_text="signed and published the public safety notice")).to_contain_text(
        "version 1")
    expect(timeline.locator("li", has_text="recorded a risk assessment")).to_contain_text("A: unacceptable risk")
    sent = timeline.locator("li", has_text="sent a group-wide alert to other divisions")
    expect(sent).to_contain_text("Cable Materials")
    expect(sent).to_contain_text("Magnetic Materials")
    answers = timeline.locator("li", has_text="answered the group-wide alert")
    expect(answers).to_have_count(2)
    expect(answers.filter(has_text="Oliver Hughes")).to_contain_text("Cable Materials: Not affected")
    expect(answers.filter(has_text="Mina Ito")).to_contain_text("Magnetic Materials: Affected")
    # The report to top management carries the risk assessment and the answers too.
    hq.goto(incident)
    hq.locator("#status-reports").get_by_role("link").first.click()
    report = hq.locator(".status-report")
    expect(report).to_contain_text("A: unacceptable risk")
    expect(report.locator(".group-alert-answers")).to_contain_text("Magnetic Materials")
