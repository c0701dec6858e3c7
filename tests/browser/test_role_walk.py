"""One incident walked from filing to closure by every demo role in a real browser, on a database that also holds
imported public recall history; then each role's key pages in Japanese, with no English left in the main content.

Screenshots of each step are saved under /tmp/rolewalk/ for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from playwright.sync_api import Page, expect

from qa_incidents.accounts.models import User
from qa_incidents.api import importer
from qa_incidents.api.models import ImportedRecord
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status

pytestmark = pytest.mark.browser

SCREENS = Path("/tmp/rolewalk")
PASSWORD = "demo-password-2026"
HISTORY_ROWS = 40  # a slice of the shipped FDA device recalls: enough to bury the work if it became work
TITLE = "Refrigerator relay burnt, kitchen wall scorched"
DESCRIPTION = "Customer saw flames at the rear of the unit around the compressor relay; wall scorched, no injury."
REASON = "Fire at a customer's home; 48,200 units in the field."
NARRATIVE = "Shipments of lot L2611-07 stopped; field inspection of the relay crimp starts Monday."
CONTAINMENT = "Shipments of lot L2611-07 stopped and stock quarantined; field inspection booked."
REVIEW_TITLE = "Relay crimp loosened after tool change"
CLOSING = "Notification submitted, review approved and every countermeasure checked effective."


def _import_history(session: so.Session, clock: Callable) -> list[int]:
    """Import the first rows of a shipped public-recall sample as head office, as the demo does (api/seed.py)."""
    hq = session.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    sample = "fda_device_recalls.csv.gz"
    whole = importer.read_file(sample, importer.sample_path(sample).read_bytes())
    source = importer.SourceFile(whole.format, whole.columns, whole.rows[:HISTORY_ROWS])
    importer.import_rows(session, profile=importer.load_profile(session, "fda-device-recalls"), source=source,
                         user=hq, now=clock())
    session.commit()
    ids = list(session.scalars(sa.select(ImportedRecord.entity_id).where(ImportedRecord.entity_type == "incident")))
    assert len(ids) > 10
    assert set(session.scalars(sa.select(Incident.status).where(Incident.id.in_(ids)))) == {Status.HISTORICAL}
    return ids


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _log_in(page: Page, email: str, *, welcome: str = "Welcome") -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".flash-success")).to_contain_text(welcome)


def test_one_incident_through_every_role_with_imported_history(new_page, demo, clock) -> None:  # type: ignore[no-untyped-def]
    SCREENS.mkdir(parents=True, exist_ok=True)
    history = _import_history(demo, clock)
    history_refs = list(demo.scalars(sa.select(Incident.reference).where(Incident.id.in_(history))))
    demo.rollback()  # no read transaction held while the browser writes

    # --- Head office's My work before anything happens: only live work, none of the imported history.
    hq = new_page()
    _log_in(hq, "hq.qa@example.com")
    hq.goto("/my-work")
    _shot(hq, "en-01-hq-my-work")
    main = hq.locator("main").inner_text()
    assert not [ref for ref in history_refs if ref in main]
    expect(hq.locator("#to-triage h2")).to_have_text(re.compile(r"Incidents to triage \([1-6]\)"))
    # The history is still searchable in the register.
    hq.goto(f"/incidents/?q={history_refs[0]}")
    expect(hq.locator("table.register tbody tr")).to_have_count(1)

    # --- Reporter files the incident.
    reporter = new_page()
    _log_in(reporter, "reporter@example.com")
    reporter.get_by_role("navigation", name="Main").get_by_role("link", name="File an incident").click()
    product = reporter.locator("#product_id option", has_text="R-HW540").first.get_attribute("value")
    reporter.get_by_label("Product (model)").select_option(product)
    reporter.get_by_label("Short title").fill(TITLE)
    reporter.get_by_label("Lot numbers").fill("L2611-07")
    reporter.get_by_label("Country of occurrence").select_option(label="Japan")
    reporter.get_by_label("Place of occurrence").fill("Setagaya, Tokyo")
    reporter.get_by_label("Occurred at").fill("2026-11-19T09:30")
    reporter.get_by_label("Company became aware at").fill("2026-11-19T14:00")
    reporter.get_by_label("Source", exact=True).select_option(label="Customer complaint")
    reporter.get_by_label("Hazard type").select_option(label="Fire / burn")
    reporter.get_by_label("Fire", exact=True).check()
    reporter.get_by_label("Property damage", exact=True).check()
    reporter.get_by_label("Units in the field").fill("48200")
    reporter.get_by_label("Description", exact=True).fill(DESCRIPTION)
    reporter.get_by_role("button", name="File incident").click()
    expect(reporter.locator(".flash-success")).to_contain_text("filed")
    incident_url = reporter.url
    ref = reporter.locator(".ref").inner_text()
    _shot(reporter, "en-02-reporter-filed")

    # --- Division QA triages it (S1), then asks head office to take the lead.
    division = new_page()
    _log_in(division, "division.qa@example.com")
    division.goto("/my-work")
    expect(division.locator("#to-triage")).to_contain_text(ref)
    division.goto(incident_url)
    division.get_by_role("link", name="Triage", exact=True).click()
    expect(division.locator("#sugg-h")).to_contain_text(re.compile("S[12]"))
    division.get_by_role("button", name="Confirm severity").click()
    expect(division.locator(".flash-success")).to_contain_text(re.compile("triaged as S[12]"))
    division.get_by_role("link", name="Request escalation").click()
    division.get_by_label("Reason").fill(REASON)
    division.get_by_role("button", name="Request escalation").click()
    expect(division.locator(".badge.status-escalation_requested")).to_have_text("Escalation requested")
    _shot(division, "en-03-division-escalation-requested")

    # --- Head office finds it in My work and approves with a signature.
    hq.goto("/my-work")
    expect(hq.locator("#escalations")).to_contain_text(ref)
    hq.locator("#escalations").get_by_role("link", name=ref).click()
    hq.get_by_label("Comment").fill("Agreed: head office takes the lead.")
    hq.get_by_label("Your password (signature)").fill(PASSWORD)
    hq.get_by_role("button", name="Sign decision").click()
    expect(hq.locator(".badge.status-escalated")).to_have_text("Escalated")
    expect(hq.locator(".signature").first).to_contain_text("approved escalation")
    _shot(hq, "en-04-hq-escalation-approved")

    # --- The regulator notification: drafted by division QA, approved by head office, submitted by division QA.
    division.goto(incident_url)
    records = division.locator("table.notification-records")
    expect(records).to_contain_text("JP-CPSA-35")
    records.get_by_role("link", name="JP-CPSA-35").click()
    division.get_by_label("商標", exact=True).fill("Acme")
    division.get_by_label("Information to follow").fill("Cause code follows after the field inspection.")
    division.get_by_role("button", name="Save draft").click()
    expect(division.locator("#record-state")).to_have_text("Drafted")
    notification_url = division.url
    _shot(division, "en-05-division-notification-drafted")

    hq.goto("/my-work")
    expect(hq.locator("#notifications-to-approve")).to_contain_text("JP-CPSA-35")  # a draft waits for head office
    expect(division.locator("#notifications-to-approve")).to_have_count(0)
    _shot(hq, "en-06-hq-my-work-notification")
    hq.goto(notification_url)
    hq.locator("#approve").get_by_label("Your password (signature)").fill(PASSWORD)
    hq.get_by_role("button", name="Sign approval").click()
    expect(hq.locator(".flash-success")).to_contain_text("approved for submission")
    _shot(hq, "en-07-hq-notification-approved")

    division.goto(notification_url)
    division.get_by_label("Sent through").fill("Consumer Affairs Agency web form")
    division.get_by_label("Authority's reference number").fill("CAA-2026-0107")
    division.get_by_role("button", name="Record submission").click()
    expect(division.locator("#record-state")).to_have_text("Submitted")
    expect(division.locator("#submitted")).to_contain_text("on time")

    # --- Division QA issues a status report with its narrative; the executive reads and acknowledges it.
    division.goto(incident_url)
    division.get_by_role("link", name=re.compile("Next report")).click()
    division.get_by_label("Narrative for the next report").fill(NARRATIVE)
    division.get_by_role("button", name="Issue and send now").click()
    expect(division.locator(".flash-success")).to_contain_text("issued")

    executive = new_page()
    _log_in(executive, "executive@example.com")
    executive.goto("/my-work")
    _shot(executive, "en-08-executive-my-work")
    # Report 1 went out at filing (a fire in Japan is reportable from the facts), before any severity was set; report 2
    # supersedes it, so only report 2 waits for acknowledgement.
    expect(executive.locator("main")).to_contain_text(f"{ref} — report 2 [S1]")
    expect(executive.locator("main")).not_to_contain_text(f"{ref} — report 1 ")
    executive.get_by_role("navigation", name="Main").get_by_role("link", name="Status reports").click()
    executive.locator("#to-acknowledge").get_by_role("link", name=re.compile(ref)).first.click()
    expect(executive.locator(".status-report")).to_contain_text(NARRATIVE)
    _shot(executive, "en-09-executive-status-report")
    # The content hash wraps inside its panel instead of running off it.
    sha, aside = executive.locator("aside code.hash").bounding_box(), executive.locator("aside.panel").bounding_box()
    assert sha and aside and sha["x"] + sha["width"] <= aside["x"] + aside["width"], (sha, aside)
    executive.get_by_role("button", name="Acknowledge").click()
    expect(executive.locator("#my-ack")).to_contain_text("You acknowledged it")
    status_report_url = executive.url

    # --- Containment, then the OCHIBO-HIROI review: drafted by division QA, approved by head office.
    division.goto(incident_url)
    division.get_by_role("link", name="Record containment").click()
    division.get_by_label("Reason").fill(CONTAINMENT)
    division.locator("main form button[type=submit]").last.click()
    expect(division.locator(".heading-row .badge").first).to_have_text("Contained")
    division.get_by_role("link", name="Start a review").click()
    division.get_by_label("Review title").fill(REVIEW_TITLE)
    division.get_by_role("button", name="Start the review").click()
    division.get_by_label("Phenomenon").fill("Flames at the compressor relay.")
    division.get_by_label("Failure mechanism (technical cause)").fill("Loose crimp raised the contact resistance.")
    division.get_by_label("Process stage where the cause was introduced").select_option("manufacturing")
    division.get_by_label("Process cause", exact=True).fill("Crimp height not checked after a tool change.")
    division.get_by_label("Why it was not detected").fill("End-of-line test checks function only.")
    division.get_by_label("Framework cause").fill("No first-article rule after tool changes.")
    division.get_by_label("Motivating factors in words").fill("Schedule pressure to restart the line.")
    division.get_by_role("button", name="Save review").click()
    expect(division.locator(".flash-success")).to_contain_text("Review saved")
    due = (clock() + timedelta(days=30)).date().isoformat()
    for dimension, what, tier in (
            ("technical", "Crimp replaced by a welded joint", "design"),
            ("process", "First-article crimp pull test after every tool change", ""),
            ("framework", "Tool-change procedure requires the first-article check", ""),
            ("motivating", "Restart targets paused after a tool change", "")):
        division.get_by_text("Add a countermeasure").click()
        division.locator("#countermeasures select[name=dimension]").select_option(dimension)
        if tier:
            division.get_by_label("Safety tier (technical cause only)").select_option(tier)
        division.get_by_label("Countermeasure", exact=True).fill(what)
        division.get_by_label("Due", exact=True).fill(due)
        owner = division.get_by_label("Owner", exact=True)
        if dimension == "technical":  # nobody is made owner unasked (the first name in the list was pre-selected)
            expect(owner).to_have_value("")
            division.get_by_role("button", name="Add countermeasure").click()
            expect(division.locator("#countermeasures")).to_contain_text("Choose an owner.")
            expect(division.get_by_label("Countermeasure", exact=True)).to_have_value(what)
        owner.select_option(label="Kenji Sato (Home Appliances)")
        division.get_by_role("button", name="Add countermeasure").click()
        expect(division.locator(".flash-success")).to_contain_text("Countermeasure added")
    expect(division.locator("#countermeasures")).not_to_contain_text("Owner: Aiko Tanaka")
    division.get_by_role("button", name="Submit for approval").click()
    expect(division.locator(".flash-success")).to_contain_text("submitted")
    review_url = division.url
    _shot(division, "en-10-division-review-submitted")

    hq.goto("/my-work")
    expect(hq.locator("main")).to_contain_text(REVIEW_TITLE)
    hq.goto(review_url)
    hq.get_by_role("link", name=re.compile("Approve or return")).click()
    hq.get_by_label("Your password (electronic signature)").fill(PASSWORD)
    hq.get_by_role("button", name="Sign and approve").click()
    expect(hq.locator(".flash-success")).to_contain_text("lesson learned is published")
    expect(hq.locator("#approval")).to_contain_text("approved OCHIBO-HIROI review")
    _shot(hq, "en-11-hq-review-approved")

    # --- Closing needs every countermeasure checked: division QA records each check, then closes.
    division.goto(incident_url)
    expect(division.locator(".workflow .blocked")).to_contain_text("countermeasure(s) without an effectiveness check")
    _shot(division, "en-12-division-close-refused")
    division.goto(review_url)
    for _ in range(4):
        division.locator(".countermeasure").get_by_role("button", name="Mark implemented").first.click()
        expect(division.locator(".flash-success")).to_contain_text("Marked implemented")
    for _ in range(4):
        division.locator(".countermeasure summary", has_text="Record effectiveness check").first.click()
        form = division.locator(".countermeasure details[open] form")
        form.get_by_label("How the effect was checked").fill("Pull test on 30 crimps from two shifts.")
        form.get_by_label("Result", exact=True).fill("All 30 above the minimum pull force.")
        form.get_by_label("Effective?").select_option("yes")
        form.get_by_role("button", name="Record check").click()
        expect(division.locator(".flash-success")).to_contain_text("Effectiveness check recorded")
    division.goto(incident_url)
    division.get_by_role("link", name="Close the incident").click()
    division.get_by_label("Reason").fill(CLOSING)
    division.locator("main form button[type=submit]").last.click()
    expect(division.locator(".heading-row .badge").first).to_have_text("Closed")
    _shot(division, "en-13-division-closed")

    # --- The engineer finds the lesson; the admin sees the trail of the case.
    engineer = new_page()
    _log_in(engineer, "engineer@example.com")
    engineer.goto("/reviews/lessons")
    engineer.get_by_label("Search lessons").fill("crimp tool change")
    engineer.get_by_role("button", name="Search").click()
    hit = engineer.locator(".lesson-hit", has_text=REVIEW_TITLE)
    expect(hit).to_have_count(1)
    _shot(engineer, "en-14-engineer-lessons")
    hit.get_by_role("link").first.click()
    expect(engineer.locator("h1")).to_have_text(REVIEW_TITLE)
    lesson_url = engineer.url

    admin = new_page()
    _log_in(admin, "admin@example.com")
    admin.goto(incident_url)
    _shot(admin, "en-15-admin-incident")
    admin.goto("/admin/report-distribution")
    _shot(admin, "en-16-admin-report-distribution")

    # --- Head office's My work after the walk: still no imported history.
    hq.goto("/my-work")
    main = hq.locator("main").inner_text()
    assert not [r for r in history_refs if r in main]
    _shot(hq, "en-17-hq-my-work-after")

    # --- The same case in Japanese: each role's key pages, with no English left outside what people wrote.
    demo.rollback()
    demo.execute(sa.update(User).where(User.email.in_([email for email, _ in ROLES])).values(locale="ja"))
    demo.commit()
    pages = {"my-work": "/my-work", "incident": incident_url, "status-report": status_report_url,
             "lessons": "/reviews/lessons", "lesson": lesson_url}
    leaks: dict[str, list[str]] = {}
    for email, role in ROLES:
        page = new_page()
        _log_in(page, email, welcome="ようこそ")
        for name, url in pages.items():
            response = page.goto(url)
            assert response is not None
            expect(page.locator("html")).to_have_attribute("lang", "ja")
            _shot(page, f"ja-{role}-{name}")
            if response.status == 403:
                expect(page.get_by_role("heading", level=1)).not_to_have_text("Not allowed")
                continue
            assert response.status == 200, (role, name, response.status)
            text = page.locator("main").inner_text()
            (SCREENS / f"ja-{role}-{name}.txt").write_text(text, encoding="utf-8")
            if name == "my-work":  # imported history is nobody's work
                assert not [r for r in history_refs if r in text], role
            found = _english(text)
            if found:
                leaks[f"{role} {name}"] = found

    assert not leaks, "\n".join(f"{page}: {words}" for page, words in leaks.items())


#: The demo users walking the case, by role.
ROLES = [("reporter@example.com", "reporter"), ("division.qa@example.com", "division-qa"),
         ("hq.qa@example.com", "head-office-qa"), ("executive@example.com", "executive"),
         ("engineer@example.com", "engineer"), ("admin@example.com", "admin")]
#: What people typed, and the names of people, products and codes: shown as written in every language.
AS_WRITTEN = sorted([
    TITLE, DESCRIPTION, REASON, NARRATIVE, CONTAINMENT, REVIEW_TITLE, CLOSING, "Agreed: head office takes the lead.",
    "Cause code follows after the field inspection.", "Consumer Affairs Agency web form", "CAA-2026-0107",
    "Flames at the compressor relay.", "Loose crimp raised the contact resistance.",
    "Crimp height not checked after a tool change.", "End-of-line test checks function only.",
    "No first-article rule after tool changes.", "Schedule pressure to restart the line.",
    "Crimp replaced by a welded joint", "First-article crimp pull test after every tool change",
    "Tool-change procedure requires the first-article check", "Restart targets paused after a tool change",
    "Pull test on 30 crimps from two shifts.", "All 30 above the minimum pull force.",
    "Aiko Tanaka", "Kenji Sato", "Yuki Nakamura", "Hiroshi Mori", "Priya Raman", "Sam Admin",
    "French-door refrigerator 540 L", "R-HW540", "Setagaya, Tokyo", "Acme", "Asia/Tokyo", "qa-incidents",
    # Master data as the company named it: divisions, categories, and the other demo incidents' titles.
    "Home Appliances", "Cable Materials", "Home appliances › Refrigerators", "Refrigerator caught fire in kitchen",
    "Suspected CO release from fan heater", "Door glass shattered during drying cycle",
    "Indoor unit emitted smoke, breaker tripped", "Overheated rolling-stock cable in depot test",
    "Extension cord plug melted", "-initial.pdf", "application/pdf",
    # The laws map's demo amendment (its title as the administrator typed it) and the models it re-assesses.
    "Demo: training amendment (not a real legal change)", "R-S38",
], key=len, reverse=True)
CODES = re.compile(r"\b(INC-\d{4}-\d+|[A-Z]{2,}(?:-[A-Z0-9]+)*|S[1-4]|JST|UTC|PDF|CSV|SHA-256|[0-9a-f]{16,})\b")


def _english(text: str) -> list[str]:
    """The English words left in a page's text once what people wrote, names and codes are taken out."""
    for written in AS_WRITTEN:
        text = text.replace(written, " ")
    text = CODES.sub(" ", re.sub(r"[\w.+-]*@[\w.-]+", " ", text))  # codes, e-mail addresses, @mentions
    return sorted(set(re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text)))
