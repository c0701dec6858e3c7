"""Use cases for complaints: take them in (one, or a file in batches), flag safety words, scan for signals,
file a complaint or promote a signal as an incident, dismiss a signal. Services flush but never commit, except
the bulk import, which commits once per batch (a file of a million rows is not one transaction)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.complaints import rules
from qa_incidents.complaints.models import Complaint, ComplaintSignal, SignalComplaint
from qa_incidents.core import audit
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import (
    Capability,
    can,
    can_read_division,
    can_work_division,
    scoped,
    unscoped,
)

FIRE_TERMS = {"fire", "caught fire", "flames", "発火", "出火", "火災"}
SMOKE_TERMS = {"smoke", "smoking", "発煙", "煙"}
CO_TERMS = {"co", "carbon monoxide", "一酸化炭素"}


# --- reading ------------------------------------------------------------------------------------------------


def visible(stmt: sa.Select[Any], user: User, column: Any = Complaint.division_id) -> sa.Select[Any]:
    """Complaints (or signals: pass their division column) the user may read: as for incidents, by division."""
    return scoped(stmt, user.actor, column)


def get_complaint(session: so.Session, *, user: User, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id) if is_db_id(complaint_id) else None
    if complaint is None or not can_read_division(user.actor, complaint.division_id):
        raise NotFound(str(_l("No such complaint.")))
    return complaint


def get_signal(session: so.Session, *, user: User, signal_id: int) -> ComplaintSignal:
    signal = session.get(ComplaintSignal, signal_id) if is_db_id(signal_id) else None
    if signal is None or not can_read_division(user.actor, signal.division_id):
        raise NotFound(str(_l("No such signal.")))
    return signal


def list_complaints(session: so.Session, *, user: User, flagged: bool | None = None, open_only: bool = False,
                    limit: int = 100) -> list[Complaint]:
    stmt = visible(sa.select(Complaint), user)
    if flagged is not None:
        stmt = stmt.where(Complaint.flagged.is_(flagged))
    if open_only:
        stmt = stmt.where(Complaint.incident_id.is_(None))
    return list(session.scalars(stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(limit)))


def list_signals(session: so.Session, *, user: User, status: str | None = "open", limit: int = 200) -> list[ComplaintSignal]:
    stmt = visible(sa.select(ComplaintSignal), user, ComplaintSignal.division_id)
    if status:
        stmt = stmt.where(ComplaintSignal.status == status)
    return list(session.scalars(stmt.order_by(ComplaintSignal.updated_at.desc(), ComplaintSignal.id.desc()).limit(limit)))


def signal_complaints(session: so.Session, signal_id: int, limit: int = 500) -> list[Complaint]:
    return list(session.scalars(unscoped(
        sa.select(Complaint).join(SignalComplaint, SignalComplaint.complaint_id == Complaint.id)
        .where(SignalComplaint.signal_id == signal_id).order_by(Complaint.received_at.desc()).limit(limit),
        "the complaints of one signal, of its own division: get_signal checked the reader")))


def complaints_of_incident(session: so.Session, incident_id: int) -> list[Complaint]:
    return list(session.scalars(unscoped(sa.select(Complaint).where(Complaint.incident_id == incident_id)
                                         .order_by(Complaint.received_at, Complaint.id),
                                         "the complaints behind one incident: get_incident checked the reader")))


@dataclass
class Work:
    """What waits for a QA person on My work: flagged complaints not yet filed, open signals (first few, and how many,
    counted up to COUNT_CAP)."""

    flagged: list[Complaint]
    flagged_total: int
    signals: list[ComplaintSignal]
    signals_total: int


COUNT_CAP = 1000


def work_for(session: so.Session, *, user: User, limit: int = 10) -> Work | None:
    """Flagged complaints and open signals of the divisions the user works (None for roles that do not)."""
    actor = user.actor
    if not can(actor, Capability.WORK_COMPLAINTS):
        return None
    # Whoever works complaints reads exactly the divisions they work: the reading scope is the working one.

    def capped(stmt: sa.Select[Any]) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())) or 0)

    flagged = scoped(sa.select(Complaint).where(Complaint.flagged.is_(True), Complaint.incident_id.is_(None)),
                     actor, Complaint.division_id)
    signals = scoped(sa.select(ComplaintSignal).where(ComplaintSignal.status == rules.SignalStatus.OPEN),
                     actor, ComplaintSignal.division_id)
    return Work(
        flagged=list(session.scalars(flagged.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(limit))),
        flagged_total=capped(scoped(sa.select(Complaint.id).where(Complaint.flagged.is_(True),
                                                                   Complaint.incident_id.is_(None)),
                                    actor, Complaint.division_id)),
        signals=list(session.scalars(signals.order_by(ComplaintSignal.updated_at.desc(), ComplaintSignal.id.desc())
                                     .limit(limit))),
        signals_total=capped(scoped(sa.select(ComplaintSignal.id).where(
            ComplaintSignal.status == rules.SignalStatus.OPEN), actor, ComplaintSignal.division_id)))


# --- intake -------------------------------------------------------------------------------------------------


class Catalogue:
    """Product models of the catalogue (model -> product id, division id), read once per import."""

    def __init__(self, session: so.Session):
        self.by_model = {m.casefold(): (p, d) for p, d, m in session.execute(
            sa.select(Product.id, Product.division_id, Product.model).where(Product.active.is_(True)))}

    def place(self, model: str, default_division_id: int | None) -> tuple[int | None, int | None]:
        """(product id, division id) of a model; an unknown model goes to the default division, if one is given."""
        found = self.by_model.get(model.strip().casefold())
        return found if found else (None, default_division_id)


def _row(c: rules.ComplaintIn, *, product_id: int | None, division_id: int) -> dict[str, Any]:
    """The stored columns of one complaint, safety words matched (all but who stored it, when, and its incident)."""
    terms = rules.matcher().find(c.text)
    for extra in c.extra_terms:
        if extra not in terms:
            terms.append(extra)
    return {"source": c.source, "external_id": c.external_id, "division_id": division_id, "product_id": product_id,
            "model": c.model.strip(), "symptom": c.symptom.strip(), "kind": c.kind, "channel": c.channel,
            "serial": c.serial.strip(), "country": c.country, "place": c.place.strip(),
            "occurred_on": c.occurred_on, "received_at": c.received_at, "week_start": rules.week_of(c.received_at),
            "text": c.text.strip(), "customer_name": c.customer_name.strip(),
            "customer_contact": c.customer_contact.strip(), "safety_terms": "; ".join(terms)[:400],
            "flagged": bool(terms)}


def _check_division(user: User, division_id: int | None) -> str | None:
    if division_id is None:
        return str(_l("Unknown model: not in the product catalogue (give a division for models outside it)."))
    if not can_work_division(user.actor, division_id, Capability.LOG_COMPLAINTS):
        return str(_l("This model belongs to a division you may not log complaints for."))
    return None


def log_complaint(session: so.Session, *, user: User, data: rules.ComplaintIn, now: datetime,
                  division_id: int | None = None) -> Complaint:
    """Record one complaint (form or API); safety words are matched at once; audited."""
    if not can(user.actor, Capability.LOG_COMPLAINTS):
        raise Forbidden(str(_l("Your role does not allow this.")))
    errors = rules.validate(data, now=now)
    if division_id is not None and (not is_db_id(division_id) or session.get(Division, division_id) is None):
        errors["division_id"] = str(_l("No such division."))
        division_id = None
    product_id, division = Catalogue(session).place(data.model, division_id or user.division_id)
    problem = _check_division(user, division)
    if problem:
        errors["model"] = problem
    if not errors and session.scalar(sa.select(Complaint.id).where(
            Complaint.source == data.source, Complaint.external_id == data.external_id)) is not None:
        errors["external_id"] = str(_l("A complaint with this reference is already recorded."))
    if errors:
        raise ValidationFailed(errors)
    assert division is not None
    row = _row(data, product_id=product_id, division_id=division)
    complaint = Complaint(**row, incident_id=None, created_by_id=user.id, created_at=now)
    session.add(complaint)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="complaint", entity_id=complaint.id, action="created", now=now,
                 changes={"source": row["source"], "external_id": row["external_id"], "model": row["model"],
                          "symptom": row["symptom"], "flagged": row["flagged"], "safety_terms": row["safety_terms"]})
    return complaint


@dataclass
class ImportResult:
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    flagged: int = 0


class _BulkInsert:
    """One prepared INSERT … ON CONFLICT (source, external_id) DO NOTHING, run with executemany over plain tuples:
    rows are bound by the columns' own type processors (stored exactly as the ORM stores them) without compiling a
    statement per batch. The values the whole import shares (who, when) are bound once, not once per row."""

    def __init__(self, session: so.Session, *, shared: dict[str, Any]):
        dialect = session.get_bind().dialect
        table = Complaint.__table__
        self.columns = [c.name for c in table.columns if c.name != "id" and c.name not in shared]
        marker = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        names = [*self.columns, *shared]
        # The table's and columns' own names from the model, never input; values are bound parameters.
        self.sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "  # nosec B608
                    f"VALUES ({', '.join([marker] * len(names))}) "
                    "ON CONFLICT (source, external_id) DO NOTHING")

        def processor(name: str) -> Callable[[Any], Any] | None:
            # SQLAlchemy's public path to the processor it binds the column with (once per import, not per row).
            return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

        self.processed = [(i, p) for i, p in enumerate(map(processor, self.columns)) if p is not None]
        self.shared = tuple(value if (p := processor(name)) is None else p(value) for name, value in shared.items())

    def tuple_of(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = [row[name] for name in self.columns]
        for i, process in self.processed:
            values[i] = process(values[i])
        return (*values, *self.shared)

    def run(self, session: so.Session, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows; how many were new (a duplicate of a stored complaint is skipped)."""
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, rows)
            return int(cursor.rowcount)
        finally:
            cursor.close()


