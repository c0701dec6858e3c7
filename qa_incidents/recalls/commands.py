"""`qa-incidents recalls import-progress|scan`: service-centre CSV files and the stall scan from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import begin_write, transaction
from qa_incidents.core.errors import DomainError
from qa_incidents.recalls import service
from qa_incidents.recalls.models import RecallCampaign


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(str(_l("Error: %(message)s", message=message)), err=True)
    raise click.exceptions.Exit(code)


@click.group("recalls", help="Recall campaigns: import progress from service centres, scan for stalls.")
def recalls_group() -> None:
    pass


@recalls_group.command(
    "import-progress",
    help="Import a service centre's progress CSV (UTF-8; columns centre, reference, date, country, channel, located, "
         "notified, repaired, replaced, refunded) into the recall with the given reference. Rows imported before "
         "(same centre and reference) are skipped. Prints each rejected row (\"line N: reason\") on standard error, "
         "then one JSON line of counts. Exit status: 0 all rows imported, 1 some rows rejected (the others are "
         "saved), 2 the file or recall could not be used.")
@click.argument("reference")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", "actor_email", required=True, metavar="EMAIL",
              help="The user the rows are recorded as (division QA of the recall's division, or head-office QA).")
@with_appcontext
def import_progress_command(reference: str, file: str, actor_email: str) -> None:
    try:
        text = Path(file).read_bytes().decode("utf-8-sig")
    except OSError as e:
        _fail(str(_l("cannot read %(path)s: %(why)s", path=file, why=e.strerror or e)))
    except UnicodeDecodeError:
        _fail(str(_l("%(path)s is not UTF-8 text", path=file)))
    session = current_app.extensions["qa_session_factory"]()
    try:
        begin_write(session)
        user = session.scalar(sa.select(User).where(User.email == actor_email.strip().lower()))
        if user is None or not user.active:
            _fail(str(_l("no active user %(email)s", email=actor_email)))
        recall_id = session.scalar(sa.select(RecallCampaign.id).where(RecallCampaign.reference == reference.upper()))
        if recall_id is None:
            _fail(str(_l("no recall %(ref)s", ref=reference)))
        try:
            with transaction(session):
                result = service.import_progress_csv(session, user=user, recall_id=recall_id, text=text, now=utcnow())
        except DomainError as e:
            _fail(str(e))
    finally:
        session.close()
    for line, reason in result.rejected:
        click.echo(f"line {line}: {reason}", err=True)
    click.echo(json.dumps({"added": result.added, "already_imported": result.already_there,
                           "rejected": len(result.rejected)}))
    if result.rejected:
        raise click.exceptions.Exit(1)


@recalls_group.command("scan", help="Flag stalled recalls (e-mail their owners once per stall) and track due "
                                    "progress reports; what the scheduler runs.")
@with_appcontext
def scan_command() -> None:
    session = current_app.extensions["qa_session_factory"]()
    try:
        begin_write(session)
        with transaction(session):
            queued = service.recall_scan(session, utcnow(), base_url=current_app.config.get("BASE_URL", ""))
    finally:
        session.close()
    click.echo(str(_l("%(n)d stall e-mails queued.", n=queued)))


COMMANDS = [recalls_group]
