"""Pure recall rules: who is affected (serial ranges, lots, exclusions), what a notice must say,
completion and stall arithmetic, and when progress reports fall due.

No Flask and no database here, so every rule is tested in milliseconds.
"""

from __future__ import annotations

import calendar
import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles

# --- vocabularies ------------------------------------------------------------------------


class RecallStatus(TitledEnum):
    DRAFT = "draft", _l("Being prepared")
    LAUNCHED = "launched", _l("Launched")
    CLOSED = "closed", _l("Closed")
    WITHDRAWN = "withdrawn", _l("Withdrawn before launch")


RECALL_STATUS_TITLES = titles(RecallStatus)
#: A recall in these states keeps its incidents open.
OPEN_STATUSES = frozenset({RecallStatus.DRAFT, RecallStatus.LAUNCHED})


class Remedy(enum.StrEnum):
    REPAIR = "repair"
    REPLACEMENT = "replacement"
    REFUND = "refund"
    INSPECTION = "inspection"


REMEDY_TITLES = {
    Remedy.REPAIR: _l("Repair"),
    Remedy.REPLACEMENT: _l("Replacement"),
    Remedy.REFUND: _l("Refund"),
    Remedy.INSPECTION: _l("Inspection"),
}


class Channel(enum.StrEnum):
    DIRECT_MAIL = "direct_mail"
    EMAIL = "email"
    NEWSPAPER = "newspaper"
    WEBSITE = "website"
    RETAILER = "retailer"
    SERVICE_CENTRE = "service_centre"
    OTHER = "other"


CHANNEL_TITLES = {
    Channel.DIRECT_MAIL: _l("Direct mail"),
    Channel.EMAIL: _l("E-mail"),
    Channel.NEWSPAPER: _l("Newspaper advertisement"),
    Channel.WEBSITE: _l("Website"),
    Channel.RETAILER: _l("Retailer"),
    Channel.SERVICE_CENTRE: _l("Service centre"),
    Channel.OTHER: _l("Other"),
}


class MailingKind(enum.StrEnum):
    POST = "post"
    EMAIL = "email"


MAILING_TITLES = {MailingKind.POST: _l("Letters by post"), MailingKind.EMAIL: _l("E-mails")}


# --- serial numbers, lots and models -------------------------------------------------------

#: What people type between the parts of a serial number; ignored when comparing.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―ー_./:#]+")
_RUNS = re.compile(r"[A-Z]+|[0-9]+")
MAX_CODE_LENGTH = 60


def normalise_code(raw: str | None) -> str:
    """A serial, lot or model as compared: full-width folded to ASCII, upper case, no separators.

    "ab-123 456", "AB123456" and "ＡＢ－１２３４５６" are the same serial.
    """
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return _SEPARATORS.sub("", text)


def is_well_formed(code: str) -> bool:
    """Whether a normalised code has only letters and digits (and is not empty or absurdly long)."""
    return 0 < len(code) <= MAX_CODE_LENGTH and _RUNS.sub("", code) == ""


def runs(code: str) -> list[str]:
    """The letter and digit runs of a normalised code: "AB0012C" → ["AB", "0012", "C"]."""
    return _RUNS.findall(code)


def _key(parts: Sequence[str]) -> tuple[tuple[int, int | str], ...]:
    # Numbers compare as numbers (9 < 10), letters as letters; the leading 0/1 keeps kinds apart.
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def pattern_of(code: str) -> str:
    """How a serial looks, for hints: letters as "A", digits as "9" ("AB123456" → "AA999999")."""
    return "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in code)


class RangeError(ValueError):
    """A serial range that cannot be used; the message is fit to show the user."""


