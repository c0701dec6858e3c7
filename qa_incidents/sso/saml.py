"""SAML 2.0 service provider (SP-initiated, HTTP-Redirect request, HTTP-POST response) with pysaml2.

pysaml2 verifies XML signatures with the xmlsec1 program (Debian package xmlsec1). Every assertion must be
signed by the identity provider's certificate from its metadata; the response must answer a request this
session made (InResponseTo: no unsolicited or replayed responses), be within its validity window and be
addressed to this service provider (Audience). Plain Python: no Flask.
"""

from __future__ import annotations

import calendar
import logging
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from qa_incidents.sso.protocol import Identity, SignInFailed

if TYPE_CHECKING:  # pysaml2 (and the XML schemas it loads, ~45 MB) is imported by the first SAML sign-in only
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

#: The two bindings used (saml2.BINDING_HTTP_POST / _REDIRECT), written here so the module imports without pysaml2.
BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

log = logging.getLogger(__name__)
#: Seconds of clock difference tolerated between this server and the provider.
ACCEPTED_TIME_DIFF = 60


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise SignInFailed("SAML needs the xmlsec1 program (Debian package xmlsec1); it is not installed")
    return found


@dataclass
class SamlSettings:
    """The service provider's addresses (from BASE_URL) and the identity provider's metadata."""

    entity_id: str
    acs_url: str
    idp_metadata: str
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    division_claim: str = ""


def _config(settings: SamlSettings) -> SPConfig:
    from saml2.config import SPConfig

    config = SPConfig()
    config.load({
        "entityid": settings.entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "metadata": {"inline": [settings.idp_metadata]},
        "accepted_time_diff": ACCEPTED_TIME_DIFF,
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(settings.acs_url, BINDING_HTTP_POST)]},
            "allow_unsolicited": False,
            "authn_requests_signed": False,
            "want_assertions_signed": True,
            "want_response_signed": False,
            "name_id_format_allow_create": True,
        }},
    })
    return config


def _client(settings: SamlSettings) -> Saml2Client:
    from saml2.client import Saml2Client

    try:
        return Saml2Client(config=_config(settings))
    except SignInFailed:
        raise
    except Exception as e:  # unreadable metadata and the like
        raise SignInFailed(f"the SAML configuration cannot be used: {e}") from e


def _idp_entity_id(client: Saml2Client) -> str:
    idps = list(client.metadata.identity_providers())
    if len(idps) != 1:
        raise SignInFailed(f"the metadata must describe exactly one identity provider (it has {len(idps)})")
    return idps[0]


def metadata_problem(xml: str) -> str | None:
    """Why this text is not usable identity-provider metadata, or None."""
    if not xml.strip():
        return str(_l("Paste the identity provider's SAML metadata (XML)."))
    settings = SamlSettings(entity_id="urn:check", acs_url="https://check.invalid/acs", idp_metadata=xml)
    try:
        client = _client(settings)
        _idp_entity_id(client)
    except SignInFailed as e:
        log.info("SAML metadata refused: %s", e)
        return str(_l("This is not SAML metadata of one identity provider with a signing certificate."))
    return None


def begin(settings: SamlSettings, *, relay_state: str, reauthenticate: bool = False) -> tuple[str, dict[str, Any]]:
    """The identity provider's sign-on address (HTTP-Redirect binding) and what to keep until the answer.

    A re-authentication sets ForceAuthn (SAML 2.0 Core, 3.4.1): the provider must authenticate the person
    again rather than rely on its own session."""
    client = _client(settings)
    idp = _idp_entity_id(client)
    kwargs: dict[str, Any] = {"force_authn": "true"} if reauthenticate else {}
    try:
        request_id, info = client.prepare_for_authenticate(entityid=idp, relay_state=relay_state,
                                                           binding=BINDING_HTTP_REDIRECT, **kwargs)
    except Exception as e:
        raise SignInFailed(f"the identity provider has no usable sign-on address: {e}") from e
    location = dict(info["headers"])["Location"]
    return location, {"request_id": request_id, "reauth": reauthenticate, "started": int(time.time())}


def finish(settings: SamlSettings, kept: dict[str, Any], *, saml_response: str) -> Identity:
    """The signed-in identity from the identity provider's HTTP-POST answer."""
    if not kept or not kept.get("request_id"):
        raise SignInFailed("no sign-in was started in this session, or its answer was used already")
    client = _client(settings)
    try:
        response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                       outstanding={kept["request_id"]: "/"})
    except Exception as e:  # pysaml2 raises many kinds (signature, time, audience, unsolicited...)
        raise SignInFailed(f"the SAML response was refused: {e.__class__.__name__}: {e}") from e
    if response is None or response.assertion is None:
        raise SignInFailed("the SAML response carries no assertion")
    attributes: dict[str, list[str]] = {k: [str(v) for v in vs] for k, vs in (response.get_identity() or {}).items()}
    name_id = response.name_id
    subject = str(name_id.text).strip() if name_id is not None and name_id.text else ""
    if not subject:
        raise SignInFailed("the assertion names no subject")
    authn_at: float | None = None
    session_index = ""
    statements = response.assertion.authn_statement or []
    from saml2.saml import NAMEID_FORMAT_UNSPECIFIED
    from saml2.time_util import str_to_time

    if statements:
        authn_at = float(calendar.timegm(str_to_time(statements[0].authn_instant)))
        session_index = statements[0].session_index or ""
    if kept.get("reauth") and (authn_at is None or authn_at + ACCEPTED_TIME_DIFF < kept["started"]):
        raise SignInFailed("the identity provider did not re-authenticate the person (AuthnInstant too old)")

    def first(name: str) -> str:
        return (attributes.get(name) or [""])[0] if name else ""

    email = first(settings.email_claim) or (subject if "@" in subject else "")
    return Identity(
        subject=subject, email=email, name=first(settings.name_claim),
        groups=attributes.get(settings.groups_claim, []),
        division_values=attributes.get(settings.division_claim, []) if settings.division_claim else [],
        authenticated_at=authn_at,
        logout_hint=f"{name_id.format or NAMEID_FORMAT_UNSPECIFIED}|{subject}|{session_index}",
    )


def sp_metadata(settings: SamlSettings) -> str:
    """This service provider's metadata XML, for registering it with the identity provider."""
    from saml2.metadata import create_metadata_string

    config = _config(SamlSettings(entity_id=settings.entity_id, acs_url=settings.acs_url,
                                  idp_metadata=settings.idp_metadata))
    return create_metadata_string(None, config=config, valid=None).decode()


def logout_url(settings: SamlSettings, *, logout_hint: str, relay_state: str) -> str | None:
    """A LogoutRequest to the identity provider's single log-out address (HTTP-Redirect), if it has one."""
    try:
        client = _client(settings)
        idp = _idp_entity_id(client)
        destinations = client.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")
        if not destinations:
            return None
        destination = destinations[0]["location"]
        name_format, subject, session_index = (logout_hint.split("|") + ["", "", ""])[:3]
        from saml2.saml import NameID

        name_id = NameID(format=name_format, text=subject)
        _, request = client.create_logout_request(destination, idp, name_id=name_id,
                                                  session_indexes=[session_index] if session_index else None)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(request), destination, relay_state)
        return str(dict(info["headers"])["Location"])
    except Exception as e:  # the local session ends regardless
        log.warning("no SAML single log-out: %s", e)
        return None