def read_rows(stream: io.TextIOBase, *, source: str) -> Iterator[tuple[int, rules.ComplaintIn | str]]:
    """(line, complaint or the reason it cannot be read) for each data row of a CSV in either layout."""
    reader = csv.DictReader(stream)
    try:
        layout = rules.layout_of(reader.fieldnames or [])
    except rules.RowError as e:
        yield 1, str(e)
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, str(_l("Not valid CSV: %(error)s", error=str(e)))
            return
        try:
            yield reader.line_num, (rules.from_nhtsa(row) if layout == "nhtsa" else rules.from_callcentre(row, source))
        except rules.RowError as e:
            yield reader.line_num, str(e)


def import_complaints(session_factory: Callable[[], so.Session], *, user_id: int,
                      rows: Iterable[tuple[int, rules.ComplaintIn | str]], now: datetime,
                      default_division_id: int | None = None, batch_size: int = 1000,
                      progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import rows in batches: one multi-row INSERT … ON CONFLICT DO NOTHING and one commit per batch, so a re-sent
    file adds nothing and a failure loses at most the batch in hand. Bad rows are reported, good rows kept."""
    result = ImportResult()
    session = session_factory()
    try:
        user = session.get(User, user_id)
        if user is None or not can(user.actor, Capability.LOG_COMPLAINTS):
            raise Forbidden(str(_l("Your role does not allow this.")))
        catalogue = Catalogue(session)
        session.commit()
        insert = _BulkInsert(session, shared={"incident_id": None, "created_by_id": user_id, "created_at": now})
        batch: list[tuple[Any, ...]] = []
        sources: set[str] = set()
        batch_flagged = 0
        batches = 0
        allowed: dict[int | None, str | None] = {}  # division id -> the reason it is refused, or None

        def flush() -> None:
            nonlocal batches, batch_flagged
            if not batch:
                return
            from qa_incidents.core.db import begin_write

            begin_write(session)
            inserted = insert.run(session, batch)
            batches += 1
            audit.record(session, actor_id=user_id, entity_type="complaint_import", entity_id=batches,
                         action="imported", now=now,
                         changes={"rows": len(batch), "inserted": inserted, "flagged_in_batch": batch_flagged,
                                  "sources": sorted(sources)})
            session.commit()
            result.inserted += inserted
            result.duplicates += len(batch) - inserted
            result.flagged += batch_flagged
            if progress:
                progress(len(batch))
            batch.clear()
            sources.clear()
            batch_flagged = 0

        for line, item in rows:
            result.read += 1
            if isinstance(item, str):
                result.errors.append((line, item))
                if progress:
                    progress(1)
                continue
            problems = rules.validate(item, now=now)
            product_id, division = catalogue.place(item.model, default_division_id)
            if division not in allowed:
                allowed[division] = _check_division(user, division)
            problem = allowed[division] if not problems else None
            if problems or problem:
                reasons = [f"{k}: {v}" for k, v in problems.items()] + ([problem] if problem else [])
                result.errors.append((line, "; ".join(reasons)))
                if progress:
                    progress(1)
                continue
            assert division is not None
            row = _row(item, product_id=product_id, division_id=division)
            batch.append(insert.tuple_of(row))
            sources.add(row["source"])
            batch_flagged += row["flagged"]
            if len(batch) >= batch_size:
                flush()
        flush()
        return result
    finally:
        session.close()


# --- safety flags into incidents ----------------------------------------------------------------------------


def incident_prefill(complaints: list[Complaint], *, title: str | None = None) -> dict[str, Any]:
    """What an incident filed from complaints states, taken from them (nothing retyped)."""
    first = complaints[0]
    terms = [t for c in complaints for t in c.safety_terms.split("; ") if t]
    folded = {t.casefold() for t in terms}
    hazard = rules.matcher().hazard_of(terms) or "other"
    received = min(c.received_at for c in complaints)
    occurred_days = [c.occurred_on for c in complaints if c.occurred_on is not None]
    occurred = (datetime.combine(min(occurred_days), time(), tzinfo=received.tzinfo) if occurred_days else received)
    if occurred > received:
        occurred = received
    serials = sorted({c.serial for c in complaints if c.serial})
    lines = [f"[{c.source} {c.external_id}, {c.received_at:%Y-%m-%d}] {c.text}" for c in complaints[:50]]
    if len(complaints) > 50:
        lines.append(str(_l("… and %(n)d more complaints, linked to this incident.", n=len(complaints) - 50)))
    return {
        "division_id": first.division_id, "product_id": first.product_id or 0,
        "title": (title or f"{first.model}: {first.symptom or first.text[:80]}")[:200],
        "serial_numbers": "\n".join(serials)[:4000], "country": first.country,
        "place": first.place or str(_l("Customer's premises (see complaint)")),
        "occurred_at": occurred, "aware_at": received, "source": "customer_complaint", "hazard": hazard,
        "fire": bool(folded & FIRE_TERMS), "smoke": bool(folded & SMOKE_TERMS), "co_poisoning": bool(folded & CO_TERMS),
        "description": "\n\n".join(lines)[:20000],
    }


def link_to_incident(session: so.Session, *, user: User, complaint_ids: list[int], incident_id: int,
                     now: datetime) -> int:
    """Link complaints (not yet linked) to an incident; audited on the incident's timeline."""
    ids = list(session.scalars(sa.select(Complaint.id).where(Complaint.id.in_(complaint_ids),
                                                              Complaint.incident_id.is_(None))))
    if ids:
        session.execute(sa.update(Complaint).where(Complaint.id.in_(ids)).values(incident_id=incident_id),
                        execution_options={"synchronize_session": False})
        audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident_id, incident_id=incident_id,
                     action="complaints_linked", now=now, changes={"complaint_ids": [None, ids]})
    return len(ids)


