"""OpenID Connect relying party: authorization code flow with PKCE, discovery, ID token checks.

Plain Python (no Flask): `begin` gives the address to send the browser to and the state to keep in the
session; `finish` takes the provider's answer, exchanges the code (with the PKCE verifier) and checks the
ID token: signature against the provider's published keys, issuer, audience, expiry, nonce, and for a
re-authentication that the person authenticated just now.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from qa_incidents.sso.protocol import Identity, SignInFailed

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session
    from joserfc.jwk import KeySet

# requests, Authlib and joserfc (about 16 MB in every web worker) are imported by the first sign-in through a
# provider, in the functions below, not with the application: most workers never see one.

#: Seconds of clock difference tolerated between this server and the provider.
LEEWAY = 60
#: Seconds a discovery document and key set are reused before being fetched again.
METADATA_TTL = 3600
HTTP_TIMEOUT = 10
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


@dataclass
class ProviderSettings:
    """What the flow needs to know about one provider (copied from its row, so no database session is held)."""

    issuer: str
    client_id: str
    client_secret: str = ""
    scopes: str = "openid email profile"
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    division_claim: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _check_address(url: str) -> None:
    """Only https, except on this machine's loopback (a provider run for development or tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")):
        return
    raise SignInFailed(f"refusing a non-https provider address: {url}")


def _get_json(url: str) -> dict[str, Any]:
    import requests

    _check_address(url)
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as e:
        raise SignInFailed(f"the provider could not be reached at {url}: {e}") from e
    if not isinstance(data, dict):
        raise SignInFailed(f"the provider's answer at {url} is not a JSON object")
    return data


def _cached(url: str, *, refresh: bool = False) -> dict[str, Any]:
    with _cache_lock:
        hit = _cache.get(url)
    if hit is not None and not refresh and time.monotonic() - hit[0] < METADATA_TTL:
        return hit[1]
    data = _get_json(url)
    with _cache_lock:
        _cache[url] = (time.monotonic(), data)
    return data


