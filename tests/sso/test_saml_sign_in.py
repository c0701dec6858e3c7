"""Signing in with a SAML 2.0 identity provider (pysaml2's IdP on 127.0.0.1; signatures checked by xmlsec1):
SP-initiated sign-on, provisioning and group mapping, refusals of tampered, unsigned, expired, replayed and
wrongly addressed assertions, single log-out."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.testing import FlaskClient
from sso_conftest_helpers import csrf_token, follow_to_provider

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.permissions import Role


def idp_sign_in(url: str, username: str, password: str) -> tuple[str, str]:
    """Through the identity provider's page; the ACS address and the SAMLResponse it would post."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Test SAML identity provider" in page.text
    fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', page.text))
    answer = requests.post(url.split("?")[0], data={**{k: unescape(v) for k, v in fields.items()},
                                                    "username": username, "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    acs = unescape(re.search(r'action="([^"]+)"', answer.text).group(1))
    response = unescape(re.search(r'name="SAMLResponse" value="([^"]+)"', answer.text).group(1))
    return acs, response


def sign_in(client: FlaskClient, username: str = "aiko", password: str = "idp-pass-1"):  # type: ignore[no-untyped-def]
    url = follow_to_provider(client, "/sso/corp-saml/login?next=/lessons")
    acs, saml_response = idp_sign_in(url, username, password)
    assert acs == "http://localhost/sso/corp-saml/acs"
    return saml_response, client.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response,
                                                                  "RelayState": "corp-saml"})


def user(session: so.Session, email: str) -> User | None:
    session.rollback()
    session.expire_all()
    return session.scalar(sa.select(User).where(User.email == email))


def test_sign_in_creates_the_user_from_a_signed_assertion(client, demo, saml_provider, saml_server):
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in with Corp ADFS" in html
    _, response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/lessons"
    aiko = user(demo, "aiko.saml@corp.example")
    assert aiko is not None and aiko.role == Role.REPORTER and aiko.division.code == "HA" and aiko.name == "Aiko Saml"
    assert saml_server.requests[-1]["force_authn"] in (None, "false")
    assert client.get("/account").status_code == 200


def test_no_mapped_group_is_refused_and_audited(client, demo, saml_provider):
    _, response = sign_in(client, "nobody", "idp-pass-3")
    assert response.status_code == 403
    assert user(demo, "nobody.saml@corp.example") is None
    assert demo.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sign_in_refused")) is not None


def _refused(client: FlaskClient, demo: so.Session, saml_server, mode: str) -> None:  # type: ignore[no-untyped-def]
    saml_server.misbehave = mode
    try:
        _, response = sign_in(client)
    finally:
        saml_server.misbehave = ""
    assert response.status_code == 400, mode
    assert "did not succeed" in response.get_data(as_text=True)
    assert user(demo, "aiko.saml@corp.example") is None
    assert client.get("/account").status_code == 302


def test_tampered_assertion_is_refused(client, demo, saml_provider, saml_server):
    _refused(client, demo, saml_server, "tamper")


def test_unsigned_assertion_is_refused(client, demo, saml_provider, saml_server):
    _refused(client, demo, saml_server, "unsigned")


def test_expired_assertion_is_refused(client, demo, saml_provider, saml_server):
    _refused(client, demo, saml_server, "expired")


def test_assertion_for_another_audience_is_refused(client, demo, saml_provider, saml_server):
    _refused(client, demo, saml_server, "audience")


def test_replayed_assertion_is_refused(client, demo, saml_provider, saml_server, app):
    saml_response, response = sign_in(client)
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    again = client.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response, "bounced": "1"})
    assert again.status_code == 400
    other = app.test_client()  # a captured response in another browser: unsolicited there
    bounce = other.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response})
    assert bounce.status_code == 200 and 'name="bounced" value="1"' in bounce.get_data(as_text=True)
    assert other.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response, "bounced": "1"}).status_code == 400
    follow_to_provider(other, "/sso/corp-saml/login")  # ...and not the answer to the request it made itself
    assert other.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response}).status_code == 400
    assert other.get("/account").status_code == 302


def test_log_out_sends_a_logout_request_to_the_identity_provider(client, demo, saml_provider, saml_server):
    sign_in(client)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    target = unescape(re.search(r'content="0;url=([^"]+)"', response.get_data(as_text=True)).group(1))
    assert target.startswith(saml_server.base + "/slo?")
    assert parse_qs(urlsplit(target).query)["SAMLRequest"][0]
    assert client.get("/account").status_code == 302


def test_service_provider_metadata_names_the_assertion_consumer_service(client, saml_provider):
    xml = client.get("/sso/corp-saml/metadata").get_data(as_text=True)
    assert 'entityID="http://localhost/sso/corp-saml/metadata"' in xml
    assert "http://localhost/sso/corp-saml/acs" in xml and "WantAssertionsSigned=\"true\"" in xml


def test_an_answer_posted_without_the_session_cookie_is_posted_on_from_this_site(client, demo, saml_provider, app):
    """Cross-site, the identity provider's POST arrives without the SameSite=Lax session cookie: the page it gets
    posts the answer on from this site, with the cookie, and the sign-in completes."""
    url = follow_to_provider(client, "/sso/corp-saml/login")
    _, saml_response = idp_sign_in(url, "aiko", "idp-pass-1")
    cookieless = app.test_client(use_cookies=False)
    page = cookieless.post("/sso/corp-saml/acs", data={"SAMLResponse": saml_response, "RelayState": "corp-saml"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'action="/sso/corp-saml/acs"' in html and "sso_continue.js" in html
    fields = dict(re.findall(r'name="(SAMLResponse|RelayState|bounced)" value="([^"]*)"', html))
    done = client.post("/sso/corp-saml/acs", data={k: unescape(v) for k, v in fields.items()})
    assert done.status_code == 302
    assert user(demo, "aiko.saml@corp.example") is not None
    assert client.get("/account").status_code == 200