def require_work(user: User, division_id: int) -> None:
    if not can_work_division(user.actor, division_id, Capability.WORK_COMPLAINTS):
        raise Forbidden(str(_l("Your role does not allow this.")))


def file_from_complaint(session: so.Session, *, user: User, complaint: Complaint, facts: Any, now: datetime) -> Any:
    """File an incident from a complaint and link it; the incident's own rules and audit apply."""
    from qa_incidents.incidents import service as incidents

    require_work(user, complaint.division_id)
    if complaint.incident_id is not None:
        raise ValidationFailed({"complaint": str(_l("This complaint is already linked to an incident."))})
    incident = incidents.file_incident(session, user=user, facts=facts, now=now)
    link_to_incident(session, user=user, complaint_ids=[complaint.id], incident_id=incident.id, now=now)
    return incident


def promote_signal(session: so.Session, *, user: User, signal: ComplaintSignal, facts: Any, now: datetime) -> Any:
    """File an incident from a signal, link its complaints, and close the signal as promoted; audited."""
    from qa_incidents.incidents import service as incidents

    require_work(user, signal.division_id)
    if signal.status != rules.SignalStatus.OPEN:
        raise ValidationFailed({"signal": str(_l("Only an open signal can be promoted or dismissed."))})
    incident = incidents.file_incident(session, user=user, facts=facts, now=now)
    ids = list(session.scalars(sa.select(SignalComplaint.complaint_id).where(SignalComplaint.signal_id == signal.id)))
    link_to_incident(session, user=user, complaint_ids=ids, incident_id=incident.id, now=now)
    signal.status, signal.incident_id, signal.decided_by_id, signal.decided_at = "promoted", incident.id, user.id, now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="complaint_signal", entity_id=signal.id, incident_id=incident.id,
                 action="promoted", now=now, changes={"status": ["open", "promoted"], "incident_id": [None, incident.id]})
    return incident


