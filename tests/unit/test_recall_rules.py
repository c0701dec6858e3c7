"""Recall rules: serial ranges (odd formats, exclusions, lots), notice contents, completion, stalls, report periods."""

from __future__ import annotations

from datetime import date

import pytest

from qa_incidents.recalls import rules
from qa_incidents.recalls.rules import Outcome, PopulationRule, RangeError, SerialRange, normalise_code


@pytest.mark.parametrize("raw, code", [
    ("AB-123456", "AB123456"),
    ("ab 123 456", "AB123456"),
    ("  AB_123/456 ", "AB123456"),
    ("ＡＢ－１２３４５６", "AB123456"),  # full-width, as typed with a Japanese input method
    ("ab.12–34", "AB1234"),  # en dash
    ("", ""),
])
def test_codes_are_compared_without_separators_case_or_width(raw, code):
    assert normalise_code(raw) == code


@pytest.mark.parametrize("first, last, serial, inside", [
    ("AB-100000", "AB-199999", "AB-150000", True),
    ("AB-100000", "AB-199999", "ab 150000", True),
    ("AB-100000", "AB-199999", "AB-100000", True),  # bounds are inclusive
    ("AB-100000", "AB-199999", "AB-199999", True),
    ("AB-100000", "AB-199999", "AB-099999", False),
    ("AB-100000", "AB-199999", "AB-200000", False),
    ("AB-100000", "AB-199999", "AC-150000", False),  # another prefix
    ("AB-100000", "AB-199999", "AB-1500000", False),  # one digit too many
    ("AB-100000", "AB-199999", "AB-15000", False),  # zero-padded labels: the width is fixed
    ("AB-000100", "AB-000999", "AB-000500", True),
    ("AB-000100", "AB-000999", "AB-500", False),
    # numbers compare as numbers where the bounds are unpadded (different widths)
    ("SN9", "SN120", "SN10", True),
    ("SN9", "SN120", "SN121", False),
    ("SN9", "SN120", "SN8", False),
    # a date code, a letter and a sequence: compared part by part
    ("2611A0001", "2612A9999", "2611A5000", True),
    ("2611A0001", "2612A9999", "2612A0001", True),
    ("2611A0001", "2612A9999", "2613A0001", False),
    ("2611A0001", "2612A9999", "2611B0001", True),  # natural order: 2611B sits between 2611A and 2612A
    ("2611A0001", "2611A0001", "2611A0001", True),  # a single serial
    ("2611A0001", "2611A0001", "2611A0002", False),
    # letters changing across the range
    ("K1A-0001", "K1C-9999", "K1B-5555", True),
    ("K1A-0001", "K1C-9999", "K1D-0001", False),
])
def test_serial_ranges(first, last, serial, inside):
    assert SerialRange.parse(first, last).contains(normalise_code(serial)) is inside


@pytest.mark.parametrize("first, last, message", [
    ("AB-100", "ABC-200", "same pattern"),
    ("AB-100", "200", "same pattern"),
    ("AB-200", "AB-100", "comes after"),
    ("AB#?!", "", "not a serial"),
    ("AB-100", "AB-1%0", "not a serial"),
])
def test_unusable_ranges_are_refused_with_a_reason(first, last, message):
    with pytest.raises(RangeError, match=message):
        SerialRange.parse(first, last)


def test_a_range_with_one_bound_is_a_single_serial():
    r = SerialRange.parse("XY-0042", "")
    assert r.single and r.contains("XY0042") and not r.contains("XY0043")


POPULATION = [
    PopulationRule(model="RHW540", serials=SerialRange.parse("AB-100000", "AB-199999")),
    PopulationRule(model="RHW540", exclude=True, serials=SerialRange.parse("AB-120000", "AB-120999")),  # reworked
    PopulationRule(model="RHW540", exclude=True, serials=SerialRange.parse("AB-150000")),  # one unit
    PopulationRule(model="RS38", lot="L2611"),  # a whole lot, any serial
    PopulationRule(model="OHF33"),  # every unit of the model
    PopulationRule(model="OHF33", exclude=True, lot="L2701"),
]


