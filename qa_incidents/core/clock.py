"""The one source of 'now': aware UTC, replaceable in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC; naive datetimes are refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: a time zone is required")
    return value.astimezone(UTC)


def localize(naive: datetime, tz_name: str) -> datetime:
    """Attach the named time zone to a wall-clock time typed by a user, then convert to UTC."""
    return naive.replace(tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def to_zone(value: datetime, tz_name: str) -> datetime:
    """An aware datetime shown in the named zone."""
    return as_utc(value).astimezone(ZoneInfo(tz_name))


_ZONES: frozenset[str] | None = None


def is_valid_timezone(name: str) -> bool:
    """Whether the IANA zone name exists."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return name in _ZONES


def common_timezones() -> list[str]:
    """Zone names offered in pickers: the IANA area/location names, sorted."""
    if _ZONES is None:
        is_valid_timezone("UTC")
    assert _ZONES is not None
    return sorted(z for z in _ZONES if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))) + ["UTC"]
