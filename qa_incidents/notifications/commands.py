"""`qa-incidents deadline REGIME_CODE AWARE_AT`: one legal deadline as JSON, without a database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from qa_incidents.notifications.deadlines import RULES, Deadline, compute


@click.command("recompute-deadlines", help="Recompute the deadline of every open notification record under the "
                                           "rules as they are now (run after upgrading, when a rule was corrected). "
                                           "Each changed deadline gets an audit event; the owners of deadlines that "
                                           "moved earlier are told by e-mail (outbox). Prints one JSON object.")
@click.option("--base-url", default="", help="The application's address, for the links in the e-mails.")
@with_appcontext
def recompute_command(base_url: str) -> None:
    from flask import current_app

    from qa_incidents.core.clock import utcnow
    from qa_incidents.core.db import transaction
    from qa_incidents.notifications.records import recompute_open

    session = current_app.extensions["qa_session_factory"]()
    try:
        with transaction(session):
            from qa_incidents.notifications.policy import load

            load(session)  # the administrators' calendar days and the internal targets
            changed = recompute_open(session, now=utcnow(), base_url=base_url)
    finally:
        session.close()
    click.echo(json.dumps({"changed": len(changed),
                           "moved_earlier": sum(1 for c in changed if c.was is not None and c.now < c.was),
                           "records": [{"id": c.record_id, "regime": c.regime_code,
                                        "was": c.was.isoformat() if c.was else None, "now": c.now.isoformat()}
                                       for c in changed]}, ensure_ascii=False))


@click.command("derive-decisions", help="Give every triaged incident still worked on its decision records: each "
                                         "candidate obligation \"to decide\" becomes a record awaiting a signed "
                                         "reportability decision (run once after upgrading). Prints one JSON object.")
@with_appcontext
def derive_decisions_command() -> None:
    from flask import current_app

    from qa_incidents.core.clock import utcnow
    from qa_incidents.core.db import transaction
    from qa_incidents.notifications.records import derive_all

    session = current_app.extensions["qa_session_factory"]()
    try:
        with transaction(session):
            changed = derive_all(session, now=utcnow())
    finally:
        session.close()
    click.echo(json.dumps({"incidents_changed": changed}))


def _regime_code(ctx: click.Context, param: click.Parameter, value: str) -> str:
    code = value.strip().upper()
    if code not in RULES:
        raise click.BadParameter(str(_l("unknown regime code %(code)r; known codes: %(codes)s.",
                                        code=value, codes=", ".join(sorted(RULES)))))
    return code


def _aware_instant(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    example = "2026-03-02T10:00:00+09:00"
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(str(_l("%(value)r is not an ISO 8601 date and time; use e.g. %(example)s.",
                                        value=value, example=example))) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise click.BadParameter(str(_l("%(value)r has no UTC offset, so its local day would be a guess; "
                                        "add one, e.g. %(example)s, or a trailing Z for UTC.", value=value, example=example)))
    return moment


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    from qa_incidents.core.clock import is_valid_timezone

    if not is_valid_timezone(value.strip()):
        raise click.BadParameter(str(_l("%(value)r is not an IANA time zone; use e.g. America/Los_Angeles.",
                                        value=value)))
    return value.strip()


def deadline_json(deadline: Deadline) -> dict[str, Any]:
    """A computed deadline as JSON-ready data: local and UTC times, the reasoning and the open questions."""
    rule, local = deadline.rule, deadline.due_local
    target = deadline.internal_target
    return {
        "regime": rule.code,
        "regime_title": rule.regime,
        "aware_at": deadline.start.astimezone(local.tzinfo).isoformat(),
        "aware_at_utc": deadline.start.isoformat(),
        "due_at": local.isoformat(),
        "due_date": local.date().isoformat(),
        "timezone": rule.time_zone,
        "due_at_utc": deadline.due_at.isoformat(),
        "is_legal_deadline": deadline.is_legal_deadline,
        "internal_target_utc": target.isoformat() if target else None,
        "explanation": deadline.explanation,
        "skipped_days": [s.day.isoformat() for s in deadline.skipped],
        "skipped": [{"date": s.day.isoformat(), "reason": s.reason} for s in deadline.skipped],
        "source": rule.source,
        "reading": rule.reading,
        "effective_from": rule.effective_from.isoformat() if rule.effective_from else None,
        "unconfirmed": list(deadline.unconfirmed),
        "legal_basis": deadline.legal_basis,
        "steps": list(deadline.steps),
        "calendar_version": deadline.calendar_version,
        "aware_timezone": deadline.aware_timezone or None,
        "counted_on": deadline.reading,
    }


@click.command("deadline", help="When a regulator notification is due: REGIME_CODE (e.g. JP-CPSA-35) and the "
                                "moment the company became aware, as ISO 8601 with an offset "
                                "(e.g. 2026-03-02T10:00:00+09:00 or 2026-03-02T01:00:00Z). Prints one JSON object.")
@click.argument("regime_code", callback=_regime_code)
@click.argument("aware_at", callback=_aware_instant)
@click.option("--timezone", "timezone", default=None, callback=_zone,
              help="The IANA time zone of the place where the company became aware (e.g. America/Los_Angeles): "
                   "days are counted on its dates, and the earlier of that reading and the authority's applies. "
                   "Without it, the authority's zone.")
@click.option("--country", default=None, help="The incident's country (ISO code): an EU member state receives EU "
                                              "reports (its holidays); default Belgium.")
def deadline_command(regime_code: str, aware_at: datetime, timezone: str | None, country: str | None) -> None:
    try:
        deadline = compute(RULES[regime_code], start=aware_at, aware_timezone=timezone, country=country)
    except (ValueError, OverflowError) as e:  # e.g. a year-9999 start whose due day is past the calendar
        raise click.BadParameter(str(_l("no deadline can be computed from %(value)s: %(reason)s",
                                        value=aware_at.isoformat(), reason=e)), param_hint="'AWARE_AT'") from None
    click.echo(json.dumps(deadline_json(deadline), ensure_ascii=False))
