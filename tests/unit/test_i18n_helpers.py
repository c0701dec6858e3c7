"""Choosing a language, and dates and numbers written the way each language writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qa_incidents.core.i18n import (
    best_language,
    format_local_date,
    format_local_datetime,
    format_number,
    supported_language,
)


@pytest.mark.parametrize("accepted, expected", [
    ([("ja-JP", 1.0), ("en", 0.5)], "ja"),
    ([("ja", 0.4), ("en-GB", 0.9)], "en"),
    ([("fr", 1.0), ("ja", 0.1)], "ja"),      # the best supported one, even if not the favourite
    ([("fr", 1.0), ("de", 0.8)], "en"),      # nothing supported: English
    ([("ja", 0.0), ("en", 0.5)], "en"),      # q=0 means "not this one"
    ([], "en"),
    (None, "en"),
])
def test_best_language_from_accept_language(accepted, expected) -> None:
    assert best_language(accepted) == expected


def test_only_supported_language_codes_are_taken() -> None:
    assert supported_language("ja") == "ja"
    assert supported_language("jp") is None
    assert supported_language("<script>") is None
    assert supported_language(None) is None


def test_datetimes_per_language_and_zone() -> None:
    moment = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert format_local_datetime(moment, "Asia/Tokyo", "ja") == "2026/11/20 12:00:00 JST"
    english = format_local_datetime(moment, "Europe/Berlin", "en")
    assert english.startswith("Nov 20, 2026") and "4:00:00" in english and english.endswith("CET")
    assert format_local_datetime(None, "UTC", "ja") == ""


def test_dates_and_numbers_per_language() -> None:
    assert format_local_date(date(2026, 11, 20), "ja", "long") == "2026年11月20日"
    assert format_local_date(date(2026, 11, 20), "en", "long") == "November 20, 2026"
    # An instant is a day only in a zone: 20:00 UTC on the 19th is already the 20th in Tokyo.
    assert format_local_date(datetime(2026, 11, 19, 20, 0, tzinfo=UTC), "ja", zone="Asia/Tokyo") == "2026/11/20"
    assert format_number(1234567.5, "ja") == "1,234,567.5"
    assert format_number(1234567.5, "en") == "1,234,567.5"
    assert format_number(None, "en") == ""
