"""Enums carry their own titles (core/enums.py); kept values are keyed by one scope rule (permissions.scope_key)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.core.permissions import Actor, Role, readable_divisions, scope_key
from qa_incidents.incidents.rules import SEVERITY_TITLES, STATUS_TITLES, Severity, Status
from qa_incidents.reviews.rules import TIER_TITLES, SafetyTier


class Colour(TitledEnum):
    RED = "red", "Red things"
    PLAIN = "plain"


def test_a_titled_member_is_its_value_and_carries_its_title():
    assert Colour("red") is Colour.RED and Colour.RED == "red" and Colour.RED.value == "red"
    assert Colour.RED.title == "Red things"
    assert Colour.PLAIN.title == "plain"  # no title given: the value
    assert titles(Colour) == {Colour.RED: "Red things", Colour.PLAIN: "plain"}
    assert f"{Colour.RED}" == "red"


@pytest.mark.parametrize(("kind", "mapping"), [(Status, STATUS_TITLES), (Severity, SEVERITY_TITLES),
                                               (SafetyTier, TIER_TITLES)])
def test_the_title_mappings_pages_read_come_from_the_members(kind, mapping):
    assert list(mapping) == list(kind)
    assert all(mapping[member] is member.title for member in kind)


def test_titles_are_still_translated():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(__import__("config").BASE_DIR / "translations")
    Babel(app)
    with app.test_request_context(), force_locale("ja"):
        assert str(Status.CLOSED.title) != "Closed"
        assert str(Severity.S1.title) != "S1 critical"
    with app.test_request_context(), force_locale("en"):
        assert str(Status.CLOSED.title) == "Closed"


@pytest.mark.parametrize(("role", "division", "key"), [
    (Role.HEAD_OFFICE_QA, 1, "all"),
    (Role.DIVISION_QA, 3, "division-3"),
    (Role.REPORTER, 2, "division-2"),
])
def test_scope_key_says_which_divisions_are_read(role, division, key):
    actor = Actor(id=1, role=role, division_id=division)
    assert scope_key(actor) == key
    scope = readable_divisions(actor)
    assert (scope is None) == (key == "all")


def test_two_readers_of_the_same_divisions_share_a_key_and_others_do_not():
    a, b = Actor(id=1, role=Role.DIVISION_QA, division_id=3), Actor(id=2, role=Role.REPORTER, division_id=3)
    c = Actor(id=3, role=Role.DIVISION_QA, division_id=4)
    assert scope_key(a) == scope_key(b) != scope_key(c)
