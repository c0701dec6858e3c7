"""The import page in a browser: upload a CSV with one bad row, map a column, preview, run with the progress
indicator, and read the report naming the rejected row by its line."""

from __future__ import annotations

import threading
from typing import Any

from playwright.sync_api import expect

from qa_incidents.api import importer

CSV = ("reference,division,product,title,lot_numbers,serial_numbers,country,place,occurred_at,aware_at,source,"
       "hazard,deaths,serious_injuries,minor_injuries,fire,smoke,co_poisoning,property_damage,no_harm,"
       "units_in_field,notes\n"
       "CC-1,HA,R-HW540,Door seal melted,L1,,JP,Nagoya,2026-11-01T10:00:00+09:00,2026-11-02T09:00:00+09:00,"
       "service_report,overheating,0,0,0,false,true,false,false,false,200,Seal deformed near the heater.\n"
       "CC-2,HA,R-HW540,Bad date,L1,,JP,Nagoya,soon,2026-11-02T09:00:00+09:00,"
       "service_report,overheating,0,0,0,false,true,false,false,false,200,Text.\n"
       "CC-3,HA,R-S38,Hinge cracked,L2,,JP,Osaka,2026-11-03T10:00:00+09:00,2026-11-03T12:00:00+09:00,"
       "customer_complaint,mechanical,0,0,0,false,false,false,false,true,50,Door hinge cracked on opening.\n")


def test_import_page_previews_runs_with_progress_and_reports_the_bad_line(app, page, log_in, monkeypatch):  # type: ignore[no-untyped-def]
    # A background run, held until the page has shown its progress (a small file is otherwise done at once).
    app.config["IMPORT_INLINE"] = False
    release = threading.Event()
    original = importer.import_rows

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=30)
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "import_rows", held)

    log_in(page, "reporter@example.com")
    page.goto("/imports/")
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "callcentre.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    page.get_by_label("Mapping profile", exact=True).select_option("qa-incidents-register")
    page.get_by_role("button", name="Upload and preview").click()

    # The mapping page: the profile reads "description", which this file calls "notes".
    expect(page.get_by_role("heading", level=1)).to_contain_text("Map the columns of callcentre.csv")
    expect(page.get_by_role("alert")).to_contain_text("no column named description")
    page.get_by_label("description", exact=True).select_option("notes")
    page.get_by_role("button", name="Apply and preview again").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    preview = page.locator("#preview tbody tr")
    expect(preview).to_have_count(3)
    expect(preview.nth(0)).to_contain_text("Door seal melted")
    expect(preview.nth(0)).to_contain_text("OK")
    expect(preview.nth(1)).to_contain_text("3")
    expect(preview.nth(1)).to_contain_text("Will be rejected")
    expect(preview.nth(1)).to_contain_text("occurred_at")

    page.get_by_role("button", name="Start the import").click()
    progress = page.locator("progress#import-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("max", "3")
    expect(page.get_by_role("status").first).to_contain_text("0 of 3 rows processed")
    release.set()

    # The page follows the run by reloading itself until the report is there.
    expect(page.locator("#run-status")).to_have_text("finished", timeout=20_000)
    expect(progress).to_have_count(0)
    expect(page.locator("#report-rows")).to_have_text("3")
    expect(page.locator("#report-imported")).to_have_text("2")
    expect(page.locator("#report-rejected")).to_have_text("1")
    expect(page.get_by_text("Every row is accounted for")).to_be_visible()
    rejected = page.locator("table.rejected tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first.locator("td").nth(0)).to_have_text("3")
    expect(rejected.first.locator("td").nth(1)).to_have_text("CC-2")
    expect(rejected.first).to_contain_text("rejected")
    expect(rejected.first).to_contain_text("'soon'")
