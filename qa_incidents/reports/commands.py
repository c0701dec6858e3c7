"""`qa-incidents reports refresh-dashboard`: count the dashboard's figures ahead of the views (after a bulk load)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.core.clock import utcnow


@click.group("reports", help="Status reports and the quality dashboard.")
def reports_group() -> None:
    pass


@reports_group.command("refresh-dashboard", help="Count the dashboard's figures for every viewing scope whose stored "
                                                 "figures are older than the data (the scheduler also does it).")
@with_appcontext
def refresh_dashboard() -> None:
    from qa_incidents.reports.dashboard import refresh

    started = time.perf_counter()
    clock = current_app.config.get("CLOCK") or utcnow
    counted = refresh(current_app.extensions["qa_session_factory"], now=clock(),
                      sla_hours=current_app.config.get("TRIAGE_SLA_HOURS"))
    click.echo(f"{counted} viewing scope(s) counted in {time.perf_counter() - started:.1f} s")


COMMANDS = [reports_group]
