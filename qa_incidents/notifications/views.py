"""The deadline calculator: when a regulator notification is due, for any signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from wtforms import SelectChoice, SelectField
from wtforms.validators import InputRequired, Optional

from qa_incidents.core.clock import to_zone
from qa_incidents.core.countries import country_codes
from qa_incidents.core.forms import Form, timezone_choices
from qa_incidents.core.params import MomentField
from qa_incidents.core.web import viewer_timezone
from qa_incidents.notifications.deadlines import (
    RULES,
    UNCONFIRMED_LABEL,
    Deadline,
    DeadlineKind,
    DeadlineRule,
    Rollover,
    compute,
)

bp = Blueprint("notifications", __name__)

#: A browser sends minutes, or seconds when the user typed them; the first format is the one shown.
DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class DeadlineCalculatorForm(Form):
    """A regime and the moment of awareness, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    regime = SelectField(
        _l("Regime"),
        choices=[SelectChoice("", _l("Choose a regime…"))]
        + [SelectChoice(code, f"{code} — {rule.regime}") for code, rule in sorted(RULES.items())],
        validators=[InputRequired(_l("Choose a regime."))],
        invalid_choice_message=_l("Unknown regime code: choose one from the list."),
    )
    aware_at = MomentField(
        _l("Company became aware at"), format=DT_FORMATS,
        validators=[InputRequired(_l("Enter when the company became aware (date and time)."))],
        invalid_value_message=_l("Enter a real date and time, e.g. 2026-03-05 10:00."),
        description=_l("The first moment anyone in the company knew: legal reporting clocks start here."))
    timezone = SelectField(
        _l("That time is in"), validators=[InputRequired(_l("Choose the time zone of the time above."))],
        invalid_choice_message=_l("Unknown time zone: choose one from the list."),
        description=_l("The zone the time above was typed in; the deadline itself is counted in the authority's zone."))
    aware_timezone = SelectField(
        _l("Where the company became aware (time zone)"), validators=[Optional()],
        invalid_choice_message=_l("Unknown time zone: choose one from the list."),
        description=_l("The aware site's zone: days are counted on its dates too, and the earlier deadline applies. "
                       "Leave empty to count on the authority's dates only."))
    country = SelectField(
        _l("Country of the incident"), validators=[Optional()],
        invalid_choice_message=_l("Unknown country: choose one from the list."),
        description=_l("For EU regimes: the member state whose authority receives the report (its public "
                       "holidays); Belgium when the country is not a member state."))


def rule_in_words(rule: DeadlineRule) -> str:
    """The rule's clock in one short phrase, e.g. "15 calendar days after the day of awareness" (its trigger in the
    reader's language, from the catalogue)."""
    from qa_incidents.core.i18n import data_text

    n, trigger = rule.amount, data_text(rule.trigger)
    match rule.kind:
        case DeadlineKind.HOURS if rule.excludes_non_working_days:
            text = _("%(n)d hours from %(trigger)s, non-working days excluded", n=n, trigger=trigger)
        case DeadlineKind.HOURS:
            text = _("%(n)d elapsed hours from %(trigger)s", n=n, trigger=trigger)
        case DeadlineKind.CALENDAR_DAYS:
            text = _("%(n)d calendar days after the day of %(trigger)s", n=n, trigger=trigger)
        case DeadlineKind.WORKING_DAYS:
            text = _("%(n)d working days after the day of %(trigger)s", n=n, trigger=trigger)
        case DeadlineKind.DAY_OF_KNOWLEDGE_DAYS:
            text = _("%(n)d days counting the day of %(trigger)s", n=n, trigger=trigger)
        case DeadlineKind.MONTHLY:
            text = _("Day %(n)d of the month after the month reported on", n=n)
        case _:
            text = _("No legal day count; internal target of %(h)s hours from %(trigger)s (not a legal deadline)",
                     h=f"{rule.internal_target_hours:g}", trigger=trigger)
    if rule.rollover is Rollover.NEXT_WORKING_DAY:
        text += "; " + _("a due day that is not a working day moves to the next working day")
    return text


@dataclass(frozen=True)
class Result:
    """A computed deadline with the times already put into words for the page."""

    deadline: Deadline
    due_local: str
    aware_local: str
    viewer_fmt: str
    due_weekday_viewer: str
    aware_weekday_viewer: str
    before_effective_from: bool


