"""Errors as RFC 9457 problem details (application/problem+json), with field errors where there are some."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from qa_incidents.core.errors import DomainError, EditConflict, ValidationFailed

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
}


class Problem(Exception):
    """An API error to answer with; raised anywhere in an API view."""

    def __init__(self, status: int, detail: str, *, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(problem.status, "Error"),
                            "status": problem.status, "detail": problem.detail}
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=problem.status, mimetype=PROBLEM_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def from_domain(error: DomainError) -> Problem:
    """The problem a service's refusal becomes."""
    if isinstance(error, ValidationFailed):
        return Problem(422, "The request broke one or more rules; see errors.", errors=dict(error.errors))
    if isinstance(error, EditConflict):
        return Problem(412, f"The incident was changed by {error.changed_by} at {error.changed_at.isoformat()}; "
                            "read it again and retry with its new ETag.",
                       headers={"ETag": f'"{error.current_version}"'}, current_version=error.current_version)
    return Problem(error.status_code, str(error))
