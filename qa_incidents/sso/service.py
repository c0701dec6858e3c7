"""Single sign-on use cases: providers and mappings (administration), provisioning at sign-in, local log-in
policy, and re-authentication codes for signatures. Plain Python: no Flask."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division, User
from qa_incidents.core import audit
from qa_incidents.core.errors import DomainError, NotFound, ValidationFailed
from qa_incidents.core.permissions import Role
from qa_incidents.sso.models import (
    ExternalIdentity,
    GroupMapping,
    IdentityProvider,
    Protocol,
    Reauthentication,
    SsoSettings,
)
from qa_incidents.sso.oidc import ProviderSettings
from qa_incidents.sso.protocol import Identity

log = logging.getLogger(__name__)

#: A password hash no password matches: accounts created by single sign-on have no local password.
NO_PASSWORD = "!single-sign-on"
#: How long a re-authentication may be redeemed for a signature.
REAUTH_VALID = timedelta(minutes=5)
PROVIDER_FIELDS = ("slug", "name", "protocol", "active", "issuer", "client_id", "scopes", "email_claim",
                   "name_claim", "groups_claim", "division_claim", "default_division_id")
USER_FIELDS = ("email", "name", "role", "division_id", "active")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class SignInRefused(DomainError):
    """The provider vouched for the person, but this product does not let them in (no role, no division...)."""

    status_code = 403


# --- providers ---------------------------------------------------------------------------


@dataclass
class ProviderInput:
    slug: str
    name: str
    protocol: Protocol
    active: bool = True
    issuer: str = ""
    client_id: str = ""
    #: None keeps the stored secret (the form never shows it back).
    client_secret: str | None = None
    scopes: str = "openid email profile"
    idp_metadata: str = ""
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    division_claim: str = ""
    default_division_id: int | None = None


def _validate_provider(session: so.Session, data: ProviderInput, *, provider_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not SLUG_RE.fullmatch(data.slug.strip()):
        errors["slug"] = str(_l("Use 1 to 40 lower-case letters, digits or hyphens."))
    elif session.scalar(sa.select(IdentityProvider.id).where(IdentityProvider.slug == data.slug.strip(),
                                                             IdentityProvider.id != (provider_id or -1))):
        errors["slug"] = str(_l("Another provider already has this short name."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the name shown on the log-in button."))
    if data.protocol == Protocol.OIDC:
        if not re.fullmatch(r"https://\S+|http://(127\.0\.0\.1|localhost)(:\d+)?(/\S*)?", data.issuer.strip()):
            errors["issuer"] = str(_l("Enter the issuer's https address (as in its discovery document)."))
        if not data.client_id.strip():
            errors["client_id"] = str(_l("Enter the client (application) ID the provider gave."))
        if "openid" not in data.scopes.split():
            errors["scopes"] = str(_l("The scopes must include openid."))
    else:
        from qa_incidents.sso import saml

        if problem := saml.metadata_problem(data.idp_metadata):
            errors["idp_metadata"] = problem
    if not data.email_claim.strip():
        errors["email_claim"] = str(_l("Name the claim or attribute that carries the e-mail address."))
    if data.default_division_id is not None and session.get(Division, data.default_division_id) is None:
        errors["default_division_id"] = str(_l("Choose a division."))
    return errors


def save_provider(session: so.Session, *, data: ProviderInput, provider_id: int | None, actor_id: int | None,
                  now: datetime) -> IdentityProvider:
    """Add or change a provider; audited (the client secret only as "changed")."""
    if errors := _validate_provider(session, data, provider_id=provider_id):
        raise ValidationFailed(errors)
    if provider_id is None:
        provider = IdentityProvider(created_at=now)
        session.add(provider)
        before: dict[str, audit.JSONValue] = {}
    else:
        found = session.get(IdentityProvider, provider_id)
        if found is None:
            raise NotFound(str(_l("No such identity provider.")))
        provider = found
        before = audit.snapshot(provider, PROVIDER_FIELDS)
    provider.slug, provider.name, provider.protocol = data.slug.strip(), data.name.strip(), data.protocol
    provider.active, provider.issuer, provider.client_id = data.active, data.issuer.strip(), data.client_id.strip()
    provider.scopes, provider.idp_metadata = " ".join(data.scopes.split()), data.idp_metadata.strip()
    provider.email_claim, provider.name_claim = data.email_claim.strip(), data.name_claim.strip()
    provider.groups_claim, provider.division_claim = data.groups_claim.strip(), data.division_claim.strip()
    provider.default_division_id = data.default_division_id
    session.flush()
    changes = audit.field_changes(before, audit.snapshot(provider, PROVIDER_FIELDS))
    if data.client_secret:
        provider.client_secret = data.client_secret.strip()
        changes["client_secret"] = ["(hidden)", "(changed)"]
    if provider_id is None or provider.client_secret is None:
        provider.client_secret = provider.client_secret or ""
    if changes:
        audit.record(session, actor_id=actor_id, entity_type="identity_provider", entity_id=provider.id,
                     action="created" if provider_id is None else "updated", now=now, changes=changes)
    return provider


def list_providers(session: so.Session, *, active_only: bool = False) -> list[IdentityProvider]:
    stmt = sa.select(IdentityProvider).order_by(IdentityProvider.name)
    if active_only:
        stmt = stmt.where(IdentityProvider.active.is_(True))
    return list(session.scalars(stmt))


def provider_by_slug(session: so.Session, slug: str) -> IdentityProvider | None:
    return session.scalar(sa.select(IdentityProvider).where(IdentityProvider.slug == slug,
                                                            IdentityProvider.active.is_(True)))


def oidc_settings(provider: IdentityProvider) -> ProviderSettings:
    return ProviderSettings(issuer=provider.issuer, client_id=provider.client_id, client_secret=provider.client_secret,
                            scopes=provider.scopes, email_claim=provider.email_claim, name_claim=provider.name_claim,
                            groups_claim=provider.groups_claim, division_claim=provider.division_claim)


# --- mappings -----------------------------------------------------------------------------


def list_mappings(session: so.Session, provider_id: int, *, active_only: bool = True) -> list[GroupMapping]:
    stmt = sa.select(GroupMapping).where(GroupMapping.provider_id == provider_id)
    if active_only:
        stmt = stmt.where(GroupMapping.active.is_(True))
    return list(session.scalars(stmt.order_by(GroupMapping.priority, GroupMapping.id)))


def add_mapping(session: so.Session, *, provider_id: int, value: str, role: Role | None, division_id: int | None,
                priority: int, actor_id: int, now: datetime) -> GroupMapping:
    """Map a group (or division claim value) to a role, a division or both; audited."""
    errors: dict[str, str] = {}
    if session.get(IdentityProvider, provider_id) is None:
        raise NotFound(str(_l("No such identity provider.")))
    if not value.strip():
        errors["value"] = str(_l("Enter the group's name or ID as the provider sends it."))
    if role is None and division_id is None:
        errors["role"] = str(_l("Choose a role, a division or both."))
    if division_id is not None and session.get(Division, division_id) is None:
        errors["division_id"] = str(_l("Choose a division."))
    if not 0 <= priority <= 10000:
        errors["priority"] = str(_l("Use a number from 0 to 10000."))
    if errors:
        raise ValidationFailed(errors)
    mapping = GroupMapping(provider_id=provider_id, value=value.strip(), role=role, division_id=division_id,
                           priority=priority, created_at=now)
    session.add(mapping)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="sso_group_mapping", entity_id=mapping.id, action="created",
                 now=now, changes=audit.field_changes({}, audit.snapshot(
                     mapping, ("provider_id", "value", "role", "division_id", "priority"))))
    return mapping


def retire_mapping(session: so.Session, *, mapping_id: int, actor_id: int, now: datetime) -> GroupMapping:
    mapping = session.get(GroupMapping, mapping_id)
    if mapping is None or not mapping.active:
        raise NotFound(str(_l("No such mapping.")))
    mapping.active = False
    audit.record(session, actor_id=actor_id, entity_type="sso_group_mapping", entity_id=mapping.id, action="retired",
                 now=now, changes={"active": [True, False]})
    return mapping


def resolve(mappings: list[GroupMapping], identity: Identity, default_division_id: int | None
            ) -> tuple[Role | None, int | None]:
    """The role and division the person's groups (and division claim values) give: for each, the mapping with
    the lowest priority number among those that match."""
    values = set(identity.groups)
    division_values = values | set(identity.division_values)
    role = next((m.role for m in mappings if m.role is not None and m.value in values), None)
    division = next((m.division_id for m in mappings if m.division_id is not None and m.value in division_values),
                    default_division_id)
    return role, division


# --- sign-in ------------------------------------------------------------------------------


def _refuse(session: so.Session, provider: IdentityProvider, identity: Identity, reason: str, now: datetime) -> None:
    audit.record(session, actor_id=None, entity_type="identity_provider", entity_id=provider.id,
                 action="sign_in_refused", now=now,
                 changes={"subject": [None, identity.subject], "email": [None, identity.email],
                          "groups": [None, sorted(identity.groups)], "reason": [None, reason]})


def sign_in(session: so.Session, *, provider: IdentityProvider, identity: Identity, now: datetime) -> User:
    """The user a provider vouched for: created at the first sign-in, updated (role, division, name) at each.

    Raises SignInRefused, after recording why, when no group maps to a role (an existing account is then
    deactivated), when no division can be given, or when the account was deactivated by an administrator.
    The caller commits either way: the refusal and any deactivation are evidence."""
    link = session.scalar(sa.select(ExternalIdentity).where(ExternalIdentity.provider_id == provider.id,
                                                            ExternalIdentity.subject == identity.subject))
    user = session.get(User, link.user_id) if link is not None else None
    email = identity.email.strip().lower()
    if user is None and email and identity.email_verified:
        # An account made by an administrator (or by another provider) for the same verified address.
        user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    role, division_id = resolve(list_mappings(session, provider.id), identity, provider.default_division_id)
    if role is None:
        if user is not None and user.active:
            user.active = False
            if link is not None:
                link.deactivated_for_groups = True
            audit.record(session, actor_id=None, entity_type="user", entity_id=user.id, action="deactivated",
                         now=now, changes={"active": [True, False],
                                           "reason": [None, f"no group from {provider.slug} maps to a role"]})
        _refuse(session, provider, identity, "no group maps to a role", now)
        raise SignInRefused(str(_l("Your groups at %(provider)s give no role in this application. Ask your "
                                   "administrator for access.", provider=provider.name)))
    if division_id is None:
        _refuse(session, provider, identity, "no group maps to a division", now)
        raise SignInRefused(str(_l("Your groups at %(provider)s give no division in this application. Ask your "
                                   "administrator for access.", provider=provider.name)))
    if not email:
        _refuse(session, provider, identity, f"no e-mail address in {provider.email_claim}", now)
        raise SignInRefused(str(_l("%(provider)s did not send your e-mail address.", provider=provider.name)))
    name = identity.name.strip() or email.partition("@")[0]
    if user is None:
        user = User(email=email, name=name[:120], role=role, division_id=division_id, password_hash=NO_PASSWORD,
                    created_at=now, active=True)
        session.add(user)
        session.flush()
        audit.record(session, actor_id=None, entity_type="user", entity_id=user.id, action="created", now=now,
                     changes={**audit.field_changes({}, audit.snapshot(user, USER_FIELDS)),
                              "provider": [None, provider.slug]})
    else:
        if not user.active and not (link is not None and link.deactivated_for_groups):
            _refuse(session, provider, identity, "account deactivated by an administrator", now)
            raise SignInRefused(str(_l("Your account here is deactivated. Ask your administrator.")))
        before = audit.snapshot(user, USER_FIELDS)
        user.role, user.division_id, user.active = role, division_id, True
        if identity.name.strip():
            user.name = identity.name.strip()[:120]
        if email != user.email and not session.scalar(
                sa.select(User.id).where(sa.func.lower(User.email) == email, User.id != user.id)):
            user.email = email
        if changes := audit.field_changes(before, audit.snapshot(user, USER_FIELDS)):
            audit.record(session, actor_id=None, entity_type="user", entity_id=user.id, action="updated", now=now,
                         changes={**changes, "provider": [None, provider.slug]})
    if link is None:
        link = ExternalIdentity(provider_id=provider.id, subject=identity.subject, user_id=user.id, created_at=now)
        session.add(link)
        audit.record(session, actor_id=None, entity_type="user", entity_id=user.id, action="identity_linked",
                     now=now, changes={"provider": [None, provider.slug], "subject": [None, identity.subject]})
    link.user_id, link.last_sign_in_at, link.deactivated_for_groups = user.id, now, False
    user.last_login_at = now
    session.flush()
    return user


def linked_user_id(session: so.Session, *, provider_id: int, subject: str) -> int | None:
    """The user the provider's subject is linked to, if any."""
    return session.scalar(sa.select(ExternalIdentity.user_id).where(ExternalIdentity.provider_id == provider_id,
                                                                    ExternalIdentity.subject == subject))


