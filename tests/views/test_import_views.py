"""The import pages (upload, mapping, preview, run, report) and the export downloads."""

from __future__ import annotations

import html
import io
import re

import sqlalchemy as sa
from view_helpers import form_with, text

from qa_incidents.api import importer
from qa_incidents.api.models import ImportProfile, ImportRun
from qa_incidents.incidents.models import Incident

GOOD = ("reference,division,product,title,lot_numbers,serial_numbers,country,place,occurred_at,aware_at,source,"
        "hazard,deaths,serious_injuries,minor_injuries,fire,smoke,co_poisoning,property_damage,no_harm,"
        "units_in_field,notes\n"
        "CC-1,HA,R-HW540,Door seal melted,L1,,JP,Nagoya,2026-11-01T10:00:00+09:00,2026-11-02T09:00:00+09:00,"
        "service_report,overheating,0,0,0,false,true,false,false,false,200,Seal deformed near the heater.\n"
        "CC-2,HA,R-HW540,Bad date,L1,,JP,Nagoya,soon,2026-11-02T09:00:00+09:00,"
        "service_report,overheating,0,0,0,false,true,false,false,false,200,Text.\n")


def _upload(client, content: bytes, name: str, profile: str):  # type: ignore[no-untyped-def]
    page = client.get("/imports/")
    form = form_with(page, "profile")
    data = form.data(profile=profile)
    data["file"] = (io.BytesIO(content), name)
    return client.post(form.action, data=data, content_type="multipart/form-data")


def test_upload_map_preview_run_and_report(login_as, client, fresh):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    uploaded = _upload(client, GOOD.encode(), "callcentre.csv", "qa-incidents-register")
    assert uploaded.status_code == 302
    mapping = client.get(uploaded.headers["Location"])
    page = text(mapping)
    # The register profile reads "description", which this file calls "notes": the page says so, and shows a preview.
    assert "no column named description" in page
    assert "Will be rejected" in page  # line 3's date, already in the preview
    form = form_with(mapping, "map-description")
    applied = client.post(form.action, data={**form.data(), "map-description": "notes",
                                             "profile_name": "call-centre", "action": "preview"})
    assert applied.status_code == 302
    assert fresh(sa.select(ImportProfile.name).where(ImportProfile.name == "call-centre")) == "call-centre"
    mapping = client.get(applied.headers["Location"])
    assert "no column named" not in text(mapping)
    form = form_with(mapping, "map-description")
    started = client.post(form.action, data={**form.data(), "action": "run"})
    assert started.status_code == 302
    report = client.get(started.headers["Location"])
    page = text(report)
    assert "finished" in page and "Every row is accounted for" in page
    assert "Refresh" not in report.headers
    assert fresh(sa.select(Incident.place).where(Incident.title == "Door seal melted")) == "Nagoya"
    run = fresh(sa.select(ImportRun))
    assert (run.rows, run.imported, run.rejected) == (2, 1, 1)
    assert "occurred_at" in page and "'soon'" in page
    csv_report = client.get(f"/imports/{run.id}/report.csv")
    assert "3,CC-2,rejected" in csv_report.get_data(as_text=True)


def test_a_running_import_page_refreshes_itself(login_as, client, demo, demo_user=None):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    uploaded = _upload(client, GOOD.encode(), "callcentre.csv", "qa-incidents-register")
    run_id = int(uploaded.headers["Location"].split("/")[-2])
    demo.rollback()
    run = demo.get(ImportRun, run_id)
    run.status, run.rows, run.processed = "running", 2, 1
    demo.commit()
    page = client.get(f"/imports/{run_id}")
    assert page.headers["Refresh"] == "2"
    assert '<progress id="import-progress" max="2" value="1">' in page.get_data(as_text=True)


def test_an_unreadable_file_is_refused_on_the_upload_page(login_as, client):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    response = _upload(client, b"\x00\x01", "data.xlsx", "qa-incidents-register")
    assert response.status_code == 422
    assert "not a readable .xlsx" in form_with(response, "profile").errors["file"]


