"""Triage, escalation request and head office's signed approval, in a real browser; and the refused paths."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_triage_escalate_and_sign_approval(new_page: Callable[[], Page], log_in) -> None:
    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto("/incidents/1")
    division.get_by_role("link", name="Triage").click()
    expect(division.locator("#sugg-h")).to_contain_text("S1 critical")
    expect(division.locator("#why")).to_contain_text("Rule F1")
    division.get_by_role("button", name="Confirm severity").click()
    expect(division.locator(".flash-success")).to_contain_text("triaged as S1")

    division.get_by_role("link", name="Request escalation").click()
    division.get_by_label("Reason").fill("Fire at a customer's home; 48,200 units in the field.")
    division.get_by_role("button", name="Request escalation").click()
    expect(division.locator(".badge.status-escalation_requested")).to_have_text("Escalation requested")
    expect(division.locator(".workflow")).to_contain_text("waiting for head office")

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.get_by_role("link", name="Approval queue").click()
    row = hq.locator("tbody tr").first
    expect(row).to_contain_text("Refrigerator caught fire")
    row.get_by_role("link", name="Decide").click()

    hq.get_by_label("Comment").fill("Agreed: head office takes the lead.")
    hq.get_by_label("Your password (signature)").fill("not-my-password")
    hq.get_by_role("button", name="Sign decision").click()
    expect(hq.locator(".field-passwordfield .error")).to_contain_text("nothing was signed")
    expect(hq.get_by_label("Comment")).to_have_value("Agreed: head office takes the lead.")

    hq.get_by_label("Your password (signature)").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign decision").click()
    expect(hq.locator(".flash-success")).to_contain_text("approved")
    expect(hq.locator(".badge.status-escalated")).to_have_text("Escalated")
    signature = hq.locator(".signature").first
    expect(signature).to_contain_text("approved escalation")
    expect(signature).to_contain_text("Yuki Nakamura")
    expect(signature).to_contain_text("Agreed: head office takes the lead.")
    expect(hq.locator("#timeline")).to_contain_text("signed electronically")

    division.reload()
    expect(division.get_by_role("link", name="Record containment")).to_be_visible()


def test_refused_paths(new_page: Callable[[], Page], log_in) -> None:
    reporter = new_page()
    log_in(reporter, "reporter@example.com")
    reporter.goto("/incidents/1")
    expect(reporter.locator(".workflow")).to_contain_text("No workflow action is open to you")
    reporter.goto("/incidents/1/triage")
    expect(reporter.get_by_role("heading", level=1)).to_have_text("Not allowed")

    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto("/incidents/4")  # smoke from an air conditioner: the matrix suggests S3
    division.get_by_role("link", name="Triage").click()
    division.get_by_role("button", name="Confirm severity").click()
    expect(division.locator(".workflow .blocked")).to_contain_text("Only S1 and S2 incidents are escalated")
    division.goto("/incidents/4/escalation")
    expect(division.get_by_role("heading", level=1)).to_have_text("Not allowed")
