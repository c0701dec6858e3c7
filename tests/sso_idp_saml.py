"""A real SAML 2.0 identity provider for the tests, built on pysaml2's Server and served on 127.0.0.1 in a thread:
metadata, an HTML sign-on page (HTTP-Redirect binding in), signed assertions posted back (HTTP-POST binding),
single log-out. `misbehave` makes it answer as an attacker or a broken provider would."""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, Response, request
from markupsafe import escape
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import AUTHN_PASSWORD, NAMEID_FORMAT_PERSISTENT, NameID
from werkzeug.serving import make_server

from qa_incidents.sso.saml import xmlsec_binary

with warnings.catch_warnings():  # pysaml2's IdP module names a cipher mode cryptography has moved (unused here)
    warnings.simplefilter("ignore")
    from saml2.server import Server


def self_signed(directory: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-idp.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = directory / "idp.key", directory / "idp.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


class SamlIdp:
    def __init__(self, directory: Path) -> None:
        self.key_file, self.cert_file = self_signed(directory)
        self.people: dict[str, dict[str, Any]] = {}
        self.sp_metadata = ""
        self.misbehave = ""  # "", "tamper", "expired", "audience", "stale_authn", "unsigned"
        self.requests: list[dict[str, Any]] = []
        self.logouts: list[str] = []
        self.last_response = ""
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SamlIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def add_person(self, username: str, password: str, subject: str, attributes: dict[str, list[str]]) -> None:
        self.people[username] = {"password": password, "subject": subject, "attributes": attributes}

    def _config(self, with_sp: bool) -> IdPConfig:
        lifetime = {"minutes": -10} if self.misbehave == "expired" else {"minutes": 5}
        config = IdPConfig()
        config.load({
            "entityid": self.base + "/metadata",
            "xmlsec_binary": xmlsec_binary(),
            "key_file": self.key_file, "cert_file": self.cert_file,
            "metadata": {"inline": [self.sp_metadata]} if with_sp and self.sp_metadata else {},
            "allow_unknown_attributes": True,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)],
                              "single_logout_service": [(self.base + "/slo", BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"lifetime": lifetime, "attribute_restrictions": None}},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            }},
        })
        return config

    def metadata(self) -> str:
        return create_metadata_string(None, config=self._config(with_sp=False)).decode()

    def _build(self) -> Flask:
        app = Flask("test-saml-idp")

        @app.get("/sso")
        def sign_on_page():  # type: ignore[no-untyped-def]
            return Response(LOGIN_PAGE.format(request=escape(request.args.get("SAMLRequest", "")),
                                              relay=escape(request.args.get("RelayState", ""))), mimetype="text/html")

        @app.post("/sso")
        def sign_on():  # type: ignore[no-untyped-def]
            person = self.people.get(request.form.get("username", ""))
            if person is None or request.form.get("password") != person["password"]:
                return Response("wrong user name or password", 401)
            server = Server(config=self._config(with_sp=True))
            parsed = server.parse_authn_request(request.form["SAMLRequest"], BINDING_HTTP_REDIRECT)
            message = parsed.message
            self.requests.append({"id": message.id, "force_authn": message.force_authn})
            sp_entity_id = message.issuer.text
            acs = server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)[0]["location"]
            policy = server.config.getattr("policy", "idp")
            if self.misbehave == "audience":
                conditions = policy.conditions
                policy.conditions = lambda _sp: conditions("urn:someone-else")  # type: ignore[method-assign]
            authn_instant = int(time.time()) - (3600 if self.misbehave == "stale_authn" else 0)
            response = server.create_authn_response(
                identity=person["attributes"], in_response_to=message.id, destination=acs, sp_entity_id=sp_entity_id,
                name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=person["subject"]),
                authn={"class_ref": AUTHN_PASSWORD, "authn_instant": authn_instant},
                sign_assertion=self.misbehave != "unsigned", sign_response=False)
            xml = str(response)
            if self.misbehave == "tamper":  # a privilege the person lacks, after signing
                xml = re.sub(r"QA-Reporters", "QA-HeadOffice", xml)
            encoded = base64.b64encode(xml.encode()).decode()
            self.last_response = encoded
            return Response(POST_PAGE.format(acs=escape(acs), response=escape(encoded),
                                             relay=escape(request.form.get("RelayState", ""))), mimetype="text/html")

        @app.get("/slo")
        def single_logout():  # type: ignore[no-untyped-def]
            self.logouts.append(request.args.get("SAMLRequest", ""))
            return Response("You are signed out at the identity provider.")

        return app


LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test SAML identity provider</title></head>
<body><h1>Test SAML identity provider: sign in</h1><form method="post" action="/sso">
<input type="hidden" name="SAMLRequest" value="{request}"><input type="hidden" name="RelayState" value="{relay}">
<label>User name <input name="username"></label><label>Password <input name="password" type="password"></label>
<button type="submit">Sign in at the SAML provider</button></form></body></html>"""

POST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Continue</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{acs}">
<input type="hidden" name="SAMLResponse" value="{response}"><input type="hidden" name="RelayState" value="{relay}">
<button type="submit">Continue</button></form></body></html>"""
