"""Signing in with an OpenID Connect provider (Authlib's server on 127.0.0.1): the whole code flow with PKCE,
first-sign-in provisioning, group mapping, refusals of bad tokens and answers, log-out at the provider."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.testing import FlaskClient
from sso_conftest_helpers import csrf_token, follow_to_provider, local_path, login, provider_login

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.permissions import Role
from qa_incidents.sso.models import ExternalIdentity


def sign_in(client: FlaskClient, username: str, password: str, next_path: str = "") -> tuple[str, object]:
    url = follow_to_provider(client, "/sso/corp-oidc/login" + (f"?next={next_path}" if next_path else ""))
    back = provider_login(url, username, password)
    return back, client.get(local_path(back))


def user(session: so.Session, email: str) -> User | None:
    session.rollback()
    session.expire_all()
    return session.scalar(sa.select(User).where(User.email == email))


def test_log_in_page_offers_the_provider(client, oidc_provider):
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in with Corp Entra ID" in html
    assert 'href="/sso/corp-oidc/login' in html


def test_first_sign_in_creates_the_user_with_mapped_role_and_division(client, demo, oidc_provider, oidc):
    url = follow_to_provider(client, "/sso/corp-oidc/login?next=/incidents")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["nonce"][0] and query["state"][0]
    assert "prompt" not in query
    back = provider_login(url, "aiko.new@corp.example", "idp-pass-1")
    response = client.get(local_path(back))
    assert response.status_code == 302 and response.headers["Location"] == "/incidents"
    aiko = user(demo, "aiko.new@corp.example")
    assert aiko is not None and aiko.active
    assert aiko.name == "Aiko Newcomer" and aiko.role == Role.REPORTER and aiko.division.code == "HA"
    assert demo.scalar(sa.select(ExternalIdentity.subject).where(ExternalIdentity.user_id == aiko.id)) == "sub-aiko-0001"
    created = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == aiko.id,
                                                      AuditEvent.action == "created"))
    assert created is not None and created.changes["provider"] == [None, "corp-oidc"]
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Aiko Newcomer" in home


def test_lowest_priority_number_wins_and_each_sign_in_updates(client, demo, oidc_provider, oidc):
    _, response = sign_in(client, "yuki.hq@corp.example", "idp-pass-2")
    assert response.status_code == 302
    yuki = user(demo, "yuki.hq@corp.example")
    assert yuki.role == Role.HEAD_OFFICE_QA and yuki.division.code == "HQ"
    # The provider moves Yuki out of head office: the next sign-in follows.
    person = oidc.people["yuki.hq@corp.example"]
    person.groups = ["QA-Reporters", "DIV-HA"]
    try:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
        _, response = sign_in(client, "yuki.hq@corp.example", "idp-pass-2")
        assert response.status_code == 302
        yuki = user(demo, "yuki.hq@corp.example")
        assert yuki.role == Role.REPORTER and yuki.division.code == "HA"
        assert demo.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "yuki.hq@corp.example")) == 1
    finally:
        person.groups = ["QA-HeadOffice", "QA-Reporters"]


def test_no_group_mapping_to_a_role_is_refused_and_audited(client, demo, oidc_provider):
    _, response = sign_in(client, "nobody@corp.example", "idp-pass-3")
    assert response.status_code == 403
    assert "give no role" in response.get_data(as_text=True)
    assert user(demo, "nobody@corp.example") is None
    refusal = demo.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sign_in_refused"))
    assert refusal is not None and refusal.changes["subject"] == [None, "sub-nobody-0003"]
    assert client.get("/account").status_code == 302  # not signed in


def test_a_user_whose_groups_no_longer_map_is_deactivated(client, demo, oidc_provider, oidc):
    sign_in(client, "aiko.new@corp.example", "idp-pass-1")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    person = oidc.people["aiko.new@corp.example"]
    person.groups = ["Canteen"]
    try:
        _, response = sign_in(client, "aiko.new@corp.example", "idp-pass-1")
        assert response.status_code == 403
        aiko = user(demo, "aiko.new@corp.example")
        assert aiko is not None and not aiko.active
        event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                        AuditEvent.entity_id == aiko.id,
                                                        AuditEvent.action == "deactivated"))
        assert event is not None and event.changes["active"] == [True, False]
        # Back in a mapped group: the account the groups took away comes back.
        person.groups = ["QA-Reporters", "DIV-HA"]
        _, response = sign_in(client, "aiko.new@corp.example", "idp-pass-1")
        assert response.status_code == 302
        assert user(demo, "aiko.new@corp.example").active
    finally:
        person.groups = ["QA-Reporters", "DIV-HA"]


def _refused(client: FlaskClient, demo: so.Session, oidc, mode: str) -> None:
    oidc.misbehave = mode
    _, response = sign_in(client, "aiko.new@corp.example", "idp-pass-1")
    assert response.status_code == 400, mode
    assert "did not succeed" in response.get_data(as_text=True)
    assert user(demo, "aiko.new@corp.example") is None
    assert client.get("/account").status_code == 302


def test_tampered_id_token_is_refused(client, demo, oidc_provider, oidc):
    _refused(client, demo, oidc, "tamper")


def test_token_signed_with_another_key_is_refused(client, demo, oidc_provider, oidc):
    _refused(client, demo, oidc, "wrong_key")


def test_expired_id_token_is_refused(client, demo, oidc_provider, oidc):
    _refused(client, demo, oidc, "expired")


def test_id_token_for_another_audience_is_refused(client, demo, oidc_provider, oidc):
    _refused(client, demo, oidc, "audience")


def test_replayed_answer_is_refused(client, demo, oidc_provider, oidc):
    back, response = sign_in(client, "aiko.new@corp.example", "idp-pass-1")
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    again = client.get(local_path(back))  # the same code and state once more
    assert again.status_code == 400
    assert client.get("/account").status_code == 302
    other = FlaskClient(client.application, use_cookies=True)  # another browser with the captured answer
    assert other.get(local_path(back)).status_code == 400


def test_answer_with_a_forged_state_is_refused(client, demo, oidc_provider, oidc):
    url = follow_to_provider(client, "/sso/corp-oidc/login")
    back = provider_login(url, "aiko.new@corp.example", "idp-pass-1")
    state = parse_qs(urlsplit(back).query)["state"][0]
    assert client.get(local_path(back).replace(state, "forged-state")).status_code == 400
    assert user(demo, "aiko.new@corp.example") is None


def test_log_out_ends_the_provider_session_too(client, demo, oidc_provider, oidc):
    sign_in(client, "aiko.new@corp.example", "idp-pass-1")
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 200 and "You have logged out." in response.get_data(as_text=True)
    target = unescape(re.search(r'content="0;url=([^"]+)"', response.get_data(as_text=True)).group(1))
    assert target.startswith(oidc.issuer + "/logout?")
    query = parse_qs(urlsplit(target).query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"] and query["id_token_hint"][0]
    assert client.get("/account").status_code == 302


def test_local_passwords_can_be_switched_off_except_break_glass(client, demo, oidc_provider):
    from sso_conftest_helpers import admin_id

    from qa_incidents.sso import service

    service.save_settings(demo, restricted=True, break_glass_user_id=admin_id(demo), actor_id=admin_id(demo),
                          now=oidc_provider.created_at)
    demo.commit()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "reporter@example.com", "password": "demo-password-2026",
                                           "csrf_token": token})
    assert response.status_code == 403
    assert "Local passwords are switched off" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    login(client, "admin@example.com")  # the break-glass administrator still can
    assert client.get("/admin/sso/").status_code == 200
