"""Status reports: triggered by what happens to a severe incident, issued as numbered immutable versions,
e-mailed (HTML and PDF) through the outbox, acknowledged by their readers, escalated when nobody does.
The PDFs are printed after the issue (reports/printing.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.accounts.service import addresses, people, people_by_email
from qa_incidents.core import audit, outbox
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.i18n import DEFAULT_LANGUAGE, in_language
from qa_incidents.core.permissions import (
    Capability,
    Role,
    can,
    can_read_division,
    can_work_division,
    scoped,
    unscoped,
)
from qa_incidents.core.signatures import content_hash
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import ENDED_STATUSES, Status
from qa_incidents.incidents.workflow_models import Escalation
from qa_incidents.reports import content as report_content
from qa_incidents.reports import printing, rules
from qa_incidents.reports.models import (
    DistributionEntry,
    PendingStatusReport,
    StatusReport,
    StatusReportRecipient,
)
from qa_incidents.reports.render import render_html
from qa_incidents.reports.rules import TRIGGER_TITLES, ReportSettings, Trigger

DEFAULT_ZONE = "Asia/Tokyo"
DEFAULT_SETTINGS = ReportSettings()


def escalation_approved(session: so.Session, incident_id: int) -> bool:
    return session.scalar(sa.select(Escalation.id).where(Escalation.incident_id == incident_id,
                                                         Escalation.decision == "approved").limit(1)) is not None


def reported(session: so.Session, incident: Incident, *, escalations: list[Escalation] | None = None,
             issued: bool | None = None) -> bool:
    """Whether management hears of the incident: an approved escalation of a severe incident, or a report already
    issued (the first required report to a regulator issues one: then they go on as the case moves).
    `escalations`: all of its escalations, and `issued`: whether it has a report, when the caller has read them."""
    approved = (any(e.decision == "approved" for e in escalations) if escalations is not None
                else escalation_approved(session, incident.id))
    if rules.is_reported(severity=incident.severity.value if incident.severity else None, escalation_approved=approved):
        return True
    if issued is None:
        issued = bool(session.scalar(sa.select(sa.exists().where(StatusReport.incident_id == incident.id))))
    return issued


def trigger(session: so.Session, *, incident: Incident, kind: Trigger, now: datetime, detail: str = "") -> bool:
    """Note a significant change; the next report goes out after the hold. False if the incident is not reported on."""
    if not reported(session, incident):
        return False
    pending = pending_for(session, incident.id)
    entry = {"kind": kind.value, "title": _stored_title(kind), "detail": detail, "at": now.isoformat()}
    if pending is None:
        session.add(PendingStatusReport(incident_id=incident.id, first_trigger_at=now, triggers=[entry], narrative=""))
    else:
        pending.triggers = [*pending.triggers, entry]
    session.flush()
    return True


def first_reportable(session: so.Session, *, incident: Incident, before: set[int], now: datetime,
                     user: User | None = None, zone: str = DEFAULT_ZONE, base_url: str = "") -> StatusReport | None:
    """Top management hears at once: when the first obligation of an incident is decided reportable (a required
    notification record now stands where `before`, read just ahead of the decision, had none), a status report is
    issued straight away, whatever the severity and before any escalation, at the same time as the report to the
    government is prepared. None when the incident already had a reportable obligation or still has none."""
    if before:
        return None
    from qa_incidents.notifications.models import NotificationRecord
    from qa_incidents.notifications.records import reportable_record_ids

    now_reportable = reportable_record_ids(session, incident.id)
    new = sorted(session.scalars(sa.select(NotificationRecord.regime_code).where(
        NotificationRecord.id.in_(now_reportable)))) if now_reportable else []
    if not new:
        return None
    entry = {"kind": Trigger.REPORTABLE.value, "title": _stored_title(Trigger.REPORTABLE), "detail": ", ".join(new),
             "at": now.isoformat()}
    pending = pending_for(session, incident.id)
    if pending is None:
        session.add(PendingStatusReport(incident_id=incident.id, first_trigger_at=now, triggers=[entry], narrative=""))
    else:
        pending.triggers = [*pending.triggers, entry]
    session.flush()
    return issue(session, incident=incident, now=now, user=user, zone=zone, base_url=base_url)


def _stored_title(kind: Trigger) -> str:
    """A trigger's title as kept in the record: English, whoever caused it (readers see it in their language by kind)."""
    with in_language(DEFAULT_LANGUAGE):
        return str(TRIGGER_TITLES[kind])


def pending_for(session: so.Session, incident_id: int) -> PendingStatusReport | None:
    return session.scalar(unscoped(sa.select(PendingStatusReport).where(PendingStatusReport.incident_id == incident_id,
                                                                        PendingStatusReport.issued_as_id.is_(None)).limit(1),
                                   "the next report of one incident, which its caller read or works for the system"))


