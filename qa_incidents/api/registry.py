"""One place that knows every API operation: it routes them and generates the OpenAPI 3.1 document from them.

A resource module declares an operation with @operation(...): the HTTP method and path, the pydantic
models of its query, body and responses. The same declaration validates the request and describes it,
so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel, TypeAdapter

#: Error responses every authenticated operation may give.
COMMON_ERRORS = (400, 401, 403, 404, 422)
#: Path ids beyond a 32-bit integer are answered 404 without asking the database.
MAX_PATH_ID = 2**31 - 1


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /incidents/{incident_id}
    summary: str
    tag: str
    view: Callable[..., Any]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    multipart: dict[str, Any] | None = None  # a multipart/form-data body schema (file uploads)
    responses: dict[int, Any] = field(default_factory=dict)  # status -> model, list[model], "binary" or None
    errors: tuple[int, ...] = COMMON_ERRORS
    auth: bool = True
    idempotent_post: bool = False
    etag: bool = False  # the response carries an ETag; writes need If-Match
    requires_if_match: bool = False
    operation_id: str = ""
    description: str = ""


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, *, summary: str, tag: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare (and later route) an API operation."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(method=method.upper(), path=path, summary=summary, tag=tag, view=view,
                       operation_id=kwargs.pop("operation_id", view.__name__), **kwargs)
        view.__dict__["api_operation"] = op
        OPERATIONS.append(op)
        return view

    return decorator


def flask_rule(path: str) -> str:
    """/incidents/{incident_id} → /incidents/<id:incident_id> (every path parameter here is an id)."""
    return re.sub(r"\{(\w+)\}", r"<id:\1>", path)


def route_all(bp: Blueprint, wrap: Callable[[Operation], Callable[..., Any]]) -> None:
    for op in OPERATIONS:
        bp.add_url_rule(flask_rule(op.path), endpoint=op.operation_id, view_func=wrap(op), methods=[op.method])


# --- the document ----------------------------------------------------------------------------------------

REF = "#/components/schemas/{model}"


class _Schemas:
    """Collects component schemas from pydantic models (JSON Schema 2020-12, which OpenAPI 3.1 uses as is)."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def of(self, target: Any, mode: str = "serialization") -> dict[str, Any]:
        schema = TypeAdapter(target).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.components[name] = definition
        if isinstance(target, type) and issubclass(target, BaseModel):
            self.components[target.__name__] = schema
            return {"$ref": REF.format(model=target.__name__)}
        return schema


def _parameters(op: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
              for name in re.findall(r"\{(\w+)\}", op.path)]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF, mode="validation")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.components[name] = definition
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            description = prop.pop("description", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            params.append(param)
    if op.requires_if_match:
        params.append({"name": "If-Match", "in": "header", "required": True,
                       "description": "The ETag of the version the change is based on.",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 100}})
    if op.idempotent_post:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "description": "Any unique string (e.g. a UUID). A retry with the same key and the same "
                                      "request gets the first response again instead of a second change.",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"}})
    return params


def _content(target: Any, schemas: _Schemas) -> dict[str, Any]:
    if target == "binary":
        return {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}
    return {"application/json": {"schema": schemas.of(target)}}


def build_document(*, title: str, version: str, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation."""
    schemas = _Schemas()
    problem = {"$ref": REF.format(model="Problem")}
    from qa_incidents.api.schemas import Problem as ProblemModel

    schemas.of(ProblemModel)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        item: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
                                "parameters": _parameters(op, schemas), "responses": {}}
        if op.description:
            item["description"] = op.description
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schemas.of(op.body, mode="validation")}}}
        elif op.multipart is not None:
            item["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": op.multipart}}}
        for status, target in op.responses.items():
            response: dict[str, Any] = {"description": _status_words(status)}
            if target is not None:
                response["content"] = _content(target, schemas)
            if op.etag and status in (200, 201):
                response["headers"] = {"ETag": {"description": "The version of the resource, for If-Match.",
                                                "schema": {"type": "string"}}}
            item["responses"][str(status)] = response
        errors = set(op.errors) | ({401} if op.auth else set())
        if op.requires_if_match:
            errors |= {412, 428}
        if op.idempotent_post:
            errors |= {409}
        if op.multipart is not None:
            errors |= {413}
        for status in sorted(errors):
            item["responses"].setdefault(str(status), {
                "description": _status_words(status), "content": {"application/problem+json": {"schema": problem}}})
        if not op.auth:
            item["security"] = []
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Incidents, comments, attachments, reporting obligations and deadlines, regulator "
                                "notification records, recalls and their progress, and the lessons-learned library, "
                                "over the same rules as the web pages. Authenticate with a personal token: "
                                "`Authorization: Bearer qai_…` (created on your account page). Errors are "
                                "application/problem+json. Steps that are electronic signatures (approving a "
                                "notification, marking it not required, launching or closing a recall, approving a "
                                "review) need the signer's password and are taken on the web pages only."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"schemas": schemas.components,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


def _status_words(status: int) -> str:
    from qa_incidents.api.problems import TITLES

    return {200: "OK", 201: "Created", 204: "No content", 304: "Not modified"}.get(status, TITLES.get(status, "Error"))
