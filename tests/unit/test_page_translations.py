"""The page's catalogue, kept once per request and language on flask.g (through Flask-Babel's public get_locale and
get_translations only): a force_locale block gets its own, and the page's language comes back after it."""

from __future__ import annotations

import pytest
from flask import g

from qa_incidents.core import i18n

JA = {"Accept-Language": "ja-JP,ja;q=0.9"}


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    return app


def test_one_catalogue_per_request_and_language(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context("/", headers=JA):
        page = i18n.page_translations()
        assert page.ugettext("Severity") == "重大度"
        assert i18n.page_translations() is page  # kept for the request
        assert g.get(i18n.PAGE_TRANSLATIONS_KEY)[1] is page  # under the application's own key
        with i18n.in_language("en"):
            assert i18n.page_translations().ugettext("Severity") == "Severity"
        assert i18n.page_translations().ugettext("Severity") == "重大度"
    with app.test_request_context("/"):  # another request, another language: nothing carried over
        assert i18n.page_translations().ugettext("Severity") == "Severity"


def test_templates_translate_through_it(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context("/", headers=JA):
        assert app.jinja_env.from_string("{{ _('Severity') }}").render() == "重大度"
        with i18n.in_language("en"):
            assert app.jinja_env.from_string("{{ _('Severity') }}").render() == "Severity"


def test_outside_an_application_the_text_stays_as_written() -> None:
    assert i18n.page_translations().ugettext("Severity") == "Severity"
