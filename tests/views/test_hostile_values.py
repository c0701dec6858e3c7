"""Hostile values everywhere: every route of the URL map, for every role, with ids past 64 bits in the path, year 1
and 9999 dates and numbers past 64 bits in the query string and the form, forged keyset cursors and deeply nested
JSON. Whatever the answer (404, 400, 422, a re-rendered form), it is never a server error."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from view_helpers import DEMO_PASSWORD
from werkzeug.routing import Rule

from qa_incidents import create_app
from qa_incidents.core.params import IdConverter

HUGE = str(10**22)
ROLES = [None, "reporter@example.com", "division.qa@example.com", "hq.qa@example.com", "executive@example.com",
         "engineer@example.com", "admin@example.com"]


def _cursor(value: Any, ident: Any = 1) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, ident]).encode()).decode().rstrip("=")


HOSTILE_QUERIES = [
    {"division": HUGE, "incident": HUGE, "category": HUGE, "obligation": HUGE, "page": HUGE, "year": HUGE,
     "days": HUGE, "limit": HUGE, "product": HUGE},
    {"after": _cursor("0001-01-01T00:00:00+05:00"), "sort": "aware_asc", "on": "0001-01-01",
     "aware_from": "0001-01-01", "aware_to": "9999-12-31", "aware_at": "0001-01-01T00:00", "year": "0001"},
    {"before": _cursor("9999-12-31T23:59:59-05:00"), "on": "9999-12-31", "aware_at": "9999-12-31T23:59",
     "aware_from": "9999-12-31", "division": "-" + HUGE},
    {"after": _cursor(HUGE, 10**30), "sort": "reference_asc"},
]
HOSTILE_FORMS = ["0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01", "9999-12-31", HUGE, "-" + HUGE]


def _nested(depth: int = 100_000) -> bytes:
    return ("[" * depth + "]" * depth).encode()


@pytest.fixture
def hostile_app(engine, clock, tmp_path, demo) -> Flask:  # type: ignore[no-untyped-def]
    from config import TestConfig

    return create_app(TestConfig(), ENGINE=engine, CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "attachments"),
                      INSTANCE_DIR=str(tmp_path), WTF_CSRF_ENABLED=False)


#: Values for the path's words (not ids), so that the views behind them are reached.
WORDS = {"kind": ["register", "deadlines", "recalls", "lessons"], "fmt": ["csv", "json", "xlsx"],
         "action": ["contain", "close", "start_review"], "name": ["pareto"], "reference": ["RC-2026-0001"]}


def _paths(rule: Rule, ident: str) -> list[str]:
    paths = [rule.rule]
    for name, converter in rule._converters.items():
        values = [ident] if isinstance(converter, IdConverter) else WORDS.get(name, ["x"])
        paths = [re.sub(rf"<[^>]*\b{name}>", value, path) for path in paths for value in values]
    return paths


def _rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_integer_path_argument_uses_the_one_id_converter(hostile_app: Flask) -> None:
    loose = [r.rule for r in _rules(hostile_app) for c in r._converters.values()
             if type(c).__name__ in ("IntegerConverter", "NumberConverter", "FloatConverter")]
    assert not loose


@pytest.mark.parametrize("email", ROLES, ids=lambda e: e or "anonymous")
def test_no_route_answers_hostile_values_with_a_server_error(hostile_app: Flask, email: str | None) -> None:
    client = hostile_app.test_client()
    if email:
        assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    failures = []

    def check(method: str, path: str, **kwargs: Any) -> None:
        where = f"{method} {path} {kwargs.get('query_string', '')}"
        try:  # testing: an error propagates instead of becoming a 500 page
            response = client.open(path, method=method, **kwargs)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where}: {type(e).__name__}: {str(e)[:200]}")
            return
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code}")
        response.close()

    for rule in _rules(hostile_app):
        if rule.endpoint in ("accounts.logout",):
            continue
        has_ids = any(isinstance(c, IdConverter) for c in rule._converters.values())
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if has_ids:  # an id past 64 bits leads nowhere
                for path in _paths(rule, HUGE):
                    check(method, path)
            for path in _paths(rule, "1"):
                _hostile(check, rule, method, path)
    assert not failures, "\n".join(failures)


def _hostile(check: Any, rule: Rule, method: str, path: str) -> None:
    if method == "GET":
        for query in HOSTILE_QUERIES:
            check("GET", path, query_string=query)
    elif rule.rule.startswith("/api/"):
        check(method, path, data=_nested(), content_type="application/json")
    else:
        for value in HOSTILE_FORMS:
            fields = {name: value for name in _FORM_FIELDS}
            check(method, path, data=fields)
        check(method, path, data={"file": (io.BytesIO(_nested()), "deep.json"), "format": "json",
                                  "profile": "qa-incidents-register", "kind": "recalls"},
              content_type="multipart/form-data")


#: The names of every form field that takes a number or a date (a post fills all of them with the hostile value).
_FORM_FIELDS = ["aware_at", "occurred_at", "submitted_at", "acknowledged_at", "due_at", "due_on", "check_due_on",
                "meeting_on", "target_date", "run_on", "sent_on", "recorded_on", "on", "effective_from",
                "effective_to", "in_force_from", "in_force_to", "deaths", "serious_injuries", "minor_injuries",
                "units_in_field", "units_affected", "target_percent", "stall_weeks", "recipients", "min_units",
                "min_similar", "similar_window_days", "division", "division_id", "product_id", "obligation_id",
                "incident", "incident_id", "category_id", "parent_id", "owner_id", "located", "notified",
                "repaired", "replaced", "refunded", "date", "published_on", "decided_on", "version"]