def reports_of(session: so.Session, incident_id: int) -> list[StatusReport]:
    return list(session.scalars(unscoped(sa.select(StatusReport).where(StatusReport.incident_id == incident_id)
                                         .order_by(StatusReport.number.desc()),
                                         "the reports of one incident, which its caller read through get_incident")))


def last_report(session: so.Session, incident_id: int) -> StatusReport | None:
    return session.scalar(unscoped(sa.select(StatusReport).where(StatusReport.incident_id == incident_id)
                                   .order_by(StatusReport.number.desc()).limit(1),
                                   "the last report of one incident, which its caller read or works for the system"))


def recipients_for(session: so.Session, incident: Incident) -> list[str]:
    """Executives, and the distribution list entries for the incident's division (or all) and severity."""
    emails = set(addresses(session, roles={Role.EXECUTIVE}))
    severity = incident.severity.value if incident.severity else ""
    for entry in session.scalars(sa.select(DistributionEntry).where(DistributionEntry.active.is_(True))):
        if entry.division_id in (None, incident.division_id) and (not entry.severities or severity in entry.severities):
            emails.add(entry.email)
    return sorted(emails)


def preview(session: so.Session, incident: Incident, *, now: datetime) -> dict[str, Any]:
    """The content the next report would have now (with the pending narrative and triggers)."""
    last = last_report(session, incident.id)
    pending = pending_for(session, incident.id)
    return report_content.build(session, incident, now=now, since=last.issued_at if last else None,
                                narrative=pending.narrative if pending else "",
                                triggers=pending.triggers if pending else [], asks=pending.asks if pending else "")


def issue(session: so.Session, *, incident: Incident, now: datetime, user: User | None = None,
          zone: str = DEFAULT_ZONE, base_url: str = "", extra_trigger: Trigger | None = None) -> StatusReport:
    """Issue the next numbered version from the pending triggers (or the given one) and send it."""
    pending = pending_for(session, incident.id)
    triggers = list(pending.triggers) if pending else []
    if extra_trigger is not None:
        triggers.append({"kind": extra_trigger.value, "title": _stored_title(extra_trigger), "detail": "",
                         "at": now.isoformat()})
    last = last_report(session, incident.id)
    number = (last.number if last else 0) + 1
    data = report_content.build(session, incident, now=now, since=last.issued_at if last else None,
                                narrative=pending.narrative if pending else "", triggers=triggers,
                                asks=pending.asks if pending else "")
    link = f"{base_url}/incidents/{incident.id}/status-reports/{number}"
    with in_language(DEFAULT_LANGUAGE):  # the copy kept with the version: the same whoever (or whatever) issues it
        html = render_html(data, number=number, issued_at=now, zone=zone, link=link)
    # Its PDF is printed after this transaction (reports/printing.py): by the e-mail's delivery, the print job or
    # the first download, whichever comes first.
    report = StatusReport(incident_id=incident.id, number=number, issued_at=now, issued_by_id=user.id if user else None,
                          triggers=triggers, content=data, content_sha256=content_hash(data), html=html, zone=zone)
    session.add(report)
    session.flush()
    if pending is not None:
        pending.issued_as_id = report.id
    users = {u.email: u for u in session.scalars(sa.select(User).where(User.active.is_(True)))}
    to = recipients_for(session, incident)
    for email in to:
        session.add(StatusReportRecipient(report_id=report.id, email=email,
                                          user_id=users[email].id if email in users else None))
    severity = incident.severity.value if incident.severity else "—"

    def compose(reader: outbox.Reader) -> outbox.Letter:
        """The report in the readers' language, dated in their zone (the stored copy where that is what they read)."""
        if reader.language == DEFAULT_LANGUAGE and reader.zone == zone and not reader.era_dates:
            their_html, suffix = html, ""
        else:
            their_html = render_html(data, number=number, issued_at=now, zone=reader.zone, link=link,
                                     language=reader.language, era=reader.era_dates)
            suffix = "" if reader.language == DEFAULT_LANGUAGE else f"-{reader.language}"
        their_pdf = printing.attachment(report, language=reader.language, zone=reader.zone, era=reader.era_dates)
        return outbox.Letter(
            subject=gettext("[%(severity)s] Status report %(n)d: %(ref)s %(title)s", severity=severity, n=number,
                            ref=incident.reference, title=incident.title),
            body_text=gettext("Status report no. %(n)d on %(ref)s (%(severity)s), %(title)s.", n=number,
                              ref=incident.reference, severity=severity, title=incident.title) + "\n"
            + gettext("The report is attached as PDF and shown in the HTML part.") + "\n"
            + gettext("Acknowledge it here: %(link)s", link=link) + "\n",
            body_html=their_html,
            attachments=[(f"{incident.reference}-status-{number}{suffix}.pdf", "application/pdf", their_pdf)])

    outbox.enqueue_localised(session, people=people_by_email(session, to), compose=compose, now=now, zone=zone,
                             incident_id=incident.id, dedupe_key=f"status-report:{report.id}")
    audit.record(session, actor_id=user.id if user else None, entity_type="status_report", entity_id=report.id,
                 incident_id=incident.id, action="status_report_issued", now=now,
                 changes={"number": [None, number], "recipients": [None, ", ".join(to)],
                          "triggers": [None, "; ".join(t["title"] for t in triggers)]})
    return report


