"""Head-office QA in a browser: saves a register view, assigns several incidents at once, sees them on My work, and
an incident's assignee on its page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_saved_view_bulk_assignment_and_my_work(page: Page, log_in) -> None:
    log_in(page, "hq.qa@example.com")
    page.goto("/incidents/?status=reported")
    page.get_by_label("Name of the view").fill("Reports to triage")
    page.get_by_role("button", name="Save this view").click()
    expect(page.locator(".flash-success")).to_contain_text("View “Reports to triage” saved.")
    link = page.locator("#saved-views").get_by_role("link", name="Reports to triage")
    expect(link).to_have_attribute("href", "/incidents/?status=reported")

    page.goto("/incidents/")
    boxes = page.locator("table.register input[type=checkbox]")
    refs = [page.locator("table.register tbody tr").nth(i).locator("td").nth(1).inner_text() for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Assign selected…").click()
    expect(page.get_by_role("group", name="2 incidents selected")).to_be_visible()
    page.get_by_label("Assign the selected incidents to").select_option(label="Yuki Nakamura (Head Office Quality Assurance)")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#bulk-counts")).to_have_text("Assigned: 2 · already so: 0 · refused: 0")

    page.goto("/my-work")
    assigned = page.locator("#assigned")
    expect(assigned.get_by_role("heading")).to_have_text("Incidents assigned to you (2)")
    for ref in refs:
        expect(assigned.get_by_role("link", name=ref)).to_be_visible()
    assigned.get_by_role("link", name=refs[0]).click()
    expect(page.locator("#assignee")).to_contain_text("Assigned to: Yuki Nakamura")
    expect(page.locator(".timeline")).to_contain_text(re.compile("assigned the incident"))
