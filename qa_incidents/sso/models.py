"""Tables for single sign-on: identity providers, group mappings, linked identities, settings, re-authentications."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base
from qa_incidents.core.permissions import Role


class Protocol(enum.StrEnum):
    OIDC = "oidc"
    SAML = "saml"


class IdentityProvider(Base):
    """A company identity provider users sign in with. Never deleted: switched off instead."""

    __tablename__ = "identity_provider"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Short name in addresses (/sso/<slug>/login) and in the SAML service provider's entity ID.
    slug: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    protocol: so.Mapped[Protocol] = so.mapped_column(sa.Enum(Protocol, native_enum=False, length=8,
                                                             validate_strings=True))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # OpenID Connect: the issuer (discovery at <issuer>/.well-known/openid-configuration) and the client.
    issuer: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    client_id: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    client_secret: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    scopes: so.Mapped[str] = so.mapped_column(sa.String(255), default="openid email profile")
    # SAML 2.0: the identity provider's metadata XML (its entity ID, sign-on address and signing certificate).
    idp_metadata: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Which claims or attributes carry what.
    email_claim: so.Mapped[str] = so.mapped_column(sa.String(120), default="email")
    name_claim: so.Mapped[str] = so.mapped_column(sa.String(120), default="name")
    groups_claim: so.Mapped[str] = so.mapped_column(sa.String(120), default="groups")
    division_claim: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    #: The division of users no mapping places in one (none: such users are refused).
    default_division_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("division.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<IdentityProvider {self.slug} {self.protocol}>"


class GroupMapping(Base):
    """A group (or a value of the division claim) of a provider, and the role or division it gives.

    Where several of a user's groups give a role, the lowest priority number wins. Retired, not deleted."""

    __tablename__ = "sso_group_mapping"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    provider_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("identity_provider.id"), index=True)
    value: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[Role | None] = so.mapped_column(sa.Enum(Role, native_enum=False, length=32,
                                                            validate_strings=True))
    division_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("division.id"))
    priority: so.Mapped[int] = so.mapped_column(default=100)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ExternalIdentity(Base):
    """A user's identity at a provider (its stable subject), linked to the user account."""

    __tablename__ = "sso_identity"
    __table_args__ = (sa.UniqueConstraint("provider_id", "subject", name="uq_sso_identity_provider_subject"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    provider_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("identity_provider.id"))
    subject: so.Mapped[str] = so.mapped_column(sa.String(255))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_sign_in_at: so.Mapped[datetime | None]
    #: The account was deactivated because no group mapped to a role: a later sign-in that maps one reactivates it
    #: (an administrator's deactivation is never undone by a sign-in).
    deactivated_for_groups: so.Mapped[bool] = so.mapped_column(default=False)


class SsoSettings(Base):
    """One row: whether local passwords still log in, and for whom."""

    __tablename__ = "sso_setting"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Local passwords only for the break-glass account (everyone else signs in with a provider).
    local_login_restricted: so.Mapped[bool] = so.mapped_column(default=False)
    break_glass_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class Reauthentication(Base):
    """A provider's fresh confirmation of a user's identity, redeemable once for one signature within minutes."""

    __tablename__ = "sso_reauthentication"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    provider_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("identity_provider.id"))
    #: SHA-256 of the one-time signing code shown to the user (the code itself is never stored).
    code_sha256: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: How the provider was asked to re-authenticate (OIDC prompt=login max_age=0, SAML ForceAuthn).
    method: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: When the provider says the person authenticated (OIDC auth_time, SAML AuthnInstant).
    authenticated_at: so.Mapped[datetime]
    expires_at: so.Mapped[datetime]
    used_at: so.Mapped[datetime | None]
    signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
