"""Preparing many recall campaigns at once (a bulk import's batch): the checks, references and audit trail of
`service.create_campaign` for each, written with one INSERT per table instead of one per campaign."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.bulk import insert_rows, insert_with_ids
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, can_read_division, can_work_division
from qa_incidents.core.sequences import next_values
from qa_incidents.incidents.models import Incident
from qa_incidents.recalls.models import RecallCampaign, RecallIncident
from qa_incidents.recalls.rules import RecallStatus
from qa_incidents.recalls.service import CAMPAIGN_FIELDS, CampaignInput, _validate


def create_campaigns(session: so.Session, *, user: User, items: list[tuple[CampaignInput, int | Any]],
                     now: datetime) -> list[tuple[int, str] | DomainError]:
    """`create_campaign` for each (data, incident) — a draft recall of one incident, given by its id or as an object
    with its id, division_id and reference (an Incident, or the incidents.bulk.Filed of one just filed) — with the
    same checks and the same "created" audit event; returns, in order, the new campaign's (id, reference) or the
    error that refused it (nothing written for that one)."""
    results: list[tuple[int, str] | DomainError | None] = []
    rows: list[dict[str, Any]] = []
    incidents: dict[int, Any] = {}
    for data, given in items:
        incident = session.get(Incident, given) if isinstance(given, int) else given
        incident_id = incident.id if incident is not None else given
        if incident is None or not can_read_division(user.actor, incident.division_id):
            results.append(NotFound(str(_l("No such incident."))))
            continue
        if not can_work_division(user.actor, incident.division_id, Capability.MANAGE_RECALLS):
            results.append(Forbidden(str(_l("Only QA managers of this division or head-office QA prepare recalls."))))
            continue
        errors = _validate(session, data, incident.division_id)
        if errors:
            results.append(ValidationFailed(errors))
            continue
        incidents[incident_id] = incident
        rows.append({"status": RecallStatus.DRAFT.value, "division_id": incident.division_id,
                     "title": data.title.strip(), "remedy": data.remedy, "description": data.description.strip(),
                     "countries": sorted(set(data.countries)), "units_affected": data.units_affected,
                     "target_percent": data.target_percent, "target_date": data.target_date,
                     "stall_weeks": data.stall_weeks, "report_regimes": sorted(set(data.report_regimes)),
                     "owner_id": data.owner_id, "created_by_id": user.id, "created_at": now,
                     "updated_by_id": user.id, "updated_at": now, "version": 1, "_incident_id": incident_id})
        results.append(None)
    if rows:
        for row, number in zip(rows, next_values(session, f"recall-{now.year}", len(rows)), strict=True):
            row["reference"] = f"RC-{now.year}-{number:04d}"
        session.flush()
        ids = insert_with_ids(session.connection(), RecallCampaign.__table__,
                              [{k: v for k, v in row.items() if k != "_incident_id"} for row in rows], key="reference")
        insert_rows(session.connection(), RecallIncident.__table__, [
            {"recall_id": recall_id, "incident_id": row["_incident_id"], "linked_by_id": user.id, "linked_at": now}
            for recall_id, row in zip(ids, rows, strict=True)])
        made = iter(zip(ids, rows, strict=True))
        for i, result in enumerate(results):
            if result is not None:
                continue
            recall_id, row = next(made)
            incident = incidents[row["_incident_id"]]
            changes = {**audit.field_changes({}, audit.snapshot(SimpleNamespace(**row), ("reference", *CAMPAIGN_FIELDS))),
                       "incidents": [None, [incident.reference]]}
            audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall_id, action="created",
                         now=now, changes=changes, incident_id=incident.id)
            results[i] = (recall_id, row["reference"])
    return results  # type: ignore[return-value]
