"""API: an incident's regulator notification records: read them, save the draft, record submission and acknowledgement.

The steps go through notifications/records.py, so the API obeys the same state table, permissions and audit
trail as the record page. Approval and "not required" are electronic signatures (password re-entry) and are
taken on the page only.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from qa_incidents.api import schemas as s
from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.core.clock import as_utc, to_zone
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now
from qa_incidents.notifications import records, rules
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.record_forms import refuse_sent_before_approval

TAG = "Notification records"
PAGE_ONLY = ("Approving a draft and marking a record not required are electronic signatures (password re-entry): "
             "take them on the record's page.")


def _require(user: Any, capability: Capability) -> None:
    if not can(user.actor, capability):
        raise Problem(403, "Your role does not allow this.")


def notification_out(record: NotificationRecord, user: Any) -> s.NotificationOut:
    draft = records.proposed_draft(db(), record)
    urgency = records.urgency_of(record, now=now())
    due_local = to_zone(record.due_at, record.due_timezone).isoformat() if record.due_at and record.due_timezone else None
    on_time = None
    if record.submitted_at is not None:
        on_time = record.due_at is None or as_utc(record.submitted_at) <= as_utc(record.due_at)
    return s.NotificationOut(
        id=record.id, incident_id=record.incident_id, incident_reference=record.incident.reference,
        version=record.version, regime_code=record.regime_code, authority=record.authority, title=record.title,
        kind=record.kind, period_label=record.period_label, origin=record.origin,
        state=rules.shown_state(record.state, decision_pending=record.decision_pending),
        attention=record.attention or "", clock_start=record.clock_start, due_at=record.due_at, due_local=due_local,
        due_timezone=record.due_timezone or "", due_explanation=record.due_explanation or "",
        is_legal_deadline=record.is_legal_deadline, urgency=urgency.value if urgency else None,
        owner=record.owner.name if record.owner else None, required_fields=records.required_fields(record),
        draft={str(k): str(v) for k, v in draft.items()},
        missing_fields=rules.missing_fields(records.required_fields(record), draft),
        missing_explanation=record.missing_explanation or "",
        steps=[step.value for step in records.steps_for(record, user)],
        approved=record.approval_signature_id is not None and record.state != rules.State.DRAFTED.value,
        channel=record.channel or "", authority_reference=record.authority_reference or "",
        submitted_at=record.submitted_at, on_time=on_time, document_sha256=record.document_sha256 or "",
        acknowledged_at=record.acknowledged_at, acknowledgement=record.acknowledgement or "",
        created_at=record.created_at, updated_at=record.updated_at)


def etag(record: NotificationRecord) -> str:
    return f'"{record.version}"'


def _answer(record: NotificationRecord, user: Any, status: int = 200) -> Response:
    from qa_incidents.api.views import json_response

    db().flush()
    return json_response(notification_out(record, user), status, {"ETag": etag(record)})


def _record(user: Any, incident_id: int, record_id: int) -> NotificationRecord:
    _require(user, Capability.READ_INCIDENTS)
    return records.get_record(db(), user=user, incident_id=incident_id, record_id=record_id)


def expected_version(current: int, what: str = "record") -> int:
    """The version named by If-Match (428 without one, 412 when it is not a version of this resource)."""
    raw = (request.headers.get("If-Match") or "").strip()
    if not raw:
        raise Problem(428, f"Send If-Match with the ETag of the version you read, so that no one else's change to the "
                           f"{what} is overwritten unseen.")
    if raw == "*":
        return current
    tag = (raw[2:] if raw.startswith("W/") else raw).strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > 12:
        raise Problem(412, f"If-Match does not name a version of this {what}; read it again for its ETag.",
                      current_version=current, headers={"ETag": f'"{current}"'})
    return int(tag)


@operation("GET", "/incidents/{incident_id}/notifications", summary="Regulator notification records of an incident",
           tag=TAG, responses={200: list[s.NotificationOut]},
           description="One record per report owed to an authority, ordered by deadline, with its state, urgency and "
                       "the draft's missing fields. Only for incidents the caller may read.")
def list_notifications(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response
    from qa_incidents.incidents.service import get_incident

    _require(user, Capability.READ_INCIDENTS)
    get_incident(db(), user=user, incident_id=incident_id)
    return json_response([notification_out(r, user) for r in records.records_of(db(), incident_id)])


@operation("GET", "/incidents/{incident_id}/notifications/{record_id}", summary="Read a notification record", tag=TAG,
           responses={200: s.NotificationOut}, etag=True)
def get_notification(*, user: Any, incident_id: int, record_id: int) -> Response:
    return _answer(_record(user, incident_id, record_id), user)


@operation("PUT", "/incidents/{incident_id}/notifications/{record_id}/draft", summary="Save the draft", tag=TAG,
           body=s.DraftIn, responses={200: s.NotificationOut}, etag=True, requires_if_match=True,
           errors=(400, 403, 404, 415, 422),
           description="Division QA of the incident's division or head-office QA. Saving an approved draft sends it "
                       "back to drafted: it must be signed again. " + PAGE_ONLY)
def save_draft(*, user: Any, incident_id: int, record_id: int, body: s.DraftIn) -> Response:
    record = _record(user, incident_id, record_id)
    expected = expected_version(record.version)
    draft = records.proposed_draft(db(), record)
    unknown = sorted(set(body.fields) - set(draft) - set(records.required_fields(record)))
    if unknown:
        raise Problem(422, "The authority does not ask for these fields; see required_fields.",
                      errors={f"fields.{name}": "unknown field" for name in unknown[:20]})
    if expected != record.version:
        raise Problem(412, "The record was changed since you read it; read it again and retry with its new ETag.",
                      current_version=record.version, headers={"ETag": etag(record)})
    updated = records.save_draft(db(), user=user, record=record, fields={**draft, **body.fields},
                                 missing_explanation=body.missing_explanation, expected_version=expected, now=now())
    return _answer(updated, user)


@operation("POST", "/incidents/{incident_id}/notifications/{record_id}/submission",
           summary="Record the submission of an approved report", tag=TAG, body=s.SubmissionIn,
           responses={200: s.NotificationOut}, etag=True, idempotent_post=True, errors=(400, 403, 404, 415, 422),
           description="Division QA or head-office QA, once the draft is approved. The approved draft is kept as a PDF "
                       "attachment of the incident and its SHA-256 on the record (to keep the file actually sent, "
                       "record the submission on the page). Follow-up reports the regime asks for are scheduled.")
def submit_notification(*, user: Any, incident_id: int, record_id: int, body: s.SubmissionIn) -> Response:
    record = _record(user, incident_id, record_id)
    refuse_sent_before_approval(record, body.submitted_at)
    updated = records.submit(db(), user=user, record=record, channel=body.channel,
                             authority_reference=body.authority_reference, submitted_at=body.submitted_at, now=now(),
                             storage=current_app.extensions["qa_storage"])
    return _answer(updated, user)


@operation("POST", "/incidents/{incident_id}/notifications/{record_id}/acknowledgement",
           summary="Record the authority's acknowledgement", tag=TAG, body=s.AcknowledgementIn,
           responses={200: s.NotificationOut}, etag=True, idempotent_post=True, errors=(400, 403, 404, 415, 422))
def acknowledge_notification(*, user: Any, incident_id: int, record_id: int, body: s.AcknowledgementIn) -> Response:
    record = _record(user, incident_id, record_id)
    updated = records.acknowledge(db(), user=user, record=record, acknowledged_at=body.acknowledged_at, text=body.text,
                                  now=now())
    return _answer(updated, user)


@operation("POST", "/incidents/{incident_id}/notifications/{record_id}/reopening",
           summary="Reopen a record marked not required", tag=TAG, body=s.ReopenIn,
           responses={200: s.NotificationOut}, etag=True, idempotent_post=True, errors=(400, 403, 404, 415, 422),
           description="Head-office QA, when the facts change: the report is required again.")
def reopen_notification(*, user: Any, incident_id: int, record_id: int, body: s.ReopenIn) -> Response:
    record = _record(user, incident_id, record_id)
    updated = records.reopen(db(), user=user, record=record, reason=body.reason, now=now())
    return _answer(updated, user)
