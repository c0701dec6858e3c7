"""What a division's reporter may see, and in which time zone."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from qa_incidents.incidents.models import Incident

pytestmark = pytest.mark.browser


def test_other_divisions_incident_is_not_found_and_not_listed(app: Flask, page: Page, log_in) -> None:
    with app.extensions["qa_session_factory"]() as s:
        cable_ref = s.get(Incident, 5).reference
        own_ref = s.get(Incident, 1).reference
    log_in(page, "reporter@example.com")

    response = page.goto("/incidents/5")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text(cable_ref)

    page.goto("/incidents/")
    links = page.locator("table.register tbody tr td:first-child a")
    expect(links).to_have_count(4)
    expect(page.locator("table.register")).to_contain_text(own_ref)
    expect(page.locator("table.register")).not_to_contain_text(cable_ref)
    expect(page.locator("table.register")).not_to_contain_text("Cable Materials")

    # Searching for it by its reference finds nothing either.
    page.get_by_label("Text", exact=True).fill(cable_ref)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".empty")).to_have_text("No incidents match these filters.")


def test_london_reporter_sees_times_in_london_time(page: Page, log_in) -> None:
    log_in(page, "cable.reporter@example.com")
    page.goto("/incidents/")
    rows = page.locator("table.register tbody tr")
    expect(rows).to_have_count(2)
    aware = rows.locator("td:last-child")
    # Incident 5 became known on 9 November (GMT); incident 6 on 23 October, still summer time.
    expect(aware).to_have_text(["2026-11-09 05:00 GMT", "2026-10-23 04:00 BST"])
    expect(page.locator("footer")).to_have_text("Times are shown in Europe/London.")
