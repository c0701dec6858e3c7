"""The deadline calculator page: any signed-in user, the due time in both zones, reasons, open questions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from view_helpers import form_with, location_path, text

from qa_incidents.notifications.deadlines import RULES

PAGE = "/deadlines/calculator"


def calculate(client: FlaskClient, regime: str, aware_at: str, timezone: str):  # type: ignore[no-untyped-def]
    """Fill in the form as shown on the page and submit it (a GET form: no CSRF token)."""
    form = form_with(client.get(PAGE), "aware_at")
    assert form.method == "get" and "csrf_token" not in form.values
    return client.get(form.action or PAGE, query_string=form.data(regime=regime, aware_at=aware_at,
                                                                   timezone=timezone))


@pytest.mark.parametrize("email", ["reporter@example.com", "engineer@example.com", "executive@example.com",
                                   "hq.qa@example.com"])
def test_every_signed_in_user_gets_the_page_and_the_nav_link(browser_as: Callable[[str], FlaskClient], email: str):
    response = browser_as(email).get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<a href="{PAGE}" aria-current="page">Deadline calculator</a>' in html
    page = text(response)
    assert "How it was computed" not in page  # nothing calculated yet
    for code in RULES:
        assert code in page


def test_anonymous_visitors_are_sent_to_log_in(client: FlaskClient):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert location_path(response).startswith("/login")


def test_the_form_offers_every_regime_and_defaults_to_the_users_zone(browser_as: Callable[[str], FlaskClient]):
    tokyo = form_with(browser_as("reporter@example.com").get(PAGE), "aware_at")
    assert tokyo.values["timezone"] == "Asia/Tokyo"
    assert {o.value for o in tokyo.selects["regime"]} == {"", *RULES}
    assert tokyo.option_value("regime", "JP-CPSA-35 — Japan, Consumer Product Safety Act Art. 35") == "JP-CPSA-35"
    london = form_with(browser_as("cable.reporter@example.com").get(PAGE), "aware_at")
    assert london.values["timezone"] == "Europe/London"


def test_japan_shows_the_due_time_in_both_zones_and_the_explanation(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("reporter@example.com"), "JP-CPSA-35", "2026-03-02T10:00", "Asia/Tokyo")
    assert response.status_code == 200
    page = text(response)
    assert "Legal deadline" in page
    assert "Due, authority's time (Asia/Tokyo) Wed 2026-03-11 23:59:59 JST" in page
    assert "Due, your time (Asia/Tokyo) Wed 2026-03-11 23:59:59 JST" in page
    assert ("10 days counting the day of knowledge, Asia/Tokyo: 2026-03-02 10:00 JST → 2026-03-11 23:59:59 JST."
            in page)
    assert "Non-working days skipped None" in page
    assert RULES["JP-CPSA-35"].source in page


def test_the_viewers_zone_is_shown_beside_the_authoritys(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("cable.reporter@example.com"), "JP-CPSA-35", "2026-03-02T10:00", "Asia/Tokyo")
    page = text(response)
    assert "Due, authority's time (Asia/Tokyo) Wed 2026-03-11 23:59:59 JST" in page
    assert "Due, your time (Europe/London) Wed 2026-03-11 14:59:59 GMT" in page


def test_australian_worked_example_rolls_the_weekend_over_to_monday(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("engineer@example.com"), "AU-ACL-131", "2026-03-05T10:00", "Australia/Sydney")
    assert response.status_code == 200
    page = text(response)
    assert "Became aware Thu 2026-03-05 10:00 AEDT" in page
    assert "Due, authority's time (Australia/Sydney) Mon 2026-03-09 23:59 AEDT" in page
    assert "Due, your time (Asia/Tokyo) Mon 2026-03-09 21:59 JST" in page
    assert "2026-03-07 is not a working day, so the due date moves to the next working day" in page
    assert "Non-working days skipped 2026-03-07 — Saturday 2026-03-08 — Sunday" in page


def test_a_time_typed_in_another_zone_is_counted_on_the_authoritys_date(browser_as: Callable[[str], FlaskClient]):
    # 10:30 on 2 March in New York is 00:30 on 3 March in Tokyo: the Japanese count starts on the 3rd.
    response = calculate(browser_as("reporter@example.com"), "JP-CPSA-35", "2026-03-02T10:30", "America/New_York")
    page = text(response)
    assert "Became aware Tue 2026-03-03 00:30 JST" in page
    assert "Due, authority's time (Asia/Tokyo) Thu 2026-03-12 23:59:59 JST" in page
    assert form_with(response, "aware_at").values["timezone"] == "America/New_York"


def test_cpsc_lists_thanksgiving_as_skipped(browser_as: Callable[[str], FlaskClient]):
    page = text(calculate(browser_as("hq.qa@example.com"), "US-CPSC-15B", "2026-11-25T14:00", "America/New_York"))
    assert "Due, authority's time (America/New_York) Fri 2026-11-27 14:00 EST" in page
    assert "2026-11-26 — Thanksgiving Day" in page


def test_a_regime_without_a_legal_day_count_shows_an_internal_target(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("reporter@example.com"), "EU-GPSR-20", "2026-06-10T09:15", "Europe/Brussels")
    assert response.status_code == 200
    html, page = response.get_data(as_text=True), text(response)
    assert "Internal target, not a legal deadline" in page
    assert "Internal target, authority's time (Europe/Brussels) Thu 2026-06-11 09:15 CEST" in page
    assert "not a legal deadline" in page
    assert "deadline-legal" not in html and "Due, authority's time" not in page


def test_unconfirmed_notes_are_shown_in_a_warning_box(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("reporter@example.com"), "CA-CCPSA-14-2", "2026-03-12T09:00", "America/Toronto")
    html = response.get_data(as_text=True)
    box = html[html.index('<aside class="tbc"'):html.index("</aside>")]
    assert "To be confirmed by the legal department" in box
    for note in RULES["CA-CCPSA-14-2"].unconfirmed:
        assert note.replace("'", "&#39;") in box


def test_a_bad_date_is_refused_next_to_the_field_with_the_input_kept(browser_as: Callable[[str], FlaskClient]):
    response = calculate(browser_as("reporter@example.com"), "JP-CPSA-35", "2026-02-30T10:00", "Europe/Paris")
    assert response.status_code == 422
    form = form_with(response, "aware_at")
    assert form.values["aware_at"] == "2026-02-30T10:00"
    assert form.values["regime"] == "JP-CPSA-35"
    assert form.values["timezone"] == "Europe/Paris"
    assert "Enter a real date and time" in form.errors["aware_at"]
    assert "How it was computed" not in text(response)


def test_an_unknown_regime_code_is_refused_next_to_the_field(browser_as: Callable[[str], FlaskClient]):
    client = browser_as("engineer@example.com")
    response = client.get(PAGE, query_string={"regime": "XX-NOPE", "aware_at": "2026-03-02T10:00",
                                              "timezone": "Asia/Tokyo"})
    assert response.status_code == 422
    form = form_with(response, "aware_at")
    assert "Unknown regime code" in form.errors["regime"]
    assert form.values["aware_at"] == "2026-03-02T10:00"
    assert form.values["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize("changes, field, message", [
    ({"aware_at": ""}, "aware_at", "Enter when the company became aware"),
    ({"regime": ""}, "regime", "Choose a regime."),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"aware_at": "0001-01-01T00:00"}, "aware_at", "This date is out of range."),  # before UTC's year 1 in Tokyo
    ({"aware_at": "9999-12-31T10:00"}, "aware_at", "This date is out of range."),  # due after year 9999
])
def test_other_bad_input_is_a_422_not_a_server_error(browser_as: Callable[[str], FlaskClient], changes, field, message):
    data = {"regime": "JP-CPSA-35", "aware_at": "2026-03-02T10:00", "timezone": "Asia/Tokyo", **changes}
    response = browser_as("reporter@example.com").get(PAGE, query_string=data)
    assert response.status_code == 422
    assert message in form_with(response, "aware_at").errors[field]


def test_a_regime_link_preselects_it_without_calculating(browser_as: Callable[[str], FlaskClient]):
    client = browser_as("reporter@example.com")
    page = client.get(PAGE)
    assert f'href="{PAGE}?regime=US-FDA-806"' in page.get_data(as_text=True)
    response = client.get(PAGE, query_string={"regime": "US-FDA-806"})
    assert response.status_code == 200
    form = form_with(response, "aware_at")
    assert form.values["regime"] == "US-FDA-806" and form.values["timezone"] == "Asia/Tokyo" and not form.errors


def test_the_reference_table_states_each_rule(browser_as: Callable[[str], FlaskClient]):
    page = text(browser_as("reporter@example.com").get(PAGE))
    table = page[page.index("Regimes Code Regime Rule Time zone Source"):]
    assert "EU-MDR-87-15 EU, MDR 2017/745 Art. 87 serious incident 15 calendar days after the day of awareness" in table
    assert "JP-CPSA-35" in table and "10 days counting the day of knowledge" in table
    assert "Day 1 of the month after the month reported on" in table
    assert "Australia/Sydney" in table and RULES["AU-ACL-131"].source in table


def test_21CFR803_50_aware_site_zone_gives_the_earlier_deadline_with_the_reason(
        browser_as: Callable[[str], FlaskClient]):
    client = browser_as("reporter@example.com")
    form = form_with(client.get(PAGE), "aware_at")
    response = client.get(form.action or PAGE, query_string=form.data(
        regime="US-FDA-803-30", aware_at="2026-08-14T21:30", timezone="America/Los_Angeles",
        aware_timezone="America/Los_Angeles"))
    assert response.status_code == 200
    page = text(response)
    assert "Due, authority's time (America/New_York) Sun 2026-09-13 23:59:59 EDT" in page
    assert "the earlier, by the aware site's date, applies" in page
    assert "21 CFR 803.50(a)" in page  # the legal basis


def test_EU_1182_71_country_field_uses_the_member_states_holidays(browser_as: Callable[[str], FlaskClient]):
    client = browser_as("reporter@example.com")
    form = form_with(client.get(PAGE), "aware_at")
    response = client.get(form.action or PAGE, query_string=form.data(
        regime="EU-MDR-87-2", aware_at="2026-03-15T09:00", timezone="Europe/Dublin", country="IE"))
    page = text(response)
    assert "2026-03-18 23:59:59" in page and "Saint Patrick's Day" in page


def test_an_unknown_aware_site_zone_is_refused_next_to_the_field(browser_as: Callable[[str], FlaskClient]):
    client = browser_as("reporter@example.com")
    form = form_with(client.get(PAGE), "aware_at")
    response = client.get(form.action or PAGE, query_string=form.data(
        regime="US-FDA-803-30", aware_at="2026-08-14T21:30", timezone="America/Los_Angeles", aware_timezone="Mars/X"))
    assert response.status_code == 422
    assert "Unknown time zone" in text(response)


def test_holiday_calendars_page_lists_the_laws_own_days_with_source_and_version(
        browser_as: Callable[[str], FlaskClient]):
    client = browser_as("reporter@example.com")
    page = text(client.get("/deadlines/calendars?year=2026"))
    assert "Act No. 91 of 1988" in page and "2026-12-29 Administrative holiday" in page  # Japan's year end
    assert "2026-09-30 National Day for Truth and Reconciliation" in page  # Canada, s.35(1)
    assert "2026-02-16" not in page.split("Canada: holidays")[1].split("EU:")[0]  # Ontario's Family Day is not
    assert "2026-08-03 Bank Holiday" in page  # New South Wales, s.36(2)
    assert "JP-ADMIN-HOLIDAYS v1" in page
    irish = text(client.get("/deadlines/calendars?year=2026&country=IE"))
    assert "2026-03-17 Saint Patrick's Day" in irish


def test_holiday_calendars_page_ignores_a_bad_year(browser_as: Callable[[str], FlaskClient]):
    response = browser_as("reporter@example.com").get("/deadlines/calendars?year=abc&country=XX")
    assert response.status_code == 200
