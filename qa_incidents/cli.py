"""The qa-incidents command: Flask's own commands plus db, users and seed."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from qa_incidents.core.clock import utcnow


def _create_app():  # type: ignore[no-untyped-def]
    from qa_incidents import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, help="qa-incidents: product-incident handling for QA.")
def main() -> None:
    """Entry point of the console script."""


def register_commands(app) -> None:  # type: ignore[no-untyped-def]
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
    app.cli.add_command(seed_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(outbox_command)
    from qa_incidents.notifications.commands import (
        deadline_command,
        derive_decisions_command,
        recompute_command,
    )

    app.cli.add_command(deadline_command)
    app.cli.add_command(recompute_command)
    app.cli.add_command(derive_decisions_command)
    from qa_incidents.laws.commands import laws_group

    app.cli.add_command(laws_group)
    import importlib

    # Each feature package may offer a `commands` module with COMMANDS, a list of click commands or groups.
    for package in ("reviews", "recalls", "api", "reports", "integrity", "synthetic", "complaints", "sso"):
        try:
            module = importlib.import_module(f"qa_incidents.{package}.commands")
        except ModuleNotFoundError as error:
            if error.name not in (f"qa_incidents.{package}", f"qa_incidents.{package}.commands"):
                raise
            continue
        for command in getattr(module, "COMMANDS", []):
            app.cli.add_command(command)


def _session():  # type: ignore[no-untyped-def]
    return current_app.extensions["qa_session_factory"]()


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply every migration not yet applied.")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    from qa_incidents.core.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {revision}.")


@click.group("users", help="User accounts.")
def users_group() -> None:
    pass


@users_group.command("create", help="Create a user, e.g. the first administrator.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", default="admin", show_default=True,
              type=click.Choice(["reporter", "division_qa", "head_office_qa", "executive", "engineer", "admin"]))
@click.option("--division", "division_code", default="HQ", show_default=True,
              help="Division code; created as head office if it does not exist and is HQ.")
@click.option("--timezone", default="Asia/Tokyo", show_default=True)
@click.password_option(help="Prompted for when not given (at least 12 characters).")
@with_appcontext
def users_create(email: str, name: str, role: str, division_code: str, timezone: str, password: str) -> None:
    import sqlalchemy as sa

    from qa_incidents.accounts import service
    from qa_incidents.accounts.models import Division
    from qa_incidents.core.db import transaction
    from qa_incidents.core.errors import ValidationFailed
    from qa_incidents.core.permissions import Role

    session = _session()
    try:
        with transaction(session) as s:
            division = s.scalar(sa.select(Division).where(Division.code == division_code.upper()))
            if division is None:
                if division_code.upper() != "HQ":
                    raise click.ClickException(f"no division with code {division_code}")
                division = service.create_division(
                    s, data=service.DivisionInput(code="HQ", name="Head Office", is_head_office=True),
                    actor_id=None, now=utcnow())
            user = service.create_user(
                s, data=service.UserInput(email=email, name=name, role=Role(role), division_id=division.id,
                                          timezone=timezone), password=password, actor_id=None, now=utcnow())
        click.echo(f"Created {user.role.value} {user.email} in {division.name}.")
    except ValidationFailed as e:
        for field, message in e.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    finally:
        session.close()


@click.group("seed", help="Load data.")
def seed_group() -> None:
    pass


@seed_group.command("demo", help="Divisions, products, one user per role and sample incidents. Safe to run twice.")
@with_appcontext
def seed_demo() -> None:
    from qa_incidents.core.db import transaction
    from qa_incidents.seed import DEMO_PASSWORD, load_demo, load_demo_activity

    session = _session()
    try:
        with transaction(session) as s:
            report = load_demo(s, now=utcnow())
        with transaction(session) as s:
            activity = load_demo_activity(s, now=utcnow())
    finally:
        session.close()
    click.echo(f"Demo data: {report}; activity: {activity}")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    from qa_incidents.seed import DEMO_USERS

    for email, name, role, division in DEMO_USERS:
        click.echo(f"  {role:<15} {email:<32} {name} ({division})")


@click.command("scheduler", help="Run the background clocks (outbox, SLA scan) until stopped; one per deployment.")
@with_appcontext
def scheduler_command() -> None:
    from qa_incidents.core.scheduler import SchedulerLock, build

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lock = SchedulerLock(app)
    if not lock.acquire():
        raise click.ClickException("another scheduler already runs for this database")
    click.echo("Scheduler running (outbox every 30 s, SLA scan every 5 min). Ctrl-C stops it.")
    try:
        build(app, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()


@click.command("outbox", help="Send the e-mail that is due now, once (what the scheduler does every 30 s).")
@with_appcontext
def outbox_command() -> None:
    from qa_incidents.core.scheduler import run_outbox, run_sla_scan

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    queued = run_sla_scan(app)
    sent, failed = run_outbox(app)
    click.echo(f"SLA notices queued: {queued}; sent: {sent}; failed attempts: {failed}")