def _typed_instant(naive: datetime, tz_name: str) -> datetime:
    """A wall-clock time typed in a zone, as UTC.

    A time that happens twice (autumn) or never (spring gap) is read as the earlier instant, as the
    engine does for due times: an earlier start never makes a deadline later than the law allows.
    """
    first = naive.replace(tzinfo=ZoneInfo(tz_name))
    return min(first.astimezone(UTC), first.replace(fold=1).astimezone(UTC))


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def _in_words(moment: datetime) -> str:
    """A local time with its weekday and zone abbreviation, e.g. "Wed 2026-03-11 23:59:59 JST"."""
    return f"{format_date(moment.date(), 'EEE')} {_clock(moment)} {moment.tzname()}"


def _result(deadline: Deadline) -> Result:
    rule, tz = deadline.rule, ZoneInfo(deadline.rule.time_zone)
    viewer = viewer_timezone()
    due_viewer, aware_viewer = to_zone(deadline.due_at, viewer), to_zone(deadline.start, viewer)
    aware_local = deadline.start.astimezone(tz)
    return Result(
        deadline=deadline,
        due_local=_in_words(deadline.due_local),
        aware_local=_in_words(aware_local),
        viewer_fmt="%Y-%m-%d %H:%M:%S" if due_viewer.second else "%Y-%m-%d %H:%M",
        due_weekday_viewer=format_date(due_viewer.date(), "EEE"),
        aware_weekday_viewer=format_date(aware_viewer.date(), "EEE"),
        before_effective_from=bool(rule.effective_from and aware_local.date() < rule.effective_from),
    )


@bp.get("/deadlines/calendars")
@login_required
def calendars(errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
              status: int = 200):  # type: ignore[no-untyped-def]
    """Each authority's holiday calendar as the law defines it, for one year, with its source and version."""
    from flask_login import current_user

    from qa_incidents.core.web import db
    from qa_incidents.notifications import policy
    from qa_incidents.notifications.deadlines import CALENDARS, EU_MEMBER_STATES, calendar_days

    policy.load(db())  # the current changes and versions, whichever worker made them
    this_year = to_zone(datetime.now(UTC), viewer_timezone()).year
    try:
        year = int(request.args.get("year", this_year))
    except ValueError:
        year = this_year
    year = min(max(year, 1990), 2100)
    country = (request.args.get("country") or "").upper()
    country = country if country in EU_MEMBER_STATES else ""
    shown = []
    for code, calendar in CALENDARS.items():
        version, days = calendar_days(code, year, country=country or None if calendar.member_state else None)
        regimes = sorted(r.code for r in RULES.values() if r.calendar == code)
        shown.append((calendar, version, days, regimes))
    return render_template("notifications/calendars.html", shown=shown, year=year, country=country,
                           members=sorted(EU_MEMBER_STATES), changes=policy.calendar_changes(db()),
                           may_change=current_user.role in policy.CALENDAR_ROLES, errors=errors or {},
                           typed=typed or {}), status


@bp.get("/deadlines/calculator")
@login_required
def calculator():  # type: ignore[no-untyped-def]
    form = DeadlineCalculatorForm(request.args)
    form.timezone.choices = timezone_choices()
    form.aware_timezone.choices = [("", _("The authority's zone only"))] + timezone_choices()
    form.country.choices = [("", "—")] + [(c, c) for c in sorted(country_codes())]
    submitted = "aware_at" in request.args
    if not submitted and not form.timezone.data:
        form.timezone.data = viewer_timezone()
    result = None
    if submitted and form.validate():
        try:
            start = _typed_instant(form.aware_at.data, form.timezone.data)
            result = _result(compute(RULES[form.regime.data], start=start,
                                     aware_timezone=form.aware_timezone.data or None, country=form.country.data or None))
        except OverflowError:  # e.g. year 1 in Tokyo, or a due day past year 9999
            form.aware_at.errors = [*form.aware_at.errors, _("This date is out of range.")]
        except ValueError as e:  # a rule whose calendar never yields a working day
            form.aware_at.errors = [*form.aware_at.errors, _("No deadline can be computed: %(reason)s", reason=e)]
    rules = [RULES[code] for code in sorted(RULES)]
    context: dict[str, Any] = {
        "form": form, "result": result, "rules": rules, "rule_in_words": rule_in_words,
        "UNCONFIRMED_LABEL": UNCONFIRMED_LABEL, "viewer_tz": viewer_timezone(),
    }
    invalid = any(f.errors for f in form)
    return render_template("notifications/calculator.html", **context), (422 if invalid else 200)


