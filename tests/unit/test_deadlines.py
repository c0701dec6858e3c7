"""Legal deadlines: the worked examples of docs/regulations.md, time zones, holidays and the open questions."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from qa_incidents.notifications.deadlines import (
    RULES,
    DeadlineKind,
    DeadlineRule,
    DueTime,
    _at,
    compute,
    monthly_due,
    public_holidays,
    rule_for,
)

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
SYDNEY = ZoneInfo("Australia/Sydney")
BRUSSELS = ZoneInfo("Europe/Brussels")
TORONTO = ZoneInfo("America/Toronto")
LONDON = ZoneInfo("Europe/London")
REGULATIONS = Path(__file__).resolve().parents[2] / "docs" / "regulations.md"


def at(tz, *args):
    return datetime(*args, tzinfo=tz)


def due(code, start, **provider):
    return compute(RULES[code], start=start, **provider)


# Every worked example in docs/regulations.md, exactly.
WORKED_EXAMPLES = [
    ("US-CPSC-15B", at(NY, 2026, 3, 13, 9, 0), at(NY, 2026, 3, 16, 9, 0)),
    ("US-CPSC-15B", at(NY, 2026, 11, 25, 14, 0), at(NY, 2026, 11, 27, 14, 0)),
    ("US-FDA-803-5", at(NY, 2026, 1, 15, 10, 0), at(NY, 2026, 1, 23, 23, 59, 59)),
    ("EU-MDR-87-10", at(BRUSSELS, 2022, 7, 2, 10, 0), at(BRUSSELS, 2022, 7, 12, 23, 59, 59)),
    ("JP-CPSA-35", at(TOKYO, 2026, 3, 2, 10, 0), at(TOKYO, 2026, 3, 11, 23, 59, 59)),
    ("AU-ACL-131", at(SYDNEY, 2026, 3, 5, 10, 0), at(SYDNEY, 2026, 3, 9, 23, 59)),
]


@pytest.mark.parametrize("code, start, expected", WORKED_EXAMPLES)
def test_worked_examples(code, start, expected):
    deadline = due(code, start)
    assert deadline.due_at == expected
    assert deadline.due_at.tzinfo is UTC
    assert deadline.is_legal_deadline and deadline.internal_target is None


def test_worked_example_monthly_progress_report_for_march_is_due_1_april():
    deadline = monthly_due(RULES["US-CPSC-MPR"], 2026, 3)
    assert deadline.due_at == at(NY, 2026, 4, 1, 23, 59, 59)
    assert deadline.due_local.date() == date(2026, 4, 1)
    assert "2026-03" in deadline.explanation and "2026-04-01" in deadline.explanation


def test_monthly_report_from_a_start_is_the_report_for_that_local_month():
    # 2026-04-01 02:00 UTC is still 31 March in New York: the March report, due 1 April.
    assert due("US-CPSC-MPR", datetime(2026, 4, 1, 2, 0, tzinfo=UTC)).due_at == at(NY, 2026, 4, 1, 23, 59, 59)
    assert due("US-CPSC-MPR", at(NY, 2026, 4, 1, 0, 30)).due_at == at(NY, 2026, 5, 1, 23, 59, 59)


def test_december_report_is_due_in_january_of_the_next_year():
    assert monthly_due("US-CPSC-MPR", 2026, 12).due_at == at(NY, 2027, 1, 1, 23, 59, 59)


@pytest.mark.parametrize("start, skipped", [
    (at(NY, 2026, 3, 13, 9, 0), [(date(2026, 3, 14), "Saturday"), (date(2026, 3, 15), "Sunday")]),
    (at(NY, 2026, 11, 25, 14, 0), [(date(2026, 11, 26), "Thanksgiving Day")]),
])
def test_cpsc_lists_the_days_it_skipped(start, skipped):
    deadline = due("US-CPSC-15B", start)
    assert [(s.day, s.reason) for s in deadline.skipped] == skipped
    for day, reason in skipped:
        assert f"{day.isoformat()} {reason}" in deadline.explanation


def test_fda_five_day_report_skips_martin_luther_king_day():
    deadline = due("US-FDA-803-5", at(NY, 2026, 1, 15, 10, 0))
    assert (date(2026, 1, 19), "Martin Luther King Jr. Day") in [(s.day, s.reason) for s in deadline.skipped]


def test_observed_independence_day_is_skipped():
    # 4 July 2026 is a Saturday: the federal holiday is observed on Friday 3 July (5 U.S.C. 6103).
    deadline = due("US-CPSC-15B", at(NY, 2026, 7, 2, 9, 0))
    assert deadline.due_at == at(NY, 2026, 7, 6, 9, 0)


@pytest.mark.parametrize("code, start, expected", [
    ("US-CPSC-15B", at(NY, 2026, 3, 14, 10, 0), at(NY, 2026, 3, 16, 10, 0)),  # Saturday: next working day
    ("US-FDA-803-5", at(NY, 2026, 1, 17, 10, 0), at(NY, 2026, 1, 26, 23, 59, 59)),  # Saturday, then MLK day
    ("US-NHTSA-573", at(NY, 2026, 11, 23, 10, 0), at(NY, 2026, 12, 1, 23, 59, 59)),  # across Thanksgiving
    ("US-FDA-806", at(NY, 2026, 12, 21, 10, 0), at(NY, 2027, 1, 6, 23, 59, 59)),  # Christmas and New Year
    ("US-CPSC-FASTTRACK", at(NY, 2026, 1, 2, 10, 0), at(NY, 2026, 2, 2, 23, 59, 59)),  # MLK day inside 20 days
    ("US-FDA-803-30", at(NY, 2026, 1, 2, 10, 0), at(NY, 2026, 2, 1, 23, 59, 59)),  # calendar days, Sunday stays
])
def test_us_working_and_calendar_days(code, start, expected):
    assert due(code, start).due_at == expected


# ACCC: Mon→Wed, Tue→Thu, Wed→Fri, Thu/Fri/Sat→Mon, Sun→Tue (an ordinary NSW week, 9–17 March 2026).
@pytest.mark.parametrize("aware, due_day", [
    (date(2026, 3, 9), date(2026, 3, 11)),
    (date(2026, 3, 10), date(2026, 3, 12)),
    (date(2026, 3, 11), date(2026, 3, 13)),
    (date(2026, 3, 12), date(2026, 3, 16)),
    (date(2026, 3, 13), date(2026, 3, 16)),
    (date(2026, 3, 14), date(2026, 3, 16)),
    (date(2026, 3, 15), date(2026, 3, 17)),
])
def test_accc_rollover_table(aware, due_day):
    deadline = due("AU-ACL-131", datetime.combine(aware, time(15, 0), tzinfo=SYDNEY))
    assert deadline.due_at == datetime.combine(due_day, time(23, 59), tzinfo=SYDNEY)


def test_japanese_holidays_inside_the_10_days_are_counted():
    assert date(2026, 3, 20) in public_holidays("JP", None, 2026)  # Vernal Equinox Day inside the 10 days
    deadline = due("JP-CPSA-35", datetime.combine(date(2026, 3, 16), time(9, 0), tzinfo=TOKYO))
    assert deadline.due_at == datetime.combine(date(2026, 3, 25), time(23, 59, 59), tzinfo=TOKYO)
    assert deadline.skipped == ()


@pytest.mark.parametrize("start, expected, expected_utc", [
    # Spring forward (Sun 8 March 2026): 71 elapsed hours, same New York clock time.
    (at(NY, 2026, 3, 6, 9, 0), at(NY, 2026, 3, 9, 9, 0), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
    # Fall back (Sun 1 November 2026): 73 elapsed hours.
    (at(NY, 2026, 10, 30, 9, 0), at(NY, 2026, 11, 2, 9, 0), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
])
def test_cpsc_across_new_york_daylight_saving(start, expected, expected_utc):
    deadline = due("US-CPSC-15B", start)
    assert deadline.due_at == expected == expected_utc


def test_working_days_end_of_day_across_new_york_spring_forward():
    # Aware Thu 5 March (EST), due Thu 12 March 23:59:59 EDT = 03:59:59 UTC on the 13th.
    assert due("US-FDA-803-5", at(NY, 2026, 3, 5, 10, 0)).due_at == datetime(2026, 3, 13, 3, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("aware, expected_utc", [
    # DST starts Sun 4 Oct 2026; Mon 5 Oct is Labour Day in NSW: due Tue 6 Oct 23:59 AEDT (UTC+11).
    (date(2026, 10, 1), datetime(2026, 10, 6, 12, 59, tzinfo=UTC)),
    # DST ends Sun 5 Apr 2026; Easter Saturday, Sunday and Monday are skipped: due Tue 7 Apr 23:59 AEST (UTC+10).
    (date(2026, 4, 2), datetime(2026, 4, 7, 13, 59, tzinfo=UTC)),
])
def test_australia_across_sydney_daylight_saving_and_holidays(aware, expected_utc):
    deadline = due("AU-ACL-131", datetime.combine(aware, time(11, 0), tzinfo=SYDNEY))
    assert deadline.due_at == expected_utc
    assert deadline.due_local.time() == time(23, 59)


def test_elapsed_hours_are_real_hours_across_daylight_saving():
    # UK internal target of 24 hours across the London spring-forward night: 13:00 BST, not 12:00.
    start = at(LONDON, 2026, 3, 28, 12, 0)
    deadline = due("UK-GPSR-9", start)
    assert deadline.due_at - start == timedelta(hours=24)
    assert deadline.due_local == at(LONDON, 2026, 3, 29, 13, 0)


def test_nonexistent_and_repeated_local_times_resolve_to_the_earlier_instant():
    assert _at(date(2026, 3, 8), time(2, 30), NY) == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # in the gap
    assert _at(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # happens twice


@pytest.mark.parametrize("code, tz, late, early, due_late, due_early", [
    ("JP-CPSA-35", TOKYO, (2026, 3, 2, 23, 30), (2026, 3, 3, 0, 30), date(2026, 3, 11), date(2026, 3, 12)),
    ("EU-MDR-87-15", BRUSSELS, (2026, 3, 2, 23, 30), (2026, 3, 3, 0, 30), date(2026, 3, 17), date(2026, 3, 18)),
    ("CA-CCPSA-14-3", TORONTO, (2026, 3, 2, 23, 30), (2026, 3, 3, 0, 30), date(2026, 3, 12), date(2026, 3, 13)),
])
def test_the_local_day_of_knowledge_decides(code, tz, late, early, due_late, due_early):
    assert due(code, at(tz, *late)).due_local.date() == due_late
    assert due(code, at(tz, *early)).due_local.date() == due_early


def test_the_same_instant_can_be_a_different_local_date():
    instant = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 3 March 00:30 in Tokyo, 2 March 10:30 in New York
    tokyo = compute(RULES["JP-CPSA-35"], start=instant)
    new_york = compute(replace(RULES["JP-CPSA-35"], time_zone="America/New_York"), start=instant)
    assert tokyo.due_local.date() == date(2026, 3, 12)
    assert new_york.due_local.date() == date(2026, 3, 11)


@pytest.mark.parametrize("code, tz", [("EU-GPSR-20", BRUSSELS), ("UK-GPSR-9", LONDON)])
def test_no_legal_deadline_but_an_internal_target(code, tz):
    start = at(tz, 2026, 6, 10, 9, 15)
    deadline = due(code, start)
    assert deadline.is_legal_deadline is False
    assert deadline.internal_target == start + timedelta(hours=RULES[code].internal_target_hours)
    assert deadline.due_at == deadline.internal_target
    assert "not a legal deadline" in deadline.explanation
    assert deadline.unconfirmed  # the default target is for the legal department to set


def test_the_internal_target_follows_the_administrators_setting():
    rule = replace(RULES["EU-GPSR-20"], internal_target_hours=6)
    start = at(BRUSSELS, 2026, 6, 10, 9, 0)
    assert compute(rule, start=start).due_at == at(BRUSSELS, 2026, 6, 10, 15, 0)


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_has_a_source_a_reading_and_an_explanation(code):
    rule = RULES[code]
    assert rule.code == code
    assert rule.source.strip() and rule.reading.strip() and rule.regime.strip()
    deadline = compute(rule, start=datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    assert rule.time_zone in deadline.explanation
    assert deadline.due_local.date().isoformat() in deadline.explanation
    assert deadline.due_at > deadline.start


def test_every_regime_code_in_the_reference_table_has_a_rule():
    table_codes = re.findall(r"^\| `([A-Z0-9-]+)` \|", REGULATIONS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert len(table_codes) == len(set(table_codes))
    assert set(table_codes) == set(RULES)


@pytest.mark.parametrize("aware, due_day", [
    (date(2026, 3, 13), date(2026, 3, 16)),  # due Sunday 15 March: a holiday, moves to Monday
    (date(2026, 5, 16), date(2026, 5, 19)),  # due Monday 18 May, Victoria Day: moves to Tuesday
])
def test_canada_rolls_over_sundays_and_holidays(aware, due_day):
    deadline = due("CA-CCPSA-14-2", datetime.combine(aware, time(9, 0), tzinfo=TORONTO))
    assert deadline.due_at == datetime.combine(due_day, time(23, 59, 59), tzinfo=TORONTO)


def test_holiday_calendar_can_be_supplied():
    def company_calendar(country, subdiv, year):
        return {date(2026, 3, 16): "Extra federal holiday"} if country == "US" else {}

    deadline = due("US-CPSC-15B", at(NY, 2026, 3, 13, 9, 0), holidays_provider=company_calendar)
    assert deadline.due_at == at(NY, 2026, 3, 17, 9, 0)
    assert deadline.skipped[-1].reason == "Extra federal holiday"


def test_holiday_calendars_are_cached_per_country_subdivision_and_year():
    assert public_holidays("AU", "NSW", 2026) is public_holidays("AU", "NSW", 2026)
    assert public_holidays("AU", "NSW", 2026) is not public_holidays("AU", "VIC", 2026)
    assert date(2026, 10, 5) in public_holidays("AU", "NSW", 2026)  # Labour Day, NSW only
    assert date(2026, 10, 5) not in public_holidays("AU", "VIC", 2026)


@pytest.mark.parametrize("code", ["US-CPSC-15B", "JP-CPSA-35", "US-CPSC-MPR", "EU-GPSR-20"])
def test_naive_datetimes_are_refused(code):
    with pytest.raises(ValueError, match="no time zone"):
        compute(RULES[code], start=datetime(2026, 3, 2, 9, 0))


def test_a_date_is_not_a_start_time():
    with pytest.raises(ValueError, match="must be a datetime"):
        compute(RULES["JP-CPSA-35"], start=date(2026, 3, 2))


def test_unknown_regime_is_refused():
    with pytest.raises(ValueError, match="Unknown regime code 'XX-NOPE'"):
        compute("XX-NOPE", start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="Unknown regime code"):
        rule_for("jp-cpsa-35")


def test_a_regime_code_can_be_passed_instead_of_a_rule():
    start = at(TOKYO, 2026, 3, 2, 10, 0)
    assert compute("JP-CPSA-35", start=start).due_at == compute(RULES["JP-CPSA-35"], start=start).due_at


@pytest.mark.parametrize("year, month", [(2026, 0), (2026, 13), (2026, "3")])
def test_invalid_months_are_refused(year, month):
    with pytest.raises(ValueError):
        monthly_due("US-CPSC-MPR", year, month)


def test_monthly_due_needs_a_monthly_rule():
    with pytest.raises(ValueError, match="not a monthly report"):
        monthly_due("JP-CPSA-35", 2026, 3)


BASE = dict(code="T-1", regime="Test", kind=DeadlineKind.CALENDAR_DAYS, amount=2, time_zone="Europe/Paris",
            source="Test source")


def test_base_rule_is_valid():
    assert DeadlineRule(**BASE).problems() == []


@pytest.mark.parametrize("changes", [
    {"time_zone": "Mars/Olympus"},
    {"amount": 0},
    {"source": " "},
    {"holiday_country": "XX"},
    {"holiday_country": "AU", "holiday_subdiv": "ZZ"},
    {"holiday_subdiv": "NSW"},
    {"kind": DeadlineKind.WORKING_DAYS},  # without excluding non-working days
    {"excludes_non_working_days": True},  # calendar days cannot exclude days
    {"kind": DeadlineKind.HOURS, "amount": 36, "excludes_non_working_days": True,
     "due_time": DueTime.SAME_CLOCK_TIME},
    {"kind": DeadlineKind.HOURS, "amount": 24},  # an hour count does not end at the end of a day
    {"kind": DeadlineKind.NO_FIXED_DEADLINE, "amount": 0},  # no internal target
    {"kind": DeadlineKind.MONTHLY, "amount": 31},
    {"internal_target_hours": 0},
])
def test_invalid_rules_are_refused(changes):
    with pytest.raises(ValueError, match="Deadline rule T-1"):
        DeadlineRule(**{**BASE, **changes})


@pytest.mark.parametrize("code", sorted(RULES))
def test_rules_survive_storage(code):
    assert DeadlineRule.from_dict(RULES[code].to_dict()) == RULES[code]


def test_stored_rule_with_an_unknown_kind_is_refused():
    data = {**RULES["JP-CPSA-35"].to_dict(), "kind": "fortnightly"}
    with pytest.raises(ValueError):
        DeadlineRule.from_dict(data)
