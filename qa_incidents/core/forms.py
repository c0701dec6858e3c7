"""Form helpers shared by every feature."""

from __future__ import annotations

import functools
from typing import Any

import wtforms
from flask import current_app, has_app_context
from flask_wtf import FlaskForm

from qa_incidents.core.clock import common_timezones
from qa_incidents.core.i18n import WTFORMS_MESSAGES


class Form(FlaskForm):
    """The base of every form of the application: a Flask-WTF form whose built-in WTForms messages ("This field is
    required.") are in the reader's language, through WTForms' public Meta.get_translations hook, with WTForms'
    catalogue loaded once per language (core.i18n.wtforms_translations) instead of on every request."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):  # type: ignore[no-untyped-def]
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)  # Flask-WTF's own choice: WTForms' defaults
            return WTFORMS_MESSAGES


class SubForm(wtforms.Form):
    """The base of a form embedded in another through FormField (one row of a list): no CSRF token of its own, never
    submitted alone, its WTForms messages in the reader's language as the enclosing form's."""

    class Meta:
        def get_translations(self, form):  # type: ignore[no-untyped-def]
            if has_app_context() and not current_app.config.get("WTF_I18N_ENABLED", True):
                return None  # WTForms' defaults
            return WTFORMS_MESSAGES


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


class FixedChoices(tuple):  # type: ignore[type-arg]
    """Choices fixed for the life of the process (countries, time zones), built once and shared, never changed:
    a field checks a submitted value by looking it up in `values` instead of scanning the list."""

    values: frozenset[str]

    def __new__(cls, choices: Any) -> FixedChoices:
        return super().__new__(cls, choices)

    def __init__(self, _choices: Any) -> None:
        self.values = frozenset(str(c.value if hasattr(c, "value") else c[0]) for c in self)


@functools.cache
def timezone_options() -> FixedChoices:
    """The time-zone picker's choices, shared (the IANA names do not change while the process runs)."""
    return FixedChoices((z, z.replace("_", " ")) for z in common_timezones())


def timezone_choices() -> list[tuple[str, str]]:
    return list(timezone_options())


class EmptyForm(Form):
    """Carries the CSRF token for POST-only buttons."""


class MultiCheckboxField(wtforms.SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = wtforms.widgets.ListWidget(prefix_label=False)
    option_widget = wtforms.widgets.CheckboxInput()
