"""What a client types: ids in paths, integers and dates in query strings and forms, read in one place.

Every value is checked against what the database and the clock arithmetic can hold: an id past 64 bits is an
address that leads nowhere (404), a date in year 1 or 9999 (which overflows when shifted by a time zone or a
deadline) is a bad date, never a server error."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.routing import BaseConverter
from wtforms import DateField, DateTimeLocalField, IntegerField

from qa_incidents.core.db import ID_MAX as DB_ID_MAX

#: The id columns' range (ids start at 1): see core.db.ID_MAX.
ID_MAX = DB_ID_MAX
#: The largest whole number a BIGINT column holds (counts of units).
INT_MAX = 2**63 - 1
#: The dates the application accepts anywhere: far enough from year 1 and 9999 that a time-zone shift or a
#: deadline of years never overflows, wide enough for any real record.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def whole(text: Any, low: int = 0, high: int = INT_MAX) -> int | None:
    """A whole number within [low, high] written in ASCII digits (a leading '-' allowed if low < 0), else None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if low <= text <= high else None
    if not isinstance(text, str):
        return None
    text = text.strip()
    digits = text[1:] if text.startswith("-") else text
    if not digits or not digits.isascii() or not digits.isdecimal() or len(digits) > 1300:
        return None
    value = int(text)
    return value if low <= value <= high else None


def record_id(text: Any) -> int | None:
    """An id a database row can have (1 … ID_MAX), else None."""
    return whole(text, 1, ID_MAX)


def day(text: Any) -> date | None:
    """A YYYY-MM-DD date within FIRST_DAY … LAST_DAY, else None."""
    if isinstance(text, datetime):
        text = text.date()
    if isinstance(text, date):
        return text if FIRST_DAY <= text <= LAST_DAY else None
    if not isinstance(text, str) or not text.strip().isascii():
        return None
    try:
        value = date.fromisoformat(text.strip()[:10]) if len(text.strip()) == 10 else None
    except ValueError:
        return None
    return value if value is not None and FIRST_DAY <= value <= LAST_DAY else None


def moment(text: Any, *, aware: bool = False) -> datetime | None:
    """An ISO 8601 date and time within the accepted years, else None. With aware, a time without an offset is
    refused; the result is then in UTC."""
    if isinstance(text, datetime):
        value: datetime | None = text
    elif isinstance(text, str) and text.strip().isascii():
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if value is None or not FIRST_DAY <= value.date() <= LAST_DAY:
        return None
    if aware:
        if value.tzinfo is None or value.utcoffset() is None:
            return None
        return value.astimezone(UTC)
    return value


def in_range(value: date | datetime | None) -> bool:
    """Whether a date (or a datetime's date) lies within the accepted years."""
    if value is None:
        return True
    d = value.date() if isinstance(value, datetime) else value
    return FIRST_DAY <= d <= LAST_DAY


class IdConverter(BaseConverter):
    """`<id:name>` in a route: a record id in the database's range. Signs and non-ASCII digits match no route; ASCII
    digits out of range (0, past the id columns' range) become 0, an id no record has, so the view answers its own 404 (a route
    that did not match would let another rule of the same path answer 405 instead)."""

    regex = r"[0-9]{1,19}"  # longer runs of digits match no route; in-range is checked below
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = record_id(value)
        return 0 if number is None else number

    def to_url(self, value: Any) -> str:
        return str(int(value))


# --- form fields: the same rules for what a form posts -------------------------------------------------------------

_NOT_AN_INTEGER = "Not a valid integer value."


class WholeField(IntegerField):
    """An integer field that refuses numbers past 64 bits (a field error, never an overflow in the database)."""

    def __init__(self, *args: Any, low: int = -INT_MAX, high: int = INT_MAX, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.low, self.high = low, high

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        value = whole(valuelist[0], -(2**4096), 2**4096)
        if value is None:
            self.data = None
            raise ValueError(self.gettext(_NOT_AN_INTEGER))  # WTForms' own message, in WTForms' own translations
        if not self.low <= value <= self.high:
            self.data = None
            from flask_babel import lazy_gettext as _l

            raise ValueError(_l("This number is too large."))
        self.data = value


def _out_of_range() -> Any:
    from flask_babel import lazy_gettext as _l

    return _l("This date is out of range.")


class DayField(DateField):
    """A date field that refuses dates outside FIRST_DAY … LAST_DAY as it refuses malformed ones."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not in_range(self.data):
            self.data = None
            raise ValueError(_out_of_range())


class MomentField(DateTimeLocalField):
    """A date-and-time field that refuses years outside FIRST_DAY … LAST_DAY as it refuses malformed input."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not in_range(self.data):
            self.data = None
            raise ValueError(_out_of_range())


# --- the query string of the current request --------------------------------------------------------------------

def arg_whole(name: str, low: int = 0, high: int = INT_MAX) -> int | None:
    """?name=N as a whole number within [low, high]; None if absent or not one."""
    from flask import request

    return whole(request.args.get(name), low, high)


def arg_id(name: str) -> int | None:
    """?name=ID as a record id; None if absent or not one (past 64 bits, signs, letters)."""
    from flask import request

    return record_id(request.args.get(name))


def arg_day(name: str) -> date | None:
    """?name=YYYY-MM-DD as a date within the accepted years; None if absent or not one."""
    from flask import request

    return day(request.args.get(name))


# --- JSON that a client uploads -----------------------------------------------------------------------------------

#: How deeply an uploaded JSON document may nest (the exports nest 4 levels; Python's parser fails near 1,000).
JSON_MAX_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


class JSONTooDeep(ValueError):
    """Raised by load_json for a document nested deeper than JSON_MAX_DEPTH."""


def load_json(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """json.loads, but a document nested deeper than max_depth is refused (JSONTooDeep) before it is parsed, so no
    parser or later walk over it can run out of stack. Malformed JSON raises json.JSONDecodeError as before."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > max_depth:
            raise JSONTooDeep(f"nested more than {max_depth} levels deep")
    return json.loads(text)
