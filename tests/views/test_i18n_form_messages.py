"""WTForms' own messages ("This field is required.") in the reader's language, through the base form; WTForms'
catalogue is read from disk once per language, not on every request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from view_helpers import form_with

from qa_incidents.accounts.models import User
from qa_incidents.core import i18n

VALID = {
    "title": "Ice maker leak onto control board",
    "occurred_at": "2026-11-18T09:30",
    "country": "JP",
    "description": "Water from the ice maker reached the main board; smoke seen, no flame.",
}


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    return app


def _post_without_timezone(client):  # type: ignore[no-untyped-def]
    form = form_with(client.get("/incidents/new"), "title")
    product = next(o.value for o in form.selects["product_id"] if o.label.startswith("R-HW540"))
    return client.post("/incidents/new", data=form.data(product_id=product, **VALID, timezone=""))


@pytest.mark.parametrize("language, message", [("en", "This field is required."), ("ja", "このフィールドは必須です。")])
def test_a_builtin_message_is_in_the_readers_language(demo, login_as, language, message):  # type: ignore[no-untyped-def]
    demo.execute(sa.update(User).where(User.email == "reporter@example.com").values(locale=language))
    demo.commit()
    client = login_as("reporter@example.com")
    response = _post_without_timezone(client)
    assert response.status_code == 422
    assert form_with(response, "title").errors["timezone"] == message


def test_wtforms_catalogue_is_loaded_once_per_language(demo, login_as, monkeypatch):  # type: ignore[no-untyped-def]
    from babel import support

    loads: list[str] = []
    real = support.Translations.load

    def counting(dirname=None, locales=None, domain=None):  # type: ignore[no-untyped-def]
        if domain == "wtforms":
            loads.append(str(locales[0]))
        return real(dirname, locales, domain)

    monkeypatch.setattr(i18n, "_WTFORMS_CATALOGUES", {})
    monkeypatch.setattr(support.Translations, "load", counting)
    demo.execute(sa.update(User).where(User.email == "reporter@example.com").values(locale="ja"))
    demo.commit()
    client = login_as("reporter@example.com")
    for _ in range(3):
        response = _post_without_timezone(client)
        assert form_with(response, "title").errors["timezone"] == "このフィールドは必須です。"
    assert loads == ["ja"]


def test_a_row_of_a_list_form_speaks_the_readers_language_too(demo, browser_as):  # type: ignore[no-untyped-def]
    """The severity matrix's rule rows are forms inside the form (FormField): their messages are translated too."""
    from test_view_workflow import matrix_post
    from view_helpers import csrf_token, text

    demo.execute(sa.update(User).where(User.email == "admin@example.com").values(locale="ja"))
    demo.commit()
    admin = browser_as("admin@example.com")
    data = matrix_post(csrf_token(admin, "/severity-matrix/edit"))
    data["rules-0-min_units"] = "-1"
    data["note"] = "負の台数"
    response = admin.post("/severity-matrix/edit", data=data)
    assert response.status_code == 422
    assert "数値は 0 以上でなければなりません。" in text(response)
    assert "Number must be at least" not in text(response)
