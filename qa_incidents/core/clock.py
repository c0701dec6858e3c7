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


def overdue_span(due: datetime, now: datetime) -> tuple[int, int, int] | None:
    """How long past due (days, hours, minutes), or None while not yet due. Minutes only below one hour, hours
    below two days, so the words stay short ("3 h", "2 d 4 h")."""
    late = as_utc(now) - as_utc(due)
    if late.total_seconds() <= 0:
        return None
    minutes = int(late.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return days, hours, 0
    if days or hours:
        return 0, days * 24 + hours, 0
    return 0, 0, max(mins, 1)