@dataclass(frozen=True)
class SerialRange:
    """Serial numbers from first to last inclusive, of one pattern.

    A serial is in the range when it has the same pattern (the same sequence of letter and
    digit runs) and lies between the bounds, comparing numbers as numbers and letters as
    letters. A digit run whose bounds have the same width (zero-padded, as printed on
    labels) must have that width; if the bounds differ in width (unpadded numbers), any
    width between them is accepted.
    """

    first: str
    last: str
    #: The bounds as the company writes them (e.g. "RS38-2611-004000"): what people are shown, never rewritten.
    first_text: str = field(default="", compare=False)
    last_text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, first_raw: str, last_raw: str | None = None) -> SerialRange:
        first = normalise_code(first_raw)
        last = normalise_code(last_raw) if last_raw and last_raw.strip() else first
        for code, raw in ((first, first_raw), (last, last_raw or first_raw)):
            if not is_well_formed(code):
                raise RangeError(str(_l("“%(serial)s” is not a serial number: use letters and digits "
                                        "(dashes and spaces are ignored).", serial=(raw or "").strip()[:80])))
        a, b = runs(first), runs(last)
        if len(a) != len(b) or any(x.isdigit() != y.isdigit() for x, y in zip(a, b, strict=True)) or any(
                not x.isdigit() and len(x) != len(y) for x, y in zip(a, b, strict=True)):
            raise RangeError(str(_l("The first and last serial numbers must follow the same pattern "
                                    "(e.g. AB-100000 to AB-199999).")))
        if _key(a) > _key(b):
            raise RangeError(str(_l("The first serial number comes after the last one.")))
        first_text = " ".join((first_raw or "").split())
        last_text = " ".join((last_raw or "").split()) if last_raw and last_raw.strip() else first_text
        return cls(first, last, first_text, last_text)

    @property
    def single(self) -> bool:
        return self.first == self.last

    def fits_pattern(self, code: str) -> bool:
        """Whether a normalised serial has this range's pattern (whatever its value)."""
        parts, a, b = runs(code), runs(self.first), runs(self.last)
        if "".join(parts) != code or len(parts) != len(a):
            return False
        for p, x, y in zip(parts, a, b, strict=True):
            if p.isdigit() != x.isdigit():
                return False
            if p.isdigit():
                low, high = sorted((len(x), len(y)))
                if not low <= len(p) <= high:
                    return False
            elif len(p) != len(x):
                return False
        return True

    def contains(self, code: str) -> bool:
        """Whether a normalised serial is in the range."""
        if not self.fits_pattern(code):
            return False
        return _key(runs(self.first)) <= _key(runs(code)) <= _key(runs(self.last))

    def pattern(self) -> str:
        """The range's look for hints ("AA999999"): letters and digits only, never a real serial of the range."""
        return pattern_of(self.first)


@dataclass(frozen=True)
class PopulationRule:
    """One line of the affected population: a model, optionally narrowed to a lot and/or a serial range.

    Exclusions have the same shape and take units back out (e.g. units already reworked at the factory).
    """

    model: str  # normalised
    exclude: bool = False
    lot: str = ""  # normalised; "" = any lot
    serials: SerialRange | None = None


class Outcome(enum.StrEnum):
    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    LOT_NEEDED = "lot_needed"  # a rule depends on the lot and none was given
    CHECK_FORMAT = "check_format"  # the serial does not look like this product's serials


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    hints: tuple[str, ...] = ()
    suggestion: str = ""  # a corrected serial the customer probably meant


def _rule_applies(rule: PopulationRule, serial: str, lot: str) -> bool | None:
    """True/False, or None when only the lot would tell."""
    if rule.serials is not None and not rule.serials.contains(serial):
        return False
    if rule.lot:
        if not lot:
            return None
        return rule.lot == lot
    return True


def match_unit(rules: Iterable[PopulationRule], *, model: str, serial: str, lot: str = "") -> Verdict:
    """Whether the unit with this model and serial (and lot, if known) is in the affected population.

    An exclusion that applies wins over any inclusion. When the answer hangs on the lot
    and no lot was given, the verdict asks for it rather than guessing.
    """
    model_n, serial_n, lot_n = normalise_code(model), normalise_code(serial), normalise_code(lot)
    mine = [r for r in rules if r.model == model_n]
    # Only the affected ranges say how serials look: an exclusion's range never reaches the hints.
    ranges = [r.serials for r in mine if r.serials is not None and not r.exclude]
    if ranges and not any(r.fits_pattern(serial_n) for r in ranges):
        # The serial cannot be judged: it does not look like this product's serials.
        hints, suggestion = format_hints(serial, ranges, models=[model_n])
        return Verdict(Outcome.CHECK_FORMAT, hints, suggestion)
    included = [_rule_applies(r, serial_n, lot_n) for r in mine if not r.exclude]
    excluded = [_rule_applies(r, serial_n, lot_n) for r in mine if r.exclude]
    if True in excluded:
        return Verdict(Outcome.NOT_AFFECTED)
    if True in included:
        return Verdict(Outcome.LOT_NEEDED if None in excluded else Outcome.AFFECTED)
    if None in included:
        return Verdict(Outcome.LOT_NEEDED)
    return Verdict(Outcome.NOT_AFFECTED)


