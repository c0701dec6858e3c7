"""The numbers top management compares: dashboard charts and the periodic portfolio report, scoped to what the
viewer may read (a division sees its own numbers; executives and head office see every division)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from markupsafe import Markup, escape

from qa_incidents.accounts.models import Division, User
from qa_incidents.core import freshness
from qa_incidents.core.charts import Chart, bar_chart
from qa_incidents.core.db import dialect_insert
from qa_incidents.core.pdf import FONTS
from qa_incidents.core.permissions import Capability, can, scope_key, scoped
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import (
    ENDED_STATUSES,
    HAZARD_TITLES,
    STATUS_TITLES,
    Hazard,
    Severity,
    Status,
)
from qa_incidents.incidents.service import visible
from qa_incidents.incidents.workflow_models import TriageDecision
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES
from qa_incidents.reports.models import DashboardFigures, StatusReport
from qa_incidents.reports.render import when

SEVERITIES = [s.value for s in Severity]
#: Triage SLA hours by severity (the same defaults as TRIAGE_SLA_HOURS).
TRIAGE_BUCKETS = [(0, 4, "≤ 4 h"), (4, 24, "4–24 h"), (24, 72, "1–3 days"), (72, 168, "3–7 days"), (168, None, "> 7 days")]
NOTIFY_BUCKETS = [(0, 24, "≤ 1 day"), (24, 72, "1–3 days"), (72, 168, "3–7 days"), (168, 336, "7–14 days"),
                  (336, None, "> 14 days")]


def _month(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _months_back(now: datetime, n: int) -> list[str]:
    year, month = now.year, now.month
    out = []
    for _i in range(n):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def _month_start(month: str) -> datetime:
    return datetime.fromisoformat(month + "-01T00:00:00+00:00")


def _next_month_start(now: datetime) -> datetime:
    return datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)


def _bucket(hours: float, buckets: list[tuple[float, float | None, str]]) -> str:
    """The bucket a duration falls in (the rule the SQL below follows: a negative duration falls in the last)."""
    for low, high, label in buckets:
        if hours >= low and (high is None or hours < high):
            return label
    return buckets[-1][2]


# --- counting in the database ---------------------------------------------------------------------------
# Durations are compared in whole microseconds, exactly as Python compares the timedeltas: SQLite keeps a
# datetime as "YYYY-MM-DD HH:MM:SS.ffffff" (seconds and microseconds read from the text);
# PostgreSQL's EXTRACT(epoch) is an exact numeric.

US_PER_HOUR = 3_600_000_000


def _epoch_us(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.extract("epoch", column) * 1_000_000
    # strftime() works in milliseconds and would round .9995 s up: whole seconds come from the text without them.
    return (sa.cast(sa.func.strftime("%s", sa.func.substr(column, 1, 19)), sa.BigInteger) * 1_000_000
            + sa.cast(sa.func.substr(column, 21, 6), sa.BigInteger))


def _bucket_case(duration_us: Any, buckets: list[tuple[float, float | None, str]]) -> Any:
    """The index of the bucket a duration falls in, as `_bucket` decides it."""
    last = len(buckets) - 1
    whens = [(duration_us < 0, last)]
    whens += [(duration_us < sa.literal(round(high * US_PER_HOUR), sa.BigInteger), i)
              for i, (_low, high, _label) in enumerate(buckets) if high is not None]
    return sa.case(*whens, else_=last)


def _dialect(session: so.Session) -> str:
    return session.get_bind().dialect.name


def _count_by_month(session: so.Session, user: User, now: datetime) -> list[list[Any]]:
    month = _month(Incident.aware_at, _dialect(session))
    stmt = visible(sa.select(month.label("m"), Incident.severity, sa.func.count())
                   .where(Incident.aware_at >= _month_start(_months_back(now, 12)[0])), user)
    return [[m, severity.value if severity else "untriaged", n]
            for m, severity, n in session.execute(stmt.group_by("m", Incident.severity))]


def _count_open(session: so.Session, user: User) -> list[list[Any]]:
    stmt = visible(sa.select(Division.name, Incident.status, sa.func.count()).join(Division, Division.id == Incident.division_id)
                   .where(Incident.status.notin_(ENDED_STATUSES)), user).group_by(Division.name, Incident.status)
    return [[division, status.value, n] for division, status, n in session.execute(stmt)]


def _count_triage(session: so.Session, user: User, sla_hours: dict[str, float]) -> dict[str, Any]:
    """Incidents by hours from awareness to the first severity decision, and how many within their SLA."""
    dialect = _dialect(session)
    first = (sa.select(TriageDecision.incident_id, sa.func.min(TriageDecision.decided_at).label("at"))
             .group_by(TriageDecision.incident_id).subquery())
    # The SLA of the incident's current severity; an untriaged severity counts as S4 (as TRIAGE_SLA_HOURS does).
    limit = sa.case(*[(Incident.severity == Severity(s), float(sla_hours.get(s, 168)) * US_PER_HOUR) for s in SEVERITIES],
                    else_=float(sla_hours.get("S4", 168)) * US_PER_HOUR)
    # Each duration worked out once per incident (OFFSET 0 keeps SQLite from copying the expression into every
    # branch of the CASE below), then bucketed.
    each = visible(sa.select((_epoch_us(first.c.at, dialect) - _epoch_us(Incident.aware_at, dialect)).label("us"),
                             limit.label("sla")).select_from(Incident).join(first, first.c.incident_id == Incident.id),
                   user).offset(0).subquery()
    bucket = _bucket_case(each.c.us, TRIAGE_BUCKETS).label("bucket")
    stmt = sa.select(bucket, sa.func.count(), sa.func.sum(sa.case((each.c.us <= each.c.sla, 1), else_=0))).group_by(bucket)
    counts = [0] * len(TRIAGE_BUCKETS)
    within = 0
    for index, n, inside in session.execute(stmt):
        counts[int(index)] += n
        within += int(inside or 0)
    return {"buckets": counts, "within": within, "total": sum(counts)}


def _count_notify(session: so.Session, user: User) -> list[int]:
    dialect = _dialect(session)
    taken = _epoch_us(NotificationRecord.submitted_at, dialect) - _epoch_us(NotificationRecord.clock_start, dialect)
    each = visible(sa.select(taken.label("us")).join(Incident, Incident.id == NotificationRecord.incident_id)
                   .where(NotificationRecord.submitted_at.is_not(None), NotificationRecord.clock_start.is_not(None)),
                   user).offset(0).subquery()
    bucket = _bucket_case(each.c.us, NOTIFY_BUCKETS).label("bucket")
    stmt = sa.select(bucket, sa.func.count()).group_by(bucket)
    counts = [0] * len(NOTIFY_BUCKETS)
    for index, n in session.execute(stmt):
        counts[int(index)] += n
    return counts


def _count_compliance(session: so.Session, user: User, now: datetime) -> list[list[Any]]:
    """Submitted reports by the month they were due (the 12 months shown): [month, on time, late]."""
    month = _month(NotificationRecord.due_at, _dialect(session)).label("m")
    late = sa.func.sum(sa.case((NotificationRecord.submitted_at > NotificationRecord.due_at, 1), else_=0))
    stmt = visible(sa.select(month, sa.func.count(), late).join(Incident, Incident.id == NotificationRecord.incident_id)
                   .where(NotificationRecord.submitted_at.is_not(None),
                          NotificationRecord.due_at >= _month_start(_months_back(now, 12)[0]),
                          NotificationRecord.due_at < _next_month_start(now)), user).group_by(month)
    return [[m, n - int(k or 0), int(k or 0)] for m, n, k in session.execute(stmt)]


def _count_overdue(session: so.Session, user: User, now: datetime) -> dict[str, int]:
    """Reports still owed past their deadline, by the month they were due. Counted at every view (the clock moves
    them, not a write) along the (state, due_at) index, scoped on the division the database copies onto each record:
    only the overdue index entries are read, and no incident."""
    from qa_incidents.notifications.records import open_records

    month = _month(NotificationRecord.due_at, _dialect(session)).label("m")
    stmt = open_records(sa.select(month, sa.func.count()).where(
        NotificationRecord.due_at >= _month_start(_months_back(now, 12)[0]), NotificationRecord.due_at < now), user=user)
    return {m: n for m, n in session.execute(stmt.group_by(month))}


def _count_hazards(session: so.Session, user: User) -> list[list[Any]]:
    stmt = visible(sa.select(Incident.hazard, sa.func.count()), user).group_by(Incident.hazard)
    return [[Hazard(h).value, n] for h, n in session.execute(stmt)]


def _count_causes(session: so.Session, user: User) -> list[list[Any]]:
    from qa_incidents.reviews.models import Review

    stmt = scoped(sa.select(Review.process_stage, sa.func.count()).group_by(Review.process_stage), user.actor,
                  Review.division_id)
    return [[stage or "", n] for stage, n in session.execute(stmt)]


def count_figures(session: so.Session, *, user: User, now: datetime, sla_hours: dict[str, float]) -> dict[str, Any]:
    """Every figure of the dashboard that only a write can change (for the viewer's scope, the month of `now`)."""
    return {"by_month": _count_by_month(session, user, now), "open": _count_open(session, user),
            "triage": _count_triage(session, user, sla_hours), "notify": _count_notify(session, user),
            "compliance": _count_compliance(session, user, now), "hazards": _count_hazards(session, user),
            "causes": _count_causes(session, user)}


# --- the figures, counted once per data version -----------------------------------------------------------
# Counting a million incidents takes seconds; the figures change only when a watched column is written. They are
# kept under the `dashboard` marker by the rule of core/freshness.py, in the database (dashboard_figures, shared by
# every worker and counted ahead by the scheduler) rather than in a process: the marker is read first, in the
# reader's own transaction, and figures are stored only if the committed marker is still the one read, checked in
# the storing transaction itself (from a connection of its own: the reader's transaction stays a reader). The key
# holds what else the figures depend on: the viewer's scope (all divisions, or one), the month of the 12-month charts
# and the SLA hours. Figures that move with the clock (overdue reports) are counted every time.

VERSION = "dashboard"


def data_version(session: so.Session) -> int | None:
    """The `dashboard` marker's value; None before the first view made its row (or after the tables were emptied)."""
    return freshness.value(session, VERSION)


def _figures_key(user: User, now: datetime, sla_hours: dict[str, float]) -> str:
    # Every figure (incidents, reviews, notifications) is counted within readable_divisions: one scope for all.
    sla = ",".join(f"{k}={float(v):g}" for k, v in sorted(sla_hours.items()))
    return f"v2|{scope_key(user.actor)}|{now:%Y-%m}|{sla}"[:200]


def figures(session: so.Session, *, user: User, now: datetime, sla_hours: dict[str, float]) -> dict[str, Any]:
    """The dashboard's figures for this viewer: the stored ones if counted at the current data version, else counted
    now (and stored for the next viewer of the same scope)."""
    version = data_version(session)
    if version is None and _make_version_row(session):
        # The very first view: a write committed before the row existed raised nothing, so count in a
        # transaction that starts after the row was made, and keep what it counts.
        with so.Session(bind=session.get_bind()) as fresh:
            return figures(fresh, user=user, now=now, sla_hours=sla_hours)
    key = _figures_key(user, now, sla_hours)
    if version is not None:
        found = session.execute(sa.select(DashboardFigures.version, DashboardFigures.figures)
                                .where(DashboardFigures.key == key)).first()
        if found is not None and found.version == version:
            return dict(found.figures)
    counted = count_figures(session, user=user, now=now, sla_hours=sla_hours)
    if version is not None:
        _store(session, key=key, version=version, counted=counted, now=now)
    return counted


def refresh(session_factory: Any, *, now: datetime, sla_hours: dict[str, float] | None = None) -> int:
    """Count again the figures of every viewing scope whose stored figures are older than the data, so that views
    find them ready (for the scheduler, and after a bulk load). Returns how many scopes were counted."""
    sla = sla_hours or DEFAULT_TRIAGE_SLA_HOURS
    with session_factory() as session:
        viewers: dict[str, User] = {}
        for viewer in session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)):
            if can(viewer.actor, Capability.READ_REPORTS):
                viewers.setdefault(_figures_key(viewer, now, sla), viewer)
    counted = 0
    for key, viewer in viewers.items():
        with session_factory() as session:
            version = data_version(session)
            stored = session.scalar(sa.select(DashboardFigures.version).where(DashboardFigures.key == key))
            if version is None or stored != version:
                figures(session, user=viewer, now=now, sla_hours=sla)
                counted += 1
    return counted


