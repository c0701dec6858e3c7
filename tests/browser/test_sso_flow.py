"""In a real browser: signing in through each identity provider's own page (OpenID Connect and SAML 2.0 providers
running on 127.0.0.1), and re-authenticating at the provider to sign an escalation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask
from playwright.sync_api import Page, expect
from sso_idp_oidc import OidcProvider, Person
from sso_idp_saml import SamlIdp

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.permissions import Role
from qa_incidents.sso import service
from qa_incidents.sso.models import Protocol

pytestmark = pytest.mark.browser


@pytest.fixture
def providers(app: Flask, demo: so.Session, live_server: str, tmp_path: Path, clock) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    app.config["BASE_URL"] = live_server
    oidc = OidcProvider().start()
    oidc.client.redirect_uris = [f"{live_server}/sso/corp-oidc/callback"]
    oidc.add_person(Person("sub-yuki", "yuki.hq@corp.example", "Yuki Headoffice", "idp-pass-2", groups=["QA-HQ"]))
    idp = SamlIdp(tmp_path).start()
    idp.add_person("aiko", "idp-pass-1", "saml-aiko", {"email": ["aiko.saml@corp.example"], "name": ["Aiko Saml"],
                                                      "groups": ["QA-Reporters"]})
    admin = demo.scalar(sa.select(User.id).where(User.email == "admin@example.com"))
    hq = demo.scalar(sa.select(Division.id).where(Division.code == "HQ"))
    ha = demo.scalar(sa.select(Division.id).where(Division.code == "HA"))
    for slug, name, protocol, extra, group, role, division in (
            ("corp-oidc", "Corp Entra ID", Protocol.OIDC,
             {"issuer": oidc.issuer, "client_id": oidc.client.client_id, "client_secret": oidc.client.client_secret,
              "scopes": "openid email profile groups"}, "QA-HQ", Role.HEAD_OFFICE_QA, hq),
            ("corp-saml", "Corp ADFS", Protocol.SAML, {"idp_metadata": idp.metadata()}, "QA-Reporters",
             Role.REPORTER, ha)):
        provider = service.save_provider(demo, data=service.ProviderInput(slug=slug, name=name, protocol=protocol,
                                                                           **extra),
                                         provider_id=None, actor_id=admin, now=clock())
        service.add_mapping(demo, provider_id=provider.id, value=group, role=role, division_id=division, priority=1,
                            actor_id=admin, now=clock())
    demo.commit()
    with app.test_client() as c:
        idp.sp_metadata = c.get("/sso/corp-saml/metadata").get_data(as_text=True)
    try:
        yield oidc, idp
    finally:
        oidc.stop()
        idp.stop()


def test_sign_in_through_each_providers_page(new_page, providers):  # type: ignore[no-untyped-def]
    page: Page = new_page()
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Corp ADFS").click()
    expect(page.get_by_role("heading", name="Test SAML identity provider: sign in")).to_be_visible()
    page.get_by_label("User name").fill("aiko")
    page.get_by_label("Password").fill("idp-pass-1")
    page.get_by_role("button", name="Sign in at the SAML provider").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome, Aiko Saml.")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are signed out at the identity provider.")).to_be_visible()

    page = new_page()
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Corp Entra ID").click()
    expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
    page.get_by_label("User name").fill("yuki.hq@corp.example")
    page.get_by_label("Password").fill("idp-pass-2")
    page.get_by_role("button", name="Sign in at the provider").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome, Yuki Headoffice.")


def test_oidc_user_re_authenticates_at_the_provider_to_sign(new_page, providers, demo, clock):  # type: ignore[no-untyped-def]
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity

    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=1, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=1, reason="Fire, 48,200 units", now=clock())
    demo.commit()
    page: Page = new_page()
    page.goto("/sso/corp-oidc/login")
    page.get_by_label("User name").fill("yuki.hq@corp.example")
    page.get_by_label("Password").fill("idp-pass-2")
    page.get_by_role("button", name="Sign in at the provider").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome")
    page.goto("/incidents/1/escalation")
    page.get_by_role("link", name="Confirm it is you at Corp Entra ID").click()
    expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()  # prompt=login
    page.get_by_label("User name").fill("yuki.hq@corp.example")
    page.get_by_label("Password").fill("idp-pass-2")
    page.get_by_role("button", name="Sign in at the provider").click()
    message = page.locator(".flash-success")
    expect(message).to_contain_text("confirmed it is you")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", message.inner_text()).group(0)
    page.get_by_label("Your password (signature)").fill(code)
    page.get_by_role("button", name="Sign decision").click()
    expect(page.locator(".badge.status-escalated")).to_have_text("Escalated")
    expect(page.locator(".signature").first).to_contain_text("Yuki Headoffice")
