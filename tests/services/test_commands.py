"""The qa-incidents commands a deployment relies on: first admin, migrations, demo data, outbox, scheduler lock."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.outbox import MailStatus, OutboxMessage
from qa_incidents.core.scheduler import SchedulerLock, run_law_alerts
from qa_incidents.laws.models import Amendment


def test_first_admin_and_the_head_office_division(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Boss@Corp.example", "--name", "Ada Admin",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    assert "Created admin boss@corp.example in Head Office." in result.output
    user = session.scalar(sa.select(User).where(User.email == "boss@corp.example"))
    assert user.role.value == "admin" and session.get(Division, user.division_id).is_head_office

    again = runner.invoke(args=["users", "create", "--email", "boss@corp.example", "--name", "Ada",
                                "--password", "another long password"])
    assert again.exit_code == 2 and "Another user already has this e-mail address." in again.output
    short = runner.invoke(args=["users", "create", "--email", "x@corp.example", "--name", "X", "--password", "short"])
    assert short.exit_code == 2 and "Use at least 12 characters." in short.output
    unknown = runner.invoke(args=["users", "create", "--email", "y@corp.example", "--name", "Y", "--division", "ZZ",
                                  "--password", "a long enough password"])
    assert unknown.exit_code != 0 and "no division with code ZZ" in unknown.output


def test_migrations_and_demo_data_twice_add_nothing(app, session, database_url):
    app.config["DATABASE_URL"] = database_url
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).output.strip().endswith("Database at revision head.")
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0 and "8 users created, 6 incidents created" in first.output
    # status reports: when the first obligation is found reportable (at triage), and as the escalation is approved
    assert "activity: {'triaged': 1, 'status_reports': 2}" in first.output
    assert "reporter@example.com" in first.output
    counts = {table: session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
              for table in ("incident", "notification_record", "status_report", "recall_campaign", "review", "lesson")}
    # the six demo incidents plus the imported public records (data/samples: 700 + 312 + 311)
    assert counts["incident"] == 6 + 700 + 312 + 311
    assert counts["notification_record"] >= 1 and counts["status_report"] == 3 and counts["recall_campaign"] >= 1
    second = runner.invoke(args=["seed", "demo"])
    assert "0 divisions created, 0 categories created, 0 products created, 0 users created, 0 incidents created, "\
           "0 laws created; activity: {'triaged': 0, 'status_reports': 0}" in second.output
    session.expire_all()
    assert {table: session.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) for table in counts} == counts


def test_outbox_command_scans_slas_and_sends(app, demo):
    result = app.test_cli_runner().invoke(args=["outbox"])
    assert result.exit_code == 0, result.output
    queued = int(result.output.split("SLA notices queued: ")[1].split(";")[0])
    assert queued >= 1 and f"sent: {queued};" in result.output and "failed attempts: 0" in result.output
    demo.rollback()  # a new transaction sees what the command committed
    statuses = set(demo.scalars(sa.select(OutboxMessage.status)))
    assert statuses == {MailStatus.SENT.value}


def test_only_one_scheduler_per_database(app):
    first, second = SchedulerLock(app), SchedulerLock(app)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_law_alert_job_uses_the_clock(app, demo, clock):
    enforced = demo.scalar(sa.select(Amendment.enforced_on).where(Amendment.title.like("Demo:%")))
    clock.now = dt.datetime.combine(enforced - dt.timedelta(days=30), dt.time(3), tzinfo=dt.UTC)
    assert run_law_alerts(app) == 1
    assert run_law_alerts(app) == 0
    demo.rollback()  # a new transaction sees what the command committed
    subject = demo.scalar(sa.select(OutboxMessage.subject).where(OutboxMessage.dedupe_key.like("law-enforcement:%")))
    assert subject.startswith("In 30 days: JP-PSE")


def test_deadline_json_is_one_line(app):
    result = app.test_cli_runner().invoke(args=["deadline", "JP-CPSA-35", "2026-03-02T10:00:00+09:00"])
    assert json.loads(result.output.strip().splitlines()[-1])["due_date"] == "2026-03-11"


def test_dashboard_figures_are_counted_ahead_by_command_and_job(app, demo):
    from qa_incidents.core.scheduler import JOBS, run_dashboard_refresh
    from qa_incidents.reports.models import DashboardFigures

    demo.commit()
    first = app.test_cli_runner().invoke(args=["reports", "refresh-dashboard"])
    assert first.exit_code == 0, first.output
    counted = int(first.output.split()[0])
    assert counted >= 2  # head office's scope and at least one division's
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count()).select_from(DashboardFigures)) == counted
    assert run_dashboard_refresh(app) == 0  # nothing written since: every stored figure is current
    assert "dashboard" in JOBS
