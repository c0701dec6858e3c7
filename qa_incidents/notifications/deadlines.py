"""Legal deadlines for regulator notifications: each regime's clock as data, computed in the authority's time zone."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles


class DeadlineKind(TitledEnum):
    #: Hours from the start: real elapsed hours, or (when non-working days are excluded) the same
    #: local clock time `amount / 24` working days later.
    HOURS = "hours", _l("Hours")
    #: Due at the end of the local day `amount` days after the start day (the start day is day 0).
    CALENDAR_DAYS = "calendar_days", _l("Calendar days")
    #: Due at the end of the `amount`-th working day after the start day.
    WORKING_DAYS = "working_days", _l("Working days")
    #: `amount` days counting the start day itself: due at the end of start day + amount - 1.
    DAY_OF_KNOWLEDGE_DAYS = "day_of_knowledge_days", _l("Days counting the day of knowledge")
    #: The report for month M is due on day `amount` of month M+1.
    MONTHLY = "monthly", _l("Monthly")
    #: No legal day count ("without undue delay", "forthwith"): only an internal target.
    NO_FIXED_DEADLINE = "no_fixed_deadline", _l("No fixed deadline")


class Rollover(enum.StrEnum):
    """What happens when the due day is not a working day."""

    NONE = "none"
    NEXT_WORKING_DAY = "next_working_day"


class DueTime(enum.StrEnum):
    """The local time of day at which a deadline falls due."""

    END_OF_DAY = "end_of_day"
    SAME_CLOCK_TIME = "same_clock_time"


KIND_TITLES = titles(DeadlineKind)

#: Shown beside every `unconfirmed` note.
UNCONFIRMED_LABEL = _l("To be confirmed by the legal department")

#: (country, subdivision or None, year) → {date: holiday name}.
HolidaysProvider = Callable[[str, str | None, int], Mapping[date, str]]

#: A calendar that never yields a working day is a data error, not a reason to loop for ever.
_MAX_CONSECUTIVE_NON_WORKING_DAYS = 366


@functools.lru_cache(maxsize=512)
def public_holidays(country: str, subdiv: str | None, year: int) -> Mapping[date, str]:
    """Public holidays of a country (or subdivision) in one year, {date: name}; cached per (country, subdiv, year)."""
    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv, years=year, language="en_US")
    except NotImplementedError as e:
        raise ValueError(f"No public-holiday calendar for {country}{'/' + subdiv if subdiv else ''}: {e}") from e
    return MappingProxyType({d: str(name) for d, name in sorted(calendar.items()) if d.year == year})


@functools.lru_cache(maxsize=512)
def _holidays_in(country: str, subdiv: str | None, year: int, language: str) -> Mapping[date, str]:
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=year, language=language)
    return MappingProxyType({d: str(name) for d, name in calendar.items() if d.year == year})


@functools.cache
def _holiday_languages(country: str) -> tuple[str, ...]:
    try:
        return tuple(holidays.country_holidays(country).supported_languages)
    except NotImplementedError:
        return ()


def holiday_name(country: str, subdiv: str | None, day: date, name: str, language: str | None = None) -> str:
    """A public holiday's name in the reader's language where the holidays library has that language for the
    country (Japan's in Japanese, Germany's in German…), else the English name it was found under. Working days are
    always decided on the English calendar; only the name shown changes."""
    language = language or _reader_language()
    if not language or language.startswith("en"):
        return name
    chosen = next((code for code in _holiday_languages(country) if code == language or code.split("_")[0] == language),
                  None)
    if chosen is None:
        return name
    try:
        if public_holidays(country, subdiv, day.year).get(day) != name:  # not the library's name (an adjustment)
            return name
        return _holidays_in(country, subdiv, day.year, chosen).get(day) or name
    except (ValueError, NotImplementedError):
        return name


def _law_day_name(name: str) -> str:
    """A law's own non-working day (e.g. Japan's 29 Dec-3 Jan) in the reader's language where the catalogue has it."""
    from flask import has_request_context

    if not has_request_context():
        return name
    from qa_incidents.core.i18n import data_text

    return data_text(name)


def _reader_language() -> str | None:
    from flask_babel import get_locale

    locale = get_locale()  # None outside a request or app context
    return locale.language if locale is not None else None


@functools.cache
def _supported_calendars() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


