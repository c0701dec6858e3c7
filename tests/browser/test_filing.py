"""Filing an incident through the real form in Chromium, finding it in the register, and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SCREENS = Path("/tmp/qa_screens")
TITLE = "Heater control board smouldering in showroom"
DESCRIPTION = "Showroom staff noticed a burning smell and light smoke from the control panel.\nUnit unplugged at once."


def open_filing_form(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="File an incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("File an incident")


def choose_visible_product(page: Page) -> str:
    """Pick the first product option that app.js leaves visible for the chosen division; return its label."""
    division = page.get_by_label("Division", exact=True)
    division_value = division.input_value()
    visible = page.locator("#product_id option[value]:not([value=\"\"]):not([hidden]):not([disabled])")  # not the blank "choose…"
    expect(visible.first).to_be_attached()
    # Every option still offered belongs to the chosen division (app.js hid the others).
    owners = visible.evaluate_all("options => options.map(o => o.dataset.division)")
    assert owners and set(owners) == {division_value}, owners
    value = visible.first.get_attribute("value")
    label = visible.first.inner_text().strip()
    assert value
    page.get_by_label("Product (model)").select_option(value)
    return label


def fill_incident(page: Page, *, occurred: str, aware: str) -> str:
    """Fill every field as a reporter would; return the chosen product's label."""
    division = page.get_by_label("Division", exact=True)
    expect(division.locator("option:checked")).to_have_text("Home Appliances")  # preset to the user's division
    division.select_option(label="Home Appliances")
    product = choose_visible_product(page)
    page.get_by_label("Short title").fill(TITLE)
    page.get_by_label("Lot numbers").fill("L2611-03, L2611-04")
    page.get_by_label("Country of occurrence").select_option(label="Japan")
    page.get_by_label("Place of occurrence").fill("Nagoya showroom")
    expect(page.get_by_label("Times below are in")).to_have_value("Asia/Tokyo")
    page.get_by_label("Occurred at").fill(occurred)
    page.get_by_label("Company became aware at").fill(aware)
    page.get_by_label("Source", exact=True).select_option(label="Service report")
    page.get_by_label("Hazard type").select_option(label="Overheating")
    page.get_by_label("Smoke", exact=True).check()
    page.get_by_label("Units in the field").fill("1250")
    page.get_by_label("Description", exact=True).fill(DESCRIPTION)
    return product


def test_file_incident_then_find_it_in_the_register(page: Page, log_in) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    log_in(page, "reporter@example.com")
    open_filing_form(page)
    product = fill_incident(page, occurred="2026-11-18T09:30", aware="2026-11-18T14:00")
    page.get_by_role("button", name="File incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/7$"))
    expect(page.locator(".flash-success")).to_have_text("Incident INC-2026-000007 filed.")
    expect(page.locator(".ref")).to_have_text("INC-2026-000007")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".heading-row .badge").first).to_have_text("Reported")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(product.split(" (")[0])
    expect(facts).to_contain_text("Nagoya showroom, Japan")
    expect(facts).to_contain_text("2026-11-18 09:30 JST")
    expect(facts).to_contain_text("2026-11-18 14:00 JST")
    expect(facts).to_contain_text("1,250")
    expect(facts).to_contain_text("Smoke")
    expect(page.locator(".description")).to_have_text(DESCRIPTION)
    page.screenshot(path=str(SCREENS / "incident-filed.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incident register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incident register")
    page.get_by_label("Text", exact=True).fill("smouldering")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.register tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("INC-2026-000007")
    expect(rows.first).to_contain_text(TITLE)
    expect(rows.first).to_contain_text("2026-11-18 14:00 JST")
    expect(page.locator("#count strong")).to_have_text("1 incident")
    expect(page.get_by_label("Text", exact=True)).to_have_value("smouldering")
    page.screenshot(path=str(SCREENS / "register.png"), full_page=True)

    rows.first.get_by_role("link", name="INC-2026-000007").click()
    expect(page.locator(".ref")).to_have_text("INC-2026-000007")
    filed = page.locator("#timeline li.event").filter(has_text="filed the incident")
    expect(filed).to_have_count(1)
    expect(filed).to_contain_text("Aiko Tanaka")
    # Filing also gave each candidate obligation its record (smoke in Japan: a reportability decision is due).
    expect(page.locator("table.notification-records")).to_contain_text("To decide")


def test_aware_before_occurred_shows_the_error_and_keeps_every_value(page: Page, log_in) -> None:
    log_in(page, "reporter@example.com")
    open_filing_form(page)
    fill_incident(page, occurred="2026-11-18T14:00", aware="2026-11-18T09:30")
    product_value_before = page.get_by_label("Product (model)").input_value()
    page.get_by_role("button", name="File incident").click()

    expect(page.locator(".flash-error")).to_contain_text("The incident was not filed")
    aware = page.get_by_label("Company became aware at")
    expect(aware).to_have_attribute("aria-invalid", "true")
    error = page.locator("#aware_at-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("The company cannot have become aware before the incident happened.")
    # The message sits in the field's own block, right under the input, and is linked to it.
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error #aware_at")).to_be_attached()
    expect(aware).to_have_attribute("aria-describedby", "aware_at-hint aware_at-error")

    expect(page.get_by_label("Division", exact=True).locator("option:checked")).to_have_text("Home Appliances")
    expect(page.get_by_label("Product (model)")).to_have_value(product_value_before)
    expect(page.get_by_label("Short title")).to_have_value(TITLE)
    expect(page.get_by_label("Lot numbers")).to_have_value("L2611-03, L2611-04")
    expect(page.get_by_label("Country of occurrence")).to_have_value("JP")
    expect(page.get_by_label("Place of occurrence")).to_have_value("Nagoya showroom")
    expect(page.get_by_label("Times below are in")).to_have_value("Asia/Tokyo")
    expect(page.get_by_label("Occurred at")).to_have_value("2026-11-18T14:00")
    expect(aware).to_have_value("2026-11-18T09:30")
    expect(page.get_by_label("Source", exact=True)).to_have_value("service_report")
    expect(page.get_by_label("Hazard type")).to_have_value("overheating")
    expect(page.get_by_label("Smoke", exact=True)).to_be_checked()
    expect(page.get_by_label("Fire", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Units in the field")).to_have_value("1250")
    expect(page.get_by_label("Description", exact=True)).to_have_value(DESCRIPTION)

    # Nothing was filed.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incident register").click()
    expect(page.locator("#count strong")).to_have_text("4 incidents")
