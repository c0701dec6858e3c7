"""Filing many incidents at once (a bulk import's batch): the same checks, records and audit trail as
`service.file_incident` for each, written with one INSERT per table instead of one per incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.bulk import insert_with_ids
from qa_incidents.core.countries import country_codes
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.permissions import Capability, can_work_division
from qa_incidents.core.sequences import next_values
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import (
    IncidentFacts,
    Status,
    format_reference,
)
from qa_incidents.incidents.service import AUDITED_FIELDS


@dataclass(frozen=True, slots=True)
class Filed:
    """An incident filed as imported history, as far as the batch's other records need it (not an object of the
    session: making 500 ORM objects a batch costs more than the rest of filing them)."""

    id: int
    reference: str
    division_id: int
    title: str
    aware_at: datetime


def file_incidents(session: so.Session, *, user: User, facts: list[IncidentFacts], now: datetime,
                   history_source: str | None = None) -> list[Incident | Filed | ValidationFailed]:
    """File each of the facts as `file_incident` would (same checks, reference numbers in order from the year's
    counter, a "created" audit event each), returning in the same order the
    incident or the ValidationFailed that refused it; nothing is written for a refused one.

    `history_source`: the incidents are imported history from that source, recorded as `workflow.record_as_history`
    does (an "imported_history" event after "created"); the row is written historical at
    once instead of being updated (the "created" event's fields do not include the status), and each is returned as
    a `Filed` (its id, reference, division, title and awareness), not as an object of the session.
    Otherwise the caller derives each new incident's notification records (`notifications.records.derive(…,
    new=True)`, as file_incident does): the incidents package reaches the notifications only through service.py.
    Audit events go through audit.record(), so inside `audit.deferred` they are written with the batch's others."""
    known = country_codes()
    products: dict[int, Any] = {}
    may_file: dict[int, bool] = {}
    results: list[Incident | Filed | ValidationFailed] = []
    rows: list[dict[str, Any]] = []
    for item in facts:
        if item.division_id not in may_file:
            may_file[item.division_id] = can_work_division(user.actor, item.division_id, Capability.FILE_INCIDENT)
        if item.product_id not in products:
            products[item.product_id] = service.product_to_file(session, item.product_id)
        product = products[item.product_id]
        errors = service.filing_errors(item, product=product, may_file=may_file[item.division_id], now=now,
                                       known_countries=known)
        if errors or product is None:
            results.append(ValidationFailed(errors))
            continue
        row = service.new_incident_row(item, user=user, product=product, now=now, contact={},
                                       status=Status.REPORTED if history_source is None else Status.HISTORICAL)
        rows.append(row)
        results.append(None)  # type: ignore[arg-type]  # filled below
    if rows:
        year = now.year
        for row, number in zip(rows, next_values(session, f"incident-{year}", len(rows)), strict=True):
            row["reference"] = format_reference(year, number)
        session.flush()
        ids = insert_with_ids(session.connection(), Incident.__table__, rows, key="reference")
        made = iter(zip(ids, rows, strict=True))
        for i, result in enumerate(results):
            if result is not None:
                continue
            incident_id, row = next(made)
            if history_source is None:
                incident = Incident(id=incident_id, **row)
                so.make_transient_to_detached(incident)
                session.add(incident)
                results[i] = incident
            else:
                results[i] = Filed(incident_id, row["reference"], row["division_id"], row["title"], row["aware_at"])
            audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident_id,
                         incident_id=incident_id, action="created", now=now,
                         changes=audit.field_changes({}, audit.snapshot_of(row, AUDITED_FIELDS)))
            if history_source is not None:
                audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident_id,
                             incident_id=incident_id, action="imported_history", now=now,
                             changes={"status": [Status.REPORTED.value, Status.HISTORICAL.value],
                                      "source": [None, history_source]})
    return results
