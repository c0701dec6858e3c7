"""Each regime assesses the incident by its own definitions: an Australian injury treated by a doctor is a serious
injury under ACL s.131 ("Applies"); repeated smoke in the US with nobody hurt asks for a CPSA §15(b) judgement
("To decide")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from test_filing import open_filing_form

pytestmark = pytest.mark.browser


def file_incident(page: Page, *, title: str, country: str, place: str, harm: dict[str, str],
                  ticks: tuple[str, ...], care: str = "") -> None:
    open_filing_form(page)
    division = page.get_by_label("Division", exact=True)
    expect(division.locator("option:checked")).to_have_text("Home Appliances")  # preset to the user's division
    division.select_option(label="Home Appliances")
    product = page.locator("#product_id option[data-division]").first
    page.get_by_label("Product (model)").select_option(product.get_attribute("value"))
    page.get_by_label("Short title").fill(title)
    page.get_by_label("Lot numbers").fill("L2611-05")
    page.get_by_label("Country of occurrence").select_option(label=country)
    page.get_by_label("Place of occurrence").fill(place)
    page.get_by_label("Occurred at").fill("2026-11-18T09:30")
    page.get_by_label("Company became aware at").fill("2026-11-18T14:00")
    page.get_by_label("Source", exact=True).select_option(label="Customer complaint")
    page.get_by_label("Hazard type").select_option(label="Overheating")
    for label, value in harm.items():
        page.get_by_label(label, exact=True).fill(value)
    for label in ticks:
        page.get_by_label(label, exact=True).check()
    if care:
        page.get_by_label("Most serious care an injured person received").select_option(label=care)
    page.get_by_label("Units in the field").fill("800")
    page.get_by_label("Description", exact=True).fill(f"{title}. Reported by the customer.")
    page.get_by_role("button", name="File incident").click()
    errors = page.locator("p.error")
    assert errors.count() == 0, errors.all_inner_texts()
    expect(page).to_have_url(re.compile(r"/incidents/\d+$"))


def obligation_row(page: Page, code: str):  # type: ignore[no-untyped-def]
    """The obligation's row in the obligations table (the notification records and decisions tables list it too)."""
    return page.locator("#obligations tbody tr[class^='verdict-']").filter(has_text=code)


def test_each_regime_assesses_by_its_own_definitions(page: Page, log_in) -> None:
    log_in(page, "reporter@example.com")
    # one minor injury in Australia, which a doctor treated
    file_incident(page, title="Hand burnt on the oven door", country="Australia", place="Melbourne",
                  harm={"Minor injuries": "1"}, ticks=(), care="Treated by a doctor or nurse")
    row = obligation_row(page, "AU-ACL-131")
    expect(row).to_contain_text("Applies")
    expect(row).to_contain_text("an injury treated by a doctor or nurse, is a serious injury under the ACL")
    expect(row).to_contain_text("s.131(1)")

    file_incident(page, title="Smoke from the control panel again", country="United States", place="Columbus, OH",
                  harm={},
                  ticks=("Smoke", "A malfunction that could cause death or serious injury if it recurred"))
    row = obligation_row(page, "US-CPSC-15B")
    expect(row).to_contain_text("To decide")
    expect(row).to_contain_text("substantial product hazard")
    expect(row).to_contain_text("15 U.S.C. 2064(b)")
