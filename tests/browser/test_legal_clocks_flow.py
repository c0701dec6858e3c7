"""Legal clocks in a real browser: an incident entered late in the evening in Los Angeles gets the earlier deadline
(the aware site's date) with the reason; a CPSC 15(b) report shows its decision clock until head-office QA signs
that the information reasonably supports the conclusion, then the legal 24-hour clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_los_angeles_evening_incident_and_cpsc_decision_clock(new_page: Callable[[], Page], log_in) -> None:
    reporter = new_page()
    log_in(reporter, "reporter@example.com")
    reporter.get_by_role("navigation", name="Main").get_by_role("link", name="File an incident").click()
    reporter.get_by_label("Division", exact=True).select_option(label="Home Appliances")
    product = reporter.locator("#product_id option", has_text="BD-SX120").get_attribute("value")
    assert product
    reporter.get_by_label("Product (model)").select_option(product)
    reporter.get_by_label("Short title").fill("Dryer door glass burst, customer cut")
    reporter.get_by_label("Lot numbers").fill("L2610-01")
    reporter.get_by_label("Country of occurrence").select_option("US")
    reporter.get_by_label("Place of occurrence").fill("Pasadena, California")
    reporter.get_by_label("Times below are in").select_option("America/Los_Angeles")
    reporter.get_by_label("Occurred at").fill("2026-11-04T20:00")
    # Wednesday 22:00 in Los Angeles is already Thursday in New York.
    reporter.get_by_label("Company became aware at").fill("2026-11-04T22:00")
    reporter.get_by_label("Where the company became aware (time zone)").select_option("America/Los_Angeles")
    reporter.get_by_label("Source", exact=True).select_option(label="Customer complaint")
    reporter.get_by_label("Serious injuries").fill("1")
    reporter.get_by_label("Units in the field").fill("5000")
    reporter.get_by_label("Description", exact=True).fill("The door glass burst at the end of a drying cycle.")
    reporter.get_by_role("button", name="File incident").click()
    expect(reporter.locator(".flash-success")).to_be_visible()
    incident_url = reporter.url

    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto(incident_url)
    division.get_by_role("link", name="Triage").click()
    division.get_by_role("button", name="Confirm severity").click()
    records = division.locator("table.notification-records")
    expect(records).to_contain_text("US-CPSC-15B")
    records.get_by_role("link", name="US-CPSC-15B").click()
    record_url = division.url

    # The decision clock: 10 working days counted from the Los Angeles date (Wed 4 Nov; Veterans Day skipped),
    # earlier than from New York's (Thu 5 Nov), and the page says why.
    expect(division.locator("#decision-due")).to_be_visible()
    expect(division.locator("#decision")).to_contain_text("reasonably supports")
    expect(division.locator("#due-authority")).to_contain_text("2026-11-19")
    expect(division.locator("#deadline-h + p + p")).to_contain_text("the earlier, by the aware site's date, applies")
    division.get_by_role("button", name="Request the decision").click()
    expect(division.locator(".flash-success")).to_contain_text("Decision requested")

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto(record_url)
    form = hq.locator("#record-event")
    form.get_by_label("Decided at (your time zone)").fill("2026-11-19T09:00")
    form.get_by_label("Your password (signature)").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign and start the legal clock").click()
    expect(hq.locator(".flash-success")).to_contain_text("the legal clock runs from the decision")
    expect(hq.locator("#legal-deadline")).to_be_visible()
    expect(hq.locator("#clock-event")).to_contain_text("information reasonably supports")
    expect(hq.locator("#decision-due")).to_have_count(0)