@pytest.mark.parametrize("model, serial, lot, outcome", [
    ("R-HW540", "AB-110000", "", Outcome.AFFECTED),
    ("r-hw540", "ab110000", "", Outcome.AFFECTED),
    ("R-HW540", "AB-120500", "", Outcome.NOT_AFFECTED),  # inside the excluded block
    ("R-HW540", "AB-120999", "", Outcome.NOT_AFFECTED),  # the exclusion's last serial
    ("R-HW540", "AB-121000", "", Outcome.AFFECTED),  # just after the excluded block
    ("R-HW540", "AB-150000", "", Outcome.NOT_AFFECTED),  # the single excluded unit
    ("R-HW540", "AB-150001", "", Outcome.AFFECTED),
    ("R-HW540", "AB-200000", "", Outcome.NOT_AFFECTED),
    ("R-S38", "ZZ-1", "L2611", Outcome.AFFECTED),
    ("R-S38", "ZZ-1", "l-2611", Outcome.AFFECTED),
    ("R-S38", "ZZ-1", "L2612", Outcome.NOT_AFFECTED),
    ("R-S38", "ZZ-1", "", Outcome.LOT_NEEDED),  # only the lot tells
    ("OH-F33", "anything1", "", Outcome.LOT_NEEDED),  # included, unless it is the excluded lot
    ("OH-F33", "anything1", "L2701", Outcome.NOT_AFFECTED),
    ("OH-F33", "anything1", "L2702", Outcome.AFFECTED),
    ("BD-SX120", "AB-110000", "", Outcome.NOT_AFFECTED),  # a model not in the recall
])
def test_matching_a_unit_against_the_population(model, serial, lot, outcome):
    assert rules.match_unit(POPULATION, model=model, serial=serial, lot=lot).outcome is outcome


def test_a_serial_of_the_wrong_shape_gets_format_hints_not_a_verdict():
    verdict = rules.match_unit(POPULATION, model="R-HW540", serial="AB-1234", lot="")
    assert verdict.outcome is Outcome.CHECK_FORMAT
    assert any("look like 2 letters, then 6 digits." in h for h in verdict.hints)
    assert any("You typed 6 letters and digits; these serial numbers have 8" in h for h in verdict.hints)


def test_hints_describe_the_pattern_never_a_serial_of_the_population():
    """A wrong serial's hints quoted the first serial of the range and of an exclusion: a way to bisect them."""
    population = [PopulationRule(model="M1", serials=SerialRange.parse("KX-482100", "KX-482199")),
                  PopulationRule(model="M1", exclude=True, serials=SerialRange.parse("QZ-77310", "QZ-77320"))]
    for typed in ("KX-1", "QZ-7731", "KX4821", "K", "QZ-77310X", "M1"):
        verdict = rules.match_unit(population, model="M1", serial=typed, lot="")
        shown = " ".join(verdict.hints)
        for secret in ("482100", "482199", "QZ", "77310", "77320", "KX-48", "KX48"):
            assert secret not in shown.replace(typed, ""), (typed, secret, shown)
    # an exclusion's pattern is not a pattern of the affected serials: it gets the format hints too
    excluded_look = rules.match_unit(population, model="M1", serial="QZ-77315", lot="")
    assert excluded_look.outcome is Outcome.CHECK_FORMAT and "5 letters" not in " ".join(excluded_look.hints)


