"""The numbers top management compares: dashboard charts and the periodic portfolio report, scoped to what the
viewer may read (a division sees its own numbers; executives and head office see every division)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from fpdf import FPDF

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import HAZARD_TITLES, STATUS_TITLES, Hazard, Severity, Status
from qa_incidents.incidents.service import visible
from qa_incidents.incidents.workflow_models import TriageDecision
from qa_incidents.notifications.documents import FONTS
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES
from qa_incidents.reports.charts import Chart, bar_chart
from qa_incidents.reports.models import StatusReport
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


def _bucket(hours: float, buckets: list[tuple[float, float | None, str]]) -> str:
    for low, high, label in buckets:
        if hours >= low and (high is None or hours < high):
            return label
    return buckets[-1][2]


def incidents_by_month(session: so.Session, user: User, now: datetime) -> Chart:
    months = _months_back(now, 12)
    month = _month(Incident.aware_at, session.get_bind().dialect.name)
    since = datetime.fromisoformat(months[0] + "-01T00:00:00+00:00")
    stmt = visible(sa.select(month.label("m"), Incident.severity, sa.func.count()).where(Incident.aware_at >= since), user)
    counts: dict[tuple[str, str], int] = {}
    for m, severity, n in session.execute(stmt.group_by("m", Incident.severity)):
        counts[(m, severity.value if severity else "untriaged")] = n
    keys = [*SEVERITIES, "untriaged"]
    rows = [[m, *[counts.get((m, k), 0) for k in keys]] for m in months]
    chart = Chart("incidents_by_month", _("Incidents by month and severity"),
                  _("Incidents by the month the company became aware, last 12 months, stacked by severity."),
                  ["month", *keys], rows)
    chart.svg = bar_chart(months, [(k, [r[i + 1] for r in rows]) for i, k in enumerate(keys)], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def open_by_division(session: so.Session, user: User) -> Chart:
    stmt = visible(sa.select(Division.name, Incident.status, sa.func.count()).join(Division, Division.id == Incident.division_id)
                   .where(Incident.status != Status.CLOSED), user).group_by(Division.name, Incident.status)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for division, status, n in session.execute(stmt):
        counts[division][status.value] += n
    states = [s.value for s in Status if s != Status.CLOSED]
    divisions = sorted(counts)
    rows = [[d, *[counts[d][s] for s in states]] for d in divisions]
    chart = Chart("open_by_division", _("Open incidents by division and state"),
                  _("Every incident not closed, by division, stacked by state."), ["division", *states], rows)
    chart.svg = bar_chart(divisions, [(str(STATUS_TITLES[Status(s)]), [r[i + 1] for r in rows]) for i, s in enumerate(states)],
                          title=chart.title, description=chart.description, chart_id=chart.name)
    return chart


def time_to_triage(session: so.Session, user: User, sla_hours: dict[str, float]) -> Chart:
    first = (sa.select(TriageDecision.incident_id, sa.func.min(TriageDecision.decided_at).label("at"))
             .group_by(TriageDecision.incident_id).subquery())
    stmt = visible(sa.select(Incident.aware_at, first.c.at, Incident.severity)
                   .join(first, first.c.incident_id == Incident.id), user)
    buckets: Counter[str] = Counter()
    within = total = 0
    for aware, at, severity in session.execute(stmt):
        hours = (at - aware).total_seconds() / 3600
        buckets[_bucket(hours, TRIAGE_BUCKETS)] += 1
        total += 1
        within += hours <= float(sla_hours.get(severity.value if severity else "S4", 168))
    labels = [b[2] for b in TRIAGE_BUCKETS]
    rows = [[label, buckets[label]] for label in labels]
    chart = Chart("time_to_triage", _("Time to triage"),
                  _("Hours from the company becoming aware to the first severity decision."), ["hours", "incidents"], rows,
                  notes=[_("%(within)d of %(total)d triaged within their SLA (%(pct)s).", within=within, total=total,
                           pct=f"{100 * within / total:.0f} %" if total else "—")])
    chart.svg = bar_chart(labels, [(_("incidents"), [r[1] for r in rows])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def _submitted(session: so.Session, user: User) -> list[tuple[datetime | None, datetime | None, datetime]]:
    stmt = visible(sa.select(NotificationRecord.clock_start, NotificationRecord.due_at, NotificationRecord.submitted_at)
                   .join(Incident, Incident.id == NotificationRecord.incident_id)
                   .where(NotificationRecord.submitted_at.is_not(None)), user)
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def time_to_notify(session: so.Session, user: User) -> Chart:
    buckets: Counter[str] = Counter()
    for start, _due, submitted in _submitted(session, user):
        if start is not None:
            buckets[_bucket((submitted - start).total_seconds() / 3600, NOTIFY_BUCKETS)] += 1
    labels = [b[2] for b in NOTIFY_BUCKETS]
    rows = [[label, buckets[label]] for label in labels]
    chart = Chart("time_to_notify", _("Time to notify authorities"),
                  _("From the company becoming aware to the regulator report's submission."), ["time", "reports"], rows)
    chart.svg = bar_chart(labels, [(_("reports"), [r[1] for r in rows])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def deadline_compliance(session: so.Session, user: User, now: datetime) -> Chart:
    months = _months_back(now, 12)
    on_time: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for _start, due, submitted in _submitted(session, user):
        if due is None:
            continue
        key = f"{due:%Y-%m}"
        (late if submitted > due else on_time)[key] += 1
    overdue_stmt = visible(sa.select(NotificationRecord.due_at).join(Incident, Incident.id == NotificationRecord.incident_id)
                           .where(NotificationRecord.state.in_([s.value for s in OPEN_STATES]),
                                  NotificationRecord.due_at < now), user)
    overdue: Counter[str] = Counter(f"{d:%Y-%m}" for d in session.scalars(overdue_stmt))
    rows = []
    for m in months:
        done = on_time[m] + late[m] + overdue[m]
        rows.append([m, on_time[m], late[m], overdue[m], f"{100 * on_time[m] / done:.0f}" if done else ""])
    chart = Chart("deadline_compliance", _("Regulator deadline compliance"),
                  _("Reports by the month they were due: on time, late, and still open past the deadline."),
                  ["month", "on_time", "late", "overdue_open", "on_time_pct"], rows)
    chart.svg = bar_chart(months, [(_("on time"), [r[1] for r in rows]), (_("late"), [r[2] for r in rows]),
                                   (_("overdue, not submitted"), [r[3] for r in rows])],
                          title=chart.title, description=chart.description, chart_id=chart.name)
    return chart


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
    stmt = visible(sa.select(Incident.hazard, sa.func.count()), user).group_by(Incident.hazard)
    counts = Counter({str(HAZARD_TITLES[Hazard(h)]): n for h, n in session.execute(stmt)})
    return _pareto("failure_modes", _("Pareto of hazards"), _("Incidents by hazard type, largest first, with the "
                                                              "cumulative share."), counts)


def causes(session: so.Session, user: User) -> Chart:
    """Root causes from approved and draft reviews: the stage where the failure was introduced."""
    from qa_incidents.reviews.models import Review

    stmt = sa.select(Review.process_stage, sa.func.count()).group_by(Review.process_stage)
    if not can(user.actor, Capability.READ_ALL_DIVISIONS):
        stmt = stmt.where(Review.division_id == user.division_id)
    counts = Counter({(stage or "not stated"): n for stage, n in session.execute(stmt)})
    return _pareto("causes", _("Pareto of causes"), _("OCHIBO-HIROI reviews by the process stage where the failure "
                                                       "was introduced."), counts)


def charts(session: so.Session, *, user: User, now: datetime,
           triage_sla_hours: dict[str, float] | None = None) -> list[Chart]:
    sla = triage_sla_hours or {"S1": 4, "S2": 24, "S3": 72, "S4": 168}
    found = [incidents_by_month(session, user, now), open_by_division(session, user), time_to_triage(session, user, sla),
             time_to_notify(session, user), deadline_compliance(session, user, now), failure_modes(session, user),
             causes(session, user)]
    recall = _recall_chart(session, user, now)
    if recall is not None:
        found.append(recall)
    return found


def _launched_recalls(session: so.Session, user: User) -> list[Any]:
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.models import RecallCampaign

    stmt = recalls.visible(sa.select(RecallCampaign).where(RecallCampaign.launched_at.is_not(None)), user)
    return list(session.scalars(stmt.order_by(RecallCampaign.launched_at.desc()).limit(8)))


def _recall_chart(session: so.Session, user: User, now: datetime) -> Chart | None:
    """Completion curves of the most recent recalls: share of affected units remedied, week by week."""
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.svgchart import Series, Target, line_chart

    found = _launched_recalls(session, user)
    if not found:
        return None
    rows: list[list[object]] = []
    series = []
    for recall in found:
        p = recalls.progress(session, recall, today=now.date())
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
    for recall in _launched_recalls(session, user):
        p = recalls.progress(session, recall, today=now.date())
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
                   .where(Incident.status != Status.CLOSED), user).group_by(Division.name, Incident.severity)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for division, severity, n in session.execute(stmt):
        table[division][severity.value if severity else "untriaged"] += n
    keys = [*SEVERITIES, "untriaged"]
    rows: list[list[object]] = [[d, *[table[d][k] for k in keys], sum(table[d].values())] for d in sorted(table)]
    new = session.scalar(visible(sa.select(sa.func.count()).select_from(Incident)
                                 .where(Incident.created_at >= start, Incident.created_at < end), user)) or 0
    closed_ids = _closed_between(session, start, end)
    closed = session.scalar(visible(sa.select(sa.func.count()).select_from(Incident)
                                    .where(Incident.id.in_(closed_ids)), user)) if closed_ids else 0
    overdue = list(session.scalars(visible(
        sa.select(NotificationRecord).join(Incident, Incident.id == NotificationRecord.incident_id)
        .where(NotificationRecord.state.in_([s.value for s in OPEN_STATES]), NotificationRecord.due_at < end), user)
        .order_by(NotificationRecord.due_at)))
    from qa_incidents.reviews.models import Review
    from qa_incidents.reviews.rules import ReviewStatus

    pending_stmt = sa.select(sa.func.count()).select_from(Review).where(Review.status != ReviewStatus.APPROVED)
    if not can(user.actor, Capability.READ_ALL_DIVISIONS):
        pending_stmt = pending_stmt.where(Review.division_id == user.division_id)
    hazards = Counter({str(HAZARD_TITLES[Hazard(h)]): n for h, n in session.execute(
        visible(sa.select(Incident.hazard, sa.func.count()).where(Incident.created_at >= start - timedelta(days=365)),
                user).group_by(Incident.hazard))})
    recalls = recall_lines(session, user, end)
    return Portfolio(start, end, [["division", *keys, "total"], *rows], new, closed or 0, overdue, recalls,
                     session.scalar(pending_stmt) or 0, hazards.most_common(5))


def _closed_between(session: so.Session, start: datetime, end: datetime) -> list[int]:
    from qa_incidents.core.audit import AuditEvent

    return list(session.scalars(sa.select(AuditEvent.incident_id).where(
        AuditEvent.action == "close", AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end)))


def portfolio_pdf(p: Portfolio, *, zone: str) -> bytes:
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
    return list(session.scalars(stmt.order_by(StatusReport.issued_at.desc()).limit(limit)))
