"""Audit-trail values: plain JSON, datetimes in UTC, only the fields that changed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest

from qa_incidents.core.audit import field_changes, jsonable, snapshot
from qa_incidents.core.permissions import Role
from qa_incidents.incidents.rules import Severity, Status


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (True, True),
        (3, 3),
        (2.5, 2.5),
        ("text", "text"),
        (Status.TRIAGED, "triaged"),
        (Severity.S1, "S1"),
        (Role.HEAD_OFFICE_QA, "head_office_qa"),
        (Decimal("12.50"), "12.50"),
        (date(2026, 11, 20), "2026-11-20"),
        (datetime(2026, 11, 20, 3, 0, tzinfo=UTC), "2026-11-20T03:00:00+00:00"),
        ((1, Status.CLOSED), [1, "closed"]),
        ({1: date(2026, 1, 2), "k": [Severity.S2]}, {"1": "2026-01-02", "k": ["S2"]}),
        (PurePosixPath("evidence/photo.png"), "evidence/photo.png"),  # anything else: its text
    ],
)
def test_jsonable(value, expected):
    result = jsonable(value)
    assert result == expected
    assert json.loads(json.dumps(result)) == expected


def test_datetimes_are_kept_in_utc_whatever_zone_they_came_in():
    tokyo = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert jsonable(tokyo) == "2026-11-20T03:00:00+00:00"
    assert jsonable(tokyo) == jsonable(tokyo.astimezone(UTC))


def test_snapshot_takes_the_named_attributes():
    class Record:
        status = Status.REPORTED
        title = "t"
        secret = "not asked for"

    assert snapshot(Record(), ("status", "title")) == {"status": "reported", "title": "t"}


def test_field_changes_keeps_only_changed_fields():
    before = {"title": "old", "country": "JP", "deaths": 0}
    after = {"title": "new", "country": "JP", "deaths": 1}
    assert field_changes(before, after) == {"title": ["old", "new"], "deaths": [0, 1]}


def test_field_changes_of_a_new_record_lists_every_set_value():
    assert field_changes({}, {"title": "t", "deaths": 0, "severity": None}) == {"title": [None, "t"], "deaths": [None, 0]}


def test_no_change_gives_nothing():
    same = {"title": "t", "fire": False}
    assert field_changes(same, dict(same)) == {}


def test_false_and_zero_are_changes_from_none():
    assert field_changes({"fire": None, "deaths": None}, {"fire": False, "deaths": 0}) == {
        "fire": [None, False], "deaths": [None, 0]}
