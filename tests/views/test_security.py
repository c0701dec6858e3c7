"""Log-in throttling and lock-out, session expiry, the Secure cookie, password policy and CSRF on every route."""

from __future__ import annotations

import re
import time

import pytest
from view_helpers import DEMO_PASSWORD, csrf_token, flashes, forms_of, location_path, login

import config
from qa_incidents import create_app

WRONG = "The e-mail address or password is not correct."
LOCKED = "Too many failed log-ins for this e-mail address"


def _attempt(client, email: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _normalised(body: str) -> str:
    body = re.sub(r'(name="(?:[\w]+-)?csrf_token"[^>]*value=")[^"]*', r"\1", body)
    return re.sub(r'(name="email"[^>]*value=")[^"]*', r"\1", body)


def test_five_failures_lock_the_address_the_same_way_whether_it_exists_or_not(app, demo, clock):
    pages = {}
    for email in ("reporter@example.com", "nobody@example.com"):
        client = app.test_client()
        statuses = [_attempt(client, email, "wrong-password-123").status_code for _ in range(4)]
        assert statuses == [401] * 4
        fifth = _attempt(client, email, "wrong-password-123")
        assert fifth.status_code == 429
        assert any(LOCKED in m and "15 more minutes" in m for m in flashes(fifth))
        right = _attempt(client, email, DEMO_PASSWORD)  # even the right password waits
        assert right.status_code == 429 and any(LOCKED in m for m in flashes(right))
        pages[email] = _normalised(right.get_data(as_text=True))
    assert pages["reporter@example.com"] == pages["nobody@example.com"]  # no user enumeration

    clock.advance(minutes=16)
    client = app.test_client()
    assert _attempt(client, "reporter@example.com", DEMO_PASSWORD).status_code == 302
    assert client.get("/incidents/").status_code == 200


def test_a_success_resets_the_count_and_old_failures_expire(app, demo, clock):
    client = app.test_client()
    for _ in range(4):
        assert _attempt(client, "reporter@example.com", "wrong-password-123").status_code == 401
    assert _attempt(client, "reporter@example.com", DEMO_PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(4):
        assert _attempt(other, "reporter@example.com", "wrong-password-123").status_code == 401
    clock.advance(minutes=20)  # the streak is stale: it starts again
    for _ in range(4):
        assert _attempt(other, "reporter@example.com", "wrong-password-123").status_code == 401


def test_an_idle_session_expires_with_a_message(login_as):
    client = login_as("reporter@example.com")
    assert client.get("/incidents/").status_code == 200
    with client.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 31 * 60
    response = client.get("/incidents/1")
    assert response.status_code == 302 and location_path(response).startswith("/login?next=")
    assert any("session expired" in m for m in flashes(client.get("/login")))
    assert client.get("/incidents/").status_code == 302  # logged out for good


def test_a_session_older_than_the_longest_allowed_expires_even_when_busy(login_as):
    client = login_as("reporter@example.com")
    with client.session_transaction() as s:
        s["signed_in_at"] = int(time.time()) - 13 * 3600
    assert client.get("/incidents/").status_code == 302
    token_page = client.get("/login")
    assert token_page.status_code == 200


def test_an_expired_session_cannot_post(login_as, fresh):
    client = login_as("reporter@example.com")
    token = csrf_token(client, "/incidents/1")
    with client.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 3600
    response = client.post("/incidents/1/comments", data={"body": "after expiry", "csrf_token": token})
    assert response.status_code in (400, 401)


def test_session_cookie_is_secure_when_served_over_https(engine, clock, tmp_path, demo):
    app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, SESSION_COOKIE_SECURE=True,
                     INSTANCE_DIR=str(tmp_path), ATTACHMENT_DIR=str(tmp_path / "a"))
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = next(f.values["csrf_token"] for f in forms_of(page) if f.values.get("csrf_token"))
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"email": "reporter@example.com", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302  # signed in (over HTTPS the CSRF check also wants a same-site Referer)
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")][-1].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize("password", ["password1234", "Reporter-2026-x", "QWERTYUIOP12"])
def test_guessable_passwords_are_refused(login_as, password):
    client = login_as("reporter@example.com")
    token = csrf_token(client, "/account")
    response = client.post("/account", data={"which": "pw", "pw-current_password": DEMO_PASSWORD,
                                              "pw-new_password": password, "pw-csrf_token": token, "csrf_token": token})
    assert response.status_code == 422
    assert "too easy to guess" in response.get_data(as_text=True)


def _sample_path(rule) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: "1" if m.group(1) in ("int", "id", "float") else "x", rule.rule)


def test_every_state_changing_route_needs_a_csrf_token_or_a_bearer_token(app, demo):
    client = app.test_client()
    login(client, "admin@example.com")
    hq = app.test_client()
    login(hq, "hq.qa@example.com")
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint in ("static", "api.unknown"):  # api.unknown: the API's JSON 404
            continue
        if rule.endpoint == "sso.saml_acs":  # posted cross-site by the identity provider: its signed answer must
            continue  # answer this browser session's own request instead (tests/sso/test_saml_sign_in.py)
        path = _sample_path(rule)
        for method in methods:
            for who in (client, hq):
                response = who.open(path, method=method, data={"body": "x", "title": "x"})
                if rule.rule.startswith("/api/"):
                    # The API ignores the session cookie: a token is the only credential, so no CSRF is possible.
                    assert response.status_code == 401, (method, path, response.status_code)
                else:
                    assert response.status_code == 400, (method, path, response.status_code)
                    assert b"Form expired" in response.data
                checked += 1
    assert checked > 40
