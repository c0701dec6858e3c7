"""Every form of the application derives from the base form (core.forms.Form, or core.forms.SubForm for a FormField
row), the one place where WTForms' own messages are put into the reader's language through WTForms' public
Meta.get_translations hook."""

from __future__ import annotations

import importlib
import pkgutil

import wtforms
from flask_wtf import FlaskForm

import qa_incidents
from qa_incidents.core.forms import Form, SubForm
from qa_incidents.core.i18n import WTFORMS_MESSAGES


def _application_forms() -> dict[str, type]:
    for module in pkgutil.walk_packages(qa_incidents.__path__, "qa_incidents."):
        importlib.import_module(module.name)
    found: dict[str, type] = {}
    stack: list[type] = [wtforms.Form]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("qa_incidents."):
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
    return found


def test_every_form_derives_from_the_base_form() -> None:
    forms = _application_forms()
    assert len(forms) > 60  # the walk found the application's forms
    strays = sorted(name for name, cls in forms.items() if not issubclass(cls, (Form, SubForm)))
    assert strays == [], ("derive these from qa_incidents.core.forms.Form (or SubForm for a FormField row), "
                          f"not FlaskForm or wtforms.Form: {strays}")
    assert all(issubclass(cls, FlaskForm) for cls in forms.values() if issubclass(cls, Form))


def test_a_formfield_row_gets_the_same_messages(app) -> None:  # type: ignore[no-untyped-def]
    from qa_incidents.incidents.workflow_forms import MatrixForm

    with app.test_request_context("/"):
        form = MatrixForm()
        row = form.rules.entries[0].form
        assert row.meta.get_translations(row) is WTFORMS_MESSAGES


def test_the_base_form_gives_wtforms_the_cached_messages(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        form = Form()
        assert form.meta.get_translations(form) is WTFORMS_MESSAGES


def test_wtforms_i18n_can_still_be_turned_off(app) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_I18N_ENABLED"] = False
    try:
        with app.test_request_context("/"):
            form = Form()
            assert form.meta.get_translations(form) is None  # WTForms' defaults, as Flask-WTF does
    finally:
        app.config["WTF_I18N_ENABLED"] = True
