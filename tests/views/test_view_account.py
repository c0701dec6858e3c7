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
    assert "Password changed. Every other session of yours has ended." in flashes(client.get("/account"))
    assert login(app.test_client(), "reporter@example.com", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "reporter@example.com").status_code == 401


def test_japanese_era_dates_are_an_option_next_to_language_and_audited(login_as, fresh):
    import sqlalchemy as sa

    from qa_incidents.accounts.models import User
    from qa_incidents.core.audit import AuditEvent

    client = login_as("reporter@example.com")
    page = client.get("/account")
    assert "Japanese-era dates" in text(page) and "prefs-era_dates" not in _prefs(page).values  # off by default
    assert "Dates are shown like this: 2026-11-20 12:00 JST" in text(page)
    # Chosen while reading English: English keeps Gregorian dates.
    response = client.post("/account", data=_prefs(page).data(**{"prefs-era_dates": True}))
    assert response.status_code == 302
    assert "Dates are shown like this: 2026-11-20 12:00 JST" in text(client.get("/account"))
    # Reading Japanese: 令和8年.
    response = client.post("/account", data=_prefs(client.get("/account")).data(**{"prefs-locale": "ja"}))
    assert response.status_code == 302
    page = client.get("/account")
    assert "和暦で日付を表示" in text(page) and "日付の表示例： 令和8年11月20日 12:00 JST" in text(page)
    assert _prefs(page).values["prefs-era_dates"] == "y"
    user_id = fresh(sa.select(User.id).where(User.email == "reporter@example.com"))
    assert fresh(sa.select(User.era_dates).where(User.id == user_id)) is True
    first_change = fresh(sa.select(AuditEvent.changes).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == user_id, AuditEvent.action == "updated")
        .order_by(AuditEvent.id).limit(1))
    assert first_change == {"era_dates": [False, True]}
    # Turned off again: Gregorian dates in Japanese.
    client.post("/account", data=_prefs(page).data(**{"prefs-era_dates": False}))
    assert "日付の表示例： 2026-11-20 12:00 JST" in text(client.get("/account"))


def test_an_administrators_edit_keeps_the_users_era_dates(login_as, demo, fresh):
    import sqlalchemy as sa

    from qa_incidents.accounts.models import User

    demo.execute(sa.update(User).where(User.email == "reporter@example.com").values(era_dates=True))
    demo.commit()
    user_id = fresh(sa.select(User.id).where(User.email == "reporter@example.com"))
    admin = login_as("admin@example.com")
    form = form_with(admin.get(f"/admin/users/{user_id}"), "email")
    assert admin.post(f"/admin/users/{user_id}", data=form.data(name="Aiko Tanaka-Sato")).status_code == 302
    assert fresh(sa.select(User.era_dates).where(User.id == user_id)) is True
