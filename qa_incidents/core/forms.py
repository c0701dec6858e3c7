"""Form helpers shared by every feature."""

from __future__ import annotations

from flask_wtf import FlaskForm

from qa_incidents.core.clock import common_timezones


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> list[str]:
    """Put domain-rule messages on the form's fields; return those that match no field."""
    loose: list[str] = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            loose.append(message)
    return loose


def timezone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in common_timezones()]


class EmptyForm(FlaskForm):
    """Carries the CSRF token for POST-only buttons."""
