"""Filing many incidents at once (a bulk import's batch): the same checks, records and audit trail as
`service.file_incident` for each, written with one INSERT per table instead of one per incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.bulk import insert_with_ids
from qa_incidents.core.countries import country_codes
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.permissions import Capability, can_work_division
from qa_incidents.core.sequences import next_values
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import (
    CONTACT_FIELDS,
    IncidentFacts,
    Status,
    format_reference,
    validate_facts,
)
from qa_incidents.incidents.service import _PRODUCT_TO_FILE, AUDITED_FIELDS, FACT_FIELDS, _clean


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
        errors = validate_facts(item, now=now, known_countries=known)
        if item.division_id not in may_file:
            may_file[item.division_id] = can_work_division(user.actor, item.division_id, Capability.FILE_INCIDENT)
        if not may_file[item.division_id]:
            errors["division_id"] = str(_l("You may file incidents only for your own division."))
        if item.product_id not in products:
            products[item.product_id] = session.execute(_PRODUCT_TO_FILE, {"product_id": item.product_id}).first()
        product = products[item.product_id]
        if product is None or not product.active:
            errors["product_id"] = str(_l("Choose a product from the catalogue."))
        elif product.division_id != item.division_id:
            errors["product_id"] = str(_l("This product belongs to another division."))
        if errors:
            results.append(ValidationFailed(errors))
            continue
        row = {name: _clean(getattr(item, name)) for name in FACT_FIELDS}
        row["aware_timezone"] = row["aware_timezone"] or user.timezone
        row.update({name: "" for name in CONTACT_FIELDS})
        row.update(version=1, status=Status.REPORTED if history_source is None else Status.HISTORICAL, severity=None, category_id=product.category_id,
                   created_by_id=user.id, created_at=now, updated_by_id=user.id, updated_at=now)
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
