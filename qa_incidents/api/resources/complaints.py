"""API: customer complaints (read, log one) and early-warning signals (read, dismiss with a reason).

Scoped as the pages are: a division's people see their division, head office and executives all divisions; the
complainant's name and contact are returned only to roles with READ_CUSTOMER_CONTACT (null for the others).
Promoting a signal to an incident, and filing a flagged complaint, happen on their pages (the prefilled form).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from flask import Response, url_for
from pydantic import BaseModel, ConfigDict, Field

from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.api.schemas import Id, Instant, Text
from qa_incidents.complaints import rules, service
from qa_incidents.complaints.models import Complaint, ComplaintSignal, SignalComplaint
from qa_incidents.core.db import ID_MAX
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now

TAG = "Complaints"

Channel = Literal[tuple(c.value for c in rules.Channel)]  # type: ignore[valid-type]
Kind = Literal[tuple(k.value for k in rules.Kind)]  # type: ignore[valid-type]
Cursor = Annotated[str, Field(max_length=20, pattern="^[0-9]{1,10}$")]


class ComplaintIn(BaseModel):
    """A complaint as a call-centre or service system sends it (the same fields as the intake form)."""

    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="The sending system's own id: the same id twice is refused (422). Default: a new id.")
    model: Annotated[Text, Field(min_length=1, max_length=80)]
    received_at: Instant | None = Field(default=None, description="When the customer complained (default: now).")
    text: Annotated[Text, Field(min_length=1, max_length=20000)] = Field(description="The customer's words.")
    symptom: Annotated[Text, Field(max_length=80)] = ""
    serial: Annotated[Text, Field(max_length=80)] = ""
    country: Annotated[str, Field(pattern="^[A-Z]{2}$")]
    place: Annotated[Text, Field(max_length=200)] = ""
    channel: Channel = rules.Channel.PHONE.value  # type: ignore[valid-type]
    kind: Kind = rules.Kind.COMPLAINT.value  # type: ignore[valid-type]
    occurred_on: date | None = None
    customer_name: Annotated[Text, Field(max_length=200)] = ""
    customer_contact: Annotated[Text, Field(max_length=200)] = ""
    division_id: Id | None = Field(default=None, description="Only for a model outside the product catalogue.")


class ComplaintOut(BaseModel):
    id: int
    source: str
    external_id: str
    division_id: int
    product_id: int | None
    model: str
    symptom: str
    kind: str
    channel: str
    serial: str
    country: str
    place: str
    occurred_on: date | None
    received_at: datetime
    text: str
    safety_terms: list[str] = Field(description="Safety words the text mentions; any makes the complaint flagged.")
    flagged: bool
    incident_id: int | None
    customer_name: str | None = Field(description="Null unless the caller's role may read customer contact data.")
    customer_contact: str | None = Field(description="Null unless the caller's role may read customer contact data.")
    created_at: datetime


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    total: int = Field(description="How many complaints match the filters (that the caller may read).")
    next_cursor: str | None = Field(description="Pass as 'after' for the next page; null on the last page.")


class ComplaintQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    flagged: bool | None = Field(default=None, description="Only flagged (true) or unflagged (false) complaints.")
    linked: bool | None = Field(default=None, description="Only complaints linked (true) or not (false) to an incident.")
    division_id: Id | None = None
    model: Annotated[Text, Field(max_length=80)] | None = None
    symptom: Annotated[Text, Field(max_length=80)] | None = None
    received_from: Instant | None = Field(default=None, description="Received at or after this instant.")
    received_to: Instant | None = Field(default=None, description="Received before this instant.")
    after: Cursor | None = Field(default=None, description="A next_cursor.")
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class SignalOut(BaseModel):
    id: int
    division_id: int
    product_id: int | None
    model: str
    symptom: str
    status: Literal["open", "promoted", "dismissed"]
    week_start: date = Field(description="Monday of the latest week in alarm.")
    observed: int = Field(description="Complaints in the weeks in alarm.")
    expected: float = Field(description="Baseline complaints per week from the series' own history.")
    p_value: float = Field(description="Poisson exceedance probability of the latest week in alarm.")
    cusum: float
    reason: Literal["poisson", "cusum", "both"]
    decision_reason: str
    decided_at: datetime | None
    incident_id: int | None
    created_at: datetime
    updated_at: datetime


class SeriesPoint(BaseModel):
    week_start: date
    complaints: int
    expected: float | None = Field(description="Null while the series has too little history for a verdict.")


class SignalDetailOut(SignalOut):
    series: list[SeriesPoint] = Field(description="Complaints per week, oldest first.")
    complaint_ids: list[int] = Field(description="The complaints behind the signal.")


class SignalPage(BaseModel):
    items: list[SignalOut]
    total: int
    next_cursor: str | None


class SignalQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["open", "promoted", "dismissed"] | None = Field(default=None, description="Default: every status.")
    division_id: Id | None = None
    after: Cursor | None = Field(default=None, description="A next_cursor.")
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=4000)] = Field(description="Why the signal is not an incident.")


def _require(user: Any, capability: Capability = Capability.READ_INCIDENTS) -> None:
    if not can(user.actor, capability):
        raise Problem(403, "Your role does not allow this.")


def complaint_out(complaint: Complaint, user: Any) -> ComplaintOut:
    contact = can(user.actor, Capability.READ_CUSTOMER_CONTACT)
    return ComplaintOut(
        **{name: getattr(complaint, name) for name in ComplaintOut.model_fields
           if name not in ("safety_terms", "customer_name", "customer_contact")},
        safety_terms=[t for t in complaint.safety_terms.split("; ") if t],
        customer_name=complaint.customer_name if contact else None,
        customer_contact=complaint.customer_contact if contact else None)


def signal_out(signal: ComplaintSignal) -> SignalOut:
    return SignalOut(**{name: getattr(signal, name) for name in SignalOut.model_fields})


def _page(stmt: sa.Select[Any], column: Any, after: str | None, limit: int) -> tuple[list[Any], int, str | None]:
    total = db().scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if after is not None and int(after) <= ID_MAX:  # past every id: nothing to leave out
        stmt = stmt.where(column < int(after))
    found = list(db().scalars(stmt.order_by(column.desc()).limit(limit + 1)))
    more = len(found) > limit
    found = found[:limit]
    return found, total, str(found[-1].id) if more else None


@operation("GET", "/complaints", summary="List complaints (filters, cursor pagination)", tag=TAG,
           query=ComplaintQuery, responses={200: ComplaintPage},
           description="Only the complaints the token's user may read (their division, or all for head office and "
                       "executives), newest first. Pass next_cursor as 'after' to page on.")
def list_complaints(*, user: Any, query: ComplaintQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    stmt = service.visible(sa.select(Complaint), user)
    if query.flagged is not None:
        stmt = stmt.where(Complaint.flagged.is_(query.flagged))
    if query.linked is not None:
        stmt = stmt.where(Complaint.incident_id.is_not(None) if query.linked else Complaint.incident_id.is_(None))
    if query.division_id is not None:
        stmt = stmt.where(Complaint.division_id == query.division_id)
    if query.model:
        stmt = stmt.where(Complaint.model == query.model)
    if query.symptom:
        stmt = stmt.where(Complaint.symptom == query.symptom)
    if query.received_from is not None:
        stmt = stmt.where(Complaint.received_at >= query.received_from)
    if query.received_to is not None:
        stmt = stmt.where(Complaint.received_at < query.received_to)
    found, total, cursor = _page(stmt, Complaint.id, query.after, query.limit)
    return json_response(ComplaintPage(items=[complaint_out(c, user) for c in found], total=total, next_cursor=cursor))


@operation("POST", "/complaints", summary="Log a complaint", tag=TAG, body=ComplaintIn, responses={201: ComplaintOut},
           idempotent_post=True, errors=(400, 403, 415, 422),
           description="Safety words are matched at once: a complaint that mentions one is flagged to its division's "
                       "QA. The model places it in its division (a model outside the catalogue needs division_id).")
def create_complaint(*, user: Any, body: ComplaintIn) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.LOG_COMPLAINTS)
    moment = now()
    data = rules.ComplaintIn(
        source="api", external_id=body.external_id or f"api-{uuid.uuid4().hex[:24]}", model=body.model,
        received_at=body.received_at or moment, text=body.text, symptom=body.symptom, serial=body.serial,
        country=body.country, place=body.place, channel=body.channel, kind=body.kind, occurred_on=body.occurred_on,
        customer_name=body.customer_name, customer_contact=body.customer_contact)
    complaint = service.log_complaint(db(), user=user, data=data, now=moment, division_id=body.division_id)
    return json_response(complaint_out(complaint, user), 201,
                         headers={"Location": url_for("api.get_complaint", complaint_id=complaint.id)})


@operation("GET", "/complaints/{complaint_id}", summary="Read a complaint", tag=TAG, responses={200: ComplaintOut})
def get_complaint(*, user: Any, complaint_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    return json_response(complaint_out(service.get_complaint(db(), user=user, complaint_id=complaint_id), user))


@operation("GET", "/complaint-signals", summary="List early-warning signals", tag=TAG, query=SignalQuery,
           responses={200: SignalPage},
           description="Signals of the divisions the caller may read, newest first.")
def list_signals(*, user: Any, query: SignalQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    stmt = service.visible(sa.select(ComplaintSignal), user, ComplaintSignal.division_id)
    if query.status:
        stmt = stmt.where(ComplaintSignal.status == query.status)
    if query.division_id is not None:
        stmt = stmt.where(ComplaintSignal.division_id == query.division_id)
    found, total, cursor = _page(stmt, ComplaintSignal.id, query.after, query.limit)
    return json_response(SignalPage(items=[signal_out(s) for s in found], total=total, next_cursor=cursor))


def _detail(signal: ComplaintSignal) -> SignalDetailOut:
    ids = list(db().scalars(sa.select(SignalComplaint.complaint_id).where(SignalComplaint.signal_id == signal.id)
                            .order_by(SignalComplaint.complaint_id)))
    return SignalDetailOut(**signal_out(signal).model_dump(), series=[SeriesPoint(week_start=w, complaints=n, expected=e) for w, n, e in signal.series or []],
                           complaint_ids=ids)


@operation("GET", "/complaint-signals/{signal_id}", summary="Read a signal with its numbers and complaints", tag=TAG,
           responses={200: SignalDetailOut})
def get_signal(*, user: Any, signal_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    return json_response(_detail(service.get_signal(db(), user=user, signal_id=signal_id)))


@operation("POST", "/complaint-signals/{signal_id}/dismiss", summary="Dismiss an open signal with a reason", tag=TAG,
           body=DismissIn, responses={200: SignalDetailOut}, errors=(400, 403, 404, 415, 422),
           description="Audited; the signal comes back only if its complaints grow.")
def dismiss_signal(*, user: Any, signal_id: int, body: DismissIn) -> Response:
    from qa_incidents.api.views import json_response

    _require(user, Capability.WORK_COMPLAINTS)
    signal = service.get_signal(db(), user=user, signal_id=signal_id)
    service.dismiss_signal(db(), user=user, signal=signal, reason=body.reason, now=now())
    return json_response(_detail(signal))
