"""A severe case reaches top management: escalation approved, narrative, report issued; the executive reads and
acknowledges it, downloads the PDF and opens the dashboard."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

pytestmark = pytest.mark.browser


def test_report_reaches_the_executive(new_page: Callable[[], Page], log_in) -> None:
    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto("/incidents/1")
    division.get_by_role("link", name="Triage").click()
    division.get_by_role("button", name="Confirm severity").click()
    division.get_by_role("link", name="Request escalation").click()
    division.get_by_label("Reason").fill("Fire at a customer's home.")
    division.get_by_role("button", name="Request escalation").click()

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto("/incidents/1/escalation")
    hq.get_by_label("Your password (signature)").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign decision").click()
    expect(hq.locator(".flash-success")).to_contain_text("approved")

    division.goto("/incidents/1")
    division.get_by_role("link", name="Next report: pending, add narrative").click()
    division.get_by_label("Narrative for the next report").fill("Shipments of lot L2405 stopped; field inspection starts Monday.")
    division.get_by_role("button", name="Issue and send now").click()
    expect(division.locator(".flash-success")).to_contain_text("Status report 2 issued")  # report 1 went out at triage

    executive = new_page()
    log_in(executive, "executive@example.com")
    executive.get_by_role("link", name="Status reports").click()
    executive.locator("#to-acknowledge").get_by_role("link").first.click()
    expect(executive.locator(".status-report")).to_contain_text("Shipments of lot L2405 stopped")
    expect(executive.locator(".status-report-head")).to_contain_text("[S1]")
    with executive.expect_download() as download:
        executive.get_by_role("link", name="Download PDF").click()
    data = Path(download.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "INC-2026-000001" in text and "[S1]" in text
    executive.get_by_role("button", name="Acknowledge").click()
    expect(executive.locator("#my-ack")).to_contain_text("You acknowledged it")

    executive.get_by_role("link", name="Dashboard").click()
    expect(executive.locator("#open_by_division svg")).to_be_visible()
    expect(executive.locator("#failure_modes")).to_contain_text("Pareto of hazards")