#: Characters people mix up on labels, by what the position should hold.
_AS_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"}


def _corrected(code: str, template: str) -> str | None:
    """The code with look-alike characters swapped to fit the template's letters/digits, if that works."""
    if len(code) != len(template):
        return None
    out = []
    for c, t in zip(code, template, strict=True):
        if t.isdigit() and not c.isdigit():
            c = _AS_DIGIT.get(c, c)
        elif t.isalpha() and not c.isalpha():
            c = _AS_LETTER.get(c, c)
        out.append(c)
    fixed = "".join(out)
    return fixed if fixed != code else None


def shaped_like(code: str, written: str) -> str:
    """A normalised serial written the way `written` (the company's own form) is: its separators at the same places
    ("RS382611004001" like "RS38-2611-004000" → "RS38-2611-004001"); the code itself when the two do not line up."""
    text = unicodedata.normalize("NFKC", written).upper()
    if len(normalise_code(text)) != len(code):
        return code
    chars = iter(code)
    shaped = "".join(c if _SEPARATORS.fullmatch(c) else next(chars) for c in text)
    return shaped if normalise_code(shaped) == code else code


def describe_pattern(pattern: str) -> str:
    """The look of a serial in words, from its pattern ("AA999999"): "2 letters, then 6 digits". Never a serial."""
    parts = runs(pattern)
    words = [str(_l("%(n)d digits", n=len(p))) if p.isdigit() else str(_l("%(n)d letters", n=len(p))) for p in parts]
    return str(_l(", then ")).join(words)


def format_hints(raw: str, ranges: Sequence[SerialRange], *, models: Sequence[str] = ()) -> tuple[tuple[str, ...], str]:
    """Hints for a serial that does not look right, and a corrected serial when look-alikes explain it.

    The hints describe the serials' pattern (letters and digits, length) and the customer's own input, never a
    serial of the population: on the public page they would let anyone bisect a range in a few dozen checks."""
    code = normalise_code(raw)
    examples = list(dict.fromkeys(r.pattern() for r in ranges))
    hints: list[str] = []
    suggestion = ""
    if code and code in {normalise_code(m) for m in models}:
        hints.append(str(_l("That is the model number. The serial number is printed next to “S/N” or “Serial” "
                            "on the same label.")))
    for example in examples:
        fixed = _corrected(code, example)
        match = next((r for r in ranges if r.fits_pattern(fixed)), None) if fixed else None
        if match is not None:
            suggestion = fixed
            hints.append(str(_l("Check look-alike characters: letter O and digit 0, letter I and digit 1, "
                                "letter S and digit 5. Did you mean %(serial)s?", serial=shaped_like(fixed, match.first_text or match.first))))
            break
    if examples:
        looks = "; ".join(describe_pattern(e) for e in examples[:3])
        hints.append(str(_l("Serial numbers on this product look like %(looks)s. Dashes and spaces do not matter.",
                            looks=looks)))
        lengths = sorted({len(e) for e in examples})
        if code and len(code) not in lengths and not suggestion:
            hints.append(str(_l("You typed %(n)d letters and digits; these serial numbers have %(want)s.",
                                n=len(code), want=" / ".join(str(n) for n in lengths))))
    return tuple(hints), suggestion


# --- the customer notice -------------------------------------------------------------------

EU_MEMBERS = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())

NOTICE_FIELDS: dict[str, object] = {
    "heading": _l("Heading"),
    "product_name": _l("Product name and common names"),
    "brand": _l("Brand, manufacturer and significant retailers"),
    "identification": _l("How to identify the product (models, batch and serial numbers, where they are printed)"),
    "picture": _l("Picture of the product"),
    "where_sold": _l("Where and when it was made and sold"),
    "units": _l("Number of units"),
    "hazard": _l("The hazard, stated plainly"),
    "incidents": _l("Incidents and injuries reported"),
    "what_to_do": _l("What to do now"),
    "remedy": _l("The remedy offered"),
    "contact": _l("Contact point"),
}

