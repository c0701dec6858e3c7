"""A recall from start to finish in a real browser: launch → notice → serial check → progress → closure."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


NOTICE = {
    "Product name and common names": "French-door refrigerator 540 L (R-HW540)",
    "How to identify the product (models, batch and serial numbers, where they are printed)":
        "Model R-HW540, serial numbers AB-100000 to AB-199999 on the label inside the door.",
    "The hazard, stated plainly": "The compressor relay can overheat and set the refrigerator on fire.",
    "What to do now": "Stop using the refrigerator and unplug it.",
    "The remedy offered": "We replace the relay at your home free of charge.",
    "Contact point": "Recall desk 0120-000-000",
}


def test_launch_notice_serial_check_progress_and_closure(new_page: Callable[[], Page], log_in) -> None:
    qa = new_page()
    log_in(qa, "division.qa@example.com")
    qa.goto("/recalls/?incident=1")
    qa.get_by_role("link", name="Start a recall").click()
    qa.get_by_label("Countries where affected units were sold").fill("JP")
    qa.get_by_label("Affected units", exact=True).fill("1000")
    qa.get_by_label("Target completion (%)").fill("90")
    qa.get_by_role("button", name="Start preparing the recall").click()
    expect(qa.locator(".flash-success")).to_contain_text("RC-2026-0001 is being prepared")
    qa.get_by_label("Model", exact=True).fill("R-HW540")
    qa.get_by_label("First serial number").fill("AB-100000")
    qa.get_by_label("Last serial number").fill("AB-199999")
    qa.get_by_role("button", name="Add line").click()
    expect(qa.locator("table.population")).to_contain_text("AB-100000 – AB-199999")
    qa.goto("/recalls/1")
    qa.get_by_role("link", name="Assess the risk").click()
    expect(qa.get_by_label("Frequency (accidents per unit-year)")).to_have_value("1/1000")  # 1 incident, 1,000 units
    qa.get_by_label("Severity of harm").select_option("3")
    qa.get_by_label("Rationale").fill("A fire in a kitchen (III) at 1 in 1,000 units a year: region A.")
    qa.get_by_role("button", name="Record the assessment").click()
    expect(qa.locator(".flash-success")).to_contain_text("Risk assessment recorded: A: unacceptable risk")
    expect(qa.locator(".risk-panel td.risk-chosen")).to_have_text("◉ A")

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto("/recalls/1")
    hq.get_by_role("link", name="Approve launch").click()
    expect(hq.locator(".risk-panel")).to_contain_text("A: unacceptable risk")  # the signer sees the risk signed
    hq.get_by_label("Your password", exact=True).fill("demo-password-2026")
    hq.get_by_role("button", name="Sign launch").click()
    expect(hq.locator(".flash-success")).to_contain_text("RC-2026-0001 launched")

    qa.goto("/recalls/1/notices")
    qa.get_by_role("link", name="Write a new version").click()
    for label, value in NOTICE.items():
        qa.get_by_label(label, exact=True).fill(value)
    qa.get_by_label("Picture of the product").set_input_files(
        {"name": "fridge.png", "mimeType": "image/png", "buffer": _png()})
    qa.get_by_role("button", name="Save version").click()
    expect(qa.locator(".check-ok")).to_contain_text("contains everything")
    qa.get_by_role("button", name="Publish on the public page").click()
    expect(qa.locator(".flash-success")).to_contain_text("Version 1 is now on the public page")

    customer = new_page()  # no login
    customer.goto("/recall/RC-2026-0001")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Product safety recall")
    expect(customer.locator("main")).not_to_contain_text("INC-2026")
    customer.get_by_label("Serial number", exact=True).fill("AB-15OOOO")
    customer.get_by_role("button", name="Check my product").click()
    expect(customer.locator(".verdict")).to_contain_text("Did you mean AB-150000?")
    customer.get_by_label("Serial number", exact=True).fill("ab 150000")
    customer.get_by_role("button", name="Check my product").click()
    expect(customer.locator(".verdict")).to_contain_text("Yes: your product is affected")
    expect(customer.locator(".verdict")).to_contain_text("We replace the relay")

    qa.goto("/recalls/1/progress")
    qa.get_by_label("Units repaired").fill("950")
    qa.get_by_label("Owners notified").fill("1000")
    qa.get_by_role("button", name="Record", exact=True).click()
    expect(qa.locator(".flash-success")).to_contain_text("Progress recorded")
    expect(qa.locator(".completion")).to_contain_text("95.0 %")
    expect(qa.locator("svg.chart")).to_be_visible()
    qa.goto("/recalls/1/effectiveness")
    qa.get_by_label("Effectiveness check", exact=True).fill("Twenty repaired units re-tested for 72 hours: no overheating.")
    qa.get_by_role("button", name="Record check").click()
    expect(qa.locator(".flash-success")).to_contain_text("Effectiveness check recorded")

    hq.goto("/recalls/1")
    hq.get_by_role("link", name="Approve closure").click()
    hq.get_by_label("Your password", exact=True).fill("demo-password-2026")
    hq.get_by_role("button", name="Sign closure").click()
    expect(hq.locator(".flash-success")).to_contain_text("RC-2026-0001 closed")
    expect(hq.locator(".heading-row .badge")).to_have_text("Closed")