@dataclass(frozen=True)
class DeadlineRule:
    """One regime's legal clock, as data an administrator can read and edit."""

    code: str
    #: The regime in words, as in docs/regulations.md.
    regime: str
    kind: DeadlineKind
    #: Hours (HOURS), days (CALENDAR_DAYS, WORKING_DAYS, DAY_OF_KNOWLEDGE_DAYS), the day of the
    #: following month (MONTHLY), or 0 (NO_FIXED_DEADLINE).
    amount: int
    #: The authority's IANA time zone: days are counted on local dates there.
    time_zone: str
    #: Statute, regulation or guidance the rule comes from.
    source: str
    #: What starts the clock, in words ("awareness", "the determination"…).
    trigger: str = "awareness"
    #: Country code (and subdivision) for the `holidays` package; None: weekends only.
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    #: Whether non-working days are left out of the count (WORKING_DAYS always; HOURS optionally).
    excludes_non_working_days: bool = False
    rollover: Rollover = Rollover.NONE
    #: Whether Saturday is a non-working day (for counting and for the rollover); Sunday always is.
    saturday_is_holiday: bool = True
    due_time: DueTime = DueTime.END_OF_DAY
    #: The local time at which a day ends, for END_OF_DAY deadlines.
    end_of_day: time = time(23, 59, 59)
    #: Hours after the start for the company's own target (required for NO_FIXED_DEADLINE). Elapsed hours.
    internal_target_hours: float | None = None
    #: How the product reads the legal text, in plain words.
    reading: str = ""
    #: Open questions, shown to users as "to be confirmed by the legal department".
    unconfirmed: tuple[str, ...] = ()
    effective_from: date | None = None
    #: A law's own holiday calendar (a key of CALENDARS), used instead of holiday_country/holiday_subdiv.
    calendar: str = ""
    #: The holidays are those of the member state whose authority receives the report (the incident's country
    #: when it is an EU member state, else holiday_country): Regulation 1182/71 Art. 2(1), 3(4).
    member_state_holidays: bool = False
    #: The article(s) the count and the rollover come from, cited with every deadline.
    legal_basis: str = ""
    #: A clock that starts at a decision or an action, not at awareness: what must be decided, by whom, how many
    #: working days after awareness the decision is due (0: no decision clock), its source, and the meaning of the
    #: electronic signature that records the starting event.
    decision: str = ""
    decision_by: str = ""
    decision_working_days: int = 0
    decision_source: str = ""
    event_signature: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"Deadline rule {self.code or '?'}: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with the rule, in words; empty when it can be used."""
        found: list[str] = []
        if not self.code.strip():
            found.append(str(_l("Give the rule a regime code.")))
        if not isinstance(self.kind, DeadlineKind):
            return [*found, str(_l("Unknown kind of deadline."))]
        if not isinstance(self.rollover, Rollover) or not isinstance(self.due_time, DueTime):
            return [*found, str(_l("Unknown rollover or due-time policy."))]
        if not self.source.strip():
            found.append(str(_l("Cite the source of the rule.")))
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            found.append(str(_l("Unknown time zone %(tz)r.", tz=self.time_zone)))
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            return [*found, str(_l("The amount must be a whole number."))]
        if not isinstance(self.end_of_day, time) or self.end_of_day.tzinfo is not None:
            found.append(str(_l("The end of day must be a local time without time zone.")))
        kind = self.kind
        if kind is DeadlineKind.NO_FIXED_DEADLINE:
            if self.amount != 0:
                found.append(str(_l("A regime without a legal day count has no amount (0).")))
            if self.internal_target_hours is None:
                found.append(str(_l("A regime without a legal day count needs an internal target in hours.")))
        elif kind is DeadlineKind.MONTHLY:
            if not 1 <= self.amount <= 28:
                found.append(str(_l("A monthly report falls due on a day from 1 to 28 of the following month.")))
        elif self.amount < 1:
            found.append(str(_l("The amount must be at least 1.")))
        if self.internal_target_hours is not None and not self.internal_target_hours > 0:
            found.append(str(_l("The internal target must be a positive number of hours.")))
        if kind is DeadlineKind.WORKING_DAYS and not self.excludes_non_working_days:
            found.append(str(_l("Working days always exclude weekends and holidays.")))
        if kind not in (DeadlineKind.WORKING_DAYS, DeadlineKind.HOURS) and self.excludes_non_working_days:
            found.append(str(_l("Only working-day and hour counts can exclude non-working days.")))
        if kind is DeadlineKind.HOURS:
            if self.due_time is not DueTime.SAME_CLOCK_TIME:
                found.append(str(_l("An hour count falls due at the same clock time, not at the end of a day.")))
            if self.excludes_non_working_days and self.amount % 24:
                found.append(str(_l("Hours that exclude non-working days must be whole days (a multiple of 24).")))
        elif self.due_time is not DueTime.END_OF_DAY:
            found.append(str(_l("Day counts fall due at the end of the day.")))
        if self.calendar and self.calendar not in CALENDARS:
            found.append(str(_l("Unknown holiday calendar %(c)s.", c=self.calendar)))
        if not isinstance(self.decision_working_days, int) or self.decision_working_days < 0:
            found.append(str(_l("The decision period must be a whole number of working days (0 for none).")))
        elif self.decision_working_days and not self.event_signature.strip():
            found.append(str(_l("A decision clock needs the meaning of the signature that starts the legal clock.")))
        if self.holiday_subdiv and not self.holiday_country:
            found.append(str(_l("A holiday subdivision needs a country.")))
        if self.holiday_country:
            subdivs = _supported_calendars().get(self.holiday_country)
            if subdivs is None:
                found.append(str(_l("No public-holiday calendar for %(c)s.", c=self.holiday_country)))
            elif self.holiday_subdiv and self.holiday_subdiv not in subdivs:
                found.append(str(_l("No public-holiday calendar for %(c)s/%(s)s.",
                                    c=self.holiday_country, s=self.holiday_subdiv)))
        return found

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data (for storing an administrator's edited version)."""
        return {
            "code": self.code, "regime": self.regime, "kind": self.kind.value, "amount": self.amount,
            "time_zone": self.time_zone, "source": self.source, "trigger": self.trigger,
            "holiday_country": self.holiday_country, "holiday_subdiv": self.holiday_subdiv,
            "excludes_non_working_days": self.excludes_non_working_days, "rollover": self.rollover.value,
            "saturday_is_holiday": self.saturday_is_holiday, "due_time": self.due_time.value,
            "end_of_day": self.end_of_day.isoformat(), "internal_target_hours": self.internal_target_hours,
            "reading": self.reading, "unconfirmed": list(self.unconfirmed),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "calendar": self.calendar, "member_state_holidays": self.member_state_holidays,
            "legal_basis": self.legal_basis, "decision": self.decision, "decision_by": self.decision_by,
            "decision_working_days": self.decision_working_days, "decision_source": self.decision_source,
            "event_signature": self.event_signature,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeadlineRule:
        """The rule from stored data; ValueError when it is not a usable rule."""
        target = d.get("internal_target_hours")
        return cls(
            code=str(d["code"]), regime=str(d.get("regime") or ""), kind=DeadlineKind(d["kind"]),
            amount=int(d["amount"]), time_zone=str(d["time_zone"]), source=str(d.get("source") or ""),
            trigger=str(d.get("trigger") or "awareness"),
            holiday_country=d.get("holiday_country") or None, holiday_subdiv=d.get("holiday_subdiv") or None,
            excludes_non_working_days=bool(d.get("excludes_non_working_days", False)),
            rollover=Rollover(d.get("rollover", Rollover.NONE)),
            saturday_is_holiday=bool(d.get("saturday_is_holiday", True)),
            due_time=DueTime(d.get("due_time", DueTime.END_OF_DAY)),
            end_of_day=time.fromisoformat(d.get("end_of_day") or "23:59:59"),
            internal_target_hours=None if target in (None, "") else float(target),
            reading=str(d.get("reading") or ""), unconfirmed=tuple(str(n) for n in d.get("unconfirmed") or ()),
            effective_from=date.fromisoformat(d["effective_from"]) if d.get("effective_from") else None,
            calendar=str(d.get("calendar") or ""), member_state_holidays=bool(d.get("member_state_holidays", False)),
            legal_basis=str(d.get("legal_basis") or ""), decision=str(d.get("decision") or ""),
            decision_by=str(d.get("decision_by") or ""), decision_working_days=int(d.get("decision_working_days") or 0),
            decision_source=str(d.get("decision_source") or ""), event_signature=str(d.get("event_signature") or ""),
        )


@dataclass(frozen=True)
class SkippedDay:
    """A non-working day the count stepped over, and why it is not a working day."""

    day: date
    reason: str


@dataclass(frozen=True)
class Deadline:
    """When a notification is due, and the computation in words."""

    rule: DeadlineRule
    #: When the clock started (UTC).
    start: datetime
    #: When the notification is due (UTC). For a regime without a legal day count: the internal target.
    due_at: datetime
    explanation: str
    is_legal_deadline: bool = True
    #: The company's own target (UTC), when the rule sets one.
    internal_target: datetime | None = None
    skipped: tuple[SkippedDay, ...] = ()
    #: The computation, step by step, in words.
    steps: tuple[str, ...] = ()
    #: The holiday calendar used and its version (e.g. "JP-ACT-91-1988 v1, holidays 0.109").
    calendar_version: str = ""
    #: The aware site's IANA zone, when one was given.
    aware_timezone: str = ""
    #: Whose calendar date decided the deadline: "authority" or "aware_site" (the earlier of the two readings).
    reading: str = "authority"

    @property
    def legal_basis(self) -> str:
        """The articles the deadline comes from: the duty, the count and rollover, and the holidays."""
        parts = [self.rule.source, self.rule.legal_basis]
        calendar = calendar_of(self.rule)
        if calendar is not None:
            parts.append(calendar.source)
        return "; ".join(p for p in parts if p)

    @property
    def due_local(self) -> datetime:
        """The due time in the authority's time zone."""
        return self.due_at.astimezone(ZoneInfo(self.rule.time_zone))

    @property
    def unconfirmed(self) -> tuple[str, ...]:
        return self.rule.unconfirmed


#: The EU member states (ISO 3166-1 alpha-2), whose public holidays Regulation 1182/71 counts.
EU_MEMBER_STATES = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
#: The member state whose holidays are used when the incident's country is not one (the Commission's seat).
EU_DEFAULT_MEMBER_STATE = "BE"
#: Each member state's (mainland) time zone: its authority's end of day.
EU_MEMBER_ZONES = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "IE": "Europe/Dublin", "IT": "Europe/Rome", "LV": "Europe/Riga", "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg", "MT": "Europe/Malta", "NL": "Europe/Amsterdam", "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SK": "Europe/Bratislava", "SI": "Europe/Ljubljana",
    "ES": "Europe/Madrid", "SE": "Europe/Stockholm",
}


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    day = date(year, month, 1)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    return day + timedelta(weeks=n - 1)


def _japan_administrative_days(year: int) -> dict[date, str]:
    """Act No. 91 of 1988 Art. 1(1)(iii): 29 December to 3 January (the national holidays come from `holidays`)."""
    name = "Administrative holiday, 29 Dec-3 Jan (Act No. 91 of 1988 Art. 1(1)(iii))"
    return {**{date(year, 1, d): name for d in (1, 2, 3)}, **{date(year, 12, d): name for d in (29, 30, 31)}}


def _canada_interpretation_act_days(year: int) -> dict[date, str]:
    """The holidays of Interpretation Act (R.S.C. 1985, c. I-21) s.35(1) other than Sunday (a weekday rule)."""
    from dateutil.easter import easter

    sunday_easter = easter(year)
    victoria = date(year, 5, 24) - timedelta(days=date(year, 5, 24).weekday())  # the Monday before 25 May
    canada = date(year, 7, 1) if date(year, 7, 1).weekday() != 6 else date(year, 7, 2)  # Holidays Act s.2
    days = {
        date(year, 1, 1): "New Year's Day",
        sunday_easter - timedelta(days=2): "Good Friday",
        sunday_easter + timedelta(days=1): "Easter Monday",
        victoria: "Victoria Day (and the Sovereign's birthday)",
        canada: "Canada Day",
        _nth_weekday(year, 9, 0, 1): "Labour Day",
        _nth_weekday(year, 10, 0, 2): "Thanksgiving Day (by proclamation)",
        date(year, 11, 11): "Remembrance Day",
        date(year, 12, 25): "Christmas Day",
    }
    if year >= 2021:
        days[date(year, 9, 30)] = "National Day for Truth and Reconciliation"
    return {d: f"{name} (Interpretation Act s.35(1))" for d, name in days.items()}


@dataclass(frozen=True)
class HolidayCalendar:
    """An authority's non-working days as the law defines them: a `holidays` calendar plus the law's own days."""

    code: str
    title: str
    #: The article that defines the days and the rollover.
    source: str
    #: Raised whenever the days change (the law's own days, or the `holidays` calendar chosen).
    version: int
    holiday_country: str | None
    holiday_subdiv: str | None = None
    #: `holidays` categories besides "public" (e.g. "bank" for Australia's bank holidays).
    categories: tuple[str, ...] = ()
    saturday_is_holiday: bool = True
    law_days: Callable[[int], Mapping[date, str]] | None = None
    #: The holiday country is the receiving member state's (EU): holiday_country is only the default.
    member_state: bool = False

    def version_label(self, country: str | None = None) -> str:
        package = f"holidays {holidays.__version__}"
        where = f" ({country})" if country and country != self.holiday_country else ""
        return f"{self.code} v{self.version}{where}, {package}"


CALENDARS: dict[str, HolidayCalendar] = {
    c.code: c for c in (
        HolidayCalendar(
            "JP-ADMIN-HOLIDAYS", "Japan: holidays of administrative organs",
            "Act on Holidays of Administrative Organs (Act No. 91 of 1988) Art. 1 (Saturdays, Sundays, national "
            "holidays, 29 Dec-3 Jan) and Art. 2 (a period deadline falling on one moves to the next day)",
            1, "JP", law_days=_japan_administrative_days),
        HolidayCalendar(
            "CA-INTERPRETATION-ACT", "Canada: holidays of the federal Interpretation Act",
            "Interpretation Act, R.S.C. 1985, c. I-21, s.35(1) (holiday: Sunday, New Year's Day, Good Friday, Easter "
            "Monday, Victoria Day, Canada Day, Labour Day, National Day for Truth and Reconciliation, Thanksgiving, "
            "Remembrance Day, Christmas Day; Saturday is not a holiday) and s.26 (a time limit ending on a holiday "
            "ends on the next day that is not a holiday); Holidays Act s.2 (Canada Day on 2 July when 1 July is a "
            "Sunday)", 1, None, saturday_is_holiday=False, law_days=_canada_interpretation_act_days),
        HolidayCalendar(
            "EU-1182-71", "EU: public holidays of the receiving member state, Saturdays and Sundays",
            "Regulation (EEC, Euratom) No 1182/71 Art. 2(1) (public holidays of the member state where the action is "
            "to be taken) and Art. 3(4) (a period ending on a public holiday, Saturday or Sunday ends with the last "
            "hour of the following working day)", 1, EU_DEFAULT_MEMBER_STATE, member_state=True),
        HolidayCalendar(
            "AU-AIA-36", "Australia: Saturdays, Sundays, public and bank holidays of the place (New South Wales)",
            "Acts Interpretation Act 1901 (Cth) s.36(2) (a last day on a Saturday, Sunday, or a public holiday or "
            "bank holiday in the place concerned moves to the next day that is none of these)",
            1, "AU", "NSW", categories=("bank",)),
    )
}


def calendar_of(rule: DeadlineRule) -> HolidayCalendar | None:
    return CALENDARS.get(rule.calendar) if rule.calendar else None


#: Days an administrator added (a name) or removed (None) per calendar code, from the database; installed by the
#: application at start and after each change (plain data here, so the engine stays callable without Flask).
CALENDAR_ADJUSTMENTS: dict[str, dict[date, str | None]] = {}
#: The adjustments' version per calendar code (raised by every change an administrator makes).
CALENDAR_ADJUSTMENT_VERSIONS: dict[str, int] = {}


#: Head-office QA's internal target per regime code, in hours from the clock start (notifications/policy.py
#: installs it from the database). Company policy: it never changes a legal deadline.
INTERNAL_TARGETS: dict[str, int] = {}


def target_at(regime_code: str, start: datetime | None) -> datetime | None:
    """The internal target for a clock started at `start` (None without a target or a start)."""
    hours = INTERNAL_TARGETS.get(regime_code)
    if hours is None or start is None:
        return None
    return start + timedelta(hours=hours)


def warn_due(due: datetime | None, target: datetime | None) -> datetime | None:
    """What warnings and urgency follow: the earlier of the legal deadline and the internal target."""
    if target is None or due is None:
        return due if target is None else target
    return min(due, target)


@functools.lru_cache(maxsize=512)
def _category_holidays(country: str, subdiv: str | None, year: int, categories: tuple[str, ...]) -> Mapping[date, str]:
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=year, language="en_US", categories=categories)
    return MappingProxyType({d: str(name) for d, name in sorted(calendar.items()) if d.year == year})


