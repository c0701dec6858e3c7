"""Bulk synthetic data: incidents with triage, regulator notifications, reviews, recalls and lessons.

Written with SQLAlchemy Core `insert()` executemany in batches, bypassing the per-row ORM and the audit
trail (this is generated measurement data, not evidence), but every row is valid: references follow
INC-YYYY-NNNNNN and advance the year's counter, divisions, products and users are the demo ones, every
constraint of the schema holds, and the lesson search index is filled as the application would fill it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.core.permissions import Role
from qa_incidents.core.sequences import Counter
from qa_incidents.core.signatures import Signature, content_hash
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Hazard, Severity, Source, Status, format_reference
from qa_incidents.incidents.workflow_models import Escalation, TriageDecision
from qa_incidents.laws.models import Obligation
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.recalls.models import RecallCampaign, RecallIncident
from qa_incidents.reviews import search
from qa_incidents.reviews.models import Lesson, Review, ReviewIncident
from qa_incidents.synthetic import texts

BATCH = 5000
COUNTRIES = ("JP", "JP", "JP", "US", "US", "CN", "DE", "GB", "FR", "KR", "CA", "AU", "IT", "ES", "NL", "SE", "TH", "IN",
             "BR", "MX")
PLACES = ("customer's home", "kitchen", "garage", "office", "workshop", "hospital ward", "service centre", "warehouse",
          "construction site", "retail store", "car park", "factory floor")
#: Hazard → the harm flags it usually comes with.
FLAGS = {Hazard.FIRE_BURN: ("fire", "property_damage"), Hazard.OVERHEATING: ("smoke",), Hazard.CO_GAS: ("co_poisoning",),
         Hazard.ELECTRIC_SHOCK: (), Hazard.MECHANICAL: (), Hazard.CHEMICAL: (), Hazard.STRUCTURAL_FAILURE: ("property_damage",),
         Hazard.CHOKING: (), Hazard.OTHER: ()}
HAZARD_WEIGHTS = (12, 6, 14, 2, 22, 5, 10, 3, 26)
SOURCE_WEIGHTS = (70, 18, 3, 2, 7)
SEVERITY_WEIGHTS = (1, 9, 40, 50)
OPEN_STATUSES = (Status.TRIAGED, Status.ESCALATION_REQUESTED, Status.ESCALATED, Status.CONTAINED, Status.UNDER_REVIEW)
OPEN_STATUS_WEIGHTS = (50, 3, 7, 25, 15)
SEVERE = (Severity.S1, Severity.S2)
#: States only an escalated case reaches (a severe case is escalated before containment).
ESCALATION_ONLY = (Status.ESCALATION_REQUESTED, Status.ESCALATED, Status.CONTAINED)
#: States a severe case reaches only through an escalation request.
ESCALATED_PATH = (*ESCALATION_ONLY, Status.UNDER_REVIEW, Status.CLOSED)


@dataclass
class Plan:
    """How much to generate; `for_incidents` scales everything else from the incident count."""

    incidents: int
    lessons: int
    open_notifications: int
    reviews: int
    recalls: int
    years: int = 5
    seed: int = 2026

    @classmethod
    def for_incidents(cls, n: int, *, lessons: int | None = None, open_notifications: int | None = None,
                      seed: int = 2026) -> Plan:
        return cls(incidents=n, lessons=lessons if lessons is not None else min(100_000, max(n // 10, 100)),
                   open_notifications=open_notifications if open_notifications is not None else min(100_000, n // 10),
                   reviews=max(n // 500, 1), recalls=max(n // 20_000, 1), seed=seed)


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{n:,} {name}" for name, n in self.counts.items())


Progress = Callable[[str, int], None]


class _Writer:
    """Batched inserts into one table straight through the driver (values are converted once for the dialect,
    so there is no per-row type processing): executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: sa.Connection, table: sa.Table, *, after: tuple[_Writer, ...] = ()) -> None:
        self.conn, self.table = conn, table
        #: Writers whose rows this table's rows refer to: flushed first, so every foreign key finds its row.
        self.after = after
        self.sqlite = conn.dialect.name == "sqlite"
        #: Datetimes go through this: SQLite gets the naive-UTC text SQLAlchemy itself stores.
        self.dt = _sqlite_dt if self.sqlite else _same
        self.columns: list[str] = []
        self.json: set[int] = set()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: dict[str, Any]) -> None:
        if not self.columns:
            self.columns = list(row)
            self.json = {i for i, c in enumerate(self.columns) if isinstance(self.table.c[c].type, sa.JSON)}
        values = tuple(row[c] for c in self.columns)
        if self.json:
            values = tuple(_json(v, self.sqlite) if i in self.json else v for i, v in enumerate(values))
        self.rows.append(values)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for writer in self.after:
            writer.flush()
        if not self.rows:
            return
        names = ", ".join(self.columns)
        raw = self.conn.connection.driver_connection
        if self.sqlite:
            marks = ", ".join("?" * len(self.columns))
            raw.executemany(f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})", self.rows)  # nosec B608
        else:
            with raw.cursor() as cursor, cursor.copy(f"COPY {self.table.name} ({names}) FROM STDIN") as copy:
                for values in self.rows:
                    copy.write_row(values)
        self.rows = []


