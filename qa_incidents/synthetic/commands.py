"""`qa-incidents seed synthetic --incidents N`: generated data at scale, for measuring performance."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from qa_incidents.cli import seed_group
from qa_incidents.core.clock import utcnow


@click.command("synthetic", help="Add N generated incidents (with triage, notifications, reviews, recalls and lessons) "
                                 "to the database, for measuring performance. Loads the demo data first if needed.")
@click.option("--incidents", "n", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--lessons", type=click.IntRange(min=0), default=None,
              help="Lessons to add (default: a tenth of the incidents, at most 100,000).")
@click.option("--open-notifications", type=click.IntRange(min=0), default=None,
              help="Open regulator notifications (default: a tenth of the incidents, at most 100,000).")
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed: the same seed gives the same data.")
@with_appcontext
def synthetic_command(n: int, lessons: int | None, open_notifications: int | None, seed: int) -> None:
    import sqlalchemy as sa

    from qa_incidents.accounts.models import Division
    from qa_incidents.core.db import transaction
    from qa_incidents.seed import load_demo
    from qa_incidents.synthetic.generate import Plan, generate

    session = current_app.extensions["qa_session_factory"]()
    plan = Plan.for_incidents(n, lessons=lessons, open_notifications=open_notifications, seed=seed)
    started = time.monotonic()
    try:
        if session.scalar(sa.select(sa.func.count()).select_from(Division)) == 0:
            with transaction(session) as s:
                load_demo(s, now=utcnow())
        total = plan.incidents + plan.lessons
        with click.progressbar(length=total, label=f"Generating {n:,} incidents", show_pos=True,
                               file=None) as bar:
            report = generate(session, plan, now=utcnow(), progress=lambda _what, k: bar.update(k))
    except RuntimeError as e:
        raise click.ClickException(str(e)) from None
    finally:
        session.close()
    click.echo(f"Added {report} in {time.monotonic() - started:.0f} s.")


seed_group.add_command(synthetic_command)

#: Registered through the `seed` group (`qa-incidents seed synthetic`).
COMMANDS: list[click.Command] = []
