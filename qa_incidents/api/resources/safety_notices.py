"""API: the public safety notices of an incident the caller may read, with every version and its state.

Read-only: a notice is drafted on its page and published only by head-office QA's electronic signature there; no API
call or import publishes one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from pydantic import BaseModel, Field

from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db
from qa_incidents.safety_notices import service

TAG = "Safety notices"


class SafetyNoticeVersionOut(BaseModel):
    number: int
    kind: str = Field(description="initial, update or correction")
    languages: list[str]
    texts: dict[str, dict[str, str]] = Field(description="By language: heading, product_name, what_happened, "
                                                         "what_to_do, contact_hours, change_note.")
    models: str
    lots: str
    serials: str
    actions: list[str] = Field(description="stop_using, unplug, contact")
    contact_phone: str
    contact_email: str
    contact_url: str
    drafted_at: datetime
    published_at: datetime | None = Field(description="Set when head-office QA signed it; null while drafted.")


class SafetyNoticeOut(BaseModel):
    id: int
    reference: str
    status: str = Field(description="draft, published or withdrawn")
    incident_id: int
    recall_id: int | None
    first_published_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_reason: str
    versions: list[SafetyNoticeVersionOut] = Field(description="Newest first.")


@operation("GET", "/incidents/{incident_id}/safety-notices", summary="Public safety notices of an incident", tag=TAG,
           responses={200: list[SafetyNoticeOut]},
           description="Each notice with its state and every version (published or waiting for head-office QA's "
                       "signature). Read-only: publishing takes an electronic signature on the notice's page.")
def list_safety_notices(*, user: Any, incident_id: int) -> Response:
    from qa_incidents.api.views import json_response
    from qa_incidents.incidents.service import get_incident

    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Problem(403, "Your role does not allow this.")
    get_incident(db(), user=user, incident_id=incident_id)
    out = []
    for notice in service.notices_for_incident(db(), user=user, incident_id=incident_id):
        versions = [SafetyNoticeVersionOut(
            number=v.number, kind=v.kind, languages=list(v.languages), texts=dict(v.texts or {}), models=v.models,
            lots=v.lots, serials=v.serials, actions=list(v.actions), contact_phone=v.contact_phone,
            contact_email=v.contact_email, contact_url=v.contact_url, drafted_at=v.drafted_at,
            published_at=v.published_at) for v in service.versions(db(), notice.id)]
        out.append(SafetyNoticeOut(id=notice.id, reference=notice.reference, status=notice.status,
                                   incident_id=notice.incident_id, recall_id=notice.recall_id,
                                   first_published_at=notice.first_published_at, withdrawn_at=notice.withdrawn_at,
                                   withdrawn_reason=notice.withdrawn_reason, versions=versions))
    return json_response(out)