@pytest.mark.parametrize("typed, meant", [
    ("AB-1OOOOO", "AB100000"),  # letter O for digit 0
    ("AB-1I0000", "AB110000"),  # letter I for digit 1
    ("A8-110000", "AB110000"),  # digit 8 for letter B
    ("AB-11SOOO", "AB115000"),
])
def test_look_alike_characters_are_suggested(typed, meant):
    verdict = rules.match_unit(POPULATION, model="R-HW540", serial=typed, lot="")
    assert verdict.outcome is Outcome.CHECK_FORMAT
    assert verdict.suggestion == meant
    # Suggested in the company's own form (the range is written "AB-100000"), dashes where the company puts them.
    assert any("letter O and digit 0" in h and f"{meant[:2]}-{meant[2:]}" in h for h in verdict.hints)


def test_hints_describe_the_pattern_and_a_correction_is_written_as_the_company_writes_serials():
    """Hints never quote a serial of the range (only its look); the customer's own corrected serial is written the
    company's way (RS38-2611-004001), never rewritten as RS-382611004001."""
    population = [PopulationRule(model="RS38", serials=SerialRange.parse("RS38-2611-004000", "RS38-2611-004999"))]
    verdict = rules.match_unit(population, model="RS38", serial="RS38-2611", lot="")
    assert verdict.outcome is Outcome.CHECK_FORMAT
    assert any("2 letters, then 12 digits" in h for h in verdict.hints)
    assert not any("004000" in h or "RS-38" in h for h in verdict.hints)
    typo = rules.match_unit(population, model="RS38", serial="RS38-2611-0O4001", lot="")
    assert any("Did you mean RS38-2611-004001?" in h for h in typo.hints)
    assert rules.shaped_like("RS382611004001", "rs38 2611/004000") == "RS38 2611/004001"
    assert rules.shaped_like("RS38", "RS38-2611-004000") == "RS38"  # not the same length: left as it is


def test_the_model_number_typed_as_serial_is_pointed_out():
    verdict = rules.match_unit(POPULATION, model="R-HW540", serial="R-HW540", lot="")
    assert verdict.outcome is Outcome.CHECK_FORMAT
    assert any("That is the model number" in h for h in verdict.hints)


NOTICE = {
    "heading": "Product safety recall", "product_name": "French-door refrigerator 540 L", "brand": "Acme; sold by ShopCo",
    "identification": "Model R-HW540, serials AB-100000 to AB-199999 on the label inside the door",
    "picture": "fridge.png", "where_sold": "Sold in Japan, the USA and Germany, 2025-01 to 2026-06",
    "units": "About 48,200 units", "hazard": "The compressor relay can overheat and cause a fire.",
    "incidents": "One fire, one minor burn.", "what_to_do": "Stop using the refrigerator and unplug it.",
    "remedy": "Free repair at home.", "contact": "0120-000-000, recall@example.com",
}


def test_a_complete_notice_has_no_problems():
    assert rules.notice_problems(NOTICE, countries=["JP", "US", "DE"]) == []


def test_missing_contents_depend_on_the_countries():
    sparse = {**NOTICE, "units": "", "where_sold": "", "picture": ""}
    jp = {p.field for p in rules.notice_problems(sparse, countries=["JP"])}
    us = {p.field for p in rules.notice_problems(sparse, countries=["US"])}
    assert jp == {"picture"}
    assert us == {"picture", "units", "where_sold"}


def test_the_eu_notice_must_not_play_the_hazard_down():
    notice = {**NOTICE, "heading": "Important notice",
              "hazard": "As a precaution, a voluntary recall: in rare situations the relay may overheat.",
              "what_to_do": "Contact us for a repair."}
    problems = {p.field: p.message for p in rules.notice_problems(notice, countries=["DE"])}
    assert "Product safety recall" in problems["heading"]
    assert "voluntary" in problems["hazard"] and "in rare situations" in problems["hazard"]
    assert "stop using" in problems["what_to_do"]
    # outside the EU these are not required
    assert rules.notice_problems(notice, countries=["JP"]) == []


def test_rare_earth_is_not_a_minimising_word():
    notice = {**NOTICE, "hazard": "The rare-earth magnet can detach and be swallowed."}
    assert rules.notice_problems(notice, countries=["FR"]) == []