def _json(value: Any, sqlite: bool) -> Any:
    if sqlite:
        return json.dumps(value)
    from psycopg.types.json import Json

    return Json(value)


#: From this many incidents on, the secondary indexes of the bulk-loaded tables are dropped for the load and created
#: again after it: building an index from sorted rows once is many times faster than updating it a million times in
#: random order. Triggers stay: some fill columns (a notification's half-time and division) or move change markers.
BULK = 20_000
BULK_TABLES = ("incident", "triage_decision", "notification_record")


def _set_aside(conn: sa.Connection) -> list[str]:
    """Drop the secondary indexes of the bulk-loaded tables; returns the DDL that recreates them. Unique and
    primary-key indexes stay, so every constraint is still checked row by row."""
    names = ", ".join(f"'{t}'" for t in BULK_TABLES)
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({names}) "  # nosec B608
            "AND sql IS NOT NULL AND sql NOT LIKE :unique"), {"unique": "CREATE UNIQUE%"}).all()
    else:
        rows = conn.execute(sa.text(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ({names}) "  # nosec B608
            "AND indexdef NOT LIKE :unique AND indexname NOT IN (SELECT conname FROM pg_constraint)"),
            {"unique": "CREATE UNIQUE%"}).all()
    for name, _sql in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _put_back(conn: sa.Connection, ddl: list[str]) -> None:
    """Recreate what _set_aside dropped."""
    for sql in ddl:
        conn.exec_driver_sql(sql)