class _Calendar:
    """Working and non-working days under one rule (and, for the EU, one receiving member state)."""

    def __init__(self, rule: DeadlineRule, provider: HolidaysProvider, country: str | None = None):
        self.rule = rule
        self.provider = provider
        self.law = calendar_of(rule)
        self.country = rule.holiday_country
        self.subdiv = rule.holiday_subdiv
        self.saturday = rule.saturday_is_holiday
        if self.law is not None:
            self.country, self.subdiv = self.law.holiday_country, self.law.holiday_subdiv
            if self.law.member_state and country in EU_MEMBER_STATES:
                self.country, self.subdiv = country, None
        elif rule.member_state_holidays and country in EU_MEMBER_STATES:
            self.country, self.subdiv = country, None

    def version(self) -> str:
        if self.law is None:
            where = f"{self.country}{'/' + self.subdiv if self.subdiv else ''}" if self.country else "weekends"
            return f"{where}, holidays {holidays.__version__}"
        label = self.law.version_label(self.country)
        adjusted = CALENDAR_ADJUSTMENT_VERSIONS.get(self.law.code)
        return f"{label}, adjustments v{adjusted}" if adjusted else label

    def non_working_reason(self, day: date) -> str | None:
        if self.law is not None:
            adjusted = CALENDAR_ADJUSTMENTS.get(self.law.code, {})
            if day in adjusted:
                name = adjusted[day]
                if name is None:  # removed by an administrator: a working day unless it is a weekend day
                    return self._weekend(day)
                return name
        if self.country:
            name = self.provider(self.country, self.subdiv, day.year).get(day)
            if name:
                return holiday_name(self.country, self.subdiv, day, name)
        if self.law is not None:
            if self.law.categories and self.country:
                name = _category_holidays(self.country, self.subdiv, day.year, self.law.categories).get(day)
                if name:
                    return name
            if self.law.law_days is not None:
                name = self.law.law_days(day.year).get(day)
                if name:
                    return _law_day_name(name)
        return self._weekend(day)

    def _weekend(self, day: date) -> str | None:
        if day.weekday() == 6:
            return str(_l("Sunday"))
        if day.weekday() == 5 and self.saturday:
            return str(_l("Saturday"))
        return None

    def add_working_days(self, day: date, n: int, skipped: list[SkippedDay]) -> date:
        """The n-th working day after `day` (which itself is never counted)."""
        counted = run = 0
        while counted < n:
            day += timedelta(days=1)
            reason = self.non_working_reason(day)
            if reason:
                skipped.append(SkippedDay(day, reason))
                run += 1
                self._check_run(run)
            else:
                counted += 1
                run = 0
        return day

    def next_working_day(self, day: date, skipped: list[SkippedDay]) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        run = 0
        while reason := self.non_working_reason(day):
            skipped.append(SkippedDay(day, reason))
            day += timedelta(days=1)
            run += 1
            self._check_run(run)
        return day

    def _check_run(self, run: int) -> None:
        if run > _MAX_CONSECUTIVE_NON_WORKING_DAYS:
            raise ValueError(f"Deadline rule {self.rule.code}: no working day within a year; check the holiday calendar.")


