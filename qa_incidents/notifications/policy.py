"""Company policy around the legal clocks: head-office QA's internal targets per regime, and administrators'
changes to the authorities' holiday calendars. Both are append-only tables, audited, and installed into the
deadline engine (`deadlines.INTERNAL_TARGETS`, `deadlines.CALENDAR_ADJUSTMENTS`) as plain data."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.core.permissions import Role
from qa_incidents.notifications import deadlines, rules
from qa_incidents.notifications.models import CalendarDayChange, InternalTarget, NotificationRecord

#: Who may set internal targets / change holiday calendars.
TARGET_ROLES = frozenset({Role.HEAD_OFFICE_QA, Role.ADMIN})
CALENDAR_ROLES = frozenset({Role.ADMIN})
#: The longest target accepted (a year).
MAX_TARGET_HOURS = 366 * 24


def load(session: so.Session) -> None:
    """Install the current targets and calendar changes into the engine (at each request and command)."""
    targets: dict[str, int] = {}
    for row in session.scalars(sa.select(InternalTarget).order_by(InternalTarget.id)):
        if row.hours is None:
            targets.pop(row.regime_code, None)
        else:
            targets[row.regime_code] = row.hours
    adjustments: dict[str, dict[date, str | None]] = {}
    versions: dict[str, int] = {}
    for change in session.scalars(sa.select(CalendarDayChange).order_by(CalendarDayChange.id)):
        adjustments.setdefault(change.calendar_code, {})[change.day] = change.name if change.action == "add" else None
        versions[change.calendar_code] = versions.get(change.calendar_code, 0) + 1
    deadlines.INTERNAL_TARGETS.clear()
    deadlines.INTERNAL_TARGETS.update(targets)
    deadlines.CALENDAR_ADJUSTMENTS.clear()
    deadlines.CALENDAR_ADJUSTMENTS.update(adjustments)
    deadlines.CALENDAR_ADJUSTMENT_VERSIONS.clear()
    deadlines.CALENDAR_ADJUSTMENT_VERSIONS.update(versions)


#: How old (seconds) the installed policy may get before a request reads it again: a change made in another
#: worker process is followed within this time; one made in this process, at once.
REFRESH_SECONDS = 60.0


def install(app: Any) -> None:
    """Load the policy when the application starts (if its tables exist yet) and refresh it at a request once it
    is older than REFRESH_SECONDS (not at every request: pages keep their query budgets)."""
    from qa_incidents.core.web import db

    session = app.extensions["qa_session_factory"]()
    try:
        load(session)
        app.extensions["qa_policy_loaded"] = time.monotonic()
    except sa.exc.SQLAlchemyError:  # a database not migrated yet: the first request after that loads it
        app.extensions["qa_policy_loaded"] = -REFRESH_SECONDS
    finally:
        session.close()

    @app.before_request
    def _refresh_policy() -> None:
        if time.monotonic() - app.extensions["qa_policy_loaded"] > REFRESH_SECONDS:
            load(db())
            app.extensions["qa_policy_loaded"] = time.monotonic()


def target_history(session: so.Session, regime_code: str | None = None) -> list[InternalTarget]:
    stmt = sa.select(InternalTarget).order_by(InternalTarget.id.desc())
    if regime_code:
        stmt = stmt.where(InternalTarget.regime_code == regime_code)
    return list(session.scalars(stmt))


def hours_in_words(hours: int | None) -> str:
    if hours is None:
        return "—"
    if hours % 24 == 0:
        return str(_l("%(n)s days", n=hours // 24))
    return str(_l("%(n)s hours", n=hours))


def set_target(session: so.Session, *, user: User, regime_code: str, amount: int | None, unit: str, note: str,
               now: datetime) -> InternalTarget:
    """Set (amount given) or withdraw (amount None) the regime's internal target; updates the target of the
    regime's open records from their clock start. Only head-office QA and administrators."""
    if user.role not in TARGET_ROLES:
        raise Forbidden
    errors: dict[str, str] = {}
    if regime_code not in deadlines.RULES:
        errors["regime"] = str(_l("Unknown regime."))
    hours = None
    if amount is not None:
        if unit not in ("hours", "days"):
            errors["unit"] = str(_l("Choose hours or days."))
        else:
            hours = amount * 24 if unit == "days" else amount
            if not 1 <= hours <= MAX_TARGET_HOURS:
                errors["amount"] = str(_l("Give a target between 1 hour and 366 days."))
    if not note.strip():
        errors["note"] = str(_l("Say why (e.g. the company rule or decision)."))
    if errors:
        raise ValidationFailed(errors)
    previous = deadlines.INTERNAL_TARGETS.get(regime_code)
    row = InternalTarget(regime_code=regime_code, hours=hours, note=note.strip(), set_by_id=user.id, set_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="internal_target", entity_id=row.id,
                 action="internal_target_set", now=now,
                 changes={"regime": [None, regime_code], "hours": [previous, hours], "note": [None, row.note]})
    load(session)
    open_states = [s.value for s in rules.OPEN_STATES]
    for record in session.scalars(sa.select(NotificationRecord).where(
            NotificationRecord.regime_code == regime_code, NotificationRecord.kind == "initial",
            NotificationRecord.state.in_(open_states))):
        record.target_at = deadlines.target_at(regime_code, record.clock_start)
    return row


def calendar_changes(session: so.Session) -> list[CalendarDayChange]:
    return list(session.scalars(sa.select(CalendarDayChange).order_by(CalendarDayChange.id.desc())))


def change_day(session: so.Session, *, user: User, calendar_code: str, day: date | None, action: str, name: str,
               source: str, now: datetime) -> CalendarDayChange:
    """Add a holiday to (or remove a day from) an authority's calendar, with its source: raises its version.
    Only administrators. Open records follow when `qa-incidents recompute-deadlines` runs."""
    if user.role not in CALENDAR_ROLES:
        raise Forbidden
    errors: dict[str, str] = {}
    if calendar_code not in deadlines.CALENDARS:
        errors["calendar"] = str(_l("Unknown holiday calendar."))
    if day is None:
        errors["day"] = str(_l("Give the date."))
    if action not in ("add", "remove"):
        errors["action"] = str(_l("Choose add or remove."))
    if action == "add" and not name.strip():
        errors["name"] = str(_l("Name the holiday."))
    if not source.strip():
        errors["source"] = str(_l("Give the source (the law, gazette or notice that makes this day)."))
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    change = CalendarDayChange(calendar_code=calendar_code, day=day, action=action, name=name.strip()[:200],
                               source=source.strip(), made_by_id=user.id, made_at=now)
    session.add(change)
    session.flush()
    load(session)
    audit.record(session, actor_id=user.id, entity_type="calendar_day_change", entity_id=change.id,
                 action="calendar_day_changed", now=now,
                 changes={"calendar": [None, calendar_code], "day": [None, day.isoformat()], "action": [None, action],
                          "name": [None, change.name], "source": [None, change.source],
                          "version": [None, deadlines.CALENDAR_ADJUSTMENT_VERSIONS.get(calendar_code)]})
    return change
