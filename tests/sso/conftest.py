"""Fixtures for single sign-on: real identity providers on 127.0.0.1 and an application that trusts them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask
from sso_conftest_helpers import APP_BASE, admin_id, division_id
from sso_idp_oidc import OidcProvider, Person
from sso_idp_saml import SamlIdp

from config import TestConfig
from qa_incidents import create_app
from qa_incidents.core.permissions import Role
from qa_incidents.sso import service
from qa_incidents.sso.models import IdentityProvider, Protocol


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcProvider]:
    server = OidcProvider().start()
    server.add_person(Person("sub-aiko-0001", "aiko.new@corp.example", "Aiko Newcomer", "idp-pass-1",
                             groups=["QA-Reporters", "DIV-HA"]))
    server.add_person(Person("sub-yuki-0002", "yuki.hq@corp.example", "Yuki Headoffice", "idp-pass-2",
                             groups=["QA-HeadOffice", "QA-Reporters"], department="HQ"))
    server.add_person(Person("sub-nobody-0003", "nobody@corp.example", "No Group", "idp-pass-3",
                             groups=["Canteen"]))
    yield server
    server.stop()


@pytest.fixture
def oidc(oidc_server: OidcProvider, app: Flask) -> Iterator[OidcProvider]:
    """The provider, behaving, its client registered with this application's redirect address."""
    oidc_server.misbehave = ""
    oidc_server.client.redirect_uris = [f"{APP_BASE}/sso/corp-oidc/callback"]
    oidc_server.logouts.clear()
    oidc_server.authorize_requests.clear()
    yield oidc_server
    oidc_server.misbehave = ""


@pytest.fixture
def app(engine: sa.Engine, clock, tmp_path: Path) -> Flask:  # type: ignore[no-untyped-def]
    return create_app(TestConfig(), ENGINE=engine, CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "attachments"),
                      INSTANCE_DIR=str(tmp_path), BASE_URL=APP_BASE)


@pytest.fixture
def oidc_provider(demo: so.Session, oidc: OidcProvider, clock) -> IdentityProvider:  # type: ignore[no-untyped-def]
    """The provider configured in the application, with the company's group mapping."""
    actor = admin_id(demo)
    provider = service.save_provider(demo, data=service.ProviderInput(
        slug="corp-oidc", name="Corp Entra ID", protocol=Protocol.OIDC, issuer=oidc.issuer,
        client_id=oidc.client.client_id, client_secret=oidc.client.client_secret,
        scopes="openid email profile groups"), provider_id=None, actor_id=actor, now=clock())
    for value, role, division in (("QA-HeadOffice", Role.HEAD_OFFICE_QA, "HQ"), ("QA-Reporters", Role.REPORTER, None),
                                  ("DIV-HA", None, "HA")):
        service.add_mapping(demo, provider_id=provider.id, value=value, role=role,
                            division_id=division_id(demo, division) if division else None,
                            priority=10 if role == Role.HEAD_OFFICE_QA else 100, actor_id=actor, now=clock())
    demo.commit()
    return provider


@pytest.fixture(scope="session")
def saml_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp")).start()
    server.add_person("aiko", "idp-pass-1", "saml-aiko-0001",
                      {"email": ["aiko.saml@corp.example"], "name": ["Aiko Saml"], "groups": ["QA-Reporters", "DIV-HA"]})
    server.add_person("nobody", "idp-pass-3", "saml-nobody-0003",
                      {"email": ["nobody.saml@corp.example"], "name": ["No Group"], "groups": ["Canteen"]})
    yield server
    server.stop()


@pytest.fixture
def saml_provider(demo: so.Session, saml_server: SamlIdp, client, clock) -> IdentityProvider:  # type: ignore[no-untyped-def]
    """The SAML identity provider configured in the application (and the application registered with it)."""
    saml_server.misbehave = ""
    actor = admin_id(demo)
    provider = service.save_provider(demo, data=service.ProviderInput(
        slug="corp-saml", name="Corp ADFS", protocol=Protocol.SAML, idp_metadata=saml_server.metadata()),
        provider_id=None, actor_id=actor, now=clock())
    for value, role, division in (("QA-HeadOffice", Role.HEAD_OFFICE_QA, "HQ"), ("QA-Reporters", Role.REPORTER, None),
                                  ("DIV-HA", None, "HA")):
        service.add_mapping(demo, provider_id=provider.id, value=value, role=role,
                            division_id=division_id(demo, division) if division else None,
                            priority=10 if role == Role.HEAD_OFFICE_QA else 100, actor_id=actor, now=clock())
    demo.commit()
    metadata = client.get("/sso/corp-saml/metadata")
    assert metadata.status_code == 200
    saml_server.sp_metadata = metadata.get_data(as_text=True)
    return provider