#: What every notice contains, and what each regime adds (see docs/regulations.md).
BASE_REQUIRED = ("heading", "product_name", "identification", "picture", "hazard", "what_to_do", "remedy", "contact")
REGIME_REQUIRED: dict[str, tuple[str, ...]] = {
    # 15 USC 2064(i)(2): model/SKU, photo, action, units, hazard, manufacturers and retailers,
    # manufacture and sale dates, injuries and deaths.
    "US-CPSC": ("brand", "units", "where_sold", "incidents"),
    # Regulation (EU) 2023/988 Art. 36: heading, pictures, name, brand, batch/serials, where and when sold,
    # the hazard without minimising words, stop using, remedies, contact.
    "EU-GPSR-36": ("brand", "where_sold"),
}
REGIME_TITLES = {
    "BASE": _l("Every recall notice"),
    "US-CPSC": _l("USA: CPSA §15(i) recall notice"),
    "EU-GPSR-36": _l("EU: GPSR Art. 36 recall notice"),
}
EU_HEADING = "Product safety recall"
#: Words Art. 36 GPSR forbids because they play the risk down (lower case, matched as words).
MINIMISING_WORDS = ("voluntary", "voluntarily", "in rare situations", "in rare cases", "rarely", "precautionary",
                    "as a precaution", "out of an abundance of caution", "unlikely")
_STOP_WORDS = ("stop using", "do not use", "don't use", "unplug", "使用を中止", "使用しない")


def notice_regimes(countries: Iterable[str]) -> list[str]:
    """The notice regimes that apply for the countries where the product was sold."""
    codes = {c.upper() for c in countries}
    out = ["BASE"]
    if "US" in codes:
        out.append("US-CPSC")
    if codes & EU_MEMBERS:
        out.append("EU-GPSR-36")
    return out


@dataclass(frozen=True)
class NoticeProblem:
    field: str
    message: str
    regime: str
    blocking: bool = True


def notice_problems(content: dict[str, str], *, countries: Iterable[str]) -> list[NoticeProblem]:
    """What the notice lacks for the laws of the countries concerned; blocking problems stop publication.

    content maps the NOTICE_FIELDS names to text ("picture" to a file name or "").
    """
    problems: list[NoticeProblem] = []
    regimes = notice_regimes(countries)
    seen: set[str] = set()
    for regime in regimes:
        required = BASE_REQUIRED if regime == "BASE" else REGIME_REQUIRED[regime]
        for name in required:
            if name in seen:
                continue
            if not (content.get(name) or "").strip():
                seen.add(name)
                problems.append(NoticeProblem(name, str(_l("Missing: %(what)s.", what=NOTICE_FIELDS[name])), regime))
    if "EU-GPSR-36" in regimes:
        heading = (content.get("heading") or "").strip()
        if heading and heading.casefold() != EU_HEADING.casefold():
            problems.append(NoticeProblem("heading", str(_l("For the EU the heading must read “%(h)s”.", h=EU_HEADING)),
                                          "EU-GPSR-36"))
        hazard = " " + re.sub(r"[^\w\s]", " ", (content.get("hazard") or "").casefold()) + " "
        hazard = " ".join(hazard.split())
        found = [w for w in MINIMISING_WORDS if re.search(rf"(^|\s){re.escape(w)}($|\s)", hazard)]
        if found:
            problems.append(NoticeProblem("hazard", str(_l("State the hazard without words that play it down "
                                                           "(found: %(words)s).", words=", ".join(found))),
                                          "EU-GPSR-36"))
        todo = (content.get("what_to_do") or "").casefold()
        if todo and not any(w in todo for w in _STOP_WORDS):
            problems.append(NoticeProblem("what_to_do", str(_l("Tell customers plainly to stop using the product.")),
                                          "EU-GPSR-36"))
    return problems


# --- progress --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    located: int = 0
    notified: int = 0
    repaired: int = 0
    replaced: int = 0
    refunded: int = 0

    @property
    def remedied(self) -> int:
        return self.repaired + self.replaced + self.refunded

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.located + other.located, self.notified + other.notified, self.repaired + other.repaired,
                     self.replaced + other.replaced, self.refunded + other.refunded)


TALLY_FIELDS = ("located", "notified", "repaired", "replaced", "refunded")


def completion_rate(remedied: int, units: int) -> float:
    """Remedied units as a share of the affected units (0.0–1.0, never above 1)."""
    if units <= 0:
        return 0.0
    return min(1.0, max(0, remedied) / units)


def percent(rate: float) -> str:
    """A rate as people read it: 37.5 %, never 100 % until it really is."""
    value = rate * 100
    if value >= 100:
        return "100 %"
    return f"{min(value, 99.9):.1f} %"


