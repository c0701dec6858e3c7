"""Exports: the incident register, the deadline board, recalls and lessons as CSV, XLSX or JSON, filtered and scoped.

The register's columns are exactly what the shipped profile "qa-incidents-register" reads, so an
export imports back (into this installation, where every row is already present, or into another).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core import csvsafe
from qa_incidents.core.errors import Forbidden
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import IncidentFacts

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
    if isinstance(value, (datetime, date)):  # a date too: JSON has no date type
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
    """The deadline board as stored: every open regulator notification record of the incidents the user may read
    (the register's filters apply to the incidents), the soonest deadline first, then those without one.

    Read from the records the workflow keeps (their deadline, zone and reason were worked out when the record was
    made), a page at a time by keyset: no obligations are computed here, so the export is as fast at a million
    incidents as at a hundred."""
    import sqlalchemy as sa

    from qa_incidents.accounts.models import Division
    from qa_incidents.core.clock import to_zone
    from qa_incidents.laws.models import Law, Obligation
    from qa_incidents.notifications.models import NotificationRecord as R
    from qa_incidents.notifications.records import open_records
    from qa_incidents.notifications.rules import shown_state

    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Forbidden("Your role does not read incidents.")
    base = service._filtered(session, open_records(
        sa.select(R.id, R.due_at, R.regime_code, R.title, R.state, R.decision_pending, R.due_timezone, R.is_legal_deadline,
                  R.due_explanation, R.authority, Incident.reference, Incident.title.label("incident_title"),
                  Incident.status, Division.code.label("division"), Law.short_name.label("law"))
        .join(Incident, Incident.id == R.incident_id).join(Division, Division.id == Incident.division_id)
        .outerjoin(Obligation, Obligation.id == R.obligation_id).outerjoin(Law, Law.id == Obligation.law_id),
        user=user), filters)

    def row(r: Any) -> dict[str, Any]:
        zone = r.due_timezone or "UTC"
        local = to_zone(r.due_at, zone).strftime("%Y-%m-%d %H:%M") if r.due_at else None
        return {k: _cell(v) for k, v in {
            "reference": r.reference, "division": r.division, "title": r.incident_title, "status": r.status,
            "regime_code": r.regime_code, "obligation": r.title, "law": r.law or "",
            "verdict": shown_state(r.state, decision_pending=r.decision_pending),
            "due_at": r.due_at, "due_local": local, "time_zone": r.due_timezone, "is_legal_deadline": r.is_legal_deadline,
            "reason": r.due_explanation,
        }.items()}

    after: tuple[Any, int] | None = None
    while True:  # with a deadline, soonest first
        # In due order through the due date's index (its rowid completes the order), stopping at the page: SQLite
        # otherwise read every remaining open record of each state, then sorted them, for every page (O(n²)).
        stmt = base.where(R.due_at.is_not(None)).with_hint(R, "INDEXED BY ix_notification_record_due_at", "sqlite")
        if after is not None:
            stmt = stmt.where(sa.tuple_(R.due_at, R.id) > after)
        page = session.execute(stmt.order_by(R.due_at, R.id).limit(PAGE)).all()
        yield from (row(r) for r in page)
        if len(page) < PAGE:
            break
        after = (page[-1].due_at, page[-1].id)
    last = 0
    while True:  # then those still without one
        page = session.execute(base.where(R.due_at.is_(None), R.id > last).order_by(R.id).limit(PAGE)).all()
        yield from (row(r) for r in page)
        if len(page) < PAGE:
            return
        last = page[-1].id


# --- recalls ----------------------------------------------------------------------------------------------------

RECALL_COLUMNS = ("reference", "status", "division", "division_name", "title", "remedy", "countries", "units_affected",
                  "target_percent", "target_date", "located", "notified", "repaired", "replaced", "refunded", "remedied",
                  "completion_percent", "target_met", "stalled_since", "launched_at", "closed_at", "owner", "incidents",
                  "created_at", "updated_at")


@dataclass
class RecallFilter:
    """The recall list's filters: status, division (head office), incident."""

    status: str | None = None
    division_id: int | None = None
    incident_id: int | None = None


def recall_rows(session: so.Session, *, user: User, filters: RecallFilter) -> Iterator[dict[str, Any]]:
    """Every campaign the user may read (the recalls service's scoping), oldest first, with its progress today."""
    import sqlalchemy as sa

    from qa_incidents.core.clock import to_zone
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.models import RecallCampaign, RecallIncident

    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Forbidden("Your role does not read recalls.")
    stmt = recalls.visible(sa.select(RecallCampaign), user)
    if filters.status:
        stmt = stmt.where(RecallCampaign.status == filters.status)
    if filters.division_id is not None:
        stmt = stmt.where(RecallCampaign.division_id == filters.division_id)
    if filters.incident_id is not None:
        stmt = stmt.where(RecallCampaign.id.in_(
            sa.select(RecallIncident.recall_id).where(RecallIncident.incident_id == filters.incident_id)))
    today = to_zone(_now(), user.timezone).date()
    last = 0
    while True:
        page = list(session.scalars(stmt.where(RecallCampaign.id > last).order_by(RecallCampaign.id).limit(PAGE)))
        if not page:
            return
        for recall in page:
            p = recalls.progress(session, recall, today=today)
            incidents = [i.reference for i in recalls.linked_incidents(session, recall.id, user=user)]
            row = {
                "reference": recall.reference, "status": recall.status, "division": recall.division.code,
                "division_name": recall.division.name, "title": recall.title, "remedy": recall.remedy,
                "countries": " ".join(recall.countries or []), "units_affected": recall.units_affected,
                "target_percent": recall.target_percent, "target_date": recall.target_date,
                **{name: getattr(p.totals, name) for name in ("located", "notified", "repaired", "replaced", "refunded",
                                                              "remedied")},
                "completion_percent": round(p.rate * 100, 1), "target_met": p.target_met,
                "stalled_since": p.stalled_since, "launched_at": recall.launched_at, "closed_at": recall.closed_at,
                "owner": recall.owner.name, "incidents": " ".join(incidents), "created_at": recall.created_at,
                "updated_at": recall.updated_at,
            }
            yield {k: _cell(row[k]) for k in RECALL_COLUMNS}
        last = page[-1].id


def _now() -> datetime:
    """The app's clock inside the app (tests freeze it), else the real time."""
    from flask import current_app, has_app_context

    from qa_incidents.core.clock import utcnow

    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock else utcnow()


# --- lessons ----------------------------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n?")
LESSON_COLUMNS = ("source_ref", "source", "title", "summary", "product", "product_category", "failure_mode",
                  "mechanism", "technical_cause", "process_cause", "framework_cause", "motivating_cause",
                  "cause_category", "cause_dimension", "process_stage", "countermeasures", "design_review_checks",
                  "division", "year", "published_at")


@dataclass
class LessonFilter:
    """The library page's search words and facets."""

    text: str = ""
    product_category: str | None = None
    failure_mode: str | None = None
    cause_dimension: str | None = None
    division: str | None = None
    year: int | None = None


def lesson_rows(session: so.Session, *, user: User, filters: LessonFilter) -> Iterator[dict[str, Any]]:
    """The lessons the library shows for these words and facets (best match first), or all of them (oldest first).

    Lessons carry no customer data and are not scoped by division: every role that reads the library sees them all.
    """
    import sqlalchemy as sa

    from qa_incidents.reviews import search
    from qa_incidents.reviews.models import Lesson

    if not can(user.actor, Capability.READ_LESSONS):
        raise Forbidden("Your role does not read the lessons-learned library.")
    facets = search.LessonFilters(product_category=filters.product_category, failure_mode=filters.failure_mode,
                                  cause_dimension=filters.cause_dimension, division=filters.division, year=filters.year)

    def row(lesson: Lesson) -> dict[str, Any]:
        values = {name: getattr(lesson, name) for name in LESSON_COLUMNS}
        values["design_review_checks"] = "\n".join(lesson.design_review_checks or [])
        # The key `qa-incidents lessons import` reads an export back by. Every lesson has one today (FDA-…,
        # REVIEW-…); a blank one still gets a stable key, so no exported lesson is unreadable.
        values["source_ref"] = lesson.source_ref or f"LESSON-{lesson.id}"
        # Line breaks as "\n" in every format: a workbook cannot keep "\r" (a form's textarea sends "\r\n").
        return {k: _LINE_BREAK.sub("\n", v) if isinstance(v := _cell(values[k]), str) else v for k in LESSON_COLUMNS}

    if filters.text.strip():
        offset = 0
        while True:
            page = search.search_lessons(session, filters.text, limit=PAGE, offset=offset, filters=facets)
            yield from (row(hit.lesson) for hit in page.hits)
            offset += len(page.hits)
            if not page.hits or offset >= page.total:
                return
    last = 0
    while True:
        lessons = list(session.scalars(sa.select(Lesson).where(Lesson.id > last, *facets.where())
                                       .order_by(Lesson.id).limit(PAGE)))
        if not lessons:
            return
        yield from (row(lesson) for lesson in lessons)
        last = lessons[-1].id


# --- the deadline board -------------------------------------------------------------------------------------------

BOARD_COLUMNS = ("due_at", "due_local", "time_zone", "urgency", "overdue_hours", "regime_code", "kind", "period_label",
                 "authority", "state", "reference", "title", "division", "owner")
#: The board's export holds every open record the filters match, not only the most urgent the page lists.
BOARD_EXPORT_ROWS = 100_000


@dataclass
class BoardFilter:
    """The deadline board's filters: authority, division (head office), regime."""

    authority: str = ""
    division_id: int | None = None
    regime_code: str = ""


def board_rows(session: so.Session, *, user: User, filters: BoardFilter) -> Iterator[dict[str, Any]]:
    """The deadline board as the user sees it (same scope, filters and order: overdue first, then by time left)."""
    from qa_incidents.core.clock import to_zone
    from qa_incidents.notifications.records import board

    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Forbidden("Your role does not read regulator notifications.")
    now = _now()
    division_id = filters.division_id if can(user.actor, Capability.READ_ALL_DIVISIONS) else None
    result = board(session, user=user, now=now, authority=filters.authority, division_id=division_id,
                   regime_code=filters.regime_code, limit=BOARD_EXPORT_ROWS)
    for row in result.rows:
        r = row.record
        late = (now - r.due_at).total_seconds() / 3600 if r.due_at and r.due_at < now else None
        yield {k: _cell(v) for k, v in {
            "due_at": r.due_at, "due_local": to_zone(r.due_at, r.due_timezone).isoformat() if r.due_at and r.due_timezone
            else None, "time_zone": r.due_timezone, "urgency": row.urgency.value,
            "overdue_hours": round(late, 1) if late is not None else None, "regime_code": r.regime_code,
            "kind": r.kind, "period_label": r.period_label, "authority": r.authority, "state": r.shown_state,
            "reference": r.reference, "title": r.title, "division": r.division, "owner": r.owner,
        }.items()}


# --- what can be exported ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """One kind of export: its columns, its rows (scoped to the user), and who may take it."""

    columns: tuple[str, ...]
    rows: Callable[..., Iterator[dict[str, Any]]]
    capability: Capability
    filters: Callable[[], Any]  # the default (unfiltered) filters of this kind


#: What can be exported: name → its columns, rows and capability.
EXPORTS: dict[str, Export] = {
    "register": Export(REGISTER_COLUMNS, register_rows, Capability.READ_INCIDENTS, service.RegisterFilter),
    "deadlines": Export(DEADLINE_COLUMNS, deadline_rows, Capability.READ_INCIDENTS, service.RegisterFilter),
    "board": Export(BOARD_COLUMNS, board_rows, Capability.READ_INCIDENTS, BoardFilter),
    "recalls": Export(RECALL_COLUMNS, recall_rows, Capability.READ_INCIDENTS, RecallFilter),
    "lessons": Export(LESSON_COLUMNS, lesson_rows, Capability.READ_LESSONS, LessonFilter),
}


def kinds_for(user: User) -> list[str]:
    """The exports the user may take."""
    return [kind for kind, export in EXPORTS.items() if can(user.actor, export.capability)]


def render(kind: str, fmt: str, *, session: so.Session, user: User, filters: Any = None) -> bytes:
    """The export as file bytes (CSV with a byte-order mark for spreadsheet programs)."""
    return b"".join(stream(kind, fmt, session=session, user=user, filters=filters))


def stream(kind: str, fmt: str, *, session: so.Session, user: User, filters: Any = None) -> Iterator[bytes]:
    """The export as pieces of the file, written as its rows are read (CSV and JSON; a workbook comes whole):
    a large export starts at once and never sits in memory entire. The permission is checked before the first."""
    export = EXPORTS[kind]
    if not can(user.actor, export.capability):
        raise Forbidden("Your role may not take this export.")
    columns = export.columns
    rows = export.rows(session, user=user, filters=filters if filters is not None else export.filters())
    return _pieces(kind, fmt, columns, rows)


def _pieces(kind: str, fmt: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    if fmt == "xlsx":
        yield _xlsx(kind, columns, rows)
        return
    if fmt == "json":
        yield ('{\n "export": ' + json.dumps(kind) + ',\n "items": [').encode()
        first = True
        for row in rows:
            yield (("\n  " if first else ",\n  ") + json.dumps(row, ensure_ascii=False)).encode("utf-8")
            first = False
        yield b"\n ]\n}"
        return
    buffer = io.StringIO()
    writer = csvsafe.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % PAGE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx(kind: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(kind)
    sheet.append(list(columns))
    for row in rows:
        # A text starting with "=" would be stored as a formula; control characters cannot be stored at all.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in (csvsafe.neutralise(row[c]) for c in columns)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
