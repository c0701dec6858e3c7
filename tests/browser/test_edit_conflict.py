"""Two people edit the same incident at once: the second save is refused, its input kept."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_second_save_sees_who_changed_it_and_keeps_its_input(new_page: Callable[[], Page], log_in) -> None:
    first, second = new_page(), new_page()
    log_in(first, "reporter@example.com")
    log_in(second, "division.qa@example.com")
    for page in (first, second):
        page.goto("/incidents/1/edit")
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Edit INC-\d{4}-000001$"))
    original_title = second.get_by_label("Short title").input_value()
    original_place = second.get_by_label("Place of occurrence").input_value()

    first.get_by_label("Short title").fill("Refrigerator fire traced to compressor relay")
    first.get_by_role("button", name="Save changes").click()
    expect(first.locator(".flash-success")).to_contain_text("saved")
    expect(first.get_by_role("heading", level=1)).to_have_text("Refrigerator fire traced to compressor relay")

    second.get_by_label("Place of occurrence").fill("Meguro, Tokyo")
    second.get_by_role("button", name="Save changes").click()

    message = second.locator(".flash-error")
    expect(message).to_contain_text("changed by Aiko Tanaka")
    conflict = second.locator("section.conflict")
    expect(conflict.get_by_role("heading")).to_have_text("Someone else saved a newer version")
    table = conflict.locator("table")
    expect(table.locator("thead th")).to_have_text(["Field", "Your input", "Saved version"])
    title_row = table.locator("tbody tr", has=second.locator("th", has_text="Short title"))
    expect(title_row.locator("td")).to_have_text([original_title, "Refrigerator fire traced to compressor relay"])
    place_row = table.locator("tbody tr", has=second.locator("th", has_text="Place of occurrence"))
    expect(place_row.locator("td")).to_have_text(["Meguro, Tokyo", original_place])
    # The user's own typing is still in the form, ready to be saved again deliberately.
    expect(second.get_by_label("Place of occurrence")).to_have_value("Meguro, Tokyo")
    expect(second.get_by_label("Short title")).to_have_value(original_title)