def calendar_days(code: str, year: int, *, country: str | None = None,
                  holidays_provider: HolidaysProvider = public_holidays) -> tuple[str, list[SkippedDay]]:
    """A law calendar's holidays in one year (weekends left out: every Saturday and Sunday the calendar counts is a
    holiday too) and its version label; for the EU, of the member state `country` (default Belgium)."""
    if code not in CALENDARS:
        raise ValueError(f"Unknown holiday calendar {code!r}.")
    rule = next(r for r in RULES.values() if r.calendar == code)
    calendar = _Calendar(rule, holidays_provider, country)
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        reason = calendar.non_working_reason(day)
        if reason and reason != calendar._weekend(day):
            days.append(SkippedDay(day, reason))
        day += timedelta(days=1)
    return calendar.version(), days


def rule_for(code: str) -> DeadlineRule:
    """The rule of a regime code; ValueError for an unknown code."""
    try:
        return RULES[code]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown regime code {code!r}; known codes: {', '.join(sorted(RULES))}.") from None


def _resolve(rule: DeadlineRule | str) -> DeadlineRule:
    if isinstance(rule, DeadlineRule):
        return rule
    if isinstance(rule, str):
        return rule_for(rule)
    raise ValueError(f"Expected a DeadlineRule or a regime code, got {type(rule).__name__}.")


def _aware_utc(start: Any) -> datetime:
    if not isinstance(start, datetime):
        raise ValueError(f"The start must be a datetime, got {type(start).__name__}.")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"The start {start.isoformat()} has no time zone: pass an aware datetime "
                         "(e.g. tzinfo=UTC or ZoneInfo(...)), so the local day is not guessed.")
    return start.astimezone(UTC)


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """A local date and clock time as a UTC instant.

    A clock time that happens twice (autumn) or never (spring gap) resolves to the earlier of its
    two readings: a deadline must never be later than the law allows.
    """
    first = datetime.combine(day, clock, tzinfo=tz)
    return min(first.astimezone(UTC), first.replace(fold=1).astimezone(UTC))