def dismiss_signal(session: so.Session, *, user: User, signal: ComplaintSignal, reason: str, now: datetime) -> None:
    require_work(user, signal.division_id)
    if signal.status != rules.SignalStatus.OPEN:
        raise ValidationFailed({"signal": str(_l("Only an open signal can be promoted or dismissed."))})
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the signal is dismissed."))})
    signal.status, signal.decision_reason, signal.decided_by_id, signal.decided_at = "dismissed", reason.strip(), user.id, now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="complaint_signal", entity_id=signal.id, action="dismissed",
                 now=now, changes={"status": ["open", "dismissed"], "reason": [None, reason.strip()],
                                   "observed": signal.observed})


# --- the signal scan ----------------------------------------------------------------------------------------

WEEKS_SCANNED = 27  # half a year of history and the current week


@dataclass
class ScanResult:
    series: int = 0
    raised: int = 0
    updated: int = 0


def weekly_counts(session: so.Session, *, first_week: date, weeks: int) -> dict[tuple[int, str, str], list[int]]:
    """Complaints per (division, model, symptom) per week from first_week on, as lists of counts (oldest first)."""
    rows = session.execute(
        sa.select(Complaint.division_id, Complaint.model, Complaint.symptom, Complaint.week_start, sa.func.count())
        .where(Complaint.week_start >= first_week, Complaint.symptom != "")
        .group_by(Complaint.week_start, Complaint.division_id, Complaint.model, Complaint.symptom))
    series: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0] * weeks)
    for division_id, model, symptom, week, n in rows:
        index = (week - first_week).days // 7
        if 0 <= index < weeks:
            series[(division_id, model, symptom)][index] = n
    return series


