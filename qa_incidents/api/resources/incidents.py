"""API: incidents (create, read, update, list), their comments, attachments and reporting obligations."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from flask import Response, current_app, request, send_file, url_for

from qa_incidents.api import schemas as s
from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.core.permissions import Capability, can, can_work_division
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.web import db, now
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Attachment, Comment, Incident
from qa_incidents.incidents.rules import IncidentFacts
from qa_incidents.notifications.service import obligations_for

TAG = "Incidents"


def incident_out(incident: Incident, user: Any) -> s.IncidentOut:
    contact = s.CustomerContact(**service.contact_of(incident)) if service.may_read_contact(user) else None
    return s.IncidentOut(
        customer_contact=contact,
        id=incident.id, reference=incident.reference, version=incident.version, status=incident.status,
        severity=incident.severity, division_id=incident.division_id, division_code=incident.division.code,
        product_id=incident.product_id, product_model=incident.product.model, category_id=incident.category_id,
        created_at=incident.created_at, updated_at=incident.updated_at,
        **{name: getattr(incident, name) for name in IncidentFacts.field_names()
           if name not in ("division_id", "product_id")},
    )


def etag(incident: Incident) -> str:
    return f'"{incident.version}"'


def _with_etag(incident: Incident, user: Any, status: int = 200, **headers: str) -> Response:
    from qa_incidents.api.views import json_response

    return json_response(incident_out(incident, user), status, {"ETag": etag(incident), **headers})


def _require(user: Any, capability: Capability) -> None:
    if not can(user.actor, capability):
        raise Problem(403, "Your role does not allow this.")


def deadline_out(deadline: Any) -> s.DeadlineOut:
    return s.DeadlineOut(
        regime_code=deadline.rule.code, regime=deadline.rule.regime, start=deadline.start, due_at=deadline.due_at,
        due_local=deadline.due_local.isoformat(), time_zone=deadline.rule.time_zone,
        is_legal_deadline=deadline.is_legal_deadline, internal_target=deadline.internal_target,
        explanation=deadline.explanation, unconfirmed=list(deadline.unconfirmed), legal_basis=deadline.legal_basis,
        steps=list(deadline.steps), calendar_version=deadline.calendar_version, aware_timezone=deadline.aware_timezone)


@operation("GET", "/incidents", summary="List incidents (filters, cursor pagination)", tag=TAG,
           query=s.IncidentQuery, responses={200: s.IncidentPage},
           description="Only the incidents the token's user may read (their division, or all for head office and "
                       "executives). Pass next_cursor as 'after' to page on.")
def list_incidents(*, user: Any, query: s.IncidentQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.READ_INCIDENTS)
    filters = service.RegisterFilter(status=query.status, severity=query.severity, division_id=query.division_id,
                                     category_id=query.category_id, country=query.country,
                                     aware_from=query.aware_from, aware_to=query.aware_to, text=query.q)
    try:
        page = service.register(db(), user=user, filters=filters, sort=query.sort, after=query.after,
                                before=query.before, limit=query.limit)
    except ValueError:
        raise Problem(400, "The cursor is not valid: use next_cursor or prev_cursor as given.") from None
    return json_response(s.IncidentPage(items=[incident_out(i, user) for i in page.items], total=page.total,
                                        next_cursor=page.next_cursor, prev_cursor=page.prev_cursor))


def _facts(body: s.IncidentIn) -> IncidentFacts:
    return IncidentFacts(**body.model_dump(exclude={"customer_contact"}))


def _contact(body: Any) -> dict[str, str] | None:
    return body.customer_contact.model_dump() if body.customer_contact is not None else None


@operation("POST", "/incidents", summary="File an incident", tag=TAG, body=s.IncidentIn,
           responses={201: s.IncidentOut}, idempotent_post=True, etag=True, errors=(400, 403, 404, 415, 422))
def create_incident(*, user: Any, body: s.IncidentIn) -> Response:
    _require(user, Capability.FILE_INCIDENT)
    incident = service.file_incident(db(), user=user, facts=_facts(body), now=now(), contact=_contact(body))
    return _with_etag(incident, user, 201, Location=url_for("api.get_incident", incident_id=incident.id))


@operation("GET", "/incidents/{incident_id}", summary="Read an incident", tag=TAG,
           responses={200: s.IncidentOut}, etag=True)
def get_incident(*, user: Any, incident_id: int) -> Response:
    _require(user, Capability.READ_INCIDENTS)
    return _with_etag(service.get_incident(db(), user=user, incident_id=incident_id), user)


def _expected_version(incident: Incident) -> int:
    raw = (request.headers.get("If-Match") or "").strip()
    if not raw:
        raise Problem(428, "Send If-Match with the ETag of the version you read, so that no one else's change is "
                           "overwritten unseen.")
    if raw == "*":
        return incident.version
    tag = raw[2:] if raw.startswith("W/") else raw
    tag = tag.strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > 12:
        raise Problem(412, "If-Match does not name a version of this incident; read it again for its ETag.",
                      current_version=incident.version, headers={"ETag": etag(incident)})
    return int(tag)


def _update(user: Any, incident_id: int, facts_of_change: Any, contact: dict[str, str] | None = None) -> Response:
    _require(user, Capability.EDIT_INCIDENT)
    session = db()
    incident = service.get_incident(session, user=user, incident_id=incident_id)
    expected = _expected_version(incident)
    facts = facts_of_change(service.facts_of(incident))
    updated = service.update_incident(session, user=user, incident_id=incident.id, facts=facts,
                                      expected_version=expected, now=now(), contact=contact)
    return _with_etag(updated, user)


@operation("PUT", "/incidents/{incident_id}", summary="Replace the facts of an incident", tag=TAG,
           body=s.IncidentIn, responses={200: s.IncidentOut}, etag=True, requires_if_match=True,
           errors=(400, 403, 404, 415, 422))
def replace_incident(*, user: Any, incident_id: int, body: s.IncidentIn) -> Response:
    return _update(user, incident_id, lambda _current: _facts(body), _contact(body))


@operation("PATCH", "/incidents/{incident_id}", summary="Change some facts of an incident", tag=TAG,
           body=s.IncidentPatch, responses={200: s.IncidentOut}, etag=True, requires_if_match=True,
           errors=(400, 403, 404, 415, 422))
def patch_incident(*, user: Any, incident_id: int, body: s.IncidentPatch) -> Response:
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise Problem(422, "A field may be left out but not set to null.",
                      errors={k: "may not be null" for k, v in changes.items() if v is None})
    contact = changes.pop("customer_contact", None)
    if contact is not None:  # the fields left out keep their stored values
        stored = service.contact_of(service.get_incident(db(), user=user, incident_id=incident_id))
        contact = {**stored, **body.customer_contact.model_dump(exclude_unset=True)}  # type: ignore[union-attr]
    return _update(user, incident_id, lambda current: replace(current, **changes), contact)


# --- comments ------------------------------------------------------------------------------------


def comment_out(c: Comment) -> s.CommentOut:
    return s.CommentOut(id=c.id, incident_id=c.incident_id, author=c.author.name, body=c.body, created_at=c.created_at)


@operation("GET", "/incidents/{incident_id}/comments", summary="Comments on an incident", tag=TAG,
           responses={200: list[s.CommentOut]})
def list_comments(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.READ_INCIDENTS)
    service.get_incident(db(), user=user, incident_id=incident_id)
    comments, _ = service.comments_and_attachments(db(), incident_id)
    return json_response([comment_out(c) for c in comments])


@operation("POST", "/incidents/{incident_id}/comments", summary="Add a comment", tag=TAG, body=s.CommentIn,
           responses={201: s.CommentOut}, idempotent_post=True, errors=(400, 403, 404, 415, 422))
def add_comment(*, user: Any, incident_id: int, body: s.CommentIn) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.EDIT_INCIDENT)
    comment = service.add_comment(db(), user=user, incident_id=incident_id, body=body.body, now=now())
    return json_response(comment_out(comment), 201)


# --- attachments ---------------------------------------------------------------------------------


def attachment_out(a: Attachment) -> s.AttachmentOut:
    return s.AttachmentOut(id=a.id, incident_id=a.incident_id, filename=a.filename, content_type=a.content_type,
                           size=a.size, sha256=a.sha256, uploaded_by=a.uploaded_by.name, created_at=a.created_at)


@operation("GET", "/incidents/{incident_id}/attachments", summary="Files attached to an incident", tag=TAG,
           responses={200: list[s.AttachmentOut]})
def list_attachments(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.READ_INCIDENTS)
    service.get_incident(db(), user=user, incident_id=incident_id)
    _, attachments = service.comments_and_attachments(db(), incident_id)
    return json_response([attachment_out(a) for a in attachments])


UPLOAD_SCHEMA = {"type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                         "description": "The file; its type is read from its bytes."}}}


@operation("POST", "/incidents/{incident_id}/attachments", summary="Attach a file (multipart/form-data)", tag=TAG,
           multipart=UPLOAD_SCHEMA, responses={201: s.AttachmentOut}, idempotent_post=True,
           errors=(400, 403, 404, 422))
def add_attachment(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.EDIT_INCIDENT)
    incident = service.get_incident(db(), user=user, incident_id=incident_id)
    if not can_work_division(user.actor, incident.division_id):
        raise Problem(403, "You may read this incident but not change it.")
    upload = request.files.get("file")
    if upload is None:
        raise Problem(422, "Send the file as the multipart/form-data field 'file'.",
                      errors={"file": "A file is required."})
    try:
        stored = current_app.extensions["qa_storage"].put(upload.stream)
    except TooLarge:
        raise Problem(413, "The file is larger than the upload limit.") from None
    attachment = service.add_attachment(db(), user=user, incident_id=incident.id, filename=upload.filename or "",
                                        stored=stored, now=now())
    return json_response(attachment_out(attachment), 201)


@operation("GET", "/incidents/{incident_id}/attachments/{attachment_id}/content", summary="Download an attachment",
           tag=TAG, responses={200: "binary"})
def download_attachment(*, user: Any, incident_id: int, attachment_id: int) -> Response:
    _require(user, Capability.READ_INCIDENTS)
    attachment = service.get_attachment(db(), user=user, incident_id=incident_id, attachment_id=attachment_id)
    path = current_app.extensions["qa_storage"].path_for(attachment.sha256)
    if not path.exists():
        raise Problem(404, "The file is missing from storage.")
    response = send_file(io.BytesIO(path.read_bytes()), mimetype="application/octet-stream", as_attachment=True,
                         download_name=attachment.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- reporting obligations -----------------------------------------------------------------------


@operation("GET", "/incidents/{incident_id}/obligations", summary="Reporting obligations and their deadlines",
           tag=TAG, responses={200: list[s.ObligationOut]},
           description="From the laws map as of the day the company became aware, each assessed against the "
                       "reported harm, with the legal deadline where it applies.")
def list_obligations(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.READ_INCIDENTS)
    incident = service.get_incident(db(), user=user, incident_id=incident_id)
    items = [s.ObligationOut(regime_code=o.obligation.regime_code, title=o.obligation.title, law=o.law.short_name,
                             verdict=o.assessment.verdict.value, reason=o.assessment.reason,
                             deadline=deadline_out(o.deadline) if o.deadline else None)
             for o in obligations_for(db(), incident)]
    return json_response(items)