def linked_providers(session: so.Session, user_id: int) -> list[IdentityProvider]:
    """The active providers the user has signed in with (most recent first)."""
    return list(session.scalars(
        sa.select(IdentityProvider).join(ExternalIdentity, ExternalIdentity.provider_id == IdentityProvider.id)
        .where(ExternalIdentity.user_id == user_id, IdentityProvider.active.is_(True))
        .order_by(ExternalIdentity.last_sign_in_at.desc())))


# --- local log-in policy ------------------------------------------------------------------


def settings(session: so.Session) -> SsoSettings:
    row = session.get(SsoSettings, 1)
    return row if row is not None else SsoSettings(id=1, local_login_restricted=False, break_glass_user_id=None)


def local_login_allowed(session: so.Session, user: User) -> bool:
    """Whether this user may log in with a local password (all may, unless an administrator restricted it to
    the break-glass account)."""
    row = settings(session)
    return not row.local_login_restricted or user.id == row.break_glass_user_id


def save_settings(session: so.Session, *, restricted: bool, break_glass_user_id: int | None, actor_id: int,
                  now: datetime) -> SsoSettings:
    """Switch local passwords off for all but the break-glass administrator (or back on); audited."""
    if restricted:
        keeper = session.get(User, break_glass_user_id) if break_glass_user_id is not None else None
        if keeper is None or not keeper.active or keeper.role != Role.ADMIN:
            raise ValidationFailed({"break_glass_user_id": str(_l(
                "Choose an active administrator who keeps a local password, or nobody could repair the "
                "single sign-on settings."))})
    row = session.get(SsoSettings, 1)
    if row is None:
        row = SsoSettings(id=1, local_login_restricted=False, break_glass_user_id=None, updated_at=now)
        session.add(row)
    fields = ("local_login_restricted", "break_glass_user_id")
    before = audit.snapshot(row, fields)
    row.local_login_restricted, row.break_glass_user_id, row.updated_at = restricted, break_glass_user_id, now
    session.flush()
    if changes := audit.field_changes(before, audit.snapshot(row, fields)):
        audit.record(session, actor_id=actor_id, entity_type="sso_setting", entity_id=row.id, action="updated",
                     now=now, changes=changes)
    return row


# --- re-authentication for signatures -----------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def issue_reauthentication(session: so.Session, *, user: User, provider: IdentityProvider, method: str,
                           authenticated_at: datetime, now: datetime) -> str:
    """Record a fresh re-authentication by the provider; the one-time signing code to show the user."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    session.add(Reauthentication(user_id=user.id, provider_id=provider.id, code_sha256=_code_hash(raw), method=method,
                                 authenticated_at=authenticated_at, expires_at=now + REAUTH_VALID))
    session.flush()
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def redeem_reauthentication(session: so.Session, *, user: object, code: str, now: datetime
                            ) -> Reauthentication | None:
    """The user's unused, unexpired re-authentication with this code, now used; None if there is none."""
    user_id = getattr(user, "id", None)
    if not code or user_id is None or len(code) > 40:
        return None
    row = session.scalar(sa.select(Reauthentication).where(Reauthentication.code_sha256 == _code_hash(code)))
    if row is None or row.user_id != user_id or row.used_at is not None or row.expires_at <= now:
        return None
    row.used_at = now
    return row
