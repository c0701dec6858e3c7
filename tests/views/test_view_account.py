"""One's own account: time zone (and how times are then shown) and password."""

from __future__ import annotations

from view_helpers import flashes, form_with, location_path, login, text

NEW_PASSWORD = "a-much-longer-secret-2026"


def _prefs(response):  # type: ignore[no-untyped-def]
    return form_with(response, "prefs-timezone")


def _pw(response):  # type: ignore[no-untyped-def]
    return form_with(response, "pw-current_password")


def test_account_page_shows_who_and_current_zone(login_as):
    client = login_as("reporter@example.com")
    response = client.get("/account")
    assert response.status_code == 200
    body = text(response)
    assert "reporter@example.com" in body and "Home Appliances" in body
    assert _prefs(response).values["prefs-timezone"] == "Asia/Tokyo"
    assert "Times are shown in Asia/Tokyo." in body


def test_changing_time_zone_changes_how_times_are_shown(login_as):
    client = login_as("reporter@example.com")
    assert "Occurred at 2026-11-13 12:00 JST" in text(client.get("/incidents/1"))
    form = _prefs(client.get("/account"))
    response = client.post("/account", data=form.data(**{"prefs-timezone": "Europe/London"}))
    assert response.status_code == 302 and location_path(response) == "/account"
    page = client.get("/account")
    assert "Preferences saved." in flashes(page)
    assert _prefs(page).values["prefs-timezone"] == "Europe/London"
    incident = text(client.get("/incidents/1"))
    assert "Occurred at 2026-11-13 03:00 GMT" in incident
    assert "Company became aware at 2026-11-13 23:00 GMT" in incident
    assert "Times are shown in Europe/London." in incident
    # The facts are in the viewer's zone; only the regulator's deadline keeps the authority's own (JST).
    facts = incident.split("Facts", 1)[1].split("Comments", 1)[0]
    assert "JST" not in facts
    # The register reads date filters in the new zone too: #1 became aware on 13 Nov in London.
    register = client.get("/incidents/?aware_from=2026-11-13&aware_to=2026-11-13")
    assert "INC-2026-000001" in text(register) and "1 incident" in text(register)


def test_unknown_time_zone_is_refused(login_as):
    client = login_as("reporter@example.com")
    form = _prefs(client.get("/account"))
    response = client.post("/account", data=form.data(**{"prefs-timezone": "Mars/Olympus_Mons"}))
    assert response.status_code == 422
    assert "prefs-timezone" in _prefs(response).errors
    assert "Times are shown in Asia/Tokyo." in text(client.get("/account"))


def test_password_change_requires_the_current_one(app, login_as):
    client = login_as("reporter@example.com")
    form = _pw(client.get("/account"))
    wrong = client.post("/account", data=form.data(**{"pw-current_password": "not-my-password",
                                                      "pw-new_password": NEW_PASSWORD}))
    assert wrong.status_code == 422
    assert _pw(wrong).errors["pw-current_password"] == "The current password is not correct."
    assert _pw(wrong).values["pw-new_password"] == ""  # never echoed back
    assert login(app.test_client(), "reporter@example.com", NEW_PASSWORD).status_code == 401

    short = client.post("/account", data=form.data(**{"pw-current_password": "demo-password-2026",
                                                      "pw-new_password": "short"}))
    assert short.status_code == 422
    assert _pw(short).errors["pw-new_password"] == "Use at least 12 characters."

    ok = client.post("/account", data=form.data(**{"pw-current_password": "demo-password-2026",
                                                   "pw-new_password": NEW_PASSWORD}))
    assert ok.status_code == 302
    assert "Password changed." in flashes(client.get("/account"))
    assert login(app.test_client(), "reporter@example.com", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "reporter@example.com").status_code == 401
