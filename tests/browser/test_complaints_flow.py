"""Complaints in Chromium: a smoke complaint is flagged and filed as an incident in one click; a rising symptom
becomes a signal, is promoted to an incident, and the incident lists its complaints."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from qa_incidents.accounts.models import User
from qa_incidents.complaints import rules, service

pytestmark = pytest.mark.browser


def test_smoke_complaint_is_flagged_and_filed_as_an_incident(page: Page, log_in, demo) -> None:
    log_in(page, "division.qa@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Complaints").click()
    page.get_by_role("link", name="Log a complaint").click()
    page.get_by_label("Product model").fill("R-S38")
    page.get_by_label("Serial number").fill("RS38-000123")
    page.get_by_label("Symptom code").fill("ODOUR")
    page.get_by_label("Country (ISO code)").fill("JP")
    page.get_by_label("Place (city)").fill("Sendai")
    page.get_by_label("Customer's words").fill("Smoke came out of the back of the fridge last night.")
    page.get_by_role("button", name="Record complaint").click()
    expect(page.locator(".flash-warning").first).to_contain_text("smoke")

    page.get_by_role("link", name="Complaints", exact=True).first.click()
    row = page.locator("table.complaints tr", has_text="Smoke came out").first
    row.get_by_role("link", name="File as incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("File an incident")
    expect(page.get_by_label("Serial numbers")).to_have_value("RS38-000123")
    expect(page.get_by_label("Place of occurrence")).to_have_value("Sendai")
    expect(page.get_by_label("Smoke", exact=True)).to_be_checked()
    expect(page.get_by_label("Description", exact=True)).to_contain_text("Smoke came out of the back")
    page.get_by_role("button", name="File incident").click()
    expect(page.locator(".flash-success")).to_contain_text("filed")
    expect(page.locator("#complaints")).to_contain_text("Smoke came out of the back")


def test_rising_symptom_becomes_a_signal_promoted_to_an_incident(page: Page, log_in, demo, app, clock) -> None:
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    now = clock()
    for week in range(1, 16):
        service.log_complaint(demo, user=qa, now=now, data=rules.ComplaintIn(
            source="cc", external_id=f"h{week}", model="BD-SX120", symptom="DRUM-NOISE", country="JP", place="Kobe",
            serial=f"BD{week:04d}", received_at=now - timedelta(weeks=week), text="Drum knocks during spin"))
    for k in range(8):
        service.log_complaint(demo, user=qa, now=now, data=rules.ComplaintIn(
            source="cc", external_id=f"n{k}", model="BD-SX120", symptom="DRUM-NOISE", country="JP", place="Kobe",
            serial=f"BDX{k:03d}", received_at=now - timedelta(hours=k + 2), text=f"Drum knocks loudly, case {k}"))
    demo.commit()
    from qa_incidents.core.scheduler import run_complaint_scan

    assert run_complaint_scan(app) == 1

    log_in(page, "division.qa@example.com")
    page.goto("/complaints/signals")
    page.get_by_role("link", name="BD-SX120").click()
    expect(page.locator("svg[role=img]")).to_be_visible()
    expect(page.locator("table.complaints tbody tr")).to_have_count(8)
    page.get_by_role("link", name="Promote to incident").click()
    expect(page.get_by_label("Short title")).to_have_value("Rising complaints: BD-SX120 — DRUM-NOISE")
    page.get_by_label("Hazard type").select_option(label="Mechanical (cut, crush, entrapment)")
    page.get_by_label("No harm").check()
    page.get_by_role("button", name="File incident").click()
    expect(page.locator(".flash-success")).to_contain_text("filed")
    expect(page.locator("#complaints")).to_contain_text("Complaints (8)")
    expect(page.locator("#complaints")).to_contain_text("Drum knocks loudly, case 7")
