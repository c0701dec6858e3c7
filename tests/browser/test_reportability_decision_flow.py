"""From filing to a signed reportability decision, in a real browser: an Australian injury a doctor treated makes
AU-ACL-131 apply at once; repeated smoke in the US with nobody hurt makes CPSA §15(b) "To decide" with a decision due
date before anyone triages; division QA asks for the decision, head-office QA signs "reportable"; the report is then
"Required", its draft carries the 16 CFR 1115.13(d) items, and top management's status report is issued."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_reportability_flow import file_incident, obligation_row

pytestmark = pytest.mark.browser

SCREENS = Path("/tmp/qa_screens")
CPSC = "US-CPSC-15B"
DUE = re.compile(r"Decision due\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def record_row(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator("table.notification-records tbody tr").filter(has_text=code)


def test_candidate_to_signed_reportable_decision_draft_and_status_report(new_page: Callable[[], Page], log_in) -> None:
    SCREENS.mkdir(exist_ok=True)
    reporter = new_page()
    log_in(reporter, "reporter@example.com")

    # Australia: one injury, treated by a doctor: a serious injury under ACL s.131, reportable as filed.
    file_incident(reporter, title="Hand burnt on the oven door", country="Australia", place="Melbourne",
                  harm={"Minor injuries": "1"}, ticks=(), care="Treated by a doctor or nurse")
    row = obligation_row(reporter, "AU-ACL-131")
    expect(row).to_contain_text("Applies")
    expect(row).to_contain_text("s.131(1)")
    expect(record_row(reporter, "AU-ACL-131")).to_contain_text("Required")

    # The US: repeated smoke, nobody hurt: a CPSA §15(b) judgement, with a decision due date, before any triage.
    file_incident(reporter, title="Smoke from the control panel again", country="United States", place="Columbus, OH",
                  harm={}, ticks=("Smoke", "A malfunction that could cause death or serious injury if it recurred"))
    incident_url = reporter.url
    reference = reporter.locator("p.ref").inner_text().strip()
    expect(reporter.locator(".heading-row")).to_contain_text("not triaged")
    row = obligation_row(reporter, CPSC)
    expect(row).to_contain_text("To decide")
    expect(row).to_contain_text(DUE)
    expect(row).to_contain_text("Decision owner: Kenji Sato")
    listed = record_row(reporter, CPSC)
    expect(listed).to_contain_text("To decide")
    expect(listed).not_to_contain_text("Required")
    expect(listed).to_contain_text("Decision due")
    expect(reporter.locator("#status-reports")).not_to_contain_text("Report 1")
    reporter.locator("#obligations").screenshot(path=str(SCREENS / "reportability-to-decide.png"))

    # Division QA asks for the decision; it is not theirs to sign.
    division = new_page()
    log_in(division, "division.qa@example.com")
    division.goto(incident_url)
    record_row(division, CPSC).get_by_role("link", name=CPSC).click()
    expect(division.locator("#record-state")).to_have_text("To decide")
    expect(division.locator("#decision-due")).to_have_text("Decision due")
    expect(division.locator("#decide")).to_have_count(0)
    record_url = division.url
    division.locator("#request-event").get_by_label("Comment").fill("Third smoke report on this control board.")
    division.get_by_role("button", name="Request the decision").click()
    expect(division.locator(".flash-success")).to_be_visible()

    # Head-office QA finds it on the deadline board as "To decide", and signs "reportable".
    hq = new_page()
    log_in(hq, "hq.qa@example.com")
    hq.get_by_role("navigation", name="Main").get_by_role("link", name="Deadline board").click()
    board_row = hq.locator("table.board tbody tr").filter(has_text=reference).filter(has_text=CPSC)
    expect(board_row).to_contain_text("To decide")
    expect(board_row).to_contain_text("Decision due")
    expect(board_row).to_contain_text("Kenji Sato")
    expect(board_row).not_to_contain_text("Required")
    hq.locator("table.board").screenshot(path=str(SCREENS / "reportability-board.png"))
    board_row.get_by_role("link", name=CPSC).click()
    decide = hq.locator("#decide")
    decide.get_by_label("Reasons").fill("Repeated smoke from one control board could create a substantial product hazard.")
    decide.get_by_label("Your password (signature)").fill("demo-password-2026")
    decide.get_by_role("button", name="Sign: reportable").click()
    expect(hq.locator(".flash-success")).to_contain_text("Signed: the obligation is reportable.")
    expect(hq.locator("#record-state")).to_have_text("Required")

    # The decision is on the incident, signed; top management's status report went out with it.
    hq.goto(incident_url)
    decision = hq.locator("table.decisions tbody tr").filter(has_text=CPSC)
    expect(decision).to_contain_text("Reportable")
    expect(decision).to_contain_text("Yuki Nakamura")
    expect(decision).to_contain_text("substantial product hazard")
    expect(record_row(hq, CPSC)).to_contain_text("Required")
    reports = hq.locator("#status-reports")
    expect(reports).to_contain_text("Report 1")
    expect(reports).to_contain_text("Report to a regulator required")
    reports.get_by_role("link", name="Report 1").click()
    expect(hq.locator("body")).to_contain_text(CPSC)
    expect(hq.locator("body")).to_contain_text(reference)
    hq.screenshot(path=str(SCREENS / "reportability-status-report.png"), full_page=True)

    # Division QA drafts the report: the 16 CFR 1115.13(d) items, item by item.
    division.goto(record_url)
    expect(division.locator("#record-state")).to_have_text("Required")
    for item in ("(1) Name and address of the manufacturer, distributor or retailer",
                 "(4) Nature and extent of the possible defect, failure to comply or risk",
                 "(6) How and when the information was obtained",
                 "(7) Number of products involved",
                 "(10) Corrective action taken or proposed", "(11) Person to contact"):
        expect(division.get_by_label(item, exact=True)).to_be_visible()
    expect(division.get_by_label("(9) Number of products in the hands of consumers", exact=True)) \
        .to_have_value(re.compile("800 units in the field"))
    # The number of products involved is not the units in the field: it is left for a person, and said to be missing.
    expect(division.get_by_label("(7) Number of products involved", exact=True)).to_have_value("")
    expect(division.locator("#missing-fields")).to_contain_text("(7) Number of products involved")
    division.locator("#draft").screenshot(path=str(SCREENS / "reportability-cpsc-draft.png"))
