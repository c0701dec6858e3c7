"""Background clocks (APScheduler): the e-mail outbox, the SLA scan and the laws map's enforcement alerts.

In production the scheduler runs as its own process (`qa-incidents scheduler`); a database
lock makes sure only one runs per deployment (an advisory lock on PostgreSQL, an exclusive
lock file next to the SQLite database). `make run` starts it inside the development server.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

log = logging.getLogger(__name__)
LOCK_KEY = 0x51A1C1D  # the advisory-lock number reserved for the scheduler


def run_outbox(app: Flask) -> tuple[int, int]:
    """Send the e-mail that is due (printing the attachments queued to print, in their readers' languages)."""
    from qa_incidents.core.outbox import deliver_pending, sender_from_config

    now = (app.config.get("CLOCK") or _utcnow)()
    session = app.extensions["qa_session_factory"]()
    try:
        with app.app_context():
            return deliver_pending(session, sender=sender_from_config(app.config), now=now)
    finally:
        session.close()


def run_report_prints(app: Flask) -> int:
    """Print the PDF kept with each status report issued since the last run that no e-mail has printed yet."""
    from qa_incidents.reports.printing import print_pending

    now = (app.config.get("CLOCK") or _utcnow)()
    session = app.extensions["qa_session_factory"]()
    try:
        with app.app_context():
            return print_pending(session, now=now)
    finally:
        session.close()


def run_sla_scan(app: Flask) -> int:
    """Queue SLA warnings and breach notices."""
    from qa_incidents.core.db import begin_write
    from qa_incidents.incidents.workflow import SlaSettings, sla_scan

    now = (app.config.get("CLOCK") or _utcnow)()
    session = app.extensions["qa_session_factory"]()
    begin_write(session)
    try:
        with app.app_context():
            queued = sla_scan(session, now=now, settings=SlaSettings.from_config(app.config),
                              base_url=app.config.get("BASE_URL", ""))
        session.commit()
        return queued
    finally:
        session.close()


def run_law_alerts(app: Flask) -> int:
    """Queue the laws map's enforcement-date notices (90, 30, 7 days before, by default)."""
    from qa_incidents.core.db import begin_write
    from qa_incidents.laws.service import enforcement_alerts

    now = (app.config.get("CLOCK") or _utcnow)()
    session = app.extensions["qa_session_factory"]()
    begin_write(session)
    try:
        queued = enforcement_alerts(session, now=now, thresholds=tuple(app.config.get("LAW_ALERT_DAYS", (90, 30, 7))),
                                    base_url=app.config.get("BASE_URL", ""))
        session.commit()
        return queued
    finally:
        session.close()


def run_compliance_scan(app: Flask) -> int:
    """The compliance register: expiring or expired evidence and overdue re-assessments, told once each."""
    from qa_incidents.laws.service import compliance_scan

    warn_days = int(app.config.get("COMPLIANCE_WARN_DAYS", 90))
    return run_write_job(app, lambda session, now, base_url: compliance_scan(session, now=now, warn_days=warn_days,
                                                                             base_url=base_url))


def run_write_job(app: Flask, job: Callable[..., int]) -> int:
    """Run `job(session, now=…, base_url=…)` in one write transaction; it returns how many messages it queued."""
    from qa_incidents.core.db import begin_write

    now = (app.config.get("CLOCK") or _utcnow)()
    session = app.extensions["qa_session_factory"]()
    begin_write(session)
    try:
        with app.app_context():
            queued = job(session, now=now, base_url=app.config.get("BASE_URL", ""))
        session.commit()
        return queued
    finally:
        session.close()


def run_notification_warnings(app: Flask) -> int:
    """Warn owners before regulator deadlines (configurable points) and head-office QA when one is overdue."""
    from qa_incidents.notifications.records import warning_scan
    from qa_incidents.notifications.rules import parse_points

    points = parse_points(app.config.get("NOTIFICATION_WARN_AT", "50%,24h,4h"))
    return run_write_job(app, lambda session, now, base_url: warning_scan(session, now=now, points=points,
                                                                          base_url=base_url))


def run_status_reports(app: Flask) -> int:
    """Issue status reports past their hold and on their cadence; escalate unacknowledged S1 reports."""
    from qa_incidents.reports.rules import ReportSettings
    from qa_incidents.reports.service import scan

    settings = ReportSettings.from_config(app.config)
    zone = app.config.get("REPORT_TIMEZONE", "Asia/Tokyo")

    def job(session, now, base_url):  # type: ignore[no-untyped-def]
        result = scan(session, now=now, settings=settings, base_url=base_url, zone=zone)
        return result.issued + result.escalated

    return run_write_job(app, job)


def run_countermeasure_scan(app: Flask) -> int:
    """Tell owners of overdue countermeasures (once per countermeasure and due date)."""
    from qa_incidents.reviews.service import countermeasure_scan

    return run_write_job(app, lambda session, now, base_url: countermeasure_scan(session, now, base_url))


def run_recall_scan(app: Flask) -> int:
    """Flag stalled recalls to their owners (once per stall) and register due progress reports to authorities."""
    from qa_incidents.recalls.service import recall_scan

    return run_write_job(app, lambda session, now, base_url: recall_scan(session, now, base_url))


def run_dashboard_refresh(app: Flask) -> int:
    """Count the dashboard's figures ahead of the views after writes (views are correct without it, only slower)."""
    from qa_incidents.reports.dashboard import refresh

    now = (app.config.get("CLOCK") or _utcnow)()
    with app.app_context():
        return refresh(app.extensions["qa_session_factory"], now=now, sla_hours=app.config.get("TRIAGE_SLA_HOURS"))


def run_complaint_scan(app: Flask) -> int:
    """Raise or update early-warning signals from the complaints (each model's symptoms against their own history)."""
    from qa_incidents.complaints.service import scan

    def job(session, now, base_url):  # type: ignore[no-untyped-def]
        result = scan(session, now=now)
        return result.raised + result.updated

    return run_write_job(app, job)


def run_group_alert_scan(app: Flask) -> int:
    """Remind divisions of group-wide alerts due tomorrow, and tell them (and the sender) of overdue ones."""
    from qa_incidents.alerts.service import alert_scan

    return run_write_job(app, lambda session, now, base_url: alert_scan(session, now, base_url))


def _utcnow():  # type: ignore[no-untyped-def]
    from qa_incidents.core.clock import utcnow

    return utcnow()


JOBS: dict[str, tuple[Callable[[Flask], Any], int]] = {
    "outbox": (run_outbox, 30),
    "report_prints": (run_report_prints, 30),
    "sla_scan": (run_sla_scan, 300),
    "law_alerts": (run_law_alerts, 3600),
    "notification_warnings": (run_notification_warnings, 60),
    "status_reports": (run_status_reports, 60),
    "countermeasures": (run_countermeasure_scan, 3600),
    "recalls": (run_recall_scan, 3600),
    "dashboard": (run_dashboard_refresh, 600),
    "complaint_signals": (run_complaint_scan, 3600),
    "group_alerts": (run_group_alert_scan, 3600),
    "compliance": (run_compliance_scan, 3600),
}


class SchedulerLock:
    """Held while this process is the deployment's scheduler."""

    def __init__(self, app: Flask):
        self.app = app
        self._conn: sa.Connection | None = None
        self._fd: int | None = None

    def acquire(self) -> bool:
        engine: sa.Engine = self.app.extensions["qa_engine"]
        if engine.dialect.name == "postgresql":
            self._conn = engine.connect()
            got = bool(self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
            if not got:
                self._conn.close()
                self._conn = None
            return got
        path = Path(self.app.instance_path) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            # Advisory locks belong to the database session, which outlives close() in the pool.
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._conn.close()
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def build(app: Flask, *, blocking: bool) -> BackgroundScheduler | BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    for name, (job, seconds) in JOBS.items():
        scheduler.add_job(job, "interval", seconds=seconds, args=[app], id=name, max_instances=1, coalesce=True)
    return scheduler


def start_in_process(app: Flask) -> BackgroundScheduler | None:
    """Start the scheduler inside a single-process server, if no other scheduler holds the lock."""
    lock = SchedulerLock(app)
    if not lock.acquire():
        log.info("another process runs the scheduler")
        return None
    scheduler = build(app, blocking=False)
    scheduler.start()
    app.extensions["qa_scheduler"] = (scheduler, lock)
    return scheduler  # type: ignore[return-value]