def _sqlite_dt(value: datetime | date | None) -> str | None:
    """The form SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds (values here are UTC already)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.microsecond == 0:
        value = value.replace(microsecond=1)
    return str(value.replace(tzinfo=None))


def _same(value: Any) -> Any:
    return value


@dataclass
class _Context:
    divisions: list[tuple[int, str]]
    products: dict[int, list[tuple[int, int, str, str]]]  # division id → (product id, category id, model, name)
    users: dict[int, list[int]]  # division id → users who work there
    hq_users: list[int]
    regimes: list[tuple[int, str, str]]  # (obligation id, regime code, title)
    names: dict[int, str] = field(default_factory=dict)  # user id → name, as a signature records it
    approvers: list[int] = field(default_factory=list)  # head-office QA: who signs escalations and notifications


def _context(session: so.Session) -> _Context:
    divisions = [(d.id, d.code) for d in session.scalars(sa.select(Division).where(
        Division.active.is_(True), Division.is_head_office.is_(False)).order_by(Division.id))]
    products: dict[int, list[tuple[int, int, str, str]]] = {}
    for p in session.scalars(sa.select(Product).where(Product.active.is_(True)).order_by(Product.id)):
        products.setdefault(p.division_id, []).append((p.id, p.category_id, p.model, p.name))
    users: dict[int, list[int]] = {}
    hq: list[int] = []
    names: dict[int, str] = {}
    approvers: list[int] = []
    head_office = {d.id for d in session.scalars(sa.select(Division).where(Division.is_head_office.is_(True)))}
    for u in session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)):
        (hq if u.division_id in head_office else users.setdefault(u.division_id, [])).append(u.id)
        names[u.id] = u.name
        if u.role == Role.HEAD_OFFICE_QA:
            approvers.append(u.id)
    divisions = [d for d in divisions if products.get(d[0])]
    if not divisions or not hq or not approvers:
        raise RuntimeError("no divisions with products, or no head-office QA user (the signer): "
                           "run `qa-incidents seed demo` first")
    regimes = [(o.id, o.regime_code, o.title) for o in session.scalars(sa.select(Obligation).order_by(Obligation.id))]
    if not regimes:
        raise RuntimeError("the laws map is empty: run `qa-incidents seed demo` first")
    return _Context(divisions, products, users, hq, regimes, names, approvers)


def _counter_start(conn: sa.Connection, name: str) -> int:
    return int(conn.scalar(sa.select(Counter.value).where(Counter.name == name)) or 0)


def _set_counter(conn: sa.Connection, name: str, value: int) -> None:
    if conn.execute(sa.update(Counter).where(Counter.name == name).values(value=value)).rowcount == 0:
        conn.execute(sa.insert(Counter).values(name=name, value=value))


def generate(session: so.Session, plan: Plan, *, now: datetime, progress: Progress | None = None) -> Report:
    """Add the planned data to the database of `session` and commit it. Returns what was created."""
    from qa_incidents.incidents.workflow import current_matrix

    step = progress or (lambda _what, _n: None)
    current_matrix(session, now=now)  # triage decisions refer to matrix version 1
    session.commit()
    ctx = _context(session)
    rng = random.Random(plan.seed)
    stories = texts.stories()
    report = Report()
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # One big transaction of generated data: a large page cache and no fsync before the end is all it needs.
        # Set outside a transaction (SQLite refuses otherwise), on the pooled connection the session takes next.
        raw = bind.raw_connection()  # type: ignore[union-attr]
        try:
            for pragma in ("cache_size=-400000", "synchronous=OFF", "temp_store=MEMORY"):
                raw.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]
        finally:
            raw.close()
    conn = session.connection()
    first_id = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(Incident.id), 0)))) + 1
    set_aside = _set_aside(conn) if plan.incidents >= BULK else []

    # --- incidents and their triage decisions ------------------------------------------------
    inc = _Writer(conn, Incident.__table__)
    tri = _Writer(conn, TriageDecision.__table__, after=(inc,))
    signed = _Signatures(conn, ctx, rng, after=(inc,))
    esc = _Writer(conn, Escalation.__table__, after=(inc, signed.writer))
    next_escalation = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(Escalation.id), 0)))) + 1
    span = timedelta(days=365 * plan.years).total_seconds()
    start = now - timedelta(days=365 * plan.years)
    counters: dict[int, int] = {}
    meta: list[tuple[int, int, datetime, str | None]] = []  # (status index, division id, aware_at, severity) per incident
    statuses = list(Status)
    D = inc.dt
    hazards, sources, severities = list(Hazard), list(Source), list(Severity)
    for i in range(plan.incidents):
        ident = first_id + i
        aware = start + timedelta(seconds=span * (i + rng.random()) / plan.incidents)
        if aware > now - timedelta(minutes=5):
            aware = now - timedelta(minutes=5)
        occurred = aware - timedelta(hours=rng.random() * 240)
        created = min(aware + timedelta(hours=rng.random() * 36), now)
        year = created.year
        if year not in counters:
            counters[year] = _counter_start(conn, f"incident-{year}")
        counters[year] += 1
        division_id, _code = ctx.divisions[rng.randrange(len(ctx.divisions))]
        product_id, category_id, model, product_name = rng.choice(ctx.products[division_id])
        staff = ctx.users.get(division_id) or ctx.hq_users
        author = rng.choice(staff)
        age_days = (now - aware).days
        if age_days > 120 or (age_days > 30 and rng.random() < 0.7):
            status = Status.CLOSED
        elif age_days < 2 and rng.random() < 0.6:
            status = Status.REPORTED
        else:
            status = rng.choices(OPEN_STATUSES, OPEN_STATUS_WEIGHTS)[0]
        severity = None if status == Status.REPORTED else rng.choices(severities, SEVERITY_WEIGHTS)[0]
        if status in ESCALATION_ONLY and severity not in SEVERE:  # only a severe case is escalated
            severity = rng.choice(SEVERE)
        hazard = rng.choices(hazards, HAZARD_WEIGHTS)[0]
        story = stories[rng.randrange(len(stories))]
        flags = dict.fromkeys(("fire", "smoke", "co_poisoning", "property_damage"), False)
        for flag in FLAGS[hazard]:
            flags[flag] = rng.random() < 0.6
        serious = 1 if severity == Severity.S1 and rng.random() < 0.5 else 0
        minor = rng.choice((0, 0, 0, 1, 1, 2)) if severity in (Severity.S1, Severity.S2) else 0
        harmless = not (serious or minor or any(flags.values()))
        lot = f"L{rng.randrange(10**5, 10**6)}"
        inc.add({
            "id": ident, "reference": format_reference(year, counters[year]), "version": 1, "status": status.value,
            "severity": severity.value if severity else None, "division_id": division_id, "product_id": product_id, "category_id": category_id,
            "title": f"{model}: {story.title}"[:200], "lot_numbers": lot, "serial_numbers": "",
            "country": rng.choice(COUNTRIES), "place": rng.choice(PLACES), "occurred_at": D(occurred), "aware_at": D(aware),
            "source": rng.choices(sources, SOURCE_WEIGHTS)[0].value, "hazard": hazard.value, "deaths": 0,
            "serious_injuries": serious, "minor_injuries": minor, **flags, "no_harm": harmless and rng.random() < 0.8,
            "units_in_field": rng.randrange(100, 200_000), "description": f"{product_name} ({model}). {story.description}",
            "created_by_id": author, "created_at": D(created), "updated_by_id": author,
            "updated_at": D(created if status == Status.REPORTED else min(created + timedelta(days=rng.random() * 60), now)),
        })
        if severity is not None:
            decided = min(aware + timedelta(hours=0.2 + rng.expovariate(1 / 30)), now)
            suggested = severity if rng.random() < 0.9 else rng.choice(severities)
            tri.add({
                "incident_id": ident, "decided_by_id": rng.choice(staff), "decided_at": D(decided), "matrix_version": 1,
                "suggested": suggested.value, "suggested_rule": None,
                "suggested_reason": "No rule matched; the matrix's fallback severity applies.",
                "similar_reports": rng.randrange(0, 5), "severity": severity.value,
                "override_reason": "" if suggested == severity else "Field data on this model justify another class.",
            })
        if severity in SEVERE and status in ESCALATED_PATH:
            # A severe case past triage was escalated: the division's request, and head office's signed approval
            # unless it still waits for one. No state the workflow reaches only through a signature is written
            # without its signature.
            requester = rng.choice([u for u in staff if u not in ctx.approvers] or staff)
            asked = min(aware + timedelta(hours=1 + rng.random() * 24), now)
            row: dict[str, Any] = {
                "id": next_escalation, "incident_id": ident, "severity": severity.value, "requested_by_id": requester,
                "requested_at": D(asked), "reason": "Severe harm: head office to lead the response.", "decision": None,
                "decided_by_id": None, "decided_at": None, "decision_comment": "", "signature_id": None}
            if status != Status.ESCALATION_REQUESTED:
                decided_at = min(asked + timedelta(hours=rng.random() * 12), now)
                signature = signed.add(meaning="approved escalation", entity_type="escalation",
                                       entity_id=next_escalation, incident_id=ident, prepared_by=requester,
                                       at=decided_at, content={"incident": ident, "severity": severity.value,
                                                               "decision": "approved"})
                row.update(decision="approved", decided_by_id=signature[0], decided_at=D(decided_at),
                           signature_id=signature[1])
            esc.add(row)
            next_escalation += 1
        meta.append((statuses.index(status), division_id, aware, severity.value if severity else None))
        if (i + 1) % 1000 == 0:
            step("incidents", 1000)
    inc.flush()
    tri.flush()
    esc.flush()
    step("incidents", plan.incidents % 1000)
    for year, value in counters.items():
        _set_counter(conn, f"incident-{year}", value)
    report.counts["incidents"] = plan.incidents
    report.counts["triage decisions"] = sum(1 for m in meta if m[3] is not None)

    # --- regulator notifications: the open ones the deadline board and the warning scan work on,
    # and submitted ones for the serious closed incidents (what the dashboard's compliance charts count) --
    rec = _Writer(conn, NotificationRecord.__table__, after=(signed.writer,))
    next_record = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(NotificationRecord.id), 0)))) + 1

    def add_record(row: dict[str, Any], clock: datetime) -> None:
        """A record with its id; one approved for submission (or past it) carries its drafter and the signature."""
        nonlocal next_record
        row["id"] = next_record
        drafted = min(clock + timedelta(hours=2), now)
        if row["state"] in ("approved", "submitted", "acknowledged"):
            drafter = row["owner_id"]
            who, signature_id = signed.add(meaning="approved regulator notification for submission",
                                           entity_type="notification_record", entity_id=next_record,
                                           incident_id=row["incident_id"], prepared_by=drafter, at=drafted,
                                           content={"record": next_record, "regime": row["regime_code"]})
            row.update(drafted_at=rec.dt(drafted), drafted_by_id=drafter, approval_signature_id=signature_id)
            if row["submitted_by_id"] == who:  # the signer does not also submit what they signed
                row["submitted_by_id"] = drafter
        elif row["state"] == "drafted":
            row.update(drafted_at=rec.dt(drafted), drafted_by_id=row["owner_id"])
        rec.add(row)
        next_record += 1

    closed = statuses.index(Status.CLOSED)
    reported = statuses.index(Status.REPORTED)
    open_ids = [i for i, m in enumerate(meta) if m[0] not in (closed, reported)]
    rng.shuffle(open_ids)
    made = 0
    per_incident = max(1, -(-plan.open_notifications // max(len(open_ids), 1)))
    for index in open_ids:
        if made >= plan.open_notifications:
            break
        for obligation_id, code, title in rng.sample(ctx.regimes, min(per_incident, len(ctx.regimes))):
            if made >= plan.open_notifications:
                break
            # Mostly early in their time; one in two hundred has reached a warning point (50 %, 24 h, 4 h, overdue).
            length = timedelta(days=rng.uniform(10, 90))
            used = rng.uniform(0.0, 0.4) if rng.random() > 0.005 else rng.uniform(0.5, 1.05)
            clock = now - length * used
            add_record(_record(meta[index], first_id + index, obligation_id, code, title,
                               rng.choice(("required", "drafted", "approved")), clock, clock + length, ctx, rng, now,
                               D=rec.dt), clock)
            made += 1
    submitted = 0
    for index, m in enumerate(meta):
        if m[0] == closed and m[3] in ("S1", "S2"):
            obligation_id, code, title = ctx.regimes[index % len(ctx.regimes)]
            due = m[2] + timedelta(days=rng.choice((2, 10, 30)))
            sent = m[2] + (due - m[2]) * rng.uniform(0.2, 1.15)
            add_record(_record(m, first_id + index, obligation_id, code, title, "acknowledged", m[2], due, ctx, rng,
                               now, submitted_at=min(sent, now), D=rec.dt), m[2])
            submitted += 1
    rec.flush()
    signed.flush()
    step("notifications", 0)
    report.counts["open notifications"] = made
    report.counts["submitted notifications"] = submitted

    # --- reviews of closed incidents, draft recalls --------------------------------------------
    closed_ids = [i for i, m in enumerate(meta) if m[0] == closed]
    rv = _Writer(conn, Review.__table__)
    ri = _Writer(conn, ReviewIncident.__table__)
    first_review = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(Review.id), 0)))) + 1
    stages = ("design", "manufacturing", "supplier", "inspection", "")
    for r in range(plan.reviews if closed_ids else 0):
        picked = sorted(set(rng.sample(closed_ids, min(len(closed_ids), rng.randint(1, 3)))))
        division_id = meta[picked[0]][1]
        picked = [p for p in picked if meta[p][1] == division_id]
        story = stories[rng.randrange(len(stories))]
        when = min(meta[picked[0]][2] + timedelta(days=14), now)
        rv.add({"id": first_review + r, "version": 1, "division_id": division_id, "status": "draft",
                "title": f"Review: {story.title}"[:200], "meeting_on": rv.dt(when.date()), "participants": "",
                "phenomenon": story.description[:2000], "failure_mode": "", "mechanism": "", "process_stage": rng.choice(stages),
                "process_cause": "", "escape_reason": "", "framework_cause": "", "motivating_factors": [],
                "motivating_cause": "", "design_review_checks": "",
                "created_by_id": rng.choice(ctx.users.get(division_id) or ctx.hq_users), "created_at": rv.dt(when),
                "updated_at": rv.dt(when), "submitted_at": None, "approved_at": None, "approval_signature_id": None})
        for p in picked:
            ri.add({"review_id": first_review + r, "incident_id": first_id + p})
    rv.flush()
    ri.flush()
    report.counts["reviews"] = plan.reviews if closed_ids else 0

    rc = _Writer(conn, RecallCampaign.__table__)
    rl = _Writer(conn, RecallIncident.__table__)
    first_recall = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(RecallCampaign.id), 0)))) + 1
    recall_year = now.year
    number = _counter_start(conn, f"recall-{recall_year}")
    for r in range(plan.recalls if closed_ids else 0):
        index = rng.choice(closed_ids)
        division_id = meta[index][1]
        owner = rng.choice(ctx.users.get(division_id) or ctx.hq_users)
        number += 1
        rc.add({"id": first_recall + r, "reference": f"RC-{recall_year}-{number:04d}", "version": 1, "status": "draft",
                "division_id": division_id, "title": f"Corrective action for {format_reference(meta[index][2].year, 0)[:8]} "
                f"incident {first_id + index}"[:200], "remedy": rng.choice(("repair", "replacement", "refund", "inspection")),
                "description": "Prepared from the incident's review.", "countries": ["JP"], "units_affected": rng.randrange(100, 50_000),
                "target_percent": 100, "target_date": None, "stall_weeks": 4, "report_regimes": [], "owner_id": owner,
                "launched_at": None, "launch_signature_id": None, "effectiveness_check": "", "effectiveness_checked_at": None,
                "effectiveness_checked_by_id": None, "closure_justification": "", "closed_at": None,
                "closure_signature_id": None, "withdrawn_reason": "", "created_by_id": owner, "created_at": rc.dt(now),
                "updated_by_id": owner, "updated_at": rc.dt(now)})
        rl.add({"recall_id": first_recall + r, "incident_id": first_id + index, "linked_by_id": owner, "linked_at": rl.dt(now)})
    rc.flush()
    rl.flush()
    if plan.recalls and closed_ids:
        _set_counter(conn, f"recall-{recall_year}", number)
    report.counts["recalls"] = plan.recalls if closed_ids else 0

    # --- lessons, with their search index ---------------------------------------------------------
    report.counts["lessons"] = _lessons(session, conn, plan, rng, now, step)
    if set_aside:
        _put_back(conn, set_aside)
    if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
        for table in ("incident", "review", "recall_campaign", "lesson", "escalation", "notification_record", "signature"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608: fixed names
                                 f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
        conn.exec_driver_sql("ANALYZE")
    session.commit()
    if conn.dialect.name == "sqlite":
        with session.get_bind().connect() as c:
            c.exec_driver_sql("ANALYZE")
    return report


class _Signatures:
    """The electronic signatures of the generated signed states: a head-office QA user who did not prepare what is
    signed, the meaning the workflow records, and the hash of the signed content (as `core.signatures.sign`)."""

    def __init__(self, conn: sa.Connection, ctx: _Context, rng: random.Random, *, after: tuple[_Writer, ...]) -> None:
        self.writer = _Writer(conn, Signature.__table__, after=after)
        self.ctx, self.rng = ctx, rng
        self.next_id = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(Signature.id), 0)))) + 1

    def add(self, *, meaning: str, entity_type: str, entity_id: int, incident_id: int, prepared_by: int,
            at: datetime, content: dict[str, Any]) -> tuple[int, int]:
        """(signer id, signature id) of a new signature."""
        signers = [u for u in self.ctx.approvers if u != prepared_by]
        if not signers:
            raise RuntimeError("no head-office QA user other than the preparer to sign")
        signer = self.rng.choice(signers)
        ident = self.next_id
        self.next_id += 1
        self.writer.add({"id": ident, "signer_id": signer, "signer_name": self.ctx.names[signer],
                         "signed_at": self.writer.dt(at), "meaning": meaning, "entity_type": entity_type,
                         "entity_id": entity_id, "incident_id": incident_id, "content": content,
                         "content_sha256": content_hash(content), "comment": ""})
        return signer, ident

    def flush(self) -> None:
        self.writer.flush()


def _record(m: tuple[int, int, datetime, str | None], incident_id: int, obligation_id: int, code: str, title: str,
            state: str, clock: datetime, due: datetime, ctx: _Context, rng: random.Random, now: datetime,
            submitted_at: datetime | None = None, D: Callable[[Any], Any] = _same) -> dict[str, Any]:
    # The owner drafts the record; head-office QA signs it, so the owner is someone else where anyone else works.
    owner = rng.choice(ctx.users.get(m[1]) or [u for u in ctx.hq_users if u not in ctx.approvers] or ctx.hq_users)
    return {
        "incident_id": incident_id, "obligation_id": obligation_id, "regime_code": code, "authority": code.split("-")[0],
        "title": title[:200], "kind": "initial", "period_label": "", "parent_id": None, "recall_id": None,
        "origin": "derived", "origin_reason": "The incident's facts trigger this obligation.", "state": state,
        "attention": "", "clock_start": D(clock), "due_at": D(due), "due_timezone": "UTC",
        "due_explanation": "Counted from the day the company became aware.", "is_legal_deadline": True, "owner_id": owner,
        "draft": {}, "missing_explanation": "", "drafted_at": None, "drafted_by_id": None, "approval_signature_id": None,
        "not_required_signature_id": None, "not_required_reason": "", "submitted_at": D(submitted_at),
        "submitted_by_id": owner if submitted_at else None, "channel": "portal" if submitted_at else "",
        "authority_reference": "", "document_id": None, "document_sha256": "",
        "acknowledged_at": D(submitted_at), "acknowledgement": "Received." if submitted_at else "",
        "created_at": D(min(clock, now)), "updated_at": D(now), "version": 1,
    }


def _lesson_variants(rows: list[dict[str, str]], n: int, rng: random.Random,
                     now: datetime) -> Iterator[tuple[dict[str, Any], tuple[str, str, str, str]]]:
    """n lessons as (column values, index fields): the sample's lessons, then copies of them with their own
    reference, division, year and publication day (their text, and so their index fields, unchanged)."""
    from qa_incidents.reviews.lessons import lesson_from_fda

    base: list[tuple[dict[str, Any], tuple[str, str, str, str]]] = []
    for row in rows:
        try:
            lesson = lesson_from_fda(row, now=now)
        except ValueError:
            continue
        base.append(({c: getattr(lesson, c) for c in LESSON_COLUMNS}, search.fields_of(lesson)))
    if not base:
        return
    divisions = ("", "Home Appliances", "Specialty Steel", "Cable & Materials", "Industrial Machinery")
    for i in range(n):
        values, fields = base[i % len(base)]
        if i >= len(base):
            values = {**values, "source": "synthetic", "source_ref": f"SYN-{i:07d}", "division": rng.choice(divisions),
                      "year": rng.randint(2007, now.year),
                      "published_at": now - timedelta(days=rng.randrange(0, 3650), seconds=rng.randrange(86400))}
        yield values, fields


LESSON_COLUMNS = ("source", "source_ref", "review_id", "title", "summary", "product", "product_category", "failure_mode",
                  "mechanism", "technical_cause", "process_cause", "framework_cause", "motivating_cause",
                  "cause_category", "cause_dimension", "process_stage", "countermeasures", "design_review_checks",
                  "division", "year", "published_at", "times_opened")


def _lessons(session: so.Session, conn: sa.Connection, plan: Plan, rng: random.Random, now: datetime,
             step: Progress) -> int:
    if plan.lessons <= 0:
        return 0
    existing = set(conn.scalars(sa.select(Lesson.source_ref)))
    first = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(Lesson.id), 0)))) + 1
    sqlite = conn.dialect.name == "sqlite"
    table = Lesson.__table__
    if sqlite:
        search.ensure_index(session)
        writer = _Writer(conn, table)
        fts = sa.text("INSERT INTO lesson_fts(rowid, title, failure, causes, body) VALUES (:id, :t, :f, :c, :b)")
    else:
        cfg = sa.literal_column(f"'{search.PG_CONFIG}'")
        vector = (sa.func.setweight(sa.func.to_tsvector(cfg, sa.bindparam("t")), sa.literal_column("'A'::\"char\"")).op("||")(
            sa.func.setweight(sa.func.to_tsvector(cfg, sa.bindparam("f")), sa.literal_column("'B'::\"char\""))).op("||")(
            sa.func.setweight(sa.func.to_tsvector(cfg, sa.bindparam("c")), sa.literal_column("'C'::\"char\""))).op("||")(
            sa.func.setweight(sa.func.to_tsvector(cfg, sa.bindparam("b")), sa.literal_column("'D'::\"char\""))))
        cols = [sa.column(c, table.c[c].type if isinstance(table.c[c].type, sa.JSON) else None)
                for c in ("id", *LESSON_COLUMNS)]
        pg_stmt = sa.insert(sa.table("lesson", *cols, sa.column("search_vector"))).values(search_vector=vector)
    made = 0
    rows: list[dict[str, Any]] = []
    index_rows: list[dict[str, Any]] = []
    # Asked for enough variants that the ones already present (the demo's sample lessons) can be skipped.
    for values, (t, f, c, b) in _lesson_variants(texts.lesson_rows(), plan.lessons + len(existing), rng, now):
        if made >= plan.lessons:
            break
        if values["source_ref"] in existing:
            continue
        ident = first + made
        made += 1
        if sqlite:
            writer.add({"id": ident, **values, "published_at": writer.dt(values["published_at"])})
            index_rows.append({"id": ident, "t": t, "f": f, "c": c, "b": b})
        else:
            rows.append({"id": ident, **values, "t": t, "f": f, "c": c, "b": b})
        if len(rows) + len(index_rows) >= BATCH:
            if sqlite:
                writer.flush()
                conn.execute(fts, index_rows)
            else:
                conn.execute(pg_stmt, rows)
            rows, index_rows = [], []
            step("lessons", BATCH)
    if sqlite:
        writer.flush()
        if index_rows:
            conn.execute(fts, index_rows)
    elif rows:
        conn.execute(pg_stmt, rows)
    if not sqlite:
        search.count_all_terms(session)  # the vectors were written here, not by index_lessons: count their terms
    step("lessons", made % BATCH)
    return made
