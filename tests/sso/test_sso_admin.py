"""The administrator's single sign-on pages: providers, group mappings, local-password switch; audited; admins only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sso_conftest_helpers import csrf_token, login

from qa_incidents.core.audit import AuditEvent
from qa_incidents.sso.models import GroupMapping, IdentityProvider, SsoSettings


@pytest.fixture
def admin(client, demo):  # type: ignore[no-untyped-def]
    login(client, "admin@example.com")
    return client


def provider_data(token: str, **changes: str) -> dict[str, str]:
    data = {"csrf_token": token, "name": "Contoso Entra ID", "slug": "entra", "protocol": "oidc", "active": "y",
            "issuer": "https://login.microsoftonline.com/tenant-id/v2.0", "client_id": "app-id-123",
            "client_secret": "the-secret", "scopes": "openid email profile", "idp_metadata": "",
            "email_claim": "email", "name_claim": "name", "groups_claim": "groups", "division_claim": "",
            "default_division_id": "0"}
    data.update(changes)
    return data


def test_admin_adds_a_provider_and_its_mappings(admin, demo):
    token = csrf_token(admin, "/admin/sso/providers/new")
    response = admin.post("/admin/sso/providers/new", data=provider_data(token))
    assert response.status_code == 302
    demo.rollback()
    provider = demo.scalar(sa.select(IdentityProvider))
    assert provider.slug == "entra" and provider.client_secret == "the-secret"
    page = admin.get(f"/admin/sso/providers/{provider.id}").get_data(as_text=True)
    assert "http://localhost/sso/entra/callback" in page  # the redirect URI to register
    assert "the-secret" not in page  # never shown back
    created = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "identity_provider"))
    assert created.changes["client_secret"] == ["(hidden)", "(changed)"] and "the-secret" not in str(created.changes)

    # Saving again without a secret keeps the stored one.
    token = csrf_token(admin, f"/admin/sso/providers/{provider.id}")
    assert admin.post(f"/admin/sso/providers/{provider.id}",
                      data=provider_data(token, client_secret="", name="Entra")).status_code == 302
    demo.rollback()
    demo.expire_all()
    assert demo.get(IdentityProvider, provider.id).client_secret == "the-secret"

    token = csrf_token(admin, f"/admin/sso/providers/{provider.id}")
    response = admin.post(f"/admin/sso/providers/{provider.id}/mappings",
                          data={"csrf_token": token, "map-value": "QA-HQ", "map-role": "head_office_qa",
                                "map-division_id": "0", "map-priority": "5"})
    assert response.status_code == 302
    page = admin.get(f"/admin/sso/providers/{provider.id}").get_data(as_text=True)
    assert "QA-HQ" in page and "Head-office QA" in page
    demo.rollback()
    mapping = demo.scalar(sa.select(GroupMapping))
    token = csrf_token(admin, f"/admin/sso/providers/{provider.id}")
    retire_token = re.search(r'name="retire-csrf_token" type="hidden" value="([^"]+)"',
                             admin.get(f"/admin/sso/providers/{provider.id}").get_data(as_text=True))
    assert admin.post(f"/admin/sso/mappings/{mapping.id}/retire",
                      data={"retire-csrf_token": retire_token.group(1) if retire_token else token}).status_code == 302
    demo.rollback()
    demo.expire_all()
    assert demo.get(GroupMapping, mapping.id).active is False  # retired, kept as evidence
    assert "No mapping yet" in admin.get(f"/admin/sso/providers/{provider.id}").get_data(as_text=True)


def test_bad_provider_input_re_renders_with_reasons(admin, demo):
    token = csrf_token(admin, "/admin/sso/providers/new")
    response = admin.post("/admin/sso/providers/new",
                          data=provider_data(token, slug="Not OK!", issuer="ftp://x", scopes="email"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Use 1 to 40 lower-case letters" in page and "discovery document" in page and "include openid" in page
    assert 'value="Contoso Entra ID"' in page  # the input is kept
    saml = admin.post("/admin/sso/providers/new",
                      data=provider_data(token, protocol="saml", slug="adfs", idp_metadata="<not-metadata/>"))
    assert saml.status_code == 422 and "not SAML metadata" in saml.get_data(as_text=True)
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 0


def test_mapping_needs_a_role_or_division(admin, demo, oidc_provider):
    token = csrf_token(admin, f"/admin/sso/providers/{oidc_provider.id}")
    response = admin.post(f"/admin/sso/providers/{oidc_provider.id}/mappings",
                          data={"csrf_token": token, "map-value": "Somebody", "map-role": "",
                                "map-division_id": "0", "map-priority": "5"})
    assert response.status_code == 422 and "Choose a role, a division or both." in response.get_data(as_text=True)


def test_switching_off_local_passwords_needs_a_break_glass_admin(admin, demo):
    token = csrf_token(admin, "/admin/sso/")
    response = admin.post("/admin/sso/", data={"csrf_token": token, "local_login_restricted": "y",
                                               "break_glass_user_id": "0"})
    assert response.status_code == 422 and "nobody could repair" in response.get_data(as_text=True)
    demo.rollback()
    assert demo.get(SsoSettings, 1) is None


@pytest.mark.parametrize("email", ["hq.qa@example.com", "reporter@example.com", "executive@example.com"])
def test_only_administrators_reach_the_pages(client, demo, email):
    login(client, email)
    assert client.get("/admin/sso/").status_code == 403
    assert client.get("/admin/sso/providers/new").status_code == 403