def scan(session: so.Session, *, now: datetime, method: rules.Method = rules.METHOD,
         weeks: int = WEEKS_SCANNED) -> ScanResult:
    """Raise or update a signal for every model and symptom whose latest (or last complete) week is in alarm."""
    current = rules.week_of(now)
    first_week = current - timedelta(weeks=weeks - 1)
    result = ScanResult()
    series = weekly_counts(session, first_week=first_week, weeks=weeks)
    result.series = len(series)
    for (division_id, model, symptom), counts in series.items():
        if sum(counts[-2:]) < 1 or max(counts) < 2:
            continue
        verdicts = rules.assess(counts, method)
        last = next((w for w in reversed(verdicts[-2:]) if w.alarm), None)
        if last is None:
            continue
        run = [last.index]
        while run[-1] > 0 and verdicts[run[-1] - 1].alarm:
            run.append(run[-1] - 1)
        alarm_weeks = [first_week + timedelta(weeks=i) for i in run]
        observed = sum(counts[i] for i in run)
        _raise(session, key=(division_id, model, symptom), last=last, observed=observed, alarm_weeks=alarm_weeks,
               series=[[(first_week + timedelta(weeks=w.index)).isoformat(), w.count,
                        None if w.expected is None else round(w.expected, 3)] for w in verdicts],
               now=now, result=result)
    return result