def _fmt(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.second:
        text += moment.strftime(":%S")
    return f"{text} {moment.tzname()}"


def _explain(rule: DeadlineRule, clock: str, tz: ZoneInfo, start: str, due: datetime,
             rolled_from: date | None, skipped: list[SkippedDay]) -> str:
    text = str(_l("%(clock)s, %(zone)s: %(start)s → %(due)s", clock=clock, zone=rule.time_zone, start=start,
                  due=_fmt(due.astimezone(tz))))
    if rolled_from is not None:
        text += "; " + str(_l("%(day)s is not a working day, so the due date moves to the next working day",
                              day=rolled_from.isoformat()))
    if skipped:
        text += "; " + str(_l("skipped: %(days)s", days=", ".join(f"{s.day.isoformat()} {s.reason}" for s in skipped)))
    return text + "."


def _clock_words(rule: DeadlineRule) -> str:
    from qa_incidents.core.i18n import data_text

    n, trigger = rule.amount, data_text(rule.trigger)
    match rule.kind:
        case DeadlineKind.HOURS if rule.excludes_non_working_days:
            return str(_l("%(n)d hours from %(trigger)s, non-working days excluded (read as the same clock time "
                          "%(days)d working day(s) later)", n=n, trigger=trigger, days=n // 24))
        case DeadlineKind.HOURS:
            return str(_l("%(n)d elapsed hours from %(trigger)s", n=n, trigger=trigger))
        case DeadlineKind.CALENDAR_DAYS:
            return str(_l("%(n)d calendar days after the day of %(trigger)s", n=n, trigger=trigger))
        case DeadlineKind.WORKING_DAYS:
            return str(_l("%(n)d working days after the day of %(trigger)s", n=n, trigger=trigger))
        case DeadlineKind.DAY_OF_KNOWLEDGE_DAYS:
            return str(_l("%(n)d days counting the day of %(trigger)s", n=n, trigger=trigger))
    raise AssertionError(rule.kind)  # MONTHLY and NO_FIXED_DEADLINE are explained where they are computed


@dataclass(frozen=True)
class _Reading:
    """One reading of the law: days counted on the local date of one zone."""

    zone: str
    local_start: datetime
    due_at: datetime
    rolled_from: date | None
    skipped: tuple[SkippedDay, ...]


def _read(rule: DeadlineRule, start_utc: datetime, date_zone: ZoneInfo, tz: ZoneInfo, calendar: _Calendar) -> _Reading:
    """The deadline with the days counted on the local date in `date_zone`, holidays and rollover of the rule's
    calendar, a due day ending at the end of the day in the authority's zone `tz`."""
    local_start = start_utc.astimezone(date_zone)
    skipped: list[SkippedDay] = []
    clock_zone = tz
    if rule.kind is DeadlineKind.HOURS and not rule.excludes_non_working_days:
        # Real elapsed hours: daylight-saving changes shift the local clock time, not the duration.
        elapsed_due = (start_utc + timedelta(hours=rule.amount)).astimezone(tz)
        due_day, clock_time = elapsed_due.date(), elapsed_due.time()
    elif rule.kind is DeadlineKind.HOURS:
        due_day = calendar.add_working_days(local_start.date(), rule.amount // 24, skipped)
        clock_time, clock_zone = local_start.time(), date_zone
    elif rule.kind is DeadlineKind.WORKING_DAYS:
        due_day = calendar.add_working_days(local_start.date(), rule.amount, skipped)
        clock_time = rule.end_of_day
    elif rule.kind is DeadlineKind.CALENDAR_DAYS:
        due_day, clock_time = local_start.date() + timedelta(days=rule.amount), rule.end_of_day
    else:  # DAY_OF_KNOWLEDGE_DAYS: the day of knowledge is day 1
        due_day, clock_time = local_start.date() + timedelta(days=rule.amount - 1), rule.end_of_day

    rolled_from = None
    if rule.rollover is Rollover.NEXT_WORKING_DAY:
        working_day = calendar.next_working_day(due_day, skipped)
        if working_day != due_day:
            rolled_from, due_day = due_day, working_day
    if rule.kind is DeadlineKind.HOURS and not rule.excludes_non_working_days and rolled_from is None:
        due_at = start_utc + timedelta(hours=rule.amount)
    else:
        due_at = _at(due_day, clock_time, clock_zone)
    return _Reading(str(date_zone), local_start, due_at, rolled_from, tuple(skipped))


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"Unknown time zone {name!r}: give an IANA zone such as America/Los_Angeles.") from None


def compute(rule: DeadlineRule | str, *, start: datetime, aware_timezone: str | None = None,
            country: str | None = None, holidays_provider: HolidaysProvider = public_holidays) -> Deadline:
    """When a notification under `rule` is due, for a clock that started at `start` (an aware datetime).

    Days are counted on the local date of the place where the company became aware (`aware_timezone`, an IANA
    zone; without it, the authority's zone), with the authority's holidays and the law's rollover (the rule's
    calendar; for the EU the member state `country` when it is one). Where the aware site's date and the
    authority's date give different deadlines, the earlier is used and the explanation says why: a deadline is
    never later than either reading of the law allows. The due time is the end of the due day in the
    authority's zone, converted to UTC. For a MONTHLY rule, the report due is the one for the month `start` falls in.
    """
    rule = _resolve(rule)
    start_utc = _aware_utc(start)
    member = (country or "").strip().upper()
    if rule.member_state_holidays and member in EU_MEMBER_ZONES and EU_MEMBER_ZONES[member] != rule.time_zone:
        rule = replace(rule, time_zone=EU_MEMBER_ZONES[member])
    tz = ZoneInfo(rule.time_zone)
    aware_zone = _zone(aware_timezone)
    local_start = start_utc.astimezone(tz)
    calendar = _Calendar(rule, holidays_provider, (country or "").upper() or None)
    target = None if rule.internal_target_hours is None else start_utc + timedelta(hours=rule.internal_target_hours)
    zone_name = aware_timezone or ""

    if rule.kind is DeadlineKind.MONTHLY:
        return replace(_monthly(rule, local_start.year, local_start.month, start_utc, calendar),
                       aware_timezone=zone_name)
    if rule.kind is DeadlineKind.NO_FIXED_DEADLINE:
        assert target is not None  # guaranteed by DeadlineRule.problems()
        from qa_incidents.core.i18n import data_text

        clock = str(_l("No legal day count; internal target of %(h)s hours from %(trigger)s (not a legal deadline)",
                       h=f"{rule.internal_target_hours:g}", trigger=data_text(rule.trigger)))
        explanation = _explain(rule, clock, tz, _fmt(local_start), target, None, [])
        return Deadline(rule, start_utc, target, explanation, is_legal_deadline=False, internal_target=target,
                        steps=(clock,), calendar_version=calendar.version(), aware_timezone=zone_name)

    authority = _read(rule, start_utc, tz, tz, calendar)
    chosen, other = authority, None
    if aware_zone is not None and aware_zone.key != tz.key:
        site = _read(rule, start_utc, aware_zone, tz, calendar)
        if site.due_at != authority.due_at:
            chosen, other = (site, authority) if site.due_at < authority.due_at else (authority, site)
    steps = [str(_l("Clock started %(start)s (%(utc)s UTC).", start=_fmt(chosen.local_start),
                    utc=start_utc.strftime("%Y-%m-%d %H:%M")))]
    if aware_zone is not None:
        steps.append(str(_l("Day of the start on the aware site's calendar (%(zone)s): %(day)s; on the authority's "
                            "(%(tz)s): %(auth)s.", zone=aware_zone.key, day=start_utc.astimezone(aware_zone).date(),
                            tz=rule.time_zone, auth=local_start.date())))
    steps.append(_clock_words(rule) + ".")
    steps.append(str(_l("Holiday calendar: %(calendar)s.", calendar=calendar.version())))
    for s in chosen.skipped:
        steps.append(str(_l("%(day)s is not a working day (%(reason)s).", day=s.day.isoformat(), reason=s.reason)))
    if chosen.rolled_from is not None:
        steps.append(str(_l("%(day)s is not a working day, so the due date moves to the next working day",
                            day=chosen.rolled_from.isoformat())) + (f" ({rule.legal_basis})." if rule.legal_basis else "."))
    steps.append(str(_l("Due %(due)s.", due=_fmt(chosen.due_at.astimezone(tz)))))
    explanation = _explain(rule, _clock_words(rule), tz, _fmt(chosen.local_start), chosen.due_at, chosen.rolled_from,
                           list(chosen.skipped))
    if other is not None:
        why = str(_l("Counted on the aware site's date (%(site)s) and on the authority's date (%(auth)s), the "
                     "deadlines differ (%(a)s against %(b)s): the earlier, by the %(which)s date, applies, so the "
                     "deadline is never later than either reading of the law allows.",
                     site=start_utc.astimezone(aware_zone).date().isoformat() if aware_zone else "",
                     auth=local_start.date().isoformat(), a=_fmt(chosen.due_at.astimezone(tz)),
                     b=_fmt(other.due_at.astimezone(tz)),
                     which=str(_l("aware site's")) if chosen is not authority else str(_l("authority's"))))
        explanation += " " + why
        steps.append(why)
    return Deadline(rule, start_utc, chosen.due_at, explanation, internal_target=target, skipped=chosen.skipped,
                    steps=tuple(steps), calendar_version=calendar.version(), aware_timezone=zone_name,
                    reading="authority" if chosen is authority else "aware_site")


def decision_due(rule: DeadlineRule | str, *, start: datetime, aware_timezone: str | None = None,
                 country: str | None = None, holidays_provider: HolidaysProvider = public_holidays) -> Deadline | None:
    """For a clock that starts at a decision or an action: when that decision is due (working days after
    awareness, on the rule's calendar); None for a rule whose clock starts at awareness. Not a legal deadline."""
    rule = _resolve(rule)
    if not rule.decision_working_days:
        return None
    counting = replace(rule, kind=DeadlineKind.WORKING_DAYS, amount=rule.decision_working_days, trigger="awareness",
                       excludes_non_working_days=True, rollover=Rollover.NONE, due_time=DueTime.END_OF_DAY,
                       internal_target_hours=None)
    found = compute(counting, start=start, aware_timezone=aware_timezone, country=country,
                    holidays_provider=holidays_provider)
    what = str(_l("Decision due: %(decision)s, by %(who)s, within %(n)d working days of awareness (%(source)s). "
                  "The legal clock (%(clock)s) starts when it is signed as '%(event)s'.",
                  decision=rule.decision, who=rule.decision_by, n=rule.decision_working_days,
                  source=rule.decision_source, clock=_clock_words(rule), event=rule.event_signature))
    return replace(found, rule=rule, explanation=f"{what} {found.explanation}", is_legal_deadline=False,
                   steps=(what, *found.steps))


def deadline_for(code: str, *, aware_at: datetime, aware_timezone: str | None = None, country: str | None = None,
                 event_at: datetime | None = None,
                 holidays_provider: HolidaysProvider = public_holidays) -> Deadline | None:
    """An incident's deadline under a regime: the one computation every page, record, warning, API and command uses.

    A regime whose clock starts at a decision or an action shows the decision due (from awareness) until the
    event is recorded (`event_at`), then the legal deadline from the event. None for a regime without a rule.
    """
    rule = RULES.get(code)
    if rule is None:
        return None
    if rule.decision_working_days and event_at is None:
        return decision_due(rule, start=aware_at, aware_timezone=aware_timezone or None, country=country,
                            holidays_provider=holidays_provider)
    return compute(rule, start=event_at or aware_at, aware_timezone=aware_timezone or None, country=country,
                   holidays_provider=holidays_provider)


def monthly_due(rule: DeadlineRule | str, year: int, month: int, *,
                holidays_provider: HolidaysProvider = public_holidays) -> Deadline:
    """When the monthly report for `month` of `year` is due (for US-CPSC-MPR: the 1st of the next month)."""
    rule = _resolve(rule)
    if rule.kind is not DeadlineKind.MONTHLY:
        raise ValueError(f"Deadline rule {rule.code} is not a monthly report.")
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year < 9999:
        raise ValueError(f"Invalid year {year!r}.")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"Invalid month {month!r}: expected 1 to 12.")
    tz = ZoneInfo(rule.time_zone)
    return _monthly(rule, year, month, _at(date(year, month, 1), time(0), tz), _Calendar(rule, holidays_provider))


def _monthly(rule: DeadlineRule, year: int, month: int, start: datetime, calendar: _Calendar) -> Deadline:
    tz = ZoneInfo(rule.time_zone)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    due_day = date(next_year, next_month, rule.amount)
    skipped: list[SkippedDay] = []
    rolled_from = None
    if rule.rollover is Rollover.NEXT_WORKING_DAY:
        working_day = calendar.next_working_day(due_day, skipped)
        if working_day != due_day:
            rolled_from, due_day = due_day, working_day
    due_at = _at(due_day, rule.end_of_day, tz)
    clock = str(_l("Monthly report for %(month)s, due on day %(day)d of the following month",
                   month=f"{year:04d}-{month:02d}", day=rule.amount))
    explanation = _explain(rule, clock, tz, f"{year:04d}-{month:02d}", due_at, rolled_from, skipped)
    target = None if rule.internal_target_hours is None else start + timedelta(hours=rule.internal_target_hours)
    return Deadline(rule, start, due_at, explanation, internal_target=target, skipped=tuple(skipped),
                    steps=(clock + ".", explanation), calendar_version=calendar.version())


_US_WORK_DAY = ("Working days are Monday to Friday except US federal holidays (5 U.S.C. 6103; a Saturday holiday "
                "is observed the Friday before, a Sunday holiday the Monday after), as 21 CFR 803.3 defines a work day.")
_US_ZONE_NOTE = ("The regulation names no time zone: days are counted on the date where the company became aware "
                 "(its site's zone) and on New York's; the earlier deadline applies, ending at the end of the day "
                 "in New York.")
_US_NO_ROLLOVER = ("Whether a due date on a weekend or federal holiday moves to the next working day is not "
                   "stated in the reference: no rollover (the earlier date) is used.")
_EU_MDR_READING = ("Calendar days; a period ending on a Saturday, Sunday or public holiday of the receiving member "
                   "state ends at the end of the following working day (Regulation 1182/71 Art. 3(4)); day 0 is the day anyone in the organisation (including an authorised "
                   "representative or an outsourced complaint handler) first receives the information; the period "
                   "ends at 23:59:59 on day N (MDCG 2023-3 Rev.2 Q14-15).")
_EU_MDR_UNCONFIRMED = (
    "The receiving member state is taken to be the incident's country when it is an EU member state (its public "
    "holidays and time zone); otherwise Belgium (Europe/Brussels) is assumed.",
)
_EU_1182 = "Regulation (EEC, Euratom) No 1182/71 Art. 3(4) (rollover), Art. 2(1) (public holidays)"
_EU_COUNT: dict[str, Any] = {"holiday_country": EU_DEFAULT_MEMBER_STATE, "rollover": Rollover.NEXT_WORKING_DAY,
                             "calendar": "EU-1182-71", "member_state_holidays": True, "legal_basis": _EU_1182}
_CA_READING = ("Due at the end of the day {n} days after the day of awareness (calendar days), counted on the date "
               "where the company became aware; a due date on a holiday of the Interpretation Act (s.35(1): Sunday, "
               "New Year's Day, Good Friday, Easter Monday, Victoria Day, Canada Day, Labour Day, 30 September, "
               "Thanksgiving, Remembrance Day, Christmas Day) moves to the next day that is not a holiday (s.26). "
               "Saturday is not a holiday.")
_CA_UNCONFIRMED = (
    "Provincial or civic holidays proclaimed in the province concerned (s.35(1)(a)-(b)) and days proclaimed "
    "federally for one year only are not in the calendar: an administrator adds them on the calendar page.",
)
_CA_COUNT: dict[str, Any] = {"holiday_country": "CA", "rollover": Rollover.NEXT_WORKING_DAY,
                             "saturday_is_holiday": False, "calendar": "CA-INTERPRETATION-ACT",
                             "legal_basis": "Interpretation Act, R.S.C. 1985, c. I-21, s.26 (rollover), s.35(1) (holidays)"}
_INTERNAL_TARGET_NOTE = ("The default internal target of 24 hours is a placeholder: the administrator sets it "
                         "with the legal department.")

#: The starting rules, one per regime code in docs/regulations.md.
RULES: dict[str, DeadlineRule] = {
    r.code: r
    for r in (
        DeadlineRule(
            "JP-CPSA-35", "Japan, Consumer Product Safety Act Art. 35, serious product accident",
            DeadlineKind.DAY_OF_KNOWLEDGE_DAYS, 10, "Asia/Tokyo",
            source="Consumer Product Safety Act (消費生活用製品安全法) Art. 35; METI product safety guideline pages "
                   "(meti.go.jp/product_safety/producer/); Consumer Affairs Agency leaflet",
            trigger="knowledge", holiday_country="JP", rollover=Rollover.NEXT_WORKING_DAY,
            calendar="JP-ADMIN-HOLIDAYS", legal_basis="Act No. 91 of 1988 Art. 2 (rollover), Art. 1 (holidays)",
            reading="10 days counting the day any department first learns of the accident (知った日を含め): "
                    "due at the end of knowledge date + 9, counted on the date where the company learned of it; "
                    "weekends and holidays are counted, but a due day on an administrative holiday (Saturday, "
                    "Sunday, national holiday, 29 Dec-3 Jan) moves to the next day that is not one "
                    "(Act No. 91 of 1988 Art. 2).",
            unconfirmed=(
                "How often recall progress reports are due (METI) is unconfirmed; not computed here.",
            ),
        ),
        DeadlineRule(
            "US-CPSC-15B", "USA, CPSA §15(b), 16 CFR 1115", DeadlineKind.HOURS, 24, "America/New_York",
            source="CPSA §15(b); 16 CFR 1115.14(a); CPSC 'Duty to Report' pages",
            trigger="obtaining information that reasonably supports the conclusion", holiday_country="US",
            excludes_non_working_days=True, due_time=DueTime.SAME_CLOCK_TIME,
            legal_basis="16 CFR 1115.14(a) (24 hours, weekends and holidays excluded)",
            decision="whether the information reasonably supports the conclusion that the product fails a rule or "
                     "standard, contains a defect which could create a substantial product hazard, or creates an "
                     "unreasonable risk of serious injury or death (investigate expeditiously)",
            decision_by="head-office QA (the responsible official)", decision_working_days=10,
            decision_source="16 CFR 1115.14(d): an investigation should not exceed 10 working days",
            event_signature="information reasonably supports",
            reading="'Immediately', i.e. within 24 hours, weekends and federal holidays excluded: read as the same "
                    "New York clock time on the next working day. " + _US_WORK_DAY,
            unconfirmed=(
                "16 CFR 1115.14(a) excludes weekends and holidays from the 24 hours without saying how: the product "
                "uses the same New York clock time on the next working day. Across a daylight-saving change this is "
                "23 or 25 elapsed hours, not 24; information obtained on a weekend or holiday is due at that clock "
                "time on the next working day (earlier than 24 hours counted from the start of that day).",
                _US_ZONE_NOTE,
            ),
        ),
        DeadlineRule(
            "US-CPSC-MPR", "USA, CPSC monthly progress report on a corrective action", DeadlineKind.MONTHLY, 1,
            "America/New_York", source="CPSC monthly progress report form; CPSC corrective action guidance",
            trigger="the month reported on", holiday_country="US",
            reading="The report for month M is due on the 1st of month M+1, end of day New York time. "
                    "Computed from a start time, it is the report for the month the start falls in.",
            unconfirmed=(_US_NO_ROLLOVER, "The time of day is not stated: the end of the 1st (New York) is used."),
        ),
        DeadlineRule(
            "US-CPSC-FASTTRACK", "USA, CPSC Fast Track corrective action plan", DeadlineKind.WORKING_DAYS, 20,
            "America/New_York", source="CPSC Fast Track pages", trigger="the report", holiday_country="US",
            excludes_non_working_days=True,
            reading="Corrective action plan within 20 working days of the report. " + _US_WORK_DAY,
            unconfirmed=("CPSC's own definition of a working day for Fast Track is not in the reference: the "
                         "21 CFR 803.3 definition is applied.", _US_ZONE_NOTE),
        ),
        DeadlineRule(
            "US-FDA-806", "USA, 21 CFR 806.10 corrections and removals", DeadlineKind.WORKING_DAYS, 10,
            "America/New_York", source="21 CFR 806.10", trigger="initiating the correction or removal",
            holiday_country="US", excludes_non_working_days=True, legal_basis="21 CFR 806.10(b)",
            decision="whether to initiate a correction or removal to reduce a risk to health",
            decision_by="head-office QA", decision_working_days=10,
            decision_source="internal target: Part 806 sets no period for the decision (to be confirmed by the legal "
                            "department)",
            event_signature="correction initiated",
            reading="Within 10 working days of initiating the correction or removal. " + _US_WORK_DAY,
            unconfirmed=("Applying the 21 CFR 803.3 'work day' definition to Part 806 is an inference.",
                         _US_ZONE_NOTE),
        ),
        DeadlineRule(
            "US-FDA-803-30", "USA, 21 CFR 803.50 medical device report", DeadlineKind.CALENDAR_DAYS, 30,
            "America/New_York", source="21 CFR 803.50", holiday_country="US", legal_basis="21 CFR 803.50(a) (30 calendar days)",
            reading="30 calendar days after becoming aware (any employee), end of that day New York time.",
            unconfirmed=(_US_NO_ROLLOVER, _US_ZONE_NOTE),
        ),
        DeadlineRule(
            "US-FDA-803-5", "USA, 21 CFR 803.53 five-day report", DeadlineKind.WORKING_DAYS, 5, "America/New_York",
            source="21 CFR 803.53; 21 CFR 803.3 (work day)", holiday_country="US", excludes_non_working_days=True,
            legal_basis="21 CFR 803.53 (5 work days); 21 CFR 803.3 (work day)",
            reading="5 work days after a manager or supervisor becomes aware. " + _US_WORK_DAY,
            unconfirmed=(_US_ZONE_NOTE,),
        ),
        DeadlineRule(
            "US-NHTSA-573", "USA, 49 CFR 573.6 defect/noncompliance report", DeadlineKind.WORKING_DAYS, 5,
            "America/New_York", source="49 CFR 573.6(b)", trigger="the determination", holiday_country="US",
            excludes_non_working_days=True, legal_basis="49 CFR 573.6(b)",
            decision="whether the defect is related to motor vehicle safety, or the noncompliance is determined",
            decision_by="head-office QA", decision_working_days=10,
            decision_source="internal target: 49 CFR 573 sets no period for the determination (to be confirmed by "
                            "the legal department)",
            event_signature="defect determined",
            reading="Within 5 working days after the defect is determined safety-related or the noncompliance is "
                    "determined. " + _US_WORK_DAY,
            unconfirmed=("Applying the 21 CFR 803.3 'work day' definition to 49 CFR 573 is an inference.",
                         "Due dates of the quarterly follow-up reports (49 U.S.C. 30118(f)) are unconfirmed; "
                         "not computed here.", _US_ZONE_NOTE),
        ),
        DeadlineRule(
            "EU-GPSR-20", "EU, GPSR (EU) 2023/988 Art. 20 accident notification", DeadlineKind.NO_FIXED_DEADLINE, 0,
            "Europe/Brussels", source="Regulation (EU) 2023/988 Art. 20; Commission guidelines C/2025/6238",
            trigger="knowledge of the accident", internal_target_hours=24,
            reading="'Without undue delay': no legal day count; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE,), effective_from=date(2024, 12, 13),
        ),
        DeadlineRule(
            "EU-MDR-87-15", "EU, MDR 2017/745 Art. 87 serious incident", DeadlineKind.CALENDAR_DAYS, 15,
            "Europe/Brussels", source="Regulation (EU) 2017/745 Art. 87; MDCG 2023-3 Rev.2 Q14-15",
            reading=_EU_MDR_READING, unconfirmed=_EU_MDR_UNCONFIRMED, **_EU_COUNT,
        ),
        DeadlineRule(
            "EU-MDR-87-10", "EU, MDR Art. 87, death or unanticipated serious deterioration",
            DeadlineKind.CALENDAR_DAYS, 10, "Europe/Brussels",
            source="Regulation (EU) 2017/745 Art. 87; MDCG 2023-3 Rev.2 Q14-15",
            reading=_EU_MDR_READING, unconfirmed=_EU_MDR_UNCONFIRMED, **_EU_COUNT,
        ),
        DeadlineRule(
            "EU-MDR-87-2", "EU, MDR Art. 87, serious public health threat", DeadlineKind.CALENDAR_DAYS, 2,
            "Europe/Brussels", source="Regulation (EU) 2017/745 Art. 87; MDCG 2023-3 Rev.2 Q14-15",
            reading=_EU_MDR_READING, unconfirmed=_EU_MDR_UNCONFIRMED, **_EU_COUNT,
        ),
        DeadlineRule(
            "CA-CCPSA-14-2", "Canada, CCPSA s.14(2) incident information", DeadlineKind.CALENDAR_DAYS, 2,
            "America/Toronto", source="Canada Consumer Product Safety Act s.14(2); Interpretation Act s.26; "
                                      "Health Canada guidance on mandatory incident reporting",
            **_CA_COUNT, reading=_CA_READING.format(n=2), unconfirmed=_CA_UNCONFIRMED,
        ),
        DeadlineRule(
            "CA-CCPSA-14-3", "Canada, CCPSA s.14(3) written report", DeadlineKind.CALENDAR_DAYS, 10,
            "America/Toronto", source="Canada Consumer Product Safety Act s.14(3); Interpretation Act s.26; "
                                      "Health Canada guidance on mandatory incident reporting",
            **_CA_COUNT, reading=_CA_READING.format(n=10), unconfirmed=_CA_UNCONFIRMED,
        ),
        DeadlineRule(
            "AU-ACL-131", "Australia, Australian Consumer Law s.131 mandatory report", DeadlineKind.CALENDAR_DAYS, 2,
            "Australia/Sydney", source="Australian Consumer Law s.131; ACCC / productsafety.gov.au mandatory "
                                       "reporting pages",
            holiday_country="AU", holiday_subdiv="NSW", rollover=Rollover.NEXT_WORKING_DAY, end_of_day=time(23, 59),
            calendar="AU-AIA-36", legal_basis="Acts Interpretation Act 1901 (Cth) s.36(2)",
            reading="2 days after the day of awareness, ending 11:59 pm, counted on the date where the company "
                    "became aware; a due date on a Saturday, Sunday, public holiday or bank holiday moves to the next "
                    "business day (Acts Interpretation Act 1901 s.36(2); ACCC: Mon→Wed, Tue→Thu, Wed→Fri, "
                    "Thu/Fri/Sat→Mon, Sun→Tue).",
            unconfirmed=("Public and bank holidays and the time zone are those of New South Wales (Sydney, where the "
                         "ACCC report is taken to be made): whether another place applies is to be confirmed.",),
        ),
        DeadlineRule(
            "UK-GPSR-9", "UK, General Product Safety Regulations 2005 reg. 9", DeadlineKind.NO_FIXED_DEADLINE, 0,
            "Europe/London", source="General Product Safety Regulations 2005, reg. 9",
            trigger="knowing the product is unsafe", holiday_country="GB", internal_target_hours=24,
            reading="'Forthwith': no legal day count; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE,
                         "The Product Regulation and Metrology Act 2025 enables new rules: any new notification duty "
                         "or deadline is unconfirmed."),
        ),
        # --- Regimes added with the reportability definitions (notifications/reportability.py) ---
        DeadlineRule(
            "EU-GPSD-5-3", "EU, GPSD 2001/95/EC Art. 5(3) notification of a dangerous product (until 12 Dec 2024)",
            DeadlineKind.NO_FIXED_DEADLINE, 0, "Europe/Brussels",
            source="Directive 2001/95/EC Art. 5(3), Annex I; Commission Decision 2004/905/EC (guidelines)",
            trigger="knowing the product poses risks", internal_target_hours=24,
            reading="'Immediately': no day count in the Directive; the Commission's guidelines ask for 10 days, 3 days "
                    "for a serious risk and at once for an immediate risk; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE, "The guidelines' 10 and 3 days are guidance, not the Directive."),
        ),
        DeadlineRule(
            "US-CPSC-37", "USA, CPSA §37 lawsuit report (16 CFR 1116)", DeadlineKind.CALENDAR_DAYS, 30,
            "America/New_York", source="CPSA §37 (15 U.S.C. 2084); 16 CFR 1116",
            trigger="the final settlement or judgment of the third civil action in 24 months", holiday_country="US",
            reading="Within 30 days after the final settlement or judgment of the third action in a 24-month period.",
            unconfirmed=(_US_NO_ROLLOVER, _US_ZONE_NOTE,
                         "The clock runs from the third settlement or judgment, not from awareness of the incident."),
        ),
        DeadlineRule(
            "US-CPSC-1117", "USA, choking incident report (16 CFR 1117)", DeadlineKind.HOURS, 24, "America/New_York",
            source="Child Safety Protection Act §102 (15 U.S.C. 1278 note); 16 CFR 1117.3",
            trigger="obtaining the information", holiday_country="US", due_time=DueTime.SAME_CLOCK_TIME,
            reading="Within 24 hours of obtaining the information, elapsed hours.",
            unconfirmed=("Whether weekends and holidays are excluded as in 16 CFR 1115.14(a) is not stated: 24 elapsed "
                         "hours (the earlier reading) are used.", _US_ZONE_NOTE),
        ),
        DeadlineRule(
            "EU-MDR-87-FSCA", "EU, MDR Art. 87(1)(b) field safety corrective action", DeadlineKind.NO_FIXED_DEADLINE,
            0, "Europe/Brussels", source="Regulation (EU) 2017/745 Art. 87(1)(b), 87(8)",
            trigger="before the corrective action is undertaken", internal_target_hours=24,
            reading="Reported before the field safety corrective action is undertaken, except where urgency requires "
                    "it to be undertaken at once (Art. 87(8)): no day count; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE,),
        ),
        DeadlineRule(
            "EU-MDR-88", "EU, MDR Art. 88 trend report", DeadlineKind.NO_FIXED_DEADLINE, 0, "Europe/Brussels",
            source="Regulation (EU) 2017/745 Art. 88", trigger="finding a significant increase", internal_target_hours=360,
            reading="No day count in Art. 88: the post-market surveillance plan sets how an increase is found; the "
                    "company's internal target applies.",
            unconfirmed=("The 15-day internal target is a placeholder: the administrator sets it with the legal "
                         "department.",),
        ),
        DeadlineRule(
            "JP-PMD-68-10-15", "Japan, PMD Act Art. 68-10 device malfunction report (15 days)",
            DeadlineKind.DAY_OF_KNOWLEDGE_DAYS, 15, "Asia/Tokyo",
            source="医薬品医療機器等法 第68条の10第1項; 施行規則 第228条の20第1項", trigger="knowledge",
            holiday_country="JP",
            reading="15 days counting the day of knowledge (知った日から起算して), Japan time: the earlier reading.",
            unconfirmed=("Whether the day of knowledge counts (起算) and whether a due date on a holiday moves are to "
                         "be checked: the earlier date is used.",),
        ),
        DeadlineRule(
            "JP-PMD-68-10-30", "Japan, PMD Act Art. 68-10 device malfunction report (30 days)",
            DeadlineKind.DAY_OF_KNOWLEDGE_DAYS, 30, "Asia/Tokyo",
            source="医薬品医療機器等法 第68条の10第1項; 施行規則 第228条の20第2項", trigger="knowledge",
            holiday_country="JP",
            reading="30 days counting the day of knowledge (知った日から起算して), Japan time: the earlier reading.",
            unconfirmed=("Whether the day of knowledge counts (起算) and whether a due date on a holiday moves are to "
                         "be checked: the earlier date is used.",),
        ),
        DeadlineRule(
            "JP-RTVA-63-3", "Japan, Road Transport Vehicle Act Art. 63-3 recall notification",
            DeadlineKind.NO_FIXED_DEADLINE, 0, "Asia/Tokyo", source="道路運送車両法 第63条の3第1項",
            trigger="before the recall starts", holiday_country="JP", internal_target_hours=24,
            reading="Notified to the Minister before the recall (改善措置) starts: no day count; the company's internal "
                    "target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE,),
        ),
        DeadlineRule(
            "CA-MDR-60-10", "Canada, Medical Devices Regulations s.60(1)(a) problem report (death, serious deterioration)",
            DeadlineKind.CALENDAR_DAYS, 10, "America/Toronto",
            source="Medical Devices Regulations (SOR/98-282) s.59, 60(1)(a); Interpretation Act s.26",
            holiday_country="CA", holiday_subdiv="ON", rollover=Rollover.NEXT_WORKING_DAY, saturday_is_holiday=False,
            reading=_CA_READING.format(n=10), unconfirmed=_CA_UNCONFIRMED,
        ),
        DeadlineRule(
            "CA-MDR-60-30", "Canada, Medical Devices Regulations s.60(1)(b) problem report (could recur)",
            DeadlineKind.CALENDAR_DAYS, 30, "America/Toronto",
            source="Medical Devices Regulations (SOR/98-282) s.59, 60(1)(b); Interpretation Act s.26",
            holiday_country="CA", holiday_subdiv="ON", rollover=Rollover.NEXT_WORKING_DAY, saturday_is_holiday=False,
            reading=_CA_READING.format(n=30), unconfirmed=_CA_UNCONFIRMED,
        ),
        DeadlineRule(
            "CA-MVSA-10", "Canada, Motor Vehicle Safety Act s.10 notice of defect", DeadlineKind.NO_FIXED_DEADLINE, 0,
            "America/Toronto", source="Motor Vehicle Safety Act (S.C. 1993, c. 16) s.10(1)",
            trigger="knowledge of the defect", holiday_country="CA", internal_target_hours=24,
            reading="No day count is read from the Act here; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE, "The Act's and the Regulations' time for the notice of defect."),
        ),
        DeadlineRule(
            "EU-VEH-52", "EU, Regulation (EU) 2018/858 Art. 52 vehicles presenting a serious risk",
            DeadlineKind.NO_FIXED_DEADLINE, 0, "Europe/Brussels", source="Regulation (EU) 2018/858 Art. 52",
            trigger="knowing of the serious risk or non-conformity", internal_target_hours=24,
            reading="'Immediately': no day count; the company's internal target applies.",
            unconfirmed=(_INTERNAL_TARGET_NOTE,),
        ),
    )
}
