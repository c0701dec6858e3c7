"""Register page cursors: they round-trip, and a tampered one is refused, never trusted."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.service import decode_cursor, encode_cursor


def raw_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("column", [Incident.aware_at, Incident.occurred_at])
def test_datetime_cursor_round_trip(column):
    value = datetime(2026, 11, 19, 3, 0, 0, 123456, tzinfo=UTC)
    cursor = encode_cursor(value, 42)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a URL as it is
    assert decode_cursor(cursor, column) == (value, 42)


def test_datetime_in_another_zone_keeps_its_instant():
    value = datetime(2026, 11, 19, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    decoded, ident = decode_cursor(encode_cursor(value, 7), Incident.aware_at)
    assert decoded == value and ident == 7


def test_id_cursor_round_trip():
    assert decode_cursor(encode_cursor(1234, 1234), Incident.id) == (1234, 1234)


@pytest.mark.parametrize(
    "cursor, column",
    [
        ("not-a-cursor!!", Incident.aware_at),
        ("", Incident.aware_at),
        (raw_cursor("just a string"), Incident.aware_at),
        (raw_cursor([1, 2, 3]), Incident.aware_at),
        (raw_cursor(["yesterday", 5]), Incident.aware_at),
        (raw_cursor(["2026-11-19T03:00:00", 5]), Incident.aware_at),  # naive: no zone
        (raw_cursor(["2026-11-19T03:00:00+00:00", "5"]), Incident.aware_at),
        (raw_cursor(["2026-11-19T03:00:00+00:00", None]), Incident.aware_at),
        (raw_cursor([12, 5]), Incident.aware_at),
        (raw_cursor(["12", 5]), Incident.id),
        (raw_cursor([12, 5.5]), Incident.id),
        (raw_cursor({"value": 1, "id": 2}), Incident.id),
        (raw_cursor([True, 5]), Incident.id),  # JSON true is not a number
        (raw_cursor(["2026-11-19T03:00:00+00:00", True]), Incident.aware_at),
        (raw_cursor([10**30, 5]), Incident.id),  # no database integer is that large
        (raw_cursor(["2026-11-19T03:00:00+00:00", -(10**30)]), Incident.aware_at),
        (base64.urlsafe_b64encode(b"\xff\xfe[1,2]").decode(), Incident.id),
    ],
)
def test_tampered_cursor_is_refused(cursor, column):
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor, column)


def test_a_cursor_with_its_first_character_changed_is_refused():
    cursor = encode_cursor(datetime(2026, 11, 19, 3, 0, tzinfo=UTC), 42)
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    with pytest.raises(ValueError):
        decode_cursor(tampered, Incident.aware_at)
