"""The laws map in a real browser: from the menu to the matrix, back to 2024, and into a law."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SCREENS = Path("/tmp/qa_screens")


def test_laws_map_from_the_menu_to_a_law(page: Page, log_in) -> None:
    log_in(page, "reporter@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Laws map").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Laws map")
    matrix = page.locator("table#laws-map")
    expect(matrix.locator("caption")).to_contain_text("Laws in force on 2026-11-20")

    fridges_eu = matrix.locator('td[data-cell="home.refrigerators/EU"]')
    in_force_eu = fridges_eu.locator("li:not(.not-yet) a.law-link")
    expect(in_force_eu).to_have_text(["EU-ENERGY-LABEL", "EU-GPSR", "EU-LVD", "EU-REACH-33", "EU-RoHS"])
    fridges_jp = matrix.locator('td[data-cell="home.refrigerators/JP"]')
    expect(fridges_jp.locator("a.law-link")).to_have_text(["JP-CPSA", "JP-PSE"])
    expect(fridges_jp.locator("a.law-change")).to_have_text("changes on 2027-01-03")
    expect(matrix.get_by_role("rowheader", name="Refrigerators")).to_have_attribute(
        "title", "Home appliances › Refrigerators")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "laws_map.png"), full_page=True)

    page.get_by_label("Laws in force on").fill("2024-12-12")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"on=2024-12-12"))
    expect(matrix.locator("caption")).to_contain_text("Laws in force on 2024-12-12")
    expect(in_force_eu).to_have_text(["EU-ENERGY-LABEL", "EU-GPSD", "EU-LVD", "EU-REACH-33", "EU-RoHS"])
    expect(fridges_eu.locator("a.law-change")).to_have_text("changes on 2024-12-13")

    fridges_jp.get_by_role("link", name="JP-CPSA", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("JP-CPSA")
    obligations = page.locator("#obligations")
    expect(obligations.get_by_role("heading", level=3)).to_have_text("JP-CPSA-35 Serious product accident report (重大製品事故報告)")
    expect(obligations).to_contain_text("10 days counting the day any department first learns of the accident")
    expect(obligations.locator("aside.tbc").first).to_contain_text("To be confirmed by the legal department")
    expect(page.locator("#history")).to_contain_text("Law JP-CPSA created")
    expect(page.locator("#incidents")).to_contain_text("Refrigerator caught fire in kitchen")
    page.screenshot(path=str(SCREENS / "law_page.png"), full_page=True)
