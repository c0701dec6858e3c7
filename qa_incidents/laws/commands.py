"""`qa-incidents laws export|import`: the whole laws map as a JSON or CSV file (see laws.transfer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from qa_incidents.laws import transfer


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(str(_l("Error: %(message)s", message=message)), err=True)
    raise click.exceptions.Exit(code)


@click.group("laws", help="The laws map: export it to, or import it from, a JSON or CSV file.")
def laws_group() -> None:
    pass


@laws_group.command("export", help="Write the whole laws map (jurisdictions, laws, covered categories, obligations, "
                                   "amendments) as JSON or CSV, to standard output or to --output.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None,
              help="json or csv (default: from the --output extension, else json).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: standard output). CSV files get a UTF-8 byte-order mark for spreadsheets.")
@with_appcontext
def export_command(fmt: str | None, output: str | None) -> None:
    if fmt is None:
        suffix = Path(output).suffix.lower() if output else ""
        fmt = "csv" if suffix == ".csv" else "json"
    session = current_app.extensions["qa_session_factory"]()
    try:
        text = transfer.export_csv(session) if fmt == "csv" else transfer.dumps_json(transfer.export_json(session))
    finally:
        session.close()
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_bytes(text.encode("utf-8-sig" if fmt == "csv" else "utf-8"))
    except OSError as e:
        _fail(str(_l("cannot write %(path)s: %(why)s", path=output, why=e.strerror or e)))
    click.echo(str(_l("Laws map written to %(path)s (%(fmt)s).", path=output, fmt=fmt)), err=True)


@laws_group.command("import", help="Import a laws-map file (.json or .csv, told by the extension). Adds and updates "
                                   "by natural key, never removes. Prints each rejected row (\"line N: reason\") on "
                                   "standard error, then one JSON line of counts. Exit status: 0 all rows imported, "
                                   "1 some rows rejected (the others are saved), 2 the file could not be read.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", "actor_email", default=None, metavar="EMAIL",
              help="Record the changes in the audit trail as made by this user (who must be allowed to edit the "
                   "laws map); by default they are recorded as made by the system.")
@with_appcontext
def import_command(file: str, actor_email: str | None) -> None:
    from qa_incidents.accounts.models import User
    from qa_incidents.core.db import begin_write, transaction
    from qa_incidents.core.permissions import Capability, can
    from qa_incidents.core.web import now

    try:
        fmt = transfer.format_of(file)
        content = Path(file).read_bytes()
    except transfer.TransferFileError as e:
        _fail(str(e))
    except OSError as e:
        _fail(str(_l("cannot read %(path)s: %(why)s", path=file, why=e.strerror or e)))
    session = current_app.extensions["qa_session_factory"]()
    try:
        begin_write(session)
        actor_id = None
        if actor_email:
            user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == actor_email.strip().lower()))
            if user is None or not user.active:
                _fail(str(_l("no active user with the e-mail %(email)s", email=actor_email)))
            elif not can(user.actor, Capability.EDIT_LAWS_MAP):
                _fail(str(_l("%(email)s may not edit the laws map", email=actor_email)))
            else:
                actor_id = user.id
        with transaction(session) as s:
            report = transfer.import_file(s, filename=f"file.{fmt}", content=content, actor_id=actor_id, now=now())
    except transfer.TransferFileError as e:
        _fail(str(e))
    finally:
        session.close()
    for rejection in report.rejected:
        click.echo(f"{rejection.label}: {rejection.reason}", err=True)
    click.echo(json.dumps(report.summary()))
    if report.rejected:
        raise click.exceptions.Exit(1)
