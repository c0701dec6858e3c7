"""The API tokens page: a token is shown once, stored hashed, listed with its last use, and can be revoked."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import flashes, form_with, text

from qa_incidents.api.models import ApiToken


def test_create_use_and_revoke_a_token(login_as, client, fresh):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    page = client.get("/account/tokens/")
    assert page.status_code == 200
    form = form_with(page, "name")
    created = client.post(form.action, data=form.data(name="call-centre bridge"))
    assert created.status_code == 201
    token = re.search(r'<code id="new-token">(qai_[^<]+)</code>', created.get_data(as_text=True)).group(1)
    assert "not shown again" in " ".join(flashes(created))
    stored = fresh(sa.select(ApiToken).where(ApiToken.name == "call-centre bridge"))
    assert stored.token_hash != token and token not in stored.token_hash

    api = client.application.test_client()  # another program, no cookies
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = client.get("/account/tokens/")
    assert token not in listing.get_data(as_text=True)  # never shown again
    row = text(listing)
    assert "call-centre bridge" in row and "never" not in row.split("call-centre bridge")[1][:80]

    action = re.search(r'action="(/account/tokens/\d+/revoke)"', listing.get_data(as_text=True)).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', listing.get_data(as_text=True)).group(1)
    done = client.post(action, data={"csrf_token": csrf})
    assert done.status_code == 302
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in text(client.get("/account/tokens/"))


def test_a_token_needs_a_name(login_as, client):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    form = form_with(client.get("/account/tokens/"), "name")
    response = client.post(form.action, data=form.data(name="   "))
    assert response.status_code == 422
    assert form_with(response, "name").errors["name"]


def test_one_cannot_revoke_someone_elses_token(login_as, client, browser_as, fresh):  # type: ignore[no-untyped-def]
    other = browser_as("division.qa@example.com")
    form = form_with(other.get("/account/tokens/"), "name")
    other.post(form.action, data=form.data(name="theirs"))
    token_id = fresh(sa.select(ApiToken.id).where(ApiToken.name == "theirs"))
    login_as("reporter@example.com")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     client.get("/account/tokens/").get_data(as_text=True)).group(1)
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert fresh(sa.select(ApiToken.revoked_at).where(ApiToken.id == token_id)) is None


def test_admins_have_no_tokens_page(login_as, client):  # type: ignore[no-untyped-def]
    login_as("admin@example.com")
    assert client.get("/account/tokens/").status_code == 403
