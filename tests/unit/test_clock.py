"""Time: wall-clock times typed by users become the right UTC instant, even across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from qa_incidents.core.clock import as_utc, common_timezones, is_valid_timezone, localize, to_zone, utcnow

NY = "America/New_York"


@pytest.mark.parametrize(
    "wall, expected_utc",
    [
        # 2026-03-08: clocks in New York jump from 02:00 EST to 03:00 EDT.
        (datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),  # EST, UTC-5
        (datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),  # EDT, UTC-4
        (datetime(2026, 3, 7, 12, 0), datetime(2026, 3, 7, 17, 0, tzinfo=UTC)),
        (datetime(2026, 3, 9, 12, 0), datetime(2026, 3, 9, 16, 0, tzinfo=UTC)),
    ],
)
def test_localize_across_the_spring_forward(wall, expected_utc):
    result = localize(wall, NY)
    assert result == expected_utc
    assert result.utcoffset() == timedelta(0)


def test_one_wall_clock_hour_across_spring_forward_is_no_real_time():
    before = localize(datetime(2026, 3, 8, 1, 59), NY)
    after = localize(datetime(2026, 3, 8, 3, 0), NY)
    assert after - before == timedelta(minutes=1)


def test_localize_in_a_zone_without_dst():
    assert localize(datetime(2026, 11, 20, 12, 0), "Asia/Tokyo") == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_to_zone_shows_the_local_offset_on_each_side_of_the_change():
    assert to_zone(datetime(2026, 3, 8, 6, 30, tzinfo=UTC), NY).tzname() == "EST"
    assert to_zone(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), NY).tzname() == "EDT"
    assert to_zone(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), NY).hour == 3


def test_round_trip_through_a_zone_keeps_the_instant():
    instant = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    shown = to_zone(instant, "Europe/London")
    assert (shown.hour, shown.tzname()) == (13, "BST")
    assert localize(shown.replace(tzinfo=None), "Europe/London") == instant


def test_as_utc_converts_aware_datetimes():
    tokyo = timezone(timedelta(hours=9))
    result = as_utc(datetime(2026, 1, 1, 9, 0, tzinfo=tokyo))
    assert result == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert result.tzinfo is UTC


@pytest.mark.parametrize("convert", [as_utc, lambda v: to_zone(v, NY)])
def test_naive_datetimes_are_refused(convert):
    with pytest.raises(ValueError, match="naive"):
        convert(datetime(2026, 3, 8, 1, 30))


def test_utcnow_is_aware_utc():
    assert utcnow().utcoffset() == timedelta(0)


def test_time_zone_names():
    assert is_valid_timezone(NY)
    assert not is_valid_timezone("Mars/Olympus_Mons")
    zones = common_timezones()
    assert NY in zones and "UTC" in zones
    assert not any(z.startswith(("Etc/", "posix/")) for z in zones)
