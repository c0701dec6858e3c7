"""Personal API tokens: create (shown once), list, revoke, and authenticate a request's bearer token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.api.models import ApiToken
from qa_incidents.core import audit
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, can

TOKEN_PREFIX = "qai_"
#: A token's last-used time is written at most this often, so reading the API is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_TOKENS_PER_USER = 20
#: Lifetimes when the configuration gives none (API_TOKEN_DAYS, API_TOKEN_MAX_DAYS).
DEFAULT_DAYS = 90
MAX_DAYS = 365


def expiry_of(token: ApiToken, *, max_days: int = MAX_DAYS) -> datetime:
    """When the token stops working (a token made before tokens expired lives the longest time allowed)."""
    return token.expires_at or token.created_at + timedelta(days=max_days)


def is_live(token: ApiToken, now: datetime, *, max_days: int = MAX_DAYS) -> bool:
    return token.revoked_at is None and now < expiry_of(token, max_days=max_days)


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens are 256 random bits, so a plain SHA-256 cannot be guessed backwards."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: so.Session, *, user: User, name: str, now: datetime, days: int | None = None,
                 default_days: int = DEFAULT_DAYS, max_days: int = MAX_DAYS) -> tuple[ApiToken, str]:
    """A new token for the user, living `days` (default_days when None, at most max_days); returns the row and the
    token text, which is never shown again."""
    if not can(user.actor, Capability.USE_API):
        raise Forbidden(str(_l("Your role may not use the API.")))
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed({"name": str(_l("Name the token after what will use it, e.g. “call-centre bridge”."))})
    if len(name) > 80:
        raise ValidationFailed({"name": str(_l("At most %(n)d characters.", n=80))})
    days = default_days if days is None else days
    if not 1 <= days <= max_days:
        raise ValidationFailed({"days": str(_l("Choose from 1 to %(n)d days.", n=max_days))})
    active = session.scalar(sa.select(sa.func.count(ApiToken.id)).where(  # expired tokens no longer count
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))) or 0
    if active >= MAX_TOKENS_PER_USER:
        raise ValidationFailed({"name": str(_l("You have %(n)d active tokens: revoke one first.", n=active))})
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=text[:12], token_hash=hash_token(text), created_at=now,
                     expires_at=now + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="api_token", entity_id=token.id, action="created", now=now,
                 changes={"name": [None, name], "prefix": [None, token.prefix],
                          "expires_at": [None, audit.jsonable(token.expires_at)]})
    return token, text


def tokens_of(session: so.Session, user: User) -> list[ApiToken]:
    """The user's tokens, active first, newest first."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(session: so.Session, *, user: User, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the user's own tokens (at once: the next request with it is refused)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(str(_l("No such token.")))
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        audit.record(session, actor_id=user.id, entity_type="api_token", entity_id=token.id, action="revoked",
                     now=now, changes={"revoked_at": [None, audit.jsonable(now)]})
    return token


def revoke_all(session: so.Session, *, user: User, now: datetime) -> int:
    """Revoke every live token of the user (e.g. with a password change); returns how many."""
    live = list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for token in live:
        revoke_token(session, user=user, token_id=token.id, now=now)
    return len(live)


def authenticate(session: so.Session, *, header: str | None, now: datetime,
                 max_days: int = MAX_DAYS) -> User | None:
    """The active user whose live (unrevoked, unexpired) token is in an 'Authorization: Bearer …' header, or None."""
    if not header:
        return None
    scheme, _, text = header.strip().partition(" ")
    text = text.strip()
    if scheme.lower() != "bearer" or not text.startswith(TOKEN_PREFIX) or len(text) > 200:
        return None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(text)))
    if token is None or not is_live(token, now, max_days=max_days):
        return None
    user = token.user
    if not user.active or not can(user.actor, Capability.USE_API):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return user
