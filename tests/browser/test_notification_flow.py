"""From triage to a submitted regulator notification, in a real browser: derived record, pre-filled draft with
missing fields, head office's signed approval, submission with the authority's reference, the deadline board."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_triage_to_submitted_notification(new_page: Callable[[], Page], log_in) -> None:
    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto("/incidents/1")
    division.get_by_role("link", name="Triage").click()
    division.get_by_role("button", name="Confirm severity").click()
    expect(division.locator(".flash-success")).to_contain_text("triaged as S1")

    records = division.locator("table.notification-records")
    expect(records).to_contain_text("JP-CPSA-35")
    expect(records).to_contain_text("Required")
    records.get_by_role("link", name="JP-CPSA-35").click()

    expect(division.locator("#due-authority")).to_contain_text("Asia/Tokyo")
    # Form 1's items, in Japanese: the trademark (商標) is the company's to give; the model is filled in
    expect(division.locator("#missing-fields")).to_contain_text("商標")
    expect(division.get_by_label("製品の名称及び型式", exact=True)).to_have_value(re.compile("R-HW540"))
    division.get_by_label("商標", exact=True).fill("Acme")
    division.get_by_label("Information to follow").fill("Country of production and cause code follow on 15 March.")
    division.get_by_role("button", name="Save draft").click()
    expect(division.locator(".flash-success")).to_contain_text("Draft saved.")
    expect(division.locator("#record-state")).to_have_text("Drafted")

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.get_by_role("navigation", name="Main").get_by_role("link", name="Deadline board").click()
    row = hq.locator("table.board tbody tr", has_text="JP-CPSA-35")
    expect(row).to_contain_text("Drafted")
    row.get_by_role("link", name="JP-CPSA-35").click()
    hq.locator("#approve").get_by_label("Your password (signature)").fill("wrong-password")
    hq.get_by_role("button", name="Sign approval").click()
    expect(hq.locator("#approve")).to_contain_text("nothing was signed")
    hq.locator("#approve").get_by_label("Your password (signature)").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign approval").click()
    expect(hq.locator(".flash-success")).to_contain_text("approved for submission")
    expect(hq.locator(".signature").first).to_contain_text("approved regulator notification for submission")

    division.reload()
    division.get_by_label("Sent through").fill("Consumer Affairs Agency web form")
    division.get_by_label("Authority's reference number").fill("CAA-2026-0042")
    division.get_by_role("button", name="Record submission").click()
    expect(division.locator(".flash-success")).to_contain_text("Submission recorded")
    expect(division.locator("#record-state")).to_have_text("Submitted")
    expect(division.locator("#submitted")).to_contain_text("CAA-2026-0042")
    expect(division.locator("#submitted")).to_contain_text("on time")
    expect(division.get_by_role("link", name="INC-2026-000001-JP-CPSA-35-initial.pdf")).to_be_visible()

    hq.get_by_role("navigation", name="Main").get_by_role("link", name="Deadline board").click()
    expect(hq.locator("#board-empty")).to_contain_text("Nothing is owed to any authority right now.")
