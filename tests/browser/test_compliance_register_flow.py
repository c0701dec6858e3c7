"""The technical-law compliance register in a real browser: the matrix from the menu, filtered to the gaps, and a
re-assessment closed from My work with a recorded conclusion."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SCREENS = Path("/tmp/qa_screens")


def test_matrix_and_closing_a_reassessment(page: Page, log_in) -> None:
    log_in(page, "division.qa@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Technical-law compliance")
    matrix = page.locator("table#compliance-matrix")
    expect(matrix.locator('td[data-cell="R-HW540/CN-CCC"] .badge').first).to_have_text("Evidence expiring")
    expect(matrix.locator('td[data-cell="R-S38/JP-PSE"] .badge.compliance-gap')).to_have_text("Gap: no evidence")
    expect(matrix.locator("tr[data-model='EX-15A3']")).to_have_count(0)  # the cable division's model
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "compliance_matrix.png"), full_page=True)

    page.get_by_label("State").select_option(label="Gap: no evidence")
    page.get_by_role("button", name="Show").click()
    expect(matrix.locator("tr[data-model='R-HW540']")).to_have_count(0)
    expect(matrix.locator("tr[data-model='R-S38']")).to_have_count(1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()
    section = page.locator("section#reassessments")
    expect(section.get_by_role("heading")).to_have_text("Technical-law re-assessments (2)")
    section.get_by_role("link", name="R-S38: JP-PSE").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Re-assess R-S38 against JP-PSE")
    page.get_by_role("button", name="Close the re-assessment").click()  # neither evidence nor a conclusion
    expect(page.locator("#conclusion-error")).to_contain_text("Attach evidence or record the conclusion")
    page.get_by_label("Conclusion").fill("Not affected because R-S38 has no ice maker.")
    page.get_by_role("button", name="Close the re-assessment").click()
    expect(page.locator(".flash-success")).to_contain_text("Re-assessment closed.")
    expect(page.locator("#task-status")).to_have_text("closed")
    expect(page.locator("#task-conclusion")).to_have_text("Not affected because R-S38 has no ice maker.")
