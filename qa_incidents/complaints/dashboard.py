"""The complaints part of the quality dashboard: complaints per model and symptom over time, the open signals, and the
time from a model's first complaint to the incident filed from it; scoped as the complaints are."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from qa_incidents.accounts.models import User
from qa_incidents.complaints import rules
from qa_incidents.complaints.models import Complaint, ComplaintSignal
from qa_incidents.complaints.service import visible
from qa_incidents.core.charts import Chart, bar_chart
from qa_incidents.core.svgchart import Series, line_chart
from qa_incidents.incidents.models import Incident

WEEKS = 12  # weeks of complaints drawn
TOP_SERIES = 6  # model and symptom pairs drawn (the most complained about)
#: From the first complaint behind an incident to its filing (hours).
LEAD_BUCKETS = [(0, 24, "≤ 1 day"), (24, 168, "1–7 days"), (168, 672, "1–4 weeks"), (672, 2160, "1–3 months"),
                (2160, None, "> 3 months")]


def _per_week(session: so.Session, user: User, now: datetime) -> Chart:
    first = rules.week_of(now) - timedelta(weeks=WEEKS - 1)
    stmt = visible(sa.select(Complaint.model, Complaint.symptom, Complaint.week_start, sa.func.count())
                   .where(Complaint.week_start >= first, Complaint.symptom != ""), user)
    counts: dict[tuple[str, str], dict[Any, int]] = defaultdict(dict)
    for model, symptom, week, n in session.execute(
            stmt.group_by(Complaint.week_start, Complaint.model, Complaint.symptom)):
        counts[(model, symptom)][week] = counts[(model, symptom)].get(week, 0) + n
    top = sorted(counts, key=lambda k: (-sum(counts[k].values()), k))[:TOP_SERIES]
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    rows: list[list[object]] = [[f"{m} — {s}", w.isoformat(), counts[(m, s)].get(w, 0)] for m, s in top for w in weeks]
    chart = Chart("complaints_by_week", _("Complaints per model and symptom"),
                  _("Complaints per week for the %(n)d model and symptom pairs with the most complaints in the last "
                    "%(weeks)d weeks.", n=TOP_SERIES, weeks=WEEKS), ["series", "week", "complaints"], rows)
    if not top:
        chart.notes.append(_("No complaints with a symptom code in these weeks."))
    chart.svg = line_chart([Series(f"{m} — {s}", [(w, counts[(m, s)].get(w, 0)) for w in weeks]) for m, s in top],
                           title=chart.title, description=chart.description, chart_id=chart.name)
    return chart


def _open_signals(session: so.Session, user: User) -> Chart:
    stmt = visible(sa.select(ComplaintSignal).where(ComplaintSignal.status == rules.SignalStatus.OPEN), user,
                   ComplaintSignal.division_id)
    found = list(session.scalars(stmt.order_by(ComplaintSignal.observed.desc(), ComplaintSignal.id).limit(20)))
    rows: list[list[object]] = [[f"{s.model} — {s.symptom}", s.week_start.isoformat(), s.observed,
                                 round(s.expected, 2), f"{s.p_value:.2g}", s.reason] for s in found]
    chart = Chart("complaint_signals_open", _("Open complaint signals"),
                  _("Model and symptom pairs complaining more than their own history says they should, waiting for "
                    "QA to promote or dismiss them: complaints in the weeks in alarm against the weekly baseline."),
                  ["signal", "week", "observed", "expected_per_week", "p_value", "method"], rows)
    if not found:
        chart.notes.append(_("No open signals."))
    chart.svg = bar_chart([str(r[0]) for r in rows], [(_("complaints in alarm"), [float(s.observed) for s in found]),
                                                      (_("expected per week"), [float(s.expected) for s in found])],
                          title=chart.title, description=chart.description, stacked=False, chart_id=chart.name)
    return chart


def _lead_time(session: so.Session, user: User) -> Chart:
    first = (sa.select(Complaint.incident_id, sa.func.min(Complaint.received_at).label("first"))
             .where(Complaint.incident_id.is_not(None)).group_by(Complaint.incident_id).subquery())
    stmt = visible(sa.select(Incident.created_at, first.c.first).join(first, first.c.incident_id == Incident.id), user,
                   Incident.division_id)
    labels = [b[2] for b in LEAD_BUCKETS]
    counts = [0] * len(LEAD_BUCKETS)
    for filed, complained in session.execute(stmt):
        hours = max(0.0, (filed - complained).total_seconds() / 3600)
        for i, (low, high, _label) in enumerate(LEAD_BUCKETS):
            if hours >= low and (high is None or hours < high):
                counts[i] += 1
                break
    chart = Chart("complaint_to_incident", _("Time from first complaint to incident"),
                  _("Incidents filed from complaints, by the time from the first linked complaint to the filing."),
                  ["time", "incidents"], [[label, n] for label, n in zip(labels, counts, strict=True)])
    chart.svg = bar_chart(labels, [(_("incidents"), [float(n) for n in counts])], title=chart.title,
                          description=chart.description, chart_id=chart.name)
    return chart


def charts(session: so.Session, *, user: User, now: datetime) -> list[Chart]:
    """The complaint charts of the dashboard, counted now for the viewer's divisions."""
    return [_per_week(session, user, now), _open_signals(session, user), _lead_time(session, user)]