def may_issue(user: User, incident: Incident) -> bool:
    """The division's QA managers and head-office QA write narratives and issue reports (not reporters, not executives)."""
    return can_work_division(user.actor, incident.division_id, Capability.WORK_NOTIFICATIONS)


def _require_work(user: User, incident: Incident) -> None:
    if not may_issue(user, incident):
        raise Forbidden(str(_l("Only the division's QA managers and head-office QA add narratives or issue reports.")))


def save_narrative(session: so.Session, *, user: User, incident: Incident, text: str, now: datetime,
                   asks: str | None = None) -> PendingStatusReport:
    """The division's words for the next report (before it is issued): its account, and (`asks`, None: unchanged)
    what it needs from management."""
    _require_work(user, incident)
    if len(text) > 2000:
        raise ValidationFailed({"narrative": str(_l("At most %(n)d characters.", n=2000))})
    if asks is not None and len(asks) > 2000:
        raise ValidationFailed({"asks": str(_l("At most %(n)d characters.", n=2000))})
    if not reported(session, incident):
        raise ValidationFailed({"narrative": str(_l(
            "Status reports start when head office approves the escalation of an S1 or S2 incident."))})
    pending = pending_for(session, incident.id)
    if pending is None:
        pending = PendingStatusReport(incident_id=incident.id, first_trigger_at=now, triggers=[], narrative="")
        session.add(pending)
    before, asked = pending.narrative, pending.asks or ""
    pending.narrative = text.strip()
    pending.narrative_by_id = user.id
    if asks is not None:
        pending.asks = asks.strip()
    session.flush()
    changes: dict[str, list[str | None]] = {"narrative": [before or None, pending.narrative]}
    if (pending.asks or "") != asked:
        changes["asks"] = [asked or None, pending.asks]
    audit.record(session, actor_id=user.id, entity_type="status_report_narrative", entity_id=incident.id,
                 incident_id=incident.id, action="status_report_narrative", now=now, changes=changes)
    return pending


def issue_now(session: so.Session, *, user: User, incident: Incident, now: datetime, base_url: str = "",
              zone: str = DEFAULT_ZONE) -> StatusReport:
    _require_work(user, incident)
    if not reported(session, incident):
        raise ValidationFailed({"narrative": str(_l(
            "Status reports start when head office approves the escalation of an S1 or S2 incident."))})
    pending = pending_for(session, incident.id)
    return issue(session, incident=incident, now=now, user=user, base_url=base_url, zone=zone,
                 extra_trigger=None if pending and pending.triggers else Trigger.MANUAL)


def get_report(session: so.Session, *, user: User, incident_id: int, number: int) -> StatusReport:
    report = session.scalar(unscoped(sa.select(StatusReport).where(StatusReport.incident_id == incident_id,
                                                                   StatusReport.number == number),
                                     "one report by its key: the reader's division is checked below"))
    if report is None or not (can(user.actor, Capability.READ_REPORTS) or can(user.actor, Capability.READ_INCIDENTS)) \
            or not can_read_division(user.actor, report.incident.division_id):
        raise NotFound(str(_l("No such status report.")))
    return report


def acknowledge(session: so.Session, *, user: User, report: StatusReport, now: datetime) -> StatusReportRecipient:
    row = session.scalar(sa.select(StatusReportRecipient).where(StatusReportRecipient.report_id == report.id,
                                                                StatusReportRecipient.email == user.email))
    if row is None:
        raise Forbidden(str(_l("This report was not sent to you, so there is nothing to acknowledge.")))
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        session.flush()
        audit.record(session, actor_id=user.id, entity_type="status_report", entity_id=report.id,
                     incident_id=report.incident_id, action="status_report_acknowledged", now=now,
                     changes={"acknowledged_by": [None, user.name], "number": [None, report.number]})
    return row


