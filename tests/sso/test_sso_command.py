"""`qa-incidents sso apply`: providers and mappings from the SSO_PROVIDERS environment variable, idempotent."""

from __future__ import annotations

import json

import sqlalchemy as sa

from qa_incidents.sso.models import GroupMapping, IdentityProvider

ENTRA = {"slug": "entra", "name": "Contoso Entra ID", "protocol": "oidc",
         "issuer": "https://login.microsoftonline.com/tenant/v2.0", "client_id": "app-1", "client_secret": "s",
         "mappings": [{"group": "0b1c-group-id", "role": "head_office_qa", "division": "HQ", "priority": 10}]}


def test_apply_creates_then_updates_without_duplicating(app, demo, monkeypatch):
    monkeypatch.setenv("SSO_PROVIDERS", json.dumps([ENTRA]))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["sso", "apply"])
    assert first.exit_code == 0 and "entra: created" in first.output
    monkeypatch.setenv("SSO_PROVIDERS", json.dumps([{**ENTRA, "name": "Entra"}]))
    second = runner.invoke(args=["sso", "apply"])
    assert second.exit_code == 0 and "entra: updated" in second.output
    demo.rollback()
    assert demo.scalar(sa.select(IdentityProvider.name)) == "Entra"
    assert demo.scalar(sa.select(sa.func.count(GroupMapping.id))) == 1


def test_bad_configuration_changes_nothing(app, demo, monkeypatch):
    monkeypatch.setenv("SSO_PROVIDERS", json.dumps([{**ENTRA, "issuer": "ftp://nowhere"}]))
    result = app.test_cli_runner().invoke(args=["sso", "apply"])
    assert result.exit_code != 0 and "nothing was changed" in result.output
    monkeypatch.setenv("SSO_PROVIDERS", "{not json")
    assert app.test_cli_runner().invoke(args=["sso", "apply"]).exit_code != 0
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 0
