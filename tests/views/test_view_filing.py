"""Filing an incident: the form, a valid report, an invalid one, and times in the chosen zone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from view_helpers import flashes, form_with, location_path, text

from qa_incidents.incidents.models import Incident


def _filled(client, **changes):  # type: ignore[no-untyped-def]
    """The filing form of a reporter of Home Appliances, filled in as a valid report."""
    form = form_with(client.get("/incidents/new"), "title")
    values = {
        "product_id": form.option_value("product_id", "R-HW540"),
        "title": "Ice maker leaked onto power board",
        "lot_numbers": "L2611-09, L2611-10",
        "serial_numbers": "SN-000123",
        "country": "JP",
        "place": "Kita-ku, Osaka",
        "timezone": "Asia/Tokyo",
        "occurred_at": "2026-11-19T10:00",
        "aware_at": "2026-11-19T12:00",
        "source": "customer_complaint",
        "hazard": "electric_shock",
        "deaths": "0",
        "serious_injuries": "0",
        "minor_injuries": "0",
        "smoke": True,
        "units_in_field": "1500",
        "description": "Water from the ice maker reached the main board; smoke seen, no flame.",
    }
    values.update(changes)
    return form.data(**values)


def test_new_form_presets_own_division_and_viewer_zone(login_as):
    client = login_as("reporter@example.com")
    response = client.get("/incidents/new")
    assert response.status_code == 200
    form = form_with(response, "title")
    assert [o.label for o in form.selects["division_id"]] == ["Home Appliances"]
    assert form.values["division_id"] == form.selects["division_id"][0].value
    assert form.values["timezone"] == "Asia/Tokyo"
    models = " ".join(o.label for o in form.selects["product_id"])
    assert "R-HW540" in models
    assert "RS-FR95" not in models  # another division's product is not offered
    assert form.values["deaths"] == "0"


def test_head_office_may_choose_any_division_with_own_preset(login_as):
    client = login_as("hq.qa@example.com")
    form = form_with(client.get("/incidents/new"), "title")
    labels = [o.label for o in form.selects["division_id"]]
    assert {"Home Appliances", "Cable Materials", "Head Office Quality Assurance"} <= set(labels)
    chosen = [o.label for o in form.selects["division_id"] if o.value == form.values["division_id"]]
    assert chosen == ["Head Office Quality Assurance"]


def test_valid_report_is_filed_with_next_reference(login_as, fresh):
    client = login_as("reporter@example.com")
    response = client.post("/incidents/new", data=_filled(client))
    assert response.status_code == 302
    assert location_path(response) == "/incidents/7"
    page = client.get("/incidents/7")
    assert page.status_code == 200
    assert "Incident INC-2026-000007 filed." in flashes(page)
    body = text(page)
    assert "INC-2026-000007" in body
    assert "Ice maker leaked onto power board" in body
    assert "Aiko Tanaka · filed the incident" in body
    assert "Kita-ku, Osaka, Japan" in body
    assert "L2611-09, L2611-10" in body
    assert fresh(sa.select(Incident.reference).where(Incident.id == 7)) == "INC-2026-000007"
    register = text(client.get("/incidents/"))
    assert "5 incidents" in register and "INC-2026-000007" in register


def test_times_are_read_in_the_chosen_zone_and_shown_in_the_viewers(login_as, fresh):
    client = login_as("reporter@example.com")
    assert client.post("/incidents/new", data=_filled(client)).status_code == 302
    body = text(client.get("/incidents/7"))
    assert "Occurred at 2026-11-19 10:00 JST" in body
    assert "Company became aware at 2026-11-19 12:00 JST" in body
    assert fresh(sa.select(Incident.occurred_at).where(Incident.id == 7)) == datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    assert fresh(sa.select(Incident.aware_at).where(Incident.id == 7)) == datetime(2026, 11, 19, 3, 0, tzinfo=UTC)


def test_times_typed_in_another_zone_are_converted(login_as, fresh):
    client = login_as("reporter@example.com")
    data = _filled(client, timezone="Europe/London", occurred_at="2026-11-19T01:00", aware_at="2026-11-19T02:30")
    assert client.post("/incidents/new", data=data).status_code == 302
    assert fresh(sa.select(Incident.occurred_at).where(Incident.id == 7)) == datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    body = text(client.get("/incidents/7"))  # the reporter reads Tokyo time
    assert "Occurred at 2026-11-19 10:00 JST" in body
    assert "Company became aware at 2026-11-19 11:30 JST" in body
    edit = form_with(client.get("/incidents/7/edit"), "title")  # and edits in it too
    assert edit.values["timezone"] == "Asia/Tokyo"
    assert edit.values["occurred_at"] == "2026-11-19T10:00"


def test_invalid_report_shows_every_reason_and_keeps_input(login_as, fresh):
    client = login_as("reporter@example.com")
    data = _filled(client, title="", occurred_at="2026-11-21T10:00", aware_at="2026-11-18T09:00", deaths="-1")
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    assert "The incident was not filed: correct the fields marked below." in flashes(response)
    form = form_with(response, "title")
    assert form.errors["title"] == "Give the incident a short title."
    assert form.errors["deaths"] == "Cannot be negative."
    assert form.errors["occurred_at"] == "The incident cannot have happened in the future."
    assert form.errors["aware_at"] == "The company cannot have become aware before the incident happened."
    assert "place" not in form.errors and "description" not in form.errors
    # Everything typed is still there.
    for name in ("place", "lot_numbers", "serial_numbers", "description", "occurred_at", "aware_at",
                 "deaths", "product_id", "country", "units_in_field"):
        assert form.values[name] == data[name], name
    assert form.values["smoke"] == "y"
    assert fresh(sa.select(sa.func.count(Incident.id))) == 6


def test_invalid_report_keeps_the_typed_title(login_as, fresh):
    client = login_as("reporter@example.com")
    data = _filled(client, title="Door hinge <snapped> & fell", occurred_at="2026-11-20T13:00",
                   aware_at="2026-11-20T13:30")  # 13:00 JST is after the frozen 12:00 JST
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    form = form_with(response, "title")
    assert form.values["title"] == "Door hinge <snapped> & fell"
    assert "<snapped>" not in response.get_data(as_text=True)  # escaped, not markup
    assert form.errors["occurred_at"] == "The incident cannot have happened in the future."
    assert form.errors["aware_at"] == "The company cannot have become aware in the future."
    assert fresh(sa.select(sa.func.count(Incident.id))) == 6


def test_missing_required_fields_are_named(login_as):
    client = login_as("reporter@example.com")
    data = _filled(client, place="", description="", lot_numbers="", serial_numbers="", country="",
                   occurred_at="", smoke=None)
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    form = form_with(response, "title")
    assert form.errors["place"] == "Say where it happened."
    assert form.errors["description"] == "Describe what happened."
    assert form.errors["country"] == "Choose the country where it happened."
    assert form.errors["occurred_at"] == "Enter when it happened (date and time)."
    assert form.values["title"] == data["title"]


def test_reporter_cannot_file_for_another_division(login_as, browser_as, fresh):
    hq = form_with(browser_as("hq.qa@example.com").get("/incidents/new"), "title")  # to learn the other ids
    client = login_as("reporter@example.com")
    data = _filled(client, division_id=hq.option_value("division_id", "Cable Materials"),
                   product_id=hq.option_value("product_id", "RS-FR95"))
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    assert fresh(sa.select(sa.func.count(Incident.id))) == 6


def test_head_office_files_for_a_division(login_as, fresh):
    client = login_as("hq.qa@example.com")
    form = form_with(client.get("/incidents/new"), "title")
    data = _filled(client, division_id=form.option_value("division_id", "Cable Materials"),
                   product_id=form.option_value("product_id", "EX-15A3"), country="GB")
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 302
    body = text(client.get(location_path(response)))
    assert "INC-2026-000007" in body and "Cable Materials" in body


def test_out_of_range_input_is_refused_not_a_server_error(login_as, fresh):
    client = login_as("reporter@example.com")
    cases = [
        ({"units_in_field": "99999999999999999999999"}, "units_in_field", "This number is too large."),
        ({"deaths": "3000000000"}, "deaths", "This number is too large."),
        ({"occurred_at": "0001-01-01T05:00"}, "occurred_at", "This date is out of range."),
        ({"deaths": "many"}, "deaths", "Not a valid integer value."),
        ({"source": "rumour"}, "source", "Not a valid choice."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice."),
        ({"product_id": "100000000000000000000"}, "product_id", "Not a valid choice."),  # beyond any database integer
    ]
    for changes, name, message in cases:
        response = client.post("/incidents/new", data=_filled(client, **changes))
        assert response.status_code == 422, changes
        assert message in form_with(response, "title").errors[name], changes
    assert fresh(sa.select(sa.func.count(Incident.id))) == 6
