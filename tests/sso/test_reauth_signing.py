"""Signatures still mean re-authentication: a user who signs in with a provider confirms it is them at the provider
again (OpenID Connect prompt=login max_age=0; SAML ForceAuthn) and signs with the one-time code that follows; the
signature records how the signer was authenticated."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sso_conftest_helpers import csrf_token, follow_to_provider, local_path, login, provider_login
from test_saml_sign_in import idp_sign_in

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.signatures import Signature
from qa_incidents.sso.models import Reauthentication


def post(client: FlaskClient, path: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})


def escalate_incident_1(app: Flask) -> None:
    qa = app.test_client()
    login(qa, "division.qa@example.com")
    assert post(qa, "/incidents/1/triage", severity="S1", override_reason="").status_code == 302
    assert post(qa, "/incidents/1/actions/request_escalation", reason="Fire, 48,200 units").status_code == 302


def oidc_client(app: Flask) -> FlaskClient:
    yuki = app.test_client()
    url = follow_to_provider(yuki, "/sso/corp-oidc/login")
    assert yuki.get(local_path(provider_login(url, "yuki.hq@corp.example", "idp-pass-2"))).status_code == 302
    return yuki


def signing_code(client: FlaskClient, page: str, start: str) -> str | None:
    """Follow the page's re-authentication link through the provider; the one-time code shown afterwards."""
    html = client.get(page).get_data(as_text=True)
    link = re.search(r'href="(/sso/reauthenticate\?[^"]+)"', html)
    assert link, "the signature field offers no re-authentication"
    url = follow_to_provider(client, link.group(1).replace("&amp;", "&"))
    assert url.startswith(start)
    return url


def test_oidc_user_signs_an_escalation_after_re_authenticating(app, demo, oidc_provider, oidc, clock):
    escalate_incident_1(app)
    yuki = oidc_client(app)
    url = signing_code(yuki, "/incidents/1/escalation", oidc.issuer + "/authorize")
    query = parse_qs(urlsplit(url).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    back = yuki.get(local_path(provider_login(url, "yuki.hq@corp.example", "idp-pass-2")))
    assert back.status_code == 302 and back.headers["Location"] == "/incidents/1/escalation"
    page = yuki.get("/incidents/1/escalation").get_data(as_text=True)
    code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", page).group(1)

    wrong = post(yuki, "/incidents/1/escalation", decision="approve", comment="Agreed", password="ABCD-EFGH-JKLM")
    assert wrong.status_code == 422 and "nothing was signed" in wrong.get_data(as_text=True)
    ok = post(yuki, "/incidents/1/escalation", decision="approve", comment="Agreed", password=code)
    assert ok.status_code == 302, ok.get_data(as_text=True)[:500]
    demo.rollback()
    signature = demo.scalar(sa.select(Signature))
    assert signature is not None and signature.signer_name == "Yuki Headoffice"
    proof = demo.scalar(sa.select(Reauthentication).where(Reauthentication.signature_id == signature.id))
    assert proof is not None and proof.method.startswith("OpenID Connect prompt=login")
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "signature",
                                                    AuditEvent.entity_id == signature.id))
    assert event.changes["authentication"][1].startswith("OpenID Connect prompt=login max_age=0 at ")


def test_a_signing_code_is_used_once_and_expires(app, demo, oidc_provider, oidc, clock):
    escalate_incident_1(app)
    yuki = oidc_client(app)
    url = signing_code(yuki, "/incidents/1/escalation", oidc.issuer + "/authorize")
    yuki.get(local_path(provider_login(url, "yuki.hq@corp.example", "idp-pass-2")))
    code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", yuki.get("/incidents/1/escalation").get_data(as_text=True)).group(1)
    clock.advance(minutes=6)
    late = post(yuki, "/incidents/1/escalation", decision="approve", comment="Agreed", password=code)
    assert late.status_code == 422
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Signature.id))) == 0


def test_a_provider_that_does_not_re_authenticate_gives_no_code(app, demo, oidc_provider, oidc):
    escalate_incident_1(app)
    yuki = oidc_client(app)
    url = signing_code(yuki, "/incidents/1/escalation", oidc.issuer + "/authorize")
    oidc.misbehave = "stale_auth_time"  # it answers from an old session despite prompt=login
    back = yuki.get(local_path(provider_login(url, "yuki.hq@corp.example", "idp-pass-2")))
    assert back.status_code == 302
    page = yuki.get("/incidents/1/escalation").get_data(as_text=True)
    assert "did not confirm it is you" in page
    assert not re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", page)
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Reauthentication.id))) == 0


def test_re_authentication_as_another_person_gives_no_code(app, demo, oidc_provider, oidc):
    escalate_incident_1(app)
    yuki = oidc_client(app)
    url = signing_code(yuki, "/incidents/1/escalation", oidc.issuer + "/authorize")
    yuki.get(local_path(provider_login(url, "aiko.new@corp.example", "idp-pass-1")))
    assert "confirmed a different person" in yuki.get("/incidents/1/escalation").get_data(as_text=True)
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Reauthentication.id))) == 0


def test_saml_re_authentication_asks_for_force_authn(app, demo, saml_provider, saml_server, clock):
    escalate_incident_1(app)
    saml_server.people["aiko"]["attributes"]["groups"] = ["QA-HeadOffice"]
    try:
        hq = app.test_client()
        acs, response = idp_sign_in(follow_to_provider(hq, "/sso/corp-saml/login"), "aiko", "idp-pass-1")
        assert hq.post("/sso/corp-saml/acs", data={"SAMLResponse": response}).status_code == 302
        url = signing_code(hq, "/incidents/1/escalation", saml_server.base + "/sso")
        acs, response = idp_sign_in(url, "aiko", "idp-pass-1")
        assert saml_server.requests[-1]["force_authn"] == "true"
        back = hq.post("/sso/corp-saml/acs", data={"SAMLResponse": response})
        assert back.headers["Location"] == "/incidents/1/escalation"
        page = hq.get("/incidents/1/escalation").get_data(as_text=True)
        code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", page).group(1)
        ok = post(hq, "/incidents/1/escalation", decision="approve", comment="", password=code)
        assert ok.status_code == 302
        demo.rollback()
        proof = demo.scalar(sa.select(Reauthentication))
        assert proof.method == "SAML ForceAuthn" and proof.signature_id is not None
    finally:
        saml_server.people["aiko"]["attributes"]["groups"] = ["QA-Reporters", "DIV-HA"]
