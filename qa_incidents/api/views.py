"""The JSON API under /api/v1: token authentication, validation, problems, idempotency, and the OpenAPI document.

Every operation is declared once in a resource module (see RESOURCE_MODULES and api/registry.py); the
wrapper here is the unit of work around it: authenticate, validate, run, commit (or roll back), answer.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import PathConverter

from qa_incidents.api import registry, tokens
from qa_incidents.api.models import IdempotencyKey
from qa_incidents.api.problems import Problem, from_domain, problem_response
from qa_incidents.core.db import rolled_back
from qa_incidents.core.errors import DomainError
from qa_incidents.core.web import csrf, db, now

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates by bearer token only, never by the session cookie, so CSRF cannot reach it.
csrf.exempt(bp)

#: Adding a resource: write a module with @registry.operation views and name it here.
RESOURCE_MODULES = (
    "qa_incidents.api.resources.incidents",
    "qa_incidents.api.resources.deadlines",
    "qa_incidents.api.resources.notifications",
    "qa_incidents.api.resources.recalls",
    "qa_incidents.api.resources.lessons",
    "qa_incidents.api.resources.complaints",
    "qa_incidents.api.resources.safety_notices",
)

API_VERSION = "1.0.0"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer from a model, a list of models, or plain data."""
    if isinstance(payload, BaseModel):
        data: Any = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        data = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    else:
        data = payload
    response = Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def current_api_user() -> Any:
    return g.api_user


def _authenticate() -> Any:
    # Its own short transaction, so the last-used time is kept even when the request itself fails.
    session = current_app.extensions["qa_session_factory"]()
    try:
        user = tokens.authenticate(session, header=request.headers.get("Authorization"), now=now(),
                                   max_days=int(current_app.config.get("API_TOKEN_MAX_DAYS", tokens.MAX_DAYS)))
        session.commit()
    finally:
        session.close()
    if user is None:
        raise Problem(401, "Send a valid API token: 'Authorization: Bearer qai_…' (create one on your account page).",
                      headers={"WWW-Authenticate": 'Bearer realm="qa-incidents"'})
    return db().merge(user, load=True)


def _field_errors(error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = ".".join(str(p) for p in item["loc"]) or "body"
        found.setdefault(name, item["msg"])
    return found


def _query(model: type[BaseModel]) -> BaseModel:
    data = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise Problem(422, "Some query parameters are not valid; see errors.", errors=_field_errors(e)) from None


def _body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise Problem(415, "Send the body as JSON (Content-Type: application/json).")
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        if any(item["type"] == "json_invalid" for item in e.errors()):
            raise Problem(400, "The body is not valid JSON.") from None
        raise Problem(422, "The body is not valid; see errors.", errors=_field_errors(e)) from None


IDEMPOTENCY_KEY_MAX = 200


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not (1 <= len(key) <= IDEMPOTENCY_KEY_MAX) or not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise Problem(400, "Idempotency-Key must be 1 to 200 visible ASCII characters (e.g. a UUID).")
    return key


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Problem(409, "This Idempotency-Key was already used for a different request. Use a new key "
                           "for a new request.")
    response = Response(stored.body, status=stored.status_code, mimetype="application/json")
    for name, value in (stored.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    import sqlalchemy as sa

    return db().scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))


def _rollback() -> None:
    if "db_session" in g:
        g.db_session.rollback()
        rolled_back(g.db_session)


def _wrap(op: registry.Operation) -> Callable[..., Any]:
    def view(**path: int) -> Response:
        try:
            if any(value > registry.MAX_PATH_ID for value in path.values()):
                raise Problem(404, "Not found.")
            kwargs: dict[str, Any] = dict(path)
            if op.auth:
                g.api_user = _authenticate()
                kwargs["user"] = g.api_user
            if op.query is not None:
                kwargs["query"] = _query(op.query)
            key = _idempotency_key() if op.idempotent_post else None
            fingerprint = _fingerprint() if key else ""
            if key:
                stored = _stored(g.api_user.id, key)
                if stored is not None:
                    return _replay(stored, fingerprint)
            if op.body is not None:
                kwargs["body"] = _body(op.body)
            response: Response = op.view(**kwargs)
            session = db()
            if key and 200 <= response.status_code < 300:
                session.add(IdempotencyKey(
                    user_id=g.api_user.id, key=key, fingerprint=fingerprint, status_code=response.status_code,
                    body=response.get_data(as_text=True), created_at=now(),
                    headers={k: v for k, v in response.headers.items() if k in ("Location", "ETag")}))
            if session.in_transaction():
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    stored = _stored(g.api_user.id, key) if key else None
                    if stored is None:
                        raise
                    return _replay(stored, fingerprint)  # a parallel retry of the same request won the race
            return response
        except Problem as p:
            _rollback()
            return problem_response(p)
        except DomainError as e:
            _rollback()
            return problem_response(from_domain(e))
        except HTTPException as e:
            _rollback()
            return problem_response(Problem(e.code or 500, e.description or "Error."))

    view.__name__ = op.operation_id
    return view


def _api_error(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return problem_response(Problem(error.code or 500, error.description or "Error."))
    log.exception("API error")
    return problem_response(Problem(500, "The error has been logged. Nothing was saved from this request."))


bp.register_error_handler(Exception, _api_error)

for module in RESOURCE_MODULES:
    importlib.import_module(module)
registry.route_all(bp, _wrap)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the declared operations."""
    document = registry.build_document(title="qa-incidents API", version=API_VERSION,
                                       server_url=url_for("api.openapi", _external=False).rsplit("/", 1)[0])
    return json_response(document)


_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class _AnyPath(PathConverter):
    """Like `path`, but also across line breaks (%0A in an id), so every path under /api/v1 gets a problem."""

    regex = r"[^/][\s\S]*?"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("api_any_path", _AnyPath))


@bp.route("/", methods=_ALL_METHODS, defaults={"rest": ""})
@bp.route("/<api_any_path:rest>", methods=_ALL_METHODS)
def unknown(rest: str) -> Response:
    """Any other path under /api/v1: a problem, not an HTML page."""
    adapter = current_app.url_map.bind("localhost")
    allowed = set()
    for method in ("GET", "POST", "PUT", "PATCH"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except (NotFound, MethodNotAllowed, HTTPException):
            continue
        if endpoint != "api.unknown":
            allowed.add(method)
    if allowed and request.method not in allowed:
        return problem_response(Problem(405, f"Use one of: {', '.join(sorted(allowed))}.",
                                        headers={"Allow": ", ".join(sorted(allowed))}))
    return problem_response(Problem(404, "There is no such API resource."))
