"""Editing the facts: the timeline of changes, and optimistic locking between two people."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import flashes, form_with, location_path, text

from qa_incidents.incidents.models import Incident

ORIGINAL_TITLE = "Refrigerator caught fire in kitchen"


def _timeline(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<section class="panel" id="timeline".*?</section>', response.get_data(as_text=True), re.S)
    assert match, "no timeline on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def _conflict_rows(response) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The comparison table: field label -> (your input, saved version)."""
    match = re.search(r'<section class="conflict panel".*?</section>', response.get_data(as_text=True), re.S)
    assert match, "no comparison table on the page"
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td></tr>', match.group(0), re.S)
    return {label: (mine, theirs) for label, mine, theirs in rows}


def test_edit_form_shows_the_stored_facts(login_as):
    client = login_as("reporter@example.com")
    response = client.get("/incidents/1/edit")
    assert response.status_code == 200
    form = form_with(response, "title")
    assert form.values["title"] == ORIGINAL_TITLE
    assert form.values["place"] == "Setagaya, Tokyo"
    assert form.values["version"] == "1"
    assert form.values["timezone"] == "Asia/Tokyo"
    assert form.values["occurred_at"] == "2026-11-13T12:00"  # 03:00 UTC read in Tokyo
    assert form.values["fire"] == "y" and "smoke" not in form.values


def test_edit_saves_and_records_before_and_after(login_as, fresh):
    client = login_as("reporter@example.com")
    form = form_with(client.get("/incidents/1/edit"), "title")
    response = client.post("/incidents/1/edit", data=form.data(place="Meguro, Tokyo", minor_injuries="2"))
    assert response.status_code == 302 and location_path(response) == "/incidents/1"
    page = client.get("/incidents/1")
    assert "Incident INC-2026-000001 saved." in flashes(page)
    assert "Meguro, Tokyo, Japan" in text(page)
    assert "version 2" in text(page)
    timeline = _timeline(page)
    assert "Aiko Tanaka · changed the facts" in timeline
    assert "Place of occurrence Setagaya, Tokyo Meguro, Tokyo" in timeline
    assert "Minor injuries 1 2" in timeline
    # Only what changed is listed: the times went through the form and back unchanged.
    assert "Occurred at" not in timeline and "Short title" not in timeline
    assert fresh(sa.select(Incident.version).where(Incident.id == 1)) == 2


def test_saving_without_changes_records_nothing(login_as, fresh):
    client = login_as("reporter@example.com")
    form = form_with(client.get("/incidents/1/edit"), "title")
    assert client.post("/incidents/1/edit", data=form.data()).status_code == 302
    assert "changed the facts" not in _timeline(client.get("/incidents/1"))
    assert fresh(sa.select(Incident.version).where(Incident.id == 1)) == 1


def test_invalid_edit_is_refused_with_reasons(login_as, fresh):
    client = login_as("reporter@example.com")
    form = form_with(client.get("/incidents/1/edit"), "title")
    response = client.post("/incidents/1/edit", data=form.data(aware_at="2026-11-01T09:00", description=""))
    assert response.status_code == 422
    assert "Not saved: correct the fields marked below." in flashes(response)
    again = form_with(response, "title")
    assert again.errors["aware_at"] == "The company cannot have become aware before the incident happened."
    assert again.errors["description"] == "Describe what happened."
    assert again.values["aware_at"] == "2026-11-01T09:00"
    assert fresh(sa.select(Incident.aware_at).where(Incident.id == 1)).isoformat() == "2026-11-13T23:00:00+00:00"


def test_concurrent_edit_is_caught_and_can_be_overwritten_deliberately(login_as, browser_as, fresh):
    reporter = login_as("reporter@example.com")  # Aiko Tanaka
    manager = browser_as("division.qa@example.com")  # Kenji Sato
    mine = form_with(reporter.get("/incidents/1/edit"), "title")
    theirs = form_with(manager.get("/incidents/1/edit"), "title")

    # The manager saves first.
    saved = manager.post("/incidents/1/edit", data=theirs.data(title="Refrigerator fire: relay overheated"))
    assert saved.status_code == 302

    # The reporter's save, based on version 1, is refused with both versions side by side.
    response = reporter.post("/incidents/1/edit", data=mine.data(place="Setagaya-ku, Tokyo 154-0001"))
    assert response.status_code == 409
    assert any("changed by Kenji Sato" in m for m in flashes(response))
    assert "Someone else saved a newer version" in text(response)
    rows = _conflict_rows(response)
    assert rows["Short title"] == (ORIGINAL_TITLE, "Refrigerator fire: relay overheated")
    assert rows["Place of occurrence"] == ("Setagaya-ku, Tokyo 154-0001", "Setagaya, Tokyo")
    assert "Occurred at" not in rows  # equal fields are not listed
    kept = form_with(response, "title")
    assert kept.values["place"] == "Setagaya-ku, Tokyo 154-0001"  # the reporter's input is still there
    assert kept.values["title"] == ORIGINAL_TITLE
    assert kept.values["version"] == "2"
    assert fresh(sa.select(Incident.title).where(Incident.id == 1)) == "Refrigerator fire: relay overheated"
    assert fresh(sa.select(Incident.place).where(Incident.id == 1)) == "Setagaya, Tokyo"

    # Saving again, having seen the newer version, overwrites it.
    again = reporter.post("/incidents/1/edit", data=kept.data())
    assert again.status_code == 302 and location_path(again) == "/incidents/1"
    page = reporter.get("/incidents/1")
    body = text(page)
    assert "Setagaya-ku, Tokyo 154-0001" in body and ORIGINAL_TITLE in body
    assert "version 3" in body
    assert _timeline(page).count("changed the facts") == 2
    assert fresh(sa.select(Incident.version).where(Incident.id == 1)) == 3

    # The manager's form, now two versions old, is refused in turn, naming the reporter.
    stale = manager.post("/incidents/1/edit", data=theirs.data(units_in_field="50000"))
    assert stale.status_code == 409
    assert any("changed by Aiko Tanaka" in m for m in flashes(stale))
    assert fresh(sa.select(Incident.units_in_field).where(Incident.id == 1)) == 48200


def test_tampered_version_field_cannot_skip_the_check(login_as, browser_as, fresh):
    reporter = login_as("reporter@example.com")
    manager = browser_as("division.qa@example.com")
    theirs = form_with(manager.get("/incidents/1/edit"), "title")
    mine = form_with(reporter.get("/incidents/1/edit"), "title")
    assert manager.post("/incidents/1/edit", data=theirs.data(title="Changed first")).status_code == 302
    for version in ("", "abc", "0", "²", "-1"):
        response = reporter.post("/incidents/1/edit", data=mine.data(place="Elsewhere", version=version or None))
        assert response.status_code in (409, 422), version
    assert fresh(sa.select(Incident.place).where(Incident.id == 1)) == "Setagaya, Tokyo"


def test_changed_times_are_shown_in_the_viewers_zone_in_the_timeline(login_as):
    client = login_as("reporter@example.com")
    form = form_with(client.get("/incidents/1/edit"), "title")
    response = client.post("/incidents/1/edit", data=form.data(occurred_at="2026-11-13T11:00"))
    assert response.status_code == 302
    assert "Occurred at 2026-11-13 12:00 JST 2026-11-13 11:00 JST" in _timeline(client.get("/incidents/1"))
