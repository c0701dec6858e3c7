"""Exports: the incident register and the deadline board as CSV, XLSX or JSON, filtered and division-scoped.

The register's columns are exactly what the shipped profile "qa-incidents-register" reads, so an
export imports back (into this installation, where every row is already present, or into another).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.errors import Forbidden
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import IncidentFacts, Status
from qa_incidents.notifications.service import obligations_for

REGISTER_COLUMNS = (
    "reference", "status", "severity", "division", "division_name", "product", "product_name", "category",
    *[name for name in IncidentFacts.field_names() if name not in ("division_id", "product_id")],
    "created_at", "updated_at",
)
DEADLINE_COLUMNS = ("reference", "division", "title", "status", "regime_code", "obligation", "law", "verdict",
                    "due_at", "due_local", "time_zone", "is_legal_deadline", "reason")
FORMATS = {"csv": "text/csv", "json": "application/json",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 500


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return getattr(value, "value", value)


def visible_incidents(session: so.Session, *, user: User, filters: service.RegisterFilter,
                      sort: str = "reference_asc") -> Iterator[Incident]:
    """Every incident of the register the user may read, page by page through the register's own query."""
    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Forbidden("Your role does not read incidents.")
    after = None
    while True:
        page = service.register(session, user=user, filters=filters, sort=sort, after=after, limit=PAGE)
        yield from page.items
        if not page.next_cursor:
            return
        after = page.next_cursor


def register_rows(session: so.Session, *, user: User, filters: service.RegisterFilter) -> Iterator[dict[str, Any]]:
    for incident in visible_incidents(session, user=user, filters=filters):
        row = {
            "reference": incident.reference, "status": incident.status, "severity": incident.severity,
            "division": incident.division.code, "division_name": incident.division.name,
            "product": incident.product.model, "product_name": incident.product.name,
            "category": incident.product.category.code, "created_at": incident.created_at,
            "updated_at": incident.updated_at,
        }
        row.update({name: getattr(incident, name) for name in REGISTER_COLUMNS if name not in row})
        yield {k: _cell(row[k]) for k in REGISTER_COLUMNS}


def deadline_rows(session: so.Session, *, user: User, filters: service.RegisterFilter) -> Iterator[dict[str, Any]]:
    """The deadline board: each open incident's reporting obligations that apply or await a decision."""
    for incident in visible_incidents(session, user=user, filters=filters, sort="aware_asc"):
        if incident.status == Status.CLOSED:
            continue
        for item in obligations_for(session, incident):
            if item.assessment.verdict.value == "not_triggered":
                continue
            deadline = item.deadline
            yield {k: _cell(v) for k, v in {
                "reference": incident.reference, "division": incident.division.code, "title": incident.title,
                "status": incident.status, "regime_code": item.obligation.regime_code,
                "obligation": item.obligation.title, "law": item.law.short_name,
                "verdict": item.assessment.verdict, "due_at": deadline.due_at if deadline else None,
                "due_local": deadline.due_local if deadline else None,
                "time_zone": deadline.rule.time_zone if deadline else "",
                "is_legal_deadline": deadline.is_legal_deadline if deadline else None,
                "reason": item.assessment.reason,
            }.items()}


#: What can be exported: name → (columns, rows). Recalls and lessons join here when their packages offer rows.
EXPORTS: dict[str, tuple[tuple[str, ...], Any]] = {
    "register": (REGISTER_COLUMNS, register_rows),
    "deadlines": (DEADLINE_COLUMNS, deadline_rows),
}


def render(kind: str, fmt: str, *, session: so.Session, user: User, filters: service.RegisterFilter) -> bytes:
    """The export as file bytes (CSV with a byte-order mark for spreadsheet programs)."""
    columns, rows_of = EXPORTS[kind]
    rows = rows_of(session, user=user, filters=filters)
    if fmt == "json":
        return json.dumps({"export": kind, "items": list(rows)}, ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "xlsx":
        return _xlsx(kind, columns, rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_csv(v) for k, v in row.items()})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _safe_csv(value: Any) -> Any:
    # Free text beginning with = + - @ would run as a formula in a spreadsheet; a leading apostrophe is not
    # needed for our own import, which reads the text as written, so only formulas are defused.
    if isinstance(value, str) and value[:1] in ("=", "+", "@") and not value[1:2].isdigit():
        return "'" + value
    return value


def _xlsx(kind: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(kind)
    sheet.append(list(columns))
    for row in rows:
        # A text starting with "=" would be stored as a formula; control characters cannot be stored at all.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in (_safe_csv(row[c]) for c in columns)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