def _raise(session: so.Session, *, key: tuple[int, str, str], last: rules.Week, observed: int,
           alarm_weeks: list[date], series: list[Any], now: datetime, result: ScanResult) -> None:
    division_id, model, symptom = key
    previous = session.scalars(sa.select(ComplaintSignal).where(
        ComplaintSignal.division_id == division_id, ComplaintSignal.model == model, ComplaintSignal.symptom == symptom)
        .order_by(ComplaintSignal.id.desc()).limit(1)).first()
    numbers = {"week_start": max(alarm_weeks), "observed": observed, "expected": float(last.expected or 0.0),
               "p_value": float(last.p_value if last.p_value is not None else 1.0), "cusum": float(last.cusum),
               "reason": "both" if last.poisson and last.cusum_alarm else ("poisson" if last.poisson else "cusum"),
               "series": series}
    if previous is not None and previous.status == rules.SignalStatus.OPEN:
        if previous.observed == observed and previous.week_start == numbers["week_start"]:
            return
        for name, value in numbers.items():
            setattr(previous, name, value)
        previous.updated_at = now
        signal, action = previous, "updated"
        result.updated += 1
    elif previous is not None and not rules.grew(previous.observed, observed):
        return  # dismissed or promoted: back only if it grows
    else:
        product_id = session.scalar(sa.select(Complaint.product_id).where(
            Complaint.division_id == division_id, Complaint.model == model).limit(1))
        signal = ComplaintSignal(division_id=division_id, product_id=product_id, model=model, symptom=symptom,
                                 status="open", decision_reason="", created_at=now, updated_at=now, **numbers)
        session.add(signal)
        action = "raised"
        result.raised += 1
    session.flush()
    members = set(session.scalars(sa.select(Complaint.id).where(
        Complaint.division_id == division_id, Complaint.model == model, Complaint.symptom == symptom,
        Complaint.week_start.in_(alarm_weeks))))
    members -= set(session.scalars(sa.select(SignalComplaint.complaint_id).where(SignalComplaint.signal_id == signal.id)))
    if members:
        session.execute(sa.insert(SignalComplaint), [{"signal_id": signal.id, "complaint_id": c} for c in sorted(members)])
    audit.record(session, actor_id=None, entity_type="complaint_signal", entity_id=signal.id, action=action, now=now,
                 changes={"model": model, "symptom": symptom, "observed": observed,
                          "expected": round(numbers["expected"], 3), "p_value": numbers["p_value"],
                          "cusum": round(numbers["cusum"], 3), "reason": numbers["reason"],
                          **({"previous_signal": previous.id} if previous is not None and action == "raised" else {})})
