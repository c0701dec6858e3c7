"""A public product safety notice in a real browser: division QA drafts it in English and Japanese, head-office QA
signs it, and an anonymous customer reads it (in either language) from the public index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def severe(demo, clock):  # type: ignore[no-untyped-def]
    """The demo's fan heater incident, triaged S1 (committed before the live server reads it)."""
    from qa_incidents.accounts.models import User
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.rules import Severity

    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S1,
                    override_reason="Carbon monoxide at a customer's home.", now=clock() - timedelta(hours=2))
    demo.commit()
    return incident.id, incident.reference, incident.product.model


def test_draft_approve_and_the_public_page(severe, new_page: Callable[[], Page], log_in) -> None:
    incident_id, reference, model = severe
    qa = new_page()
    log_in(qa, "division.qa@example.com")
    qa.goto(f"/incidents/{incident_id}")
    qa.get_by_role("link", name="Draft a safety notice").click()
    expect(qa.get_by_label("Models")).to_have_value(model)
    qa.get_by_role("checkbox", name="日本語").check()
    qa.get_by_label("Contact phone").fill("0120-000-111")
    qa.get_by_label("Heading (English)").fill("Stop using FH-1200 fan heaters")
    qa.get_by_label("Product, in customers' words (English)").fill("Fan heater FH-1200")
    qa.get_by_label("What happened (English)").fill("A customer reported carbon monoxide from the heater.")
    qa.get_by_label("Heading (日本語)").fill("Stop using FH-1200")  # not yet Japanese: refused
    qa.get_by_label("Product, in customers' words (日本語)").fill("ファンヒーター FH-1200")
    qa.get_by_label("What happened (日本語)").fill("お客様から一酸化炭素の発生が報告されました。")
    qa.get_by_role("button", name="Save the draft").click()
    expect(qa.locator("#ja_heading-error")).to_have_text("Write the Japanese version in Japanese.")
    expect(qa.get_by_label("What happened (English)")).to_have_value("A customer reported carbon monoxide from the heater.")
    qa.get_by_label("Heading (日本語)").fill("FH-1200 ファンヒーターの使用中止のお願い")
    qa.get_by_role("button", name="Save the draft").click()
    expect(qa.locator(".flash-success")).to_contain_text("Version 1 of the safety notice is saved")
    expect(qa.locator(".lead .badge")).to_have_text("Being drafted (not public)")
    notice_url = qa.url
    qa.get_by_role("link", name="Assess the risk").click()
    qa.get_by_label("EU method (GPSR / Safety Gate risk assessment guidelines)").check()
    qa.get_by_label("Injury scenario").fill("A family runs the heater overnight in a closed room.")
    qa.get_by_label("Severity of injury").select_option("4")
    qa.get_by_label("Step 1: what happens").fill("The burner's seal fails")
    qa.get_by_label("Step 1: probability").fill("1/100")
    qa.get_by_label("Step 2: what happens").fill("The room is closed and people sleep")
    qa.get_by_label("Step 2: probability").fill("1/2")
    qa.get_by_label("Rationale").fill("Carbon monoxide can kill; the seal supplier's data gives 1 in 100.")
    qa.get_by_role("button", name="Record the assessment").click()
    expect(qa.locator(".flash-success")).to_contain_text("Risk assessment recorded: Serious risk")
    expect(qa.locator(".risk-panel td.risk-chosen")).to_have_text("◉ Serious risk")

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto(notice_url)
    hq.get_by_label("Your password").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign and publish").click()
    expect(hq.locator(".flash-success")).to_contain_text("is signed and on the public page")
    expect(hq.locator(".lead .badge")).to_have_text("Published")

    qa.goto(f"/incidents/{incident_id}")
    expect(qa.locator("#safety-notices")).to_contain_text("Published")

    customer = new_page()  # no log-in
    customer.goto("/recall/?lang=en")
    customer.get_by_role("link", name="Stop using FH-1200 fan heaters: Fan heater FH-1200").click()
    expect(customer.get_by_role("heading", level=2).first).to_have_text("Stop using FH-1200 fan heaters")
    main = customer.locator("main")
    expect(main).to_contain_text("Stop using the product now.")
    expect(main).to_contain_text("0120-000-111")
    expect(main).to_contain_text("Version 1 · published 2026-11-20")
    expect(main).not_to_contain_text(reference)
    customer.get_by_role("link", name="日本語").click()
    expect(customer.get_by_role("heading", level=2).first).to_have_text("FH-1200 ファンヒーターの使用中止のお願い")
    expect(main).to_contain_text("ただちに製品のご使用をおやめください。")
    expect(main).not_to_contain_text("Stop using the product now.")