def _writer(session: so.Session) -> Any:
    """A connection of the dashboard's own for keeping figures (the reader's transaction stays a reader), which on
    SQLite waits at most 200 ms for the write lock: keeping figures is only a saving."""
    engine = session.get_bind()
    conn = engine.connect()  # type: ignore[union-attr]
    if engine.dialect.name == "sqlite":
        conn.connection.driver_connection.execute("PRAGMA busy_timeout = 200")  # type: ignore[union-attr]
    return conn


def _release(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.execute("PRAGMA busy_timeout = 30000")
    conn.close()


def _make_version_row(session: so.Session) -> bool:
    """Make the marker's row; False if the database is busy."""
    return freshness.make_missing(session, VERSION)


def _store(session: so.Session, *, key: str, version: int, counted: dict[str, Any], now: datetime) -> None:
    """Keep the figures for the next viewer, unless the committed version is no longer the reader's (then they
    may include the reader's own uncommitted writes, or be older than the data) or the database is busy."""
    insert = dialect_insert(session)
    upsert = insert(DashboardFigures).values(key=key, version=version, figures=counted, counted_at=now)
    upsert = upsert.on_conflict_do_update(index_elements=["key"], set_={
        "version": upsert.excluded.version, "figures": upsert.excluded.figures, "counted_at": upsert.excluded.counted_at})
    conn = _writer(session)
    try:
        with conn.begin():
            if freshness.value(conn, VERSION) == version:  # the committed marker is still the one read
                conn.execute(upsert)
    except sa.exc.OperationalError:
        return
    finally:
        _release(conn)


# --- the charts, drawn from the figures in the viewer's language ------------------------------------------


def _chart_by_month(rows_in: list[list[Any]], now: datetime) -> Chart:
    months = _months_back(now, 12)
    counts = {(m, k): n for m, k, n in rows_in}
    keys = [*SEVERITIES, "untriaged"]
    rows = [[m, *[counts.get((m, k), 0) for k in keys]] for m in months]
    chart = Chart("incidents_by_month", _("Incidents by month and severity"),
                  _("Incidents by the month the company became aware, last 12 months, stacked by severity."),
                  ["month", *keys], rows)
    chart.svg = bar_chart(months, [(k, [r[i + 1] for r in rows]) for i, k in enumerate(keys)], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def _chart_open(rows_in: list[list[Any]]) -> Chart:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for division, status, n in rows_in:
        counts[division][status] += n
    states = [s.value for s in Status if s not in ENDED_STATUSES]
    divisions = sorted(counts)
    rows = [[d, *[counts[d][s] for s in states]] for d in divisions]
    chart = Chart("open_by_division", _("Open incidents by division and state"),
                  _("Every live incident not closed (imported history left out), by division, stacked by state."), ["division", *states], rows)
    chart.svg = bar_chart(divisions, [(str(STATUS_TITLES[Status(s)]), [r[i + 1] for r in rows]) for i, s in enumerate(states)],
                          title=chart.title, description=chart.description, chart_id=chart.name)
    return chart


def _chart_triage(data: dict[str, Any]) -> Chart:
    labels = [b[2] for b in TRIAGE_BUCKETS]
    rows = [[label, n] for label, n in zip(labels, data["buckets"], strict=True)]
    within, total = data["within"], data["total"]
    chart = Chart("time_to_triage", _("Time to triage"),
                  _("Hours from the company becoming aware to the first severity decision."), ["hours", "incidents"], rows,
                  notes=[_("%(within)d of %(total)d triaged within their SLA (%(pct)s).", within=within, total=total,
                           pct=f"{100 * within / total:.0f} %" if total else "—")])
    chart.svg = bar_chart(labels, [(_("incidents"), [r[1] for r in rows])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def _chart_notify(counts: list[int]) -> Chart:
    labels = [b[2] for b in NOTIFY_BUCKETS]
    rows = [[label, n] for label, n in zip(labels, counts, strict=True)]
    chart = Chart("time_to_notify", _("Time to notify authorities"),
                  _("From the company becoming aware to the regulator report's submission."), ["time", "reports"], rows)
    chart.svg = bar_chart(labels, [(_("reports"), [r[1] for r in rows])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def _chart_compliance(rows_in: list[list[Any]], overdue: dict[str, int], now: datetime) -> Chart:
    months = _months_back(now, 12)
    on_time = {m: a for m, a, _b in rows_in}
    late = {m: b for m, _a, b in rows_in}
    rows = []
    for m in months:
        a, b, c = on_time.get(m, 0), late.get(m, 0), overdue.get(m, 0)
        done = a + b + c
        rows.append([m, a, b, c, f"{100 * a / done:.0f}" if done else ""])
    chart = Chart("deadline_compliance", _("Regulator deadline compliance"),
                  _("Reports by the month they were due: on time, late, and still open past the deadline."),
                  ["month", "on_time", "late", "overdue_open", "on_time_pct"], rows)
    chart.svg = bar_chart(months, [(_("on time"), [r[1] for r in rows]), (_("late"), [r[2] for r in rows]),
                                   (_("overdue, not submitted"), [r[3] for r in rows])],
                          title=chart.title, description=chart.description, chart_id=chart.name)
    return chart


def _chart_hazards(rows_in: list[list[Any]]) -> Chart:
    counts = Counter({str(HAZARD_TITLES[Hazard(h)]): n for h, n in rows_in})
    return _pareto("failure_modes", _("Pareto of hazards"), _("Incidents by hazard type, largest first, with the "
                                                              "cumulative share."), counts)


def _chart_causes(rows_in: list[list[Any]]) -> Chart:
    counts = Counter({(stage or "not stated"): n for stage, n in rows_in})
    return _pareto("causes", _("Pareto of causes"), _("OCHIBO-HIROI reviews by the process stage where the failure "
                                                       "was introduced."), counts)


def table_rows(chart: Chart) -> Markup:
    """The chart's rows as HTML table rows, every cell escaped, joined in one go: a template loop costs a call per
    cell, and the recall curves alone have over a thousand rows."""
    return Markup("".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"  # nosec B704
                          for row in chart.rows))


def incidents_by_month(session: so.Session, user: User, now: datetime) -> Chart:
    return _chart_by_month(_count_by_month(session, user, now), now)


def open_by_division(session: so.Session, user: User) -> Chart:
    return _chart_open(_count_open(session, user))


def time_to_triage(session: so.Session, user: User, sla_hours: dict[str, float]) -> Chart:
    return _chart_triage(_count_triage(session, user, sla_hours))


def time_to_notify(session: so.Session, user: User) -> Chart:
    return _chart_notify(_count_notify(session, user))


def deadline_compliance(session: so.Session, user: User, now: datetime) -> Chart:
    return _chart_compliance(_count_compliance(session, user, now), _count_overdue(session, user, now), now)


def _pareto(name: str, title: str, description: str, counts: Counter[str]) -> Chart:
    ordered = counts.most_common()
    total = sum(counts.values())
    running = 0
    rows = []
    for label, n in ordered:
        running += n
        rows.append([label, n, f"{100 * running / total:.1f}" if total else "0"])
    chart = Chart(name, title, description, ["category", "count", "cumulative_pct"], rows)
    chart.svg = bar_chart([r[0] for r in rows], [(_("count"), [r[1] for r in rows])], title=title,
                          description=description, chart_id=name,
                          line=(_("cumulative share"), [float(r[2]) for r in rows]))
    return chart


def failure_modes(session: so.Session, user: User) -> Chart:
    return _chart_hazards(_count_hazards(session, user))


def causes(session: so.Session, user: User) -> Chart:
    """Root causes from approved and draft reviews: the stage where the failure was introduced."""
    return _chart_causes(_count_causes(session, user))


DEFAULT_TRIAGE_SLA_HOURS = {"S1": 4, "S2": 24, "S3": 72, "S4": 168}


def charts(session: so.Session, *, user: User, now: datetime,
           triage_sla_hours: dict[str, float] | None = None) -> list[Chart]:
    """The dashboard: the stored figures of the current data version (or counted now), the overdue reports and
    the recall curves counted now, drawn in the viewer's language."""
    sla = triage_sla_hours or DEFAULT_TRIAGE_SLA_HOURS
    found = figures(session, user=user, now=now, sla_hours=sla)
    drawn = [_chart_by_month(found["by_month"], now), _chart_open(found["open"]), _chart_triage(found["triage"]),
             _chart_notify(found["notify"]),
             _chart_compliance(found["compliance"], _count_overdue(session, user, now), now),
             _chart_hazards(found["hazards"]), _chart_causes(found["causes"])]
    drawn.append(closed_without_review(session, user))
    recall = _recall_chart(session, user, now)
    if recall is not None:
        drawn.append(recall)
    from qa_incidents.complaints import dashboard as complaints

    return drawn + complaints.charts(session, user=user, now=now)


#: The gap list shows at most this many incidents (the count and the division totals cover all of them).
GAP_LIST_LIMIT = 200


def _no_approved_review() -> Any:
    """Incidents with no approved review (for S3/S4 any approved review suffices: a short one is theirs)."""
    from qa_incidents.reviews.models import Review, ReviewIncident
    from qa_incidents.reviews.rules import ReviewStatus

    return ~sa.exists(sa.select(ReviewIncident.review_id).join(Review, Review.id == ReviewIncident.review_id)
                      .where(ReviewIncident.incident_id == Incident.id, Review.status == ReviewStatus.APPROVED))


#: The gap's counts and list, per viewer scope, kept under the dashboard's marker (which moves on every write they
#: are counted from: an incident's status, severity, division, reference or title, a review's status, a link).
_GAP_KEPT = freshness.Kept(VERSION, size=64)


def _count_gap(session: so.Session, user: User) -> tuple[dict[str, int], list[tuple[object, ...]]]:
    minor = (Incident.status == Status.CLOSED, Incident.severity.in_([Severity.S3, Severity.S4]), _no_approved_review())
    by_division = dict(session.execute(visible(
        sa.select(Division.name, sa.func.count()).select_from(Incident)
        .join(Division, Division.id == Incident.division_id).where(*minor),
        user).group_by(Division.name)).all())
    listed = session.execute(visible(
        sa.select(Incident.reference, Division.name, Incident.severity, Incident.title)
        .join(Division, Division.id == Incident.division_id).where(*minor), user)
        .order_by(Incident.aware_at.desc(), Incident.id.desc()).limit(GAP_LIST_LIMIT)).all()
    return ({str(d): int(n) for d, n in by_division.items()},
            [(ref, division, severity.value if severity else "", title) for ref, division, severity, title in listed])


def closed_without_review(session: so.Session, user: User) -> Chart:
    """The gap in the gleaning: closed S3/S4 incidents without an approved review, by division, and the list (newest
    first). Kept until the dashboard's marker moves: a review approved or an incident closed shows at once."""
    by_division, kept = _GAP_KEPT.get(session, ("gap", scope_key(user.actor)), lambda: _count_gap(session, user))
    rows = [list(row) for row in kept]  # copies: what is kept is shared by every request
    total = sum(by_division.values())
    notes = [_("%(n)d closed S3/S4 incident(s) without an approved review.", n=total)]
    if total > len(rows):
        notes.append(_("The table lists the %(shown)d most recent.", shown=len(rows)))
    chart = Chart("closed_without_review", _("Closed without review"),
                  _("Closed S3/S4 incidents that no approved review covers: each one is a lesson not gleaned."),
                  ["reference", "division", "severity", "title"], rows, notes=notes)
    divisions = sorted(by_division)
    chart.svg = bar_chart(divisions, [(_("incidents"), [by_division[d] for d in divisions])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def _launched_recalls(session: so.Session, user: User) -> list[Any]:
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.models import RecallCampaign

    stmt = recalls.visible(sa.select(RecallCampaign).where(RecallCampaign.launched_at.is_not(None)), user)
    return list(session.scalars(stmt.order_by(RecallCampaign.launched_at.desc()).limit(8)))


def _recall_chart(session: so.Session, user: User, now: datetime) -> Chart | None:
    """Completion curves of the most recent recalls: share of affected units remedied, week by week."""
    from qa_incidents.core.svgchart import Series, Target, line_chart
    from qa_incidents.recalls import service as recalls

    found = _launched_recalls(session, user)
    if not found:
        return None
    rows: list[list[object]] = []
    series = []
    for recall, p in zip(found, recalls.progresses(session, found, today=now.date()), strict=True):
        points = [(day, 100 * n / recall.units_affected if recall.units_affected else 0.0) for day, n in p.curve]
        series.append(Series(recall.reference, points))
        rows += [[recall.reference, day.isoformat(), n, f"{pct:.1f}"] for (day, n), (_d, pct) in zip(p.curve, points, strict=True)]
    chart = Chart("recall_completion", _("Recall completion"),
                  _("Share of affected units remedied, week by week since launch, for the latest recalls."),
                  ["recall", "week", "units_remedied", "percent"], rows)
    chart.svg = line_chart(series, title=chart.title, description=chart.description, target=Target(_("100 %"), 100),
                           y_label="%", chart_id=chart.name)
    return chart


def recall_lines(session: so.Session, user: User, now: datetime) -> list[dict[str, Any]]:
    from qa_incidents.recalls import service as recalls

    lines = []
    found = _launched_recalls(session, user)
    for recall, p in zip(found, recalls.progresses(session, found, today=now.date()), strict=True):
        lines.append({"reference": recall.reference, "rate": p.rate, "text": (
            f"{recall.reference} {recall.title} ({recall.status}): {p.totals.remedied:,} of {recall.units_affected:,} "
            f"remedied, {100 * p.rate:.1f} % (target {recall.target_percent} %)"
            + (f", no progress since {p.stalled_since}" if p.stalled_since else ""))})
    return lines


@dataclass
class Portfolio:
    start: datetime
    end: datetime
    open_by_division_severity: list[list[object]]
    new: int
    closed: int
    overdue_notifications: list[NotificationRecord]
    recalls: list[dict[str, Any]]
    reviews_pending: int
    top_hazards: list[tuple[str, int]]


def portfolio(session: so.Session, *, user: User, start: datetime, end: datetime) -> Portfolio:
    stmt = visible(sa.select(Division.name, Incident.severity, sa.func.count()).join(Division, Division.id == Incident.division_id)
                   .where(Incident.status.notin_(ENDED_STATUSES)), user).group_by(Division.name, Incident.severity)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for division, severity, n in session.execute(stmt):
        table[division][severity.value if severity else "untriaged"] += n
    keys = [*SEVERITIES, "untriaged"]
    rows: list[list[object]] = [[d, *[table[d][k] for k in keys], sum(table[d].values())] for d in sorted(table)]
    # New live incidents by the time they were filed: imported history is dated by when it happened, not counted
    # as new on the day it was imported.
    new = session.scalar(visible(sa.select(sa.func.count()).select_from(Incident)
                                 .where(Incident.created_at >= start, Incident.created_at < end,
                                        Incident.status != Status.HISTORICAL), user)) or 0
    closed_ids = _closed_between(session, start, end)
    closed = session.scalar(visible(sa.select(sa.func.count()).select_from(Incident)
                                    .where(Incident.id.in_(closed_ids)), user)) if closed_ids else 0
    overdue = list(session.scalars(visible(
        sa.select(NotificationRecord).join(Incident, Incident.id == NotificationRecord.incident_id)
        .where(NotificationRecord.state.in_([s.value for s in OPEN_STATES]), NotificationRecord.due_at < end), user)
        .order_by(NotificationRecord.due_at)))
    from qa_incidents.reviews.models import Review
    from qa_incidents.reviews.rules import ReviewStatus

    pending_stmt = scoped(sa.select(sa.func.count()).select_from(Review).where(Review.status != ReviewStatus.APPROVED),
                          user.actor, Review.division_id)
    hazards = Counter({str(HAZARD_TITLES[Hazard(h)]): n for h, n in session.execute(
        visible(sa.select(Incident.hazard, sa.func.count()).where(Incident.aware_at >= start - timedelta(days=365)),
                user).group_by(Incident.hazard))})
    recalls = recall_lines(session, user, end)
    return Portfolio(start, end, [["division", *keys, "total"], *rows], new, closed or 0, overdue, recalls,
                     session.scalar(pending_stmt) or 0, hazards.most_common(5))


def _closed_between(session: so.Session, start: datetime, end: datetime) -> list[int]:
    from qa_incidents.core.audit import AuditEvent

    return list(session.scalars(sa.select(AuditEvent.incident_id).where(
        AuditEvent.action == "close", AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end)))


def portfolio_pdf(p: Portfolio, *, zone: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4", orientation="L")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(width, 8, f"Quality portfolio report {when(p.start.isoformat(), zone)} – {when(p.end.isoformat(), zone)}")
    pdf.set_font("DejaVu", "", 9.5)
    pdf.multi_cell(width, 5, f"New incidents: {p.new} · closed: {p.closed} · overdue regulator notifications: "
                             f"{len(p.overdue_notifications)} · reviews pending: {p.reviews_pending}")
    pdf.ln(2)
    header, *rows = p.open_by_division_severity
    col = width / len(header)
    pdf.set_font("DejaVu", "B", 9.5)
    for h in header:
        pdf.cell(col, 6, str(h), border=1)
    pdf.ln()
    pdf.set_font("DejaVu", "", 9.5)
    for row in rows:
        for v in row:
            pdf.cell(col, 6, str(v), border=1)
        pdf.ln()
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.multi_cell(width, 6, "Overdue regulator notifications")
    pdf.set_font("DejaVu", "", 9.5)
    for r in p.overdue_notifications or []:
        pdf.multi_cell(width, 5, f"{r.incident.reference} {r.regime_code} to {r.authority}: due {when(r.due_at.isoformat(), zone)}")
    if not p.overdue_notifications:
        pdf.multi_cell(width, 5, "none")
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.multi_cell(width, 6, "Recalls")
    pdf.set_font("DejaVu", "", 9.5)
    for r in p.recalls or [{"text": "none open"}]:
        pdf.multi_cell(width, 5, str(r.get("text", r)))
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.multi_cell(width, 6, "Top hazards (last 12 months)")
    pdf.set_font("DejaVu", "", 9.5)
    for name, n in p.top_hazards:
        pdf.multi_cell(width, 5, f"{name}: {n}")
    return bytes(pdf.output())


def recent_reports(session: so.Session, *, user: User, limit: int) -> list[StatusReport]:
    stmt = visible(sa.select(StatusReport).join(Incident, Incident.id == StatusReport.incident_id), user)
    return list(session.scalars(stmt.order_by(StatusReport.issued_at.desc(), StatusReport.id.desc()).limit(limit)))
