"""Enums whose members carry their own title, so a vocabulary and its words are written once:

    class Status(TitledEnum):
        REPORTED = "reported", _l("Reported")

`Status.REPORTED == "reported"` as with any string enum (stored, compared and looked up by its value);
`Status.REPORTED.title` is its title, a lazy gettext string shown in the reader's language (the msgid is the English
title, as before, so the translations still match). `titles(Status)` is the {member: title} mapping pages read.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

E = TypeVar("E", bound="TitledEnum")


class TitledEnum(enum.StrEnum):
    """A string enum whose members are `NAME = value, title`."""

    _title: Any

    def __new__(cls, value: str, title: Any = None) -> TitledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member._title = title if title is not None else value
        return member

    @property
    def title(self) -> Any:  # type: ignore[override]  # a member's title, not str.title()
        """The member's title (lazy gettext: shown in the reader's language)."""
        return self._title


def titles(kind: type[E]) -> dict[E, Any]:
    """Each member's title, in the order the members are defined."""
    return {member: member.title for member in kind}
