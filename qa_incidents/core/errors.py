"""Domain errors that views turn into messages and status codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DomainError(Exception):
    """A rule refused the request; the message is fit to show the user."""

    status_code = 422


class NotFound(DomainError):
    """The thing does not exist, or the user may not know that it does (always 404)."""

    status_code = 404


class Forbidden(DomainError):
    """The user may see the thing but not do this to it."""

    status_code = 403


class ValidationFailed(DomainError):
    """Input broke one or more rules; errors maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class EditConflict(DomainError):
    """Someone saved a newer version since the user loaded the form."""

    status_code = 409

    def __init__(self, *, current: Any, changed_by: str, changed_at: datetime, current_version: int):
        super().__init__(f"changed by {changed_by} at {changed_at.isoformat()}")
        self.current = current
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.current_version = current_version