def unacknowledged_for(session: so.Session, user: User) -> list[StatusReport]:
    """Reports sent to the user and not yet acknowledged, of incidents the user may still read (a user moved to
    another division no longer sees the old division's reports listed). A report superseded by a newer one of the
    same incident sent to the user is not listed: the newest stands for the incident, and acknowledging it is
    enough."""
    newer, sent = so.aliased(StatusReport), so.aliased(StatusReportRecipient)
    superseded = (sa.select(newer.id).join(sent, sent.report_id == newer.id)
                  .where(newer.incident_id == StatusReport.incident_id, newer.number > StatusReport.number,
                         sent.email == user.email).exists())
    stmt = (sa.select(StatusReport).join(StatusReportRecipient, StatusReportRecipient.report_id == StatusReport.id)
            .join(Incident, Incident.id == StatusReport.incident_id)
            .where(StatusReportRecipient.email == user.email, StatusReportRecipient.acknowledged_at.is_(None),
                   ~superseded))
    return list(session.scalars(scoped(stmt, user.actor, Incident.division_id)
                                .order_by(StatusReport.issued_at.desc(), StatusReport.id.desc()).limit(50)))


@dataclass
class ScanResult:
    issued: int = 0
    escalated: int = 0


def scan(session: so.Session, *, now: datetime, settings: ReportSettings = DEFAULT_SETTINGS, base_url: str = "",
         zone: str = DEFAULT_ZONE) -> ScanResult:
    """Issue pending reports past their hold, scheduled updates by cadence, and escalate unacknowledged S1 reports."""
    result = ScanResult()
    for pending in list(session.scalars(sa.select(PendingStatusReport).where(PendingStatusReport.issued_as_id.is_(None)))):
        if rules.pending_due(pending.first_trigger_at, now=now, settings=settings):
            issue(session, incident=pending.incident, now=now, base_url=base_url, zone=zone)
            result.issued += 1
    last_issued = (sa.select(StatusReport.incident_id, sa.func.max(StatusReport.issued_at).label("last"))
                   .group_by(StatusReport.incident_id).subquery())
    rows = session.execute(sa.select(Incident, last_issued.c.last).join(last_issued, last_issued.c.incident_id == Incident.id)
                           .where(Incident.status.notin_(ENDED_STATUSES))).all()
    for incident, last in rows:
        if pending_for(session, incident.id) is None and rules.cadence_due(
                severity=incident.severity.value if incident.severity else None, last_issued_at=last,
                closed=incident.status == Status.CLOSED, now=now, settings=settings):
            issue(session, incident=incident, now=now, base_url=base_url, zone=zone, extra_trigger=Trigger.CADENCE)
            result.issued += 1
    # A recipient who acknowledged a newer report of the incident has read what the older one said: not escalated.
    newer, read = so.aliased(StatusReport), so.aliased(StatusReportRecipient)
    read_newer = (sa.select(newer.id).join(read, read.report_id == newer.id)
                  .where(newer.incident_id == StatusReport.incident_id, newer.number > StatusReport.number,
                         read.email == StatusReportRecipient.email, read.acknowledged_at.is_not(None)).exists())
    waiting = session.execute(
        sa.select(StatusReportRecipient, StatusReport).join(StatusReport, StatusReport.id == StatusReportRecipient.report_id)
        .where(StatusReportRecipient.acknowledged_at.is_(None), StatusReportRecipient.escalated_at.is_(None),
               ~read_newer)).all()
    by_report: dict[int, list[StatusReportRecipient]] = {}
    for recipient, report in waiting:
        if rules.ack_overdue(severity=report.content.get("severity"), issued_at=report.issued_at, now=now,
                             settings=settings):
            by_report.setdefault(report.id, []).append(recipient)
    for report_id, recipients in by_report.items():
        report = session.get(StatusReport, report_id)
        assert report is not None
        names = ", ".join(r.email for r in recipients)

        def compose(reader: outbox.Reader, report: StatusReport = report, names: str = names) -> tuple[str, str]:
            return (gettext("UNACKNOWLEDGED S1 status report %(n)d: %(ref)s", n=report.number,
                            ref=report.content["reference"]),
                    gettext("Status report no. %(n)d on %(ref)s (S1), issued %(when)s, has not been acknowledged by: "
                            "%(names)s.", n=report.number, ref=report.content["reference"],
                            when=reader.datetime(report.issued_at), names=names)
                    + f"\n\n{base_url}/incidents/{report.incident_id}/status-reports/{report.number}\n")

        outbox.enqueue_localised(
            session, people=people(session, roles={Role.HEAD_OFFICE_QA}) + people_by_email(
                session, [r.email for r in recipients]), compose=compose, now=now, zone=zone,
            incident_id=report.incident_id, dedupe_key=f"status-report-unacknowledged:{report.id}")
        for r in recipients:
            r.escalated_at = now
        result.escalated += 1
    session.flush()
    return result