def test_other_users_import_runs_are_not_shown(login_as, client, browser_as):  # type: ignore[no-untyped-def]
    other = browser_as("cable.reporter@example.com")
    uploaded = _upload(other, GOOD.encode(), "theirs.csv", "qa-incidents-register")
    path = uploaded.headers["Location"]
    login_as("reporter@example.com")
    assert client.get(path).status_code == 404
    assert "theirs.csv" not in text(client.get("/imports/"))


def test_engineers_may_not_import(login_as, client):  # type: ignore[no-untyped-def]
    login_as("engineer@example.com")
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/export/register.csv").status_code == 403


def test_export_download_is_scoped_and_filtered(login_as, client):  # type: ignore[no-untyped-def]
    login_as("cable.reporter@example.com")
    response = client.get("/imports/export/register.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="register-')
    rows = importer.read_file("r.csv", response.data).rows
    assert rows and {r["division"] for _, r in rows} == {"CM"}
    filtered = importer.read_file("r.csv", client.get("/imports/export/register.csv?status=closed").data).rows
    assert all(r["status"] == "closed" for _, r in filtered)
    assert client.get("/imports/export/register.csv?status=nonsense").status_code == 400
    xlsx = client.get("/imports/export/deadlines.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def _recalls_and_lessons(demo):  # type: ignore[no-untyped-def]
    from qa_incidents.recalls.seed import seed_demo
    from qa_incidents.reviews import lessons

    demo.rollback()
    seed_demo(demo)
    lessons.import_rows(demo, lessons.read_sample()[:60], now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    demo.commit()


def test_recall_and_lesson_exports_are_offered_and_scoped(login_as, client, demo):  # type: ignore[no-untyped-def]
    _recalls_and_lessons(demo)
    login_as("cable.reporter@example.com")
    page = text(client.get("/imports/"))
    assert "Recalls:" in page and "Lessons learned:" in page
    rows = importer.read_file("r.csv", client.get("/imports/export/recalls.csv").data).rows
    assert [r["division"] for _, r in rows] == ["CM"]  # not Home Appliances' recall
    assert importer.read_file("r.csv", client.get("/imports/export/recalls.csv?status=draft").data).rows == []
    assert client.get("/imports/export/recalls.csv?status=lost").status_code == 400
    lessons = importer.read_file("l.json", client.get("/imports/export/lessons.json?q=pump").data).rows
    assert 0 < len(lessons) < 60


def test_engineers_export_lessons_only(login_as, client, demo):  # type: ignore[no-untyped-def]
    _recalls_and_lessons(demo)
    login_as("engineer@example.com")
    response = client.get("/imports/export/lessons.csv?year=abc")
    assert response.status_code == 400
    response = client.get("/imports/export/lessons.xlsx")
    assert response.status_code == 200 and len(importer.read_file("l.xlsx", response.data).rows) == 60
    assert client.get("/imports/export/recalls.csv").status_code == 403


def test_the_lesson_library_links_its_filtered_export(login_as, client, demo):  # type: ignore[no-untyped-def]
    _recalls_and_lessons(demo)
    login_as("engineer@example.com")
    page = client.get("/reviews/lessons?q=pump").get_data(as_text=True)
    link = re.search(r'href="(/imports/export/lessons\.csv[^"]*)"', page)
    assert link is not None and "q=pump" in link.group(1)
    rows = importer.read_file("l.csv", client.get(html.unescape(link.group(1))).data).rows
    assert 0 < len(rows) < 60  # the search's lessons, not the whole library


def test_the_recall_list_links_its_filtered_export(login_as, client, demo):  # type: ignore[no-untyped-def]
    _recalls_and_lessons(demo)
    login_as("cable.reporter@example.com")
    page = client.get("/recalls/?status=draft").get_data(as_text=True)
    link = re.search(r'href="(/imports/export/recalls\.csv[^"]*)"', page)
    assert link is not None and "status=draft" in link.group(1)
    export = client.get(html.unescape(link.group(1)))
    assert export.status_code == 200 and importer.read_file("r.csv", export.data).rows == []  # no draft recall in CM