@pytest.mark.parametrize("remedied, units, rate, text", [
    (0, 1000, 0.0, "0.0 %"), (375, 1000, 0.375, "37.5 %"), (999, 1000, 0.999, "99.9 %"), (9999, 10000, 0.9999, "99.9 %"),
    (1000, 1000, 1.0, "100 %"), (1200, 1000, 1.0, "100 %"), (5, 0, 0.0, "0.0 %"),
])
def test_completion_rate(remedied, units, rate, text):
    assert rules.completion_rate(remedied, units) == pytest.approx(rate)
    assert rules.percent(rules.completion_rate(remedied, units)) == text


def test_target_met():
    assert rules.target_met(900, 1000, 90) and not rules.target_met(899, 1000, 90)
    assert not rules.target_met(0, 0, 90)


def test_cumulative_curve_by_week():
    points = [(date(2026, 3, 3), 10), (date(2026, 3, 9), 5), (date(2026, 3, 20), 7), (date(2026, 2, 1), 1)]
    curve = rules.cumulative_by_week(points, start=date(2026, 3, 2), end=date(2026, 3, 20))
    assert curve == [(date(2026, 3, 8), 11), (date(2026, 3, 15), 16), (date(2026, 3, 20), 23)]


@pytest.mark.parametrize("last, today, weeks, stalled", [
    (date(2026, 3, 1), date(2026, 3, 28), 4, None),
    (date(2026, 3, 1), date(2026, 3, 29), 4, date(2026, 3, 1)),
    (None, date(2026, 3, 29), 4, date(2026, 3, 1)),  # nothing since launch
    (date(2026, 3, 20), date(2026, 3, 29), 1, date(2026, 3, 20)),
])
def test_stall_detection(last, today, weeks, stalled):
    assert rules.stalled_since(last_progress_on=last, launched_on=date(2026, 3, 1), today=today, weeks=weeks) == stalled


def test_cpsc_monthly_reports_are_due_on_the_first_for_the_month_before():
    periods = rules.report_periods(rules.REPORT_SCHEDULES["US-CPSC-MPR"], launched_on=date(2026, 3, 10),
                                   until=date(2026, 5, 2))
    assert [(p.label, p.start, p.end, p.due_on) for p in periods] == [
        ("2026-03", date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 1)),  # the worked example
        ("2026-04", date(2026, 4, 1), date(2026, 4, 30), date(2026, 5, 1)),
        ("2026-05", date(2026, 5, 1), date(2026, 5, 31), date(2026, 6, 1)),
    ]


def test_monthly_reports_stop_with_closure():
    periods = rules.report_periods(rules.REPORT_SCHEDULES["US-CPSC-MPR"], launched_on=date(2026, 11, 10),
                                   until=date(2027, 6, 1), closed_on=date(2027, 1, 15))
    assert [p.label for p in periods] == ["2026-11", "2026-12", "2027-01"]


def test_nhtsa_eight_quarters_then_three_annual_reports():
    periods = rules.report_periods(rules.REPORT_SCHEDULES["US-NHTSA-573"], launched_on=date(2026, 2, 15),
                                   until=date(2035, 1, 1))
    labels = [p.label for p in periods]
    assert labels[:8] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert labels[8:] == ["2028", "2029", "2030"]
    assert periods[0].due_on == date(2026, 4, 30)
    assert rules.REPORT_SCHEDULES["US-NHTSA-573"].unconfirmed


def test_annual_nhtsa_reports_follow_on_from_a_mid_year_quarter():
    periods = rules.report_periods(rules.REPORT_SCHEDULES["US-NHTSA-573"], launched_on=date(2026, 5, 1),
                                   until=date(2035, 1, 1))
    annual = periods[8:]
    assert annual[0].start == date(2028, 4, 1) and annual[0].end == date(2029, 3, 31)
    assert all((a.start - b.end).days == 1 for a, b in zip(periods[1:], periods, strict=False))
