"""Japanese era dates (和暦), as Japanese forms and authorities write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qa_incidents.core.i18n import era_date, era_datetime, era_of


@pytest.mark.parametrize("day, expected", [
    (date(2026, 11, 20), "令和8年11月20日"),
    (date(2019, 5, 1), "令和元年5月1日"),      # the first day of Reiwa
    (date(2019, 4, 30), "平成31年4月30日"),    # the last day of Heisei
    (date(2020, 1, 1), "令和2年1月1日"),
    (date(1989, 1, 8), "平成元年1月8日"),      # the first day of Heisei
    (date(1989, 1, 7), "昭和64年1月7日"),      # the last day of Showa
    (date(1926, 12, 25), "昭和元年12月25日"),
    (date(1926, 12, 24), "大正15年12月24日"),
    (date(1912, 7, 30), "大正元年7月30日"),
    (date(1912, 7, 29), "明治45年7月29日"),
    (date(1873, 1, 1), "明治6年1月1日"),
])
def test_era_dates_in_kanji(day: date, expected: str) -> None:
    assert era_date(day) == expected


def test_first_year_can_be_written_as_a_number() -> None:
    assert era_date(date(2019, 5, 1), gannen=False) == "令和1年5月1日"


def test_short_and_romaji_styles() -> None:
    assert era_date(date(2026, 11, 20), "short") == "R8.11.20"
    assert era_date(date(1995, 1, 17), "short") == "H7.01.17"
    assert era_date(date(2026, 11, 20), "romaji") == "Reiwa 8 (2026)-11-20"


def test_era_year_and_nothing_for_no_date() -> None:
    e = era_of(date(2026, 11, 20))
    assert (e.era.kanji, e.year, e.month, e.day) == ("令和", 8, 11, 20)
    assert era_date(None) == ""


def test_an_instant_takes_the_day_of_the_zone_it_is_shown_in() -> None:
    # 2019-04-30 20:00 UTC is already 2019-05-01 05:00 in Tokyo: the first day of Reiwa there.
    moment = datetime(2019, 4, 30, 20, 0, tzinfo=UTC)
    assert era_datetime(moment, "Asia/Tokyo") == "令和元年5月1日 5時00分 (JST)"
    assert era_datetime(moment, "UTC").startswith("平成31年4月30日 20時00分")


def test_dates_before_the_gregorian_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="Gregorian"):
        era_date(date(1872, 12, 31))
    with pytest.raises(ValueError, match="style"):
        era_date(date(2026, 1, 1), "western")