def discover(issuer: str) -> dict[str, Any]:
    """The provider's discovery document, checked to be the issuer's own (OpenID Connect Discovery 1.0, 4.3)."""
    metadata = _cached(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if metadata.get("issuer") != issuer:
        raise SignInFailed(f"the discovery document names issuer {metadata.get('issuer')!r}, not {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise SignInFailed(f"the discovery document has no {key}")
        _check_address(metadata[key])
    return metadata


def _client(settings: ProviderSettings, redirect_uri: str) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(
        client_id=settings.client_id, client_secret=settings.client_secret or None, scope=settings.scopes,
        redirect_uri=redirect_uri, code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if settings.client_secret else "none",
    )


def begin(settings: ProviderSettings, *, redirect_uri: str, reauthenticate: bool = False,
          login_hint: str = "") -> tuple[str, dict[str, Any]]:
    """The provider's authorization address, and the state to keep until the browser comes back.

    A re-authentication (before a signature) asks the provider to authenticate the person again now:
    prompt=login and max_age=0 (OpenID Connect Core 1.0, 3.1.2.1)."""
    metadata = discover(settings.issuer)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    params: dict[str, Any] = {"nonce": nonce}
    if reauthenticate:
        params.update(prompt="login", max_age=0)
    if login_hint:
        params["login_hint"] = login_hint
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                                 code_verifier=verifier, **params)
    return url, {"state": state, "nonce": nonce, "verifier": verifier, "reauth": reauthenticate,
                 "started": int(time.time())}


def _keys(metadata: dict[str, Any], *, refresh: bool = False) -> KeySet:
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        return KeySet.import_key_set(_cached(metadata["jwks_uri"], refresh=refresh))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as e:
        raise SignInFailed(f"the provider's key set cannot be read: {e}") from e


def validate_id_token(settings: ProviderSettings, id_token: str, *, nonce: str, metadata: dict[str, Any],
                      now: float | None = None, max_age_since: int | None = None) -> dict[str, Any]:
    """The ID token's claims after every check OpenID Connect Core 1.0, 3.1.3.7 asks of a client.

    max_age_since: for a re-authentication, the moment (epoch seconds) the request left: the token must say
    the person authenticated at or after it (auth_time)."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    try:
        try:
            token = jwt.decode(id_token, _keys(metadata), algorithms=ALGORITHMS)
        except JoseError as e:
            if "key" not in str(e).lower():
                raise
            # The provider may have rotated its keys since they were fetched: fetch them once more.
            token = jwt.decode(id_token, _keys(metadata, refresh=True), algorithms=ALGORITHMS)
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(now if now is not None else time.time()), leeway=LEEWAY,
            iss={"essential": True, "value": settings.issuer}, aud={"essential": True, "value": settings.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(claims)
    except JoseError as e:
        raise SignInFailed(f"the ID token was refused: {e.__class__.__name__}: {e}") from e
    except ValueError as e:  # not a token at all
        raise SignInFailed(f"the ID token cannot be read: {e}") from e
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audience) > 1 and claims.get("azp") != settings.client_id:
        raise SignInFailed("the ID token is for several audiences and not authorized for this client (azp)")
    if max_age_since is not None:
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int | float) or auth_time + LEEWAY < max_age_since:
            raise SignInFailed("the provider did not re-authenticate the person (auth_time is missing or too old)")
    return dict(claims)


def finish(settings: ProviderSettings, kept: dict[str, Any], *, args: dict[str, str],
           redirect_uri: str) -> Identity:
    """The signed-in identity from the provider's answer at the redirect address."""
    if not kept or not secrets.compare_digest(str(args.get("state", "")), str(kept.get("state", ""))):
        raise SignInFailed("the answer does not belong to a sign-in started here (state), or was used already")
    if args.get("error"):
        raise SignInFailed(f"the provider refused: {args.get('error')} {args.get('error_description', '')}".strip())
    code = args.get("code")
    if not code:
        raise SignInFailed("the provider's answer has no authorization code")
    metadata = discover(settings.issuer)
    try:
        with _client(settings, redirect_uri) as client:
            token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                       code_verifier=kept["verifier"], timeout=HTTP_TIMEOUT)
    except Exception as e:  # authlib raises OAuthError, requests its own: either way nobody is signed in
        raise SignInFailed(f"the code could not be exchanged for tokens: {e}") from e
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("the token response has no ID token")
    claims = validate_id_token(settings, id_token, nonce=kept["nonce"], metadata=metadata,
                               max_age_since=kept["started"] if kept.get("reauth") else None)
    if settings.groups_claim not in claims and metadata.get("userinfo_endpoint") and token.get("access_token"):
        claims = {**_userinfo(metadata["userinfo_endpoint"], token["access_token"], claims["sub"]), **claims}
    return identity_from_claims(settings, claims, id_token=id_token)


def _userinfo(url: str, access_token: str, subject: str) -> dict[str, Any]:
    import requests

    _check_address(url)
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {access_token}"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as e:
        raise SignInFailed(f"the user information could not be read: {e}") from e
    if not isinstance(data, dict) or data.get("sub") != subject:  # OpenID Connect Core 1.0, 5.3.2
        raise SignInFailed("the user information is about someone else")
    return data


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def identity_from_claims(settings: ProviderSettings, claims: dict[str, Any], *, id_token: str = "") -> Identity:
    emails = _strings(claims.get(settings.email_claim)) or _strings(claims.get("preferred_username"))
    auth_time = claims.get("auth_time")
    return Identity(
        subject=str(claims["sub"]), email=emails[0] if emails else "",
        name=(_strings(claims.get(settings.name_claim)) or [""])[0],
        groups=_strings(claims.get(settings.groups_claim)),
        division_values=_strings(claims.get(settings.division_claim)) if settings.division_claim else [],
        email_verified=claims.get("email_verified") is not False,
        authenticated_at=float(auth_time) if isinstance(auth_time, int | float) else None,
        logout_hint=id_token,
    )


def logout_url(issuer: str, *, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """The provider's RP-initiated log-out address (OpenID Connect RP-Initiated Logout 1.0), if it has one."""
    try:
        metadata = discover(issuer)
    except SignInFailed:
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