def target_met(remedied: int, units: int, target_percent: int) -> bool:
    """Whether the remedied units reach the campaign's target completion."""
    return units > 0 and remedied * 100 >= units * target_percent


def cumulative_by_week(points: Iterable[tuple[date, int]], *, start: date, end: date) -> list[tuple[date, int]]:
    """Cumulative totals at the end of each week from start to end (inclusive): the completion curve."""
    if end < start:
        return []
    ordered = sorted(points)
    out: list[tuple[date, int]] = []
    total, i = 0, 0
    day = start
    while True:
        cut = min(day + timedelta(days=6), end)
        while i < len(ordered) and ordered[i][0] <= cut:
            total += ordered[i][1]
            i += 1
        out.append((cut, total))
        if cut >= end:
            break
        day = cut + timedelta(days=1)
    return out


def stalled_since(*, last_progress_on: date | None, launched_on: date, today: date, weeks: int) -> date | None:
    """The day the campaign stalled (its last progress, or launch) if nothing was remedied for `weeks` weeks."""
    since = max(d for d in (last_progress_on, launched_on) if d is not None)
    return since if today - since >= timedelta(weeks=max(1, weeks)) else None


# --- progress reports to authorities ---------------------------------------------------------


class Cadence(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


@dataclass(frozen=True)
class ReportSchedule:
    """When an authority wants progress reports on a corrective action."""

    regime_code: str
    title: str
    time_zone: str
    #: (cadence, how many such periods; 0 = until the campaign closes)
    phases: tuple[tuple[Cadence, int], ...]
    #: days after the period's last day; 1 = the first day of the next period
    due_days_after: int
    source: str
    unconfirmed: tuple[str, ...] = field(default=())


REPORT_SCHEDULES: dict[str, ReportSchedule] = {
    "US-CPSC-MPR": ReportSchedule(
        "US-CPSC-MPR", "CPSC monthly progress report", "America/New_York", ((Cadence.MONTHLY, 0),), 1,
        "CPSC monthly progress report form: due the 1st of each month for the month before."),
    "US-NHTSA-573": ReportSchedule(
        "US-NHTSA-573", "NHTSA recall quarterly report", "America/New_York",
        ((Cadence.QUARTERLY, 8), (Cadence.ANNUAL, 3)), 30,
        "49 USC 30118(f): quarterly reports for 8 consecutive quarters, then annual reports for 3 years.",
        ("The due date (30 days after the period) is to be confirmed by the legal department.",)),
}


@dataclass(frozen=True)
class ReportPeriod:
    regime_code: str
    cadence: Cadence
    label: str  # 2026-03, 2026-Q2, 2027
    start: date
    end: date  # inclusive
    due_on: date


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _period_of(cadence: Cadence, day: date) -> tuple[str, date, date]:
    if cadence is Cadence.MONTHLY:
        start = day.replace(day=1)
        return f"{day:%Y-%m}", start, _month_end(start)
    if cadence is Cadence.QUARTERLY:
        q = (day.month - 1) // 3
        start = date(day.year, q * 3 + 1, 1)
        return f"{day.year}-Q{q + 1}", start, _month_end(date(day.year, q * 3 + 3, 1))
    # Annual reports follow on from the last quarter: twelve months from wherever that left off.
    try:
        end = day.replace(year=day.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        end = date(day.year + 1, 2, 28)
    label = f"{day.year}" if (day.month, day.day) == (1, 1) else f"{day:%Y-%m}..{end:%Y-%m}"
    return label, day, end


def report_periods(schedule: ReportSchedule, *, launched_on: date, until: date,
                   closed_on: date | None = None) -> list[ReportPeriod]:
    """The reporting periods that have begun by `until`, with their due dates.

    The first period is the one the campaign was launched in (a part period); periods stop
    with the one the campaign closed in.
    """
    out: list[ReportPeriod] = []
    day = launched_on
    last_day = min(until, closed_on) if closed_on else until
    for cadence, count in schedule.phases:
        n = 0
        while day <= last_day and (count == 0 or n < count):
            label, start, end = _period_of(cadence, day)
            out.append(ReportPeriod(schedule.regime_code, cadence, label, start, end,
                                    end + timedelta(days=schedule.due_days_after)))
            day = end + timedelta(days=1)
            n += 1
        if day > last_day:
            break
    return out
