"""The incident page loads its similar lessons after the page itself, in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_similar_lessons_arrive_in_place(page: Page, log_in) -> None:
    log_in(page, "division.qa@example.com")
    page.goto("/incidents/1")
    section = page.locator("#similar-lessons")
    # The link that works without scripts gives way to the lessons themselves.
    expect(section.get_by_role("link", name="Find lessons learned from similar incidents")).to_have_count(0)
    # The search's answer: lessons, or the statement that the library holds none like it.
    expect(section.locator("li, p.muted").first).to_be_visible()
    expect(section.get_by_role("heading", name="Similar lessons")).to_have_count(1)
