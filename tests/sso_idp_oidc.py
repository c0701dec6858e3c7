"""A real OpenID Connect provider for the tests, built from Authlib's authorization-server components and served
on 127.0.0.1 in a thread: discovery, keys, an HTML log-in form, authorization code grant with PKCE and the
OpenID Connect extension (signed ID tokens with nonce and auth_time), user info, and an end-session endpoint.

`misbehave` makes it issue what an attacker or a broken provider would: a tampered, expired, wrongly addressed
or stale token, so the tests show the application refuses each."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, Response, jsonify, redirect, request
from joserfc.jwk import RSAKey
from markupsafe import escape
from werkzeug.serving import make_server


@dataclass
class Person:
    sub: str
    email: str
    name: str
    password: str
    groups: list[str] = field(default_factory=list)
    department: str = ""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "email", "profile", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class OidcProvider:
    """Start with .start(); the issuer is .issuer; .misbehave is read at each token issued."""

    def __init__(self, client_id: str = "qa-incidents", client_secret: str = "s3cret-for-tests") -> None:
        self.client = Client(client_id, client_secret, [])
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.people: dict[str, Person] = {}
        self.codes: dict[str, Code] = {}
        self.misbehave: str = ""  # "", "tamper", "expired", "audience", "stale_auth_time", "wrong_key"
        self.logouts: list[dict[str, str]] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def add_person(self, person: Person) -> None:
        self.people[person.email] = person

    # --- the server -------------------------------------------------------------------------

    def _build(self) -> Flask:
        provider = self
        app = Flask("test-oidc-provider")
        app.config["SECRET_KEY"] = "provider-only"

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                data = req.payload.data
                provider.codes[code] = Code(
                    code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                    scope=req.scope, sub=req.user.sub, nonce=data.get("nonce"), auth_time=req.user.auth_time,
                    code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"))

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                item = provider.codes.get(code)
                return item if item is not None and item.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Any:
                person = next(p for p in provider.people.values() if p.sub == authorization_code.sub)
                return _Session(person, authorization_code.auth_time)

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> Any:
                if provider.misbehave == "wrong_key":
                    return RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
                return provider.key

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                now = int(time.time())
                audience = "someone-else" if provider.misbehave == "audience" else client.client_id
                lifetime = -600 if provider.misbehave == "expired" else 300
                return {"iss": provider.issuer, "aud": [audience], "iat": now + min(lifetime, 0) - 1,
                        "exp": now + lifetime}

            def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
                claims = super().get_authorization_code_claims(authorization_code)
                if provider.misbehave == "stale_auth_time":
                    claims["auth_time"] = int(time.time()) - 3600
                return claims

            def generate_user_info(self, user: Any, scope: str) -> UserInfo:
                return provider._claims(user.person)

        server = AuthorizationServer(app, query_client=lambda cid: self.client if cid == self.client.client_id else None,
                                     save_token=lambda token, req: None)
        server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():  # type: ignore[no-untyped-def]
            return jsonify(issuer=self.issuer, authorization_endpoint=self.issuer + "/authorize",
                           token_endpoint=self.issuer + "/token", jwks_uri=self.issuer + "/jwks",
                           userinfo_endpoint=self.issuer + "/userinfo", end_session_endpoint=self.issuer + "/logout",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"],
                           code_challenge_methods_supported=["S256"])

        @app.get("/jwks")
        def jwks():  # type: ignore[no-untyped-def]
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():  # type: ignore[no-untyped-def]
            if request.method == "GET":
                self.authorize_requests.append(dict(request.args))
                try:
                    server.get_consent_grant(end_user=None)
                except Exception as e:  # the request itself is bad: say so, as a provider would
                    return Response(f"bad request: {escape(str(e))}", 400)
                return Response(LOGIN_PAGE.format(action=escape(request.full_path)), mimetype="text/html")
            person = self.people.get(request.form.get("username", ""))
            if person is None or not secrets.compare_digest(request.form.get("password", ""), person.password):
                return Response("wrong user name or password", 401)
            session = _Session(person, int(time.time()))
            grant = server.get_consent_grant(end_user=session)
            return server.create_authorization_response(grant=grant, grant_user=session)

        @app.post("/token")
        def token():  # type: ignore[no-untyped-def]
            response = server.create_token_response()
            if self.misbehave == "tamper" and response.status_code == 200:
                body = json.loads(response.get_data())
                header, payload, signature = body["id_token"].split(".")
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                claims["groups"] = [*claims.get("groups", []), "QA-HeadOffice"]  # a privilege the person lacks
                forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
                body["id_token"] = f"{header}.{forged}.{signature}"
                response.set_data(json.dumps(body))
            return response

        @app.get("/userinfo")
        def userinfo():  # type: ignore[no-untyped-def]
            return jsonify(error="not used by these tests"), 401

        @app.get("/logout")
        def logout():  # type: ignore[no-untyped-def]
            self.logouts.append(dict(request.args))
            target = request.args.get("post_logout_redirect_uri")
            return redirect(target) if target else Response("logged out")

        return app

    def _claims(self, person: Person) -> UserInfo:
        return UserInfo(sub=person.sub, email=person.email, email_verified=True, name=person.name,
                        groups=list(person.groups), department=person.department)


@dataclass
class _Session:
    person: Person
    auth_time: int

    @property
    def sub(self) -> str:
        return self.person.sub

    def get_user_id(self) -> str:
        return self.person.sub


LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><h1>Test identity provider: sign in</h1>
<form method="post" action="{action}">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in at the provider</button></form></body></html>"""
