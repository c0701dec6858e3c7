"""`qa-incidents sso apply`: identity providers and their group mappings from the SSO_PROVIDERS environment variable
(JSON), for deployments configured by environment rather than on the administration page."""

from __future__ import annotations

import json
import os

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.accounts.models import Division
from qa_incidents.core.clock import utcnow
from qa_incidents.core.errors import DomainError
from qa_incidents.core.permissions import Role
from qa_incidents.sso import service
from qa_incidents.sso.models import IdentityProvider, Protocol

FIELDS = ("issuer", "client_id", "client_secret", "scopes", "idp_metadata", "email_claim", "name_claim",
          "groups_claim", "division_claim")


def apply(session, providers: list[dict]) -> list[str]:  # type: ignore[no-untyped-def,type-arg]
    """Create or update each provider (by slug) and add the mappings it lacks; what was done, line by line."""
    done = []
    now = utcnow()
    divisions = {d.code: d.id for d in session.scalars(sa.select(Division))}
    for entry in providers:
        existing = session.scalar(sa.select(IdentityProvider).where(IdentityProvider.slug == entry.get("slug")))
        data = service.ProviderInput(
            slug=str(entry.get("slug", "")), name=str(entry.get("name", "")),
            protocol=Protocol(entry.get("protocol", "oidc")), active=bool(entry.get("active", True)),
            default_division_id=divisions.get(entry.get("default_division", "")),
            **{k: str(entry[k]) for k in FIELDS if k in entry})
        provider = service.save_provider(session, data=data, provider_id=existing.id if existing else None,
                                         actor_id=None, now=now)
        have = {(m.value, m.role, m.division_id, m.priority) for m in service.list_mappings(session, provider.id)}
        for m in entry.get("mappings", []):
            role = Role(m["role"]) if m.get("role") else None
            division_id = divisions[m["division"]] if m.get("division") else None
            key = (str(m["group"]), role, division_id, int(m.get("priority", 100)))
            if key not in have:
                service.add_mapping(session, provider_id=provider.id, value=key[0], role=role,
                                    division_id=division_id, priority=key[3], actor_id=None, now=now)
        done.append(f"{provider.slug}: {'updated' if existing else 'created'}")
    return done


@click.group("sso", help="Single sign-on identity providers.")
def sso_group() -> None:
    pass


@sso_group.command("apply", help="Create or update providers and mappings from SSO_PROVIDERS (a JSON list).")
@with_appcontext
def apply_command() -> None:
    raw = os.environ.get("SSO_PROVIDERS", "")
    try:
        providers = json.loads(raw)
        if not isinstance(providers, list):
            raise ValueError("not a JSON list")
    except ValueError as e:
        raise click.ClickException(f"SSO_PROVIDERS must be a JSON list of providers: {e}") from e
    session = current_app.extensions["qa_session_factory"]()
    try:
        lines = apply(session, providers)
        session.commit()
    except (DomainError, KeyError, ValueError) as e:
        session.rollback()
        raise click.ClickException(f"nothing was changed: {getattr(e, 'errors', None) or e}") from e
    finally:
        session.close()
    for line in lines:
        click.echo(line)


COMMANDS = [sso_group]