# --- company policy: internal targets and holiday calendar changes ---------------------------------------------------


@bp.app_template_global("internal_target_at")
def _internal_target_at(regime_code: str, start: datetime | None) -> datetime | None:
    from qa_incidents.notifications.deadlines import target_at

    return target_at(regime_code, start)


@bp.record_once
def _install_policy(state: Any) -> None:
    """The current internal targets and calendar changes into the engine: at start, then refreshed (see policy)."""
    from qa_incidents.notifications import policy

    policy.install(state.app)


def _targets_page(errors: dict[str, str] | None = None, typed: dict[str, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    from flask_login import current_user

    from qa_incidents.core.web import db
    from qa_incidents.notifications import policy
    from qa_incidents.notifications.deadlines import INTERNAL_TARGETS

    policy.load(db())  # this page shows the current values, whichever worker changed them
    rows = [(RULES[code], rule_in_words(RULES[code]), INTERNAL_TARGETS.get(code)) for code in sorted(RULES)]
    return render_template("notifications/targets.html", rows=rows, history=policy.target_history(db()),
                           hours_in_words=policy.hours_in_words, errors=errors or {}, typed=typed or {},
                           may_edit=current_user.role in policy.TARGET_ROLES), status


@bp.get("/deadlines/targets")
@login_required
def targets():  # type: ignore[no-untyped-def]
    """Each regime's legal rule beside head-office QA's internal target, with the targets' history."""
    return _targets_page()


@bp.post("/deadlines/targets")
@login_required
def set_target():  # type: ignore[no-untyped-def]
    from flask import abort, flash, redirect, url_for
    from flask_login import current_user

    from qa_incidents.core.clock import utcnow
    from qa_incidents.core.db import transaction
    from qa_incidents.core.errors import ValidationFailed
    from qa_incidents.core.web import db
    from qa_incidents.notifications import policy

    if current_user.role not in policy.TARGET_ROLES:
        abort(403, description=_("Only head-office QA and administrators set internal targets."))
    typed = {k: request.form.get(k, "") for k in ("regime", "amount", "unit", "note")}
    amount: int | None = None
    if typed["amount"].strip():
        try:
            amount = int(typed["amount"].strip())
        except ValueError:
            db().rollback()
            return _targets_page({"amount": _("Give a whole number.")}, typed, 422)
    try:
        with transaction(db()) as s:
            policy.set_target(s, user=current_user, regime_code=typed["regime"], amount=amount, unit=typed["unit"],
                              note=typed["note"], now=utcnow())
    except ValidationFailed as e:
        db().rollback()
        return _targets_page(e.errors, typed, 422)
    flash(_("Internal target saved."), "success")
    return redirect(url_for("notifications.targets"))


@bp.post("/deadlines/calendars")
@login_required
def change_calendar_day():  # type: ignore[no-untyped-def]
    """An administrator adds or removes a day in an authority's calendar, with its source."""
    from datetime import date

    from flask import abort, flash, redirect, url_for
    from flask_login import current_user

    from qa_incidents.core.clock import utcnow
    from qa_incidents.core.db import transaction
    from qa_incidents.core.errors import ValidationFailed
    from qa_incidents.core.web import db
    from qa_incidents.notifications import policy

    if current_user.role not in policy.CALENDAR_ROLES:
        abort(403, description=_("Only administrators change holiday calendars."))
    typed = {k: request.form.get(k, "") for k in ("calendar", "day", "action", "name", "source")}
    try:
        day: date | None = date.fromisoformat(typed["day"].strip()) if typed["day"].strip() else None
    except ValueError:
        day = None
    try:
        with transaction(db()) as s:
            policy.change_day(s, user=current_user, calendar_code=typed["calendar"], day=day, action=typed["action"],
                              name=typed["name"], source=typed["source"], now=utcnow())
    except ValidationFailed as e:
        db().rollback()
        return calendars(errors=e.errors, typed=typed, status=422)
    flash(_("Calendar changed. Run the deadline recomputation so that open records follow."), "success")
    return redirect(url_for("notifications.calendars"))
