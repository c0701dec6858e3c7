"""A review from start to approval in a real browser, and its lesson found by an engineer's search."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status

pytestmark = pytest.mark.browser


def test_review_to_approval_to_lesson_search(new_page, log_in, demo, clock):
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    fire.severity, fire.status = Severity.S2, Status.TRIAGED  # a review starts on a triaged incident
    demo.commit()
    incident_id = fire.id
    qa = new_page()
    log_in(qa, "division.qa@example.com")
    qa.goto(f"/reviews/new?incident={incident_id}")
    qa.get_by_label("Review title").fill("Compressor relay crimp overheating")
    qa.get_by_role("button", name="Start the review").click()
    qa.get_by_label("Phenomenon").fill("Flames at the compressor relay.")
    qa.get_by_label("Failure mechanism (technical cause)").fill("Loose crimp raised the contact resistance.")
    qa.get_by_label("Process stage where the cause was introduced").select_option("manufacturing")
    qa.get_by_label("Process cause", exact=True).fill("Crimp height not checked after a tool change.")
    qa.get_by_label("Why it was not detected").fill("End-of-line test checks function only.")
    qa.get_by_label("Framework cause").fill("No first-article rule after tool changes.")
    qa.get_by_label("Motivating factors in words").fill("Schedule pressure to restart the line.")
    qa.get_by_role("button", name="Save review").click()
    expect(qa.locator(".flash-success")).to_contain_text("Review saved")
    # A full (S2) review answers each dimension that found a cause; the technical one says its safety tier.
    due = (clock() + timedelta(days=30)).date().isoformat()
    for dimension, what, tier in (
            ("technical", "Crimp replaced by a welded joint", "safeguard"),
            ("process", "First-article crimp pull test after every tool change", ""),
            ("framework", "Tool-change procedure requires the first-article check", ""),
            ("motivating", "Restart targets paused after a tool change", "")):
        qa.get_by_text("Add a countermeasure").click()
        # The why-chain form has a field of the same name (and id): choose within the countermeasure form.
        qa.locator("#countermeasures select[name=dimension]").select_option(dimension)
        if tier:
            qa.get_by_label("Safety tier (technical cause only)").select_option(tier)
        qa.get_by_label("Countermeasure", exact=True).fill(what)
        qa.get_by_label("Owner", exact=True).select_option(label="Kenji Sato (Home Appliances)")
        qa.get_by_label("Due", exact=True).fill(due)
        qa.get_by_role("button", name="Add countermeasure").click()
        if tier == "safeguard":  # a lower tier without its reason comes back with the reason and the input
            expect(qa.get_by_text("Say why a higher tier is not practicable")).to_be_visible()
            expect(qa.get_by_label("Countermeasure", exact=True)).to_have_value(what)
            qa.get_by_label("Why a higher tier is not practicable").fill("The relay is a bought-in part.")
            qa.get_by_role("button", name="Add countermeasure").click()
        expect(qa.locator(".flash-success")).to_contain_text("Countermeasure added")
    expect(qa.locator(".safety-tier")).to_contain_text("2. Safeguard (protective measures)")
    qa.get_by_role("button", name="Submit for approval").click()
    expect(qa.locator(".flash-success")).to_contain_text("submitted")
    review_url = qa.url

    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.goto(review_url)
    hq.get_by_role("link", name=re.compile("Approve or return")).click()
    hq.get_by_label("Your password (electronic signature)").fill("demo-password-2026")
    hq.get_by_role("button", name="Sign and approve").click()
    expect(hq.locator(".flash-success")).to_contain_text("lesson learned is published")
    expect(hq.locator("#approval")).to_contain_text("approved OCHIBO-HIROI review")

    engineer = new_page()
    log_in(engineer, "engineer@example.com")
    engineer.goto("/reviews/lessons")
    engineer.get_by_label("Search lessons").fill("crimp tool change")
    engineer.get_by_role("button", name="Search").click()
    hit = engineer.locator(".lesson-hit").first
    expect(hit).to_contain_text("Compressor relay crimp overheating")
    expect(hit.locator("mark").first).to_be_visible()
    hit.get_by_role("link").click()
    expect(engineer.locator("h1")).to_have_text("Compressor relay crimp overheating")
