"""Legal clocks as the law counts them: whose calendar day, which holidays and rollover, which event starts the clock.

Each case is worked out from the statute named in its id; the deadline is the end of the due day at the authority.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from qa_incidents.notifications.deadlines import RULES, compute, decision_due

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
SYDNEY = ZoneInfo("Australia/Sydney")
PERTH = ZoneInfo("Australia/Perth")
BRUSSELS = ZoneInfo("Europe/Brussels")
DUBLIN = ZoneInfo("Europe/Dublin")
PARIS = ZoneInfo("Europe/Paris")
TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")


def end_of(day: date, tz: ZoneInfo, clock: time = time(23, 59, 59)) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


# (legal basis, regime, aware at, aware-site zone or None, incident country or None, due day, authority zone)
CASES = [
    # Japan: Act No. 91 of 1988 Art. 1 (administrative holidays) and Art. 2 (the deadline moves to the next day).
    ("JP_Act91_Art2_golden_week_due_Saturday_2_May_moves_past_3_to_6_May", "JP-CPSA-35",
     datetime(2026, 4, 23, 9, 0, tzinfo=TOKYO), None, None, date(2026, 5, 7), TOKYO),
    ("JP_Act91_Art2_due_on_substitute_holiday_6_May_moves_to_7_May", "JP-CPSA-35",
     datetime(2026, 4, 27, 9, 0, tzinfo=TOKYO), None, None, date(2026, 5, 7), TOKYO),
    ("JP_Act91_Art1_iii_year_end_29_Dec_moves_to_4_Jan", "JP-CPSA-35",
     datetime(2026, 12, 20, 9, 0, tzinfo=TOKYO), None, None, date(2027, 1, 4), TOKYO),
    ("JP_Act91_Art1_iii_2_Jan_not_a_national_holiday_still_moves", "JP-CPSA-35",
     datetime(2026, 12, 24, 9, 0, tzinfo=TOKYO), None, None, date(2027, 1, 4), TOKYO),
    ("JP_Act91_Art1_i_Saturday_moves_to_Monday", "JP-CPSA-35",
     datetime(2026, 3, 5, 9, 0, tzinfo=TOKYO), None, None, date(2026, 3, 16), TOKYO),
    ("JP_CPSA_Art35_worked_example_Wednesday_stays", "JP-CPSA-35",
     datetime(2026, 3, 2, 10, 0, tzinfo=TOKYO), None, None, date(2026, 3, 11), TOKYO),
    # Canada: Interpretation Act s.35(1) holidays, s.26 rollover; Saturday is not a holiday.
    ("CA_InterpretationAct_s35_Easter_Monday_moves_to_Tuesday", "CA-CCPSA-14-2",
     datetime(2026, 4, 4, 9, 0, tzinfo=TORONTO), None, None, date(2026, 4, 7), TORONTO),
    ("CA_InterpretationAct_s35_Good_Friday_start_Sunday_and_Easter_Monday_skipped", "CA-CCPSA-14-2",
     datetime(2026, 4, 3, 9, 0, tzinfo=TORONTO), None, None, date(2026, 4, 7), TORONTO),
    ("CA_InterpretationAct_s35_Remembrance_Day_moves_to_12_Nov", "CA-CCPSA-14-2",
     datetime(2026, 11, 9, 9, 0, tzinfo=TORONTO), None, None, date(2026, 11, 12), TORONTO),
    ("CA_InterpretationAct_s35_Remembrance_Day_10_day_report", "CA-CCPSA-14-3",
     datetime(2026, 11, 1, 9, 0, tzinfo=TORONTO), None, None, date(2026, 11, 12), TORONTO),
    ("CA_InterpretationAct_s35_Truth_and_Reconciliation_30_Sep_moves_to_1_Oct", "CA-CCPSA-14-2",
     datetime(2026, 9, 28, 9, 0, tzinfo=TORONTO), None, None, date(2026, 10, 1), TORONTO),
    ("CA_InterpretationAct_s35_Saturday_is_not_a_holiday", "CA-CCPSA-14-2",
     datetime(2026, 3, 12, 9, 0, tzinfo=TORONTO), None, None, date(2026, 3, 14), TORONTO),
    ("CA_InterpretationAct_s35_Ontario_Family_Day_is_not_a_federal_holiday", "CA-CCPSA-14-2",
     datetime(2026, 2, 14, 9, 0, tzinfo=TORONTO), None, None, date(2026, 2, 16), TORONTO),
    ("CA_InterpretationAct_s26_Sunday_moves_to_Monday", "CA-CCPSA-14-2",
     datetime(2026, 3, 13, 9, 0, tzinfo=TORONTO), None, None, date(2026, 3, 16), TORONTO),
    # EU: Regulation 1182/71 Art. 3(4), public holidays of the receiving member state (Art. 2(1)).
    ("EU_1182_71_Art3_4_MDCG_example_Saturday_start_due_Tuesday_12_July", "EU-MDR-87-10",
     datetime(2022, 7, 2, 10, 0, tzinfo=BRUSSELS), None, None, date(2022, 7, 12), BRUSSELS),
    ("EU_1182_71_Art3_4_period_ending_Saturday_ends_Monday", "EU-MDR-87-10",
     datetime(2022, 7, 6, 9, 0, tzinfo=BRUSSELS), None, None, date(2022, 7, 18), BRUSSELS),
    ("EU_1182_71_Art3_4_Irish_holiday_St_Patricks_Day_for_Irish_authority", "EU-MDR-87-2",
     datetime(2026, 3, 15, 9, 0, tzinfo=DUBLIN), None, "IE", date(2026, 3, 18), DUBLIN),
    ("EU_1182_71_Art3_4_St_Patricks_Day_is_no_holiday_in_Belgium", "EU-MDR-87-2",
     datetime(2026, 3, 15, 9, 0, tzinfo=BRUSSELS), None, None, date(2026, 3, 17), BRUSSELS),
    ("EU_1182_71_Art3_4_French_holiday_14_July_for_French_authority", "EU-MDR-87-10",
     datetime(2026, 7, 4, 9, 0, tzinfo=PARIS), None, "FR", date(2026, 7, 15), PARIS),
    ("EU_1182_71_Art3_4_non_member_country_uses_Belgian_21_July", "EU-MDR-87-10",
     datetime(2026, 7, 11, 9, 0, tzinfo=BRUSSELS), None, "US", date(2026, 7, 22), BRUSSELS),
    # Australia: Acts Interpretation Act 1901 s.36(2): Saturday, Sunday, public or bank holiday of the place.
    ("AU_AIA_s36_2_NSW_bank_holiday_3_Aug_moves_to_Tuesday", "AU-ACL-131",
     datetime(2026, 7, 30, 9, 0, tzinfo=SYDNEY), None, None, date(2026, 8, 4), SYDNEY),
    ("AU_AIA_s36_2_worked_example_Saturday_moves_to_Monday", "AU-ACL-131",
     datetime(2026, 3, 5, 10, 0, tzinfo=SYDNEY), None, None, date(2026, 3, 9), SYDNEY),
    # Western aware sites: the days of the place where the company became aware; the earlier reading applies.
    ("US_21CFR803_50_California_site_counts_its_own_date_14_Aug", "US-FDA-803-30",
     datetime(2026, 8, 14, 21, 30, tzinfo=LA), "America/Los_Angeles", None, date(2026, 9, 13), NY),
    ("US_21CFR803_50_without_the_site_zone_the_authoritys_date_as_before", "US-FDA-803-30",
     datetime(2026, 8, 14, 21, 30, tzinfo=LA), None, None, date(2026, 9, 14), NY),
    ("US_21CFR803_53_California_site_5_work_days_from_Friday", "US-FDA-803-5",
     datetime(2026, 1, 16, 22, 0, tzinfo=LA), "America/Los_Angeles", None, date(2026, 1, 26), NY),
    ("CA_CCPSA_s14_2_Vancouver_site_Thursday_night_due_Saturday", "CA-CCPSA-14-2",
     datetime(2026, 3, 12, 22, 30, tzinfo=VANCOUVER), "America/Vancouver", None, date(2026, 3, 14), TORONTO),
    ("EU_MDR_Art87_Irish_site_late_evening_counts_the_Dublin_date", "EU-MDR-87-15",
     datetime(2026, 6, 10, 23, 30, tzinfo=DUBLIN), "Europe/Dublin", None, date(2026, 6, 25), BRUSSELS),
    ("EU_MDR_Art87_Irish_site_reporting_to_the_Irish_authority", "EU-MDR-87-15",
     datetime(2026, 6, 10, 23, 30, tzinfo=DUBLIN), "Europe/Dublin", "IE", date(2026, 6, 25), DUBLIN),
    ("AU_ACL_s131_Perth_site_counts_its_own_date", "AU-ACL-131",
     datetime(2026, 3, 2, 23, 0, tzinfo=PERTH), "Australia/Perth", None, date(2026, 3, 4), SYDNEY),
]


@pytest.mark.parametrize("basis, code, aware_at, zone, country, due_day, authority_tz", CASES,
                         ids=[c[0] for c in CASES])
def test_deadline_as_the_statute_counts_it(basis, code, aware_at, zone, country, due_day, authority_tz):
    deadline = compute(RULES[code], start=aware_at, aware_timezone=zone, country=country)
    clock = time(23, 59) if code == "AU-ACL-131" else time(23, 59, 59)
    assert deadline.due_at == end_of(due_day, authority_tz, clock)
    assert deadline.is_legal_deadline


def test_US_16CFR1115_14a_western_site_takes_the_earlier_authority_reading():
    # Friday 22:00 in Los Angeles is Saturday 01:00 in New York: by New York's date the 24 hours (weekends
    # excluded) end Monday 01:00 New York; by the site's, Monday 22:00 Los Angeles. The earlier applies.
    aware = datetime(2026, 3, 13, 22, 0, tzinfo=LA)
    deadline = compute(RULES["US-CPSC-15B"], start=aware, aware_timezone="America/Los_Angeles")
    assert deadline.due_at == datetime(2026, 3, 16, 1, 0, tzinfo=NY)
    assert deadline.reading == "authority"
    assert "authority's" in deadline.explanation


def test_the_explanation_says_why_the_earlier_reading_applies():
    deadline = compute(RULES["US-FDA-803-30"], start=datetime(2026, 8, 14, 21, 30, tzinfo=LA),
                       aware_timezone="America/Los_Angeles")
    assert deadline.reading == "aware_site"
    assert "2026-08-14" in deadline.explanation and "2026-08-15" in deadline.explanation
    assert "earlier" in deadline.explanation
    assert any("America/Los_Angeles" in step for step in deadline.steps)


def test_same_date_in_both_zones_gives_one_reading_and_no_comparison_text():
    deadline = compute(RULES["US-FDA-803-30"], start=datetime(2026, 8, 14, 10, 0, tzinfo=LA),
                       aware_timezone="America/Los_Angeles")
    assert deadline.due_at == end_of(date(2026, 9, 13), NY)
    assert "differ" not in deadline.explanation


def test_an_unknown_aware_zone_is_refused():
    with pytest.raises(ValueError, match="Unknown time zone"):
        compute(RULES["US-FDA-803-30"], start=datetime(2026, 8, 14, 10, 0, tzinfo=LA), aware_timezone="Mars/Base")


@pytest.mark.parametrize("code, article", [
    ("JP-CPSA-35", "Act No. 91 of 1988"),
    ("CA-CCPSA-14-2", "s.35(1)"),
    ("CA-CCPSA-14-3", "s.26"),
    ("EU-MDR-87-10", "1182/71 Art. 3(4)"),
    ("AU-ACL-131", "s.36(2)"),
])
def test_each_deadline_cites_its_rollover_and_holiday_articles(code, article):
    deadline = compute(RULES[code], start=datetime(2026, 3, 2, 10, 0, tzinfo=TOKYO))
    assert article in deadline.legal_basis
    assert deadline.calendar_version.startswith(RULES[code].calendar + " v")


def test_an_administrators_added_day_is_a_holiday_and_changes_the_calendar_version():
    from qa_incidents.notifications import deadlines

    start = datetime(2026, 3, 12, 9, 0, tzinfo=TORONTO)  # + 2 days = Saturday 14 March, not a holiday
    before = compute(RULES["CA-CCPSA-14-2"], start=start)
    deadlines.CALENDAR_ADJUSTMENTS["CA-INTERPRETATION-ACT"] = {date(2026, 3, 14): "Day proclaimed (test)"}
    deadlines.CALENDAR_ADJUSTMENT_VERSIONS["CA-INTERPRETATION-ACT"] = 1
    try:
        after = compute(RULES["CA-CCPSA-14-2"], start=start)
    finally:
        deadlines.CALENDAR_ADJUSTMENTS.pop("CA-INTERPRETATION-ACT")
        deadlines.CALENDAR_ADJUSTMENT_VERSIONS.pop("CA-INTERPRETATION-ACT")
    assert before.due_at == end_of(date(2026, 3, 14), TORONTO)
    assert after.due_at == end_of(date(2026, 3, 16), TORONTO)  # Sunday 15 is a holiday too
    assert "adjustments v1" in after.calendar_version and "adjustments" not in before.calendar_version


# Decision clocks: until the starting event is recorded, a decision is due; the legal clock runs from the event.
DECISIONS = [
    ("US_16CFR1115_14d_CPSC_investigation_10_working_days", "US-CPSC-15B",
     datetime(2026, 3, 2, 9, 0, tzinfo=NY), date(2026, 3, 16), "1115.14(d)"),
    ("US_49CFR573_6_NHTSA_determination_internal_target_over_Thanksgiving", "US-NHTSA-573",
     datetime(2026, 11, 23, 9, 0, tzinfo=NY), date(2026, 12, 8), "to be confirmed"),
    ("US_21CFR806_10_FDA_correction_decision_internal_target", "US-FDA-806",
     datetime(2026, 7, 1, 9, 0, tzinfo=NY), date(2026, 7, 16), "to be confirmed"),
]


@pytest.mark.parametrize("basis, code, aware_at, due_day, source_word", DECISIONS, ids=[d[0] for d in DECISIONS])
def test_decision_due_before_the_starting_event(basis, code, aware_at, due_day, source_word):
    decision = decision_due(RULES[code], start=aware_at)
    assert decision is not None
    assert decision.due_at == end_of(due_day, NY)
    assert not decision.is_legal_deadline
    assert source_word in decision.explanation
    assert RULES[code].event_signature in decision.explanation


LEGAL_FROM_EVENT = [
    # 49 CFR 573.6(b): 5 working days from the determination (Tue 8 Dec 2026) → Tue 15 Dec.
    ("US_49CFR573_6b_5_working_days_from_the_determination", "US-NHTSA-573",
     datetime(2026, 12, 8, 15, 0, tzinfo=NY), datetime(2026, 12, 15, 23, 59, 59, tzinfo=NY)),
    # 21 CFR 806.10(b): 10 working days from initiating the correction (Thu 2 Jul 2026; Fri 3 Jul is the observed
    # Independence Day) → Fri 17 Jul.
    ("US_21CFR806_10b_10_working_days_from_initiating_the_correction", "US-FDA-806",
     datetime(2026, 7, 2, 15, 0, tzinfo=NY), datetime(2026, 7, 17, 23, 59, 59, tzinfo=NY)),
    # 16 CFR 1115.14(a): 24 hours (weekends excluded) from information that reasonably supports (Fri 13 Mar 9:00).
    ("US_16CFR1115_14a_24_hours_from_reasonably_supports", "US-CPSC-15B",
     datetime(2026, 3, 13, 9, 0, tzinfo=NY), datetime(2026, 3, 16, 9, 0, tzinfo=NY)),
]


@pytest.mark.parametrize("basis, code, event_at, due_at", LEGAL_FROM_EVENT, ids=[c[0] for c in LEGAL_FROM_EVENT])
def test_legal_clock_runs_from_the_recorded_event(basis, code, event_at, due_at):
    assert compute(RULES[code], start=event_at).due_at == due_at


def test_a_clock_that_starts_at_awareness_has_no_decision_clock():
    assert decision_due(RULES["US-FDA-803-30"], start=datetime(2026, 3, 2, 9, 0, tzinfo=NY)) is None
