"""Pure complaint rules: safety words, the two file layouts, weeks, and the early-warning method.

No Flask and no database here: the scan, the import and the evaluation all call these functions.

The method (see README, "Complaints and early warning"): each model's weekly count of complaints with one symptom
is compared with its own history, two ways at once.

* Poisson exceedance: the baseline rate λ0 is the mean weekly count over the BASELINE_WEEKS before a guard band of
  GUARD_WEEKS (so a rise that has just begun does not raise its own baseline), floored at FLOOR_RATE. A week with
  at least MIN_COUNT complaints and P(X ≥ x | λ0) < ALPHA is a signal: it catches a sudden jump.
* Poisson CUSUM (Lucas 1985): S_t = max(0, S_{t-1} + x_t·ln(λ1/λ0) − (λ1 − λ0)) with λ1 = SHIFT·λ0, the
  log-likelihood ratio of "the rate has multiplied by SHIFT" against "it has not", accumulated; S_t > H is a signal.
  It catches a sustained, moderate rise that no single week shows.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles

SAFETY_WORDS_FILE = Path(__file__).with_name("safety_words.csv")


class Kind(TitledEnum):
    COMPLAINT = "complaint", _l("Complaint")
    INQUIRY = "inquiry", _l("Inquiry")
    REPAIR = "repair", _l("Repair record")


KIND_TITLES = titles(Kind)


class Channel(TitledEnum):
    PHONE = "phone", _l("Telephone")
    WEB = "web", _l("Website")
    EMAIL = "email", _l("E-mail")
    SERVICE = "service", _l("Service centre")
    REGULATOR = "regulator", _l("Regulator database")


CHANNEL_TITLES = titles(Channel)


class SignalStatus(TitledEnum):
    OPEN = "open", _l("Open")
    PROMOTED = "promoted", _l("Promoted to an incident")
    DISMISSED = "dismissed", _l("Dismissed")


SIGNAL_STATUS_TITLES = titles(SignalStatus)

MAX_TEXT = {"external_id": 64, "model": 80, "symptom": 80, "serial": 80, "place": 200, "customer_name": 200,
            "customer_contact": 200, "text": 20000}


# --- safety words -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyTerm:
    term: str
    language: str
    hazard: str
    match: str  # word (whole words, any case), exact (whole word, same case: "CO"), substring (Japanese)


def load_terms(path: Path = SAFETY_WORDS_FILE) -> tuple[SafetyTerm, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(SafetyTerm(r["term"].strip(), r["language"].strip(), r["hazard"].strip(), r["match"].strip())
                     for r in csv.DictReader(f) if r["term"].strip())


class SafetyMatcher:
    """Finds the safety terms a text mentions, in one pass per kind of match."""

    def __init__(self, terms: Iterable[SafetyTerm]):
        self.terms = tuple(terms)
        self.hazard = {t.term.casefold(): t.hazard for t in self.terms}

        def alternation(items: list[str]) -> str:
            return "|".join(re.escape(t) for t in sorted(items, key=len, reverse=True))

        def starts(items: list[str]) -> str:
            # A lookahead for the terms' first letters, tested before the lookbehind and the alternation: it
            # changes nothing that matches (under the pattern's own flags), and most positions fail at once.
            return "(?=[" + "".join(re.escape(c) for c in sorted({t[0] for t in items})) + "])"

        words = [t.term for t in self.terms if t.match == "word"]
        exact = [t.term for t in self.terms if t.match == "exact"]
        subs = [t.term for t in self.terms if t.match == "substring"]
        self._word = (re.compile(rf"{starts(words)}(?<!\w)(?:{alternation(words)})(?!\w)", re.IGNORECASE)
                      if words else None)
        self._exact = re.compile(rf"{starts(exact)}(?<![\w-])(?:{alternation(exact)})(?![\w-])") if exact else None
        self._sub = re.compile(alternation(subs)) if subs else None
        self._patterns = tuple(p for p in (self._word, self._exact, self._sub) if p is not None)

    def find(self, text: str) -> list[str]:
        """The distinct terms found, in the order of the word list."""
        hits: list[str] = []
        for pattern in self._patterns:
            hits += pattern.findall(text)  # the patterns hold no groups: findall gives the matched texts
        if not hits:
            return []
        found = {h.casefold() for h in hits}
        return [t.term for t in self.terms if t.term.casefold() in found]

    def hazard_of(self, terms: Sequence[str]) -> str | None:
        """The hazard of the first term that names one (other than 'other')."""
        for term in terms:
            hazard = self.hazard.get(term.casefold())
            if hazard and hazard != "other":
                return hazard
        return "other" if terms else None


_MATCHER: SafetyMatcher | None = None


def matcher() -> SafetyMatcher:
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = SafetyMatcher(load_terms())
    return _MATCHER


# --- weeks ------------------------------------------------------------------------------------------------


def week_of(moment: datetime | date) -> date:
    """The Monday (UTC) of the week an instant or a day falls in."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


# --- one complaint as it arrives --------------------------------------------------------------------------


@dataclass
class ComplaintIn:
    """A complaint as stated by a form, the API or a file row, before it is stored."""

    source: str
    external_id: str
    model: str
    received_at: datetime
    text: str
    symptom: str = ""
    serial: str = ""
    country: str = ""
    place: str = ""
    channel: str = Channel.PHONE.value
    kind: str = Kind.COMPLAINT.value
    occurred_on: date | None = None
    customer_name: str = ""
    customer_contact: str = ""
    extra_terms: list[str] = field(default_factory=list)  # flags the source states itself (NHTSA FIRE=Y)


COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CHANNELS = frozenset(ch.value for ch in Channel)
KINDS = frozenset(k.value for k in Kind)


def validate(c: ComplaintIn, *, now: datetime) -> dict[str, str]:
    """Every problem with a complaint, as {field: message}; empty when it may be stored."""
    errors: dict[str, str] = {}
    if not c.model.strip():
        errors["model"] = str(_l("Give the product model."))
    if not c.text.strip():
        errors["text"] = str(_l("Give the customer's words."))
    for name, limit in MAX_TEXT.items():
        if len(getattr(c, name) or "") > limit:
            errors[name] = str(_l("At most %(n)d characters.", n=limit))
    if not COUNTRY_RE.match(c.country or ""):
        errors["country"] = str(_l("Give the country as a two-letter ISO code."))
    if c.received_at.tzinfo is None:
        errors["received_at"] = str(_l("Give the time with its UTC offset."))
    elif c.received_at > now + timedelta(minutes=5):
        errors["received_at"] = str(_l("A complaint cannot be received in the future."))
    if c.occurred_on is not None and c.received_at.tzinfo is not None and c.occurred_on > c.received_at.date() + timedelta(days=1):
        errors["occurred_on"] = str(_l("The failure cannot come after the complaint."))
    if c.channel not in CHANNELS:
        errors["channel"] = str(_l("Unknown channel."))
    if c.kind not in KINDS:
        errors["kind"] = str(_l("Unknown kind of record."))
    return errors


def row_key(values: Iterable[str]) -> str:
    """A stable id for a row that has none of its own: a hash of its cells, so a re-sent file is recognised."""
    return "sha1:" + hashlib.sha1("\x1f".join(values).encode("utf-8"), usedforsecurity=False).hexdigest()


# --- file layouts -----------------------------------------------------------------------------------------

CALL_CENTRE_COLUMNS = ("external_id", "received_at", "model", "serial", "country", "place", "channel", "kind",
                       "symptom", "occurred_on", "text", "customer_name", "customer_contact")
NHTSA_COLUMNS = ("CMPLID", "ODINO", "MAKETXT", "MODELTXT", "YEARTXT", "FAILDATE", "FIRE", "INJURED", "COMPDESC",
                 "CITY", "STATE", "VIN", "DATEA", "CDESCR")


class RowError(ValueError):
    """A row that cannot be read; the message says why."""


def layout_of(header: Sequence[str]) -> str:
    names = {h.strip() for h in header}
    if set(NHTSA_COLUMNS) <= names:
        return "nhtsa"
    if {"received_at", "model", "text", "country"} <= names:
        return "callcentre"
    raise RowError(str(_l("Unknown file layout: expected the call-centre columns (%(cc)s) or the NHTSA complaints "
                          "columns.", cc=", ".join(CALL_CENTRE_COLUMNS))))


def _instant(value: str) -> datetime:
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(str(_l("received_at is not a date or an ISO 8601 time: %(v)s", v=value[:40]))) from None
    if moment.tzinfo is None:
        raise RowError(str(_l("received_at needs its UTC offset: %(v)s", v=value[:40])))
    return moment


def _yyyymmdd(value: str, name: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise RowError(str(_l("%(name)s is not a date (YYYYMMDD): %(v)s", name=name, v=value[:20]))) from None


def from_callcentre(row: dict[str, str], source: str) -> ComplaintIn:
    # Each cell read and stripped once: this runs for every row of a file of millions.
    cell = {k: (row.get(k) or "").strip() for k in CALL_CENTRE_COLUMNS}
    if not cell["received_at"]:
        raise RowError(str(_l("received_at is missing.")))
    occurred = cell["occurred_on"]
    try:
        occurred_on = date.fromisoformat(occurred) if occurred else None
    except ValueError:
        raise RowError(str(_l("occurred_on is not a date (YYYY-MM-DD): %(v)s", v=occurred[:20]))) from None
    return ComplaintIn(source=source, external_id=cell["external_id"] or row_key(cell.values()), model=cell["model"],
                       received_at=_instant(cell["received_at"]), text=cell["text"], symptom=cell["symptom"],
                       serial=cell["serial"], country=cell["country"].upper(), place=cell["place"],
                       channel=cell["channel"] or Channel.PHONE.value, kind=cell["kind"] or Kind.COMPLAINT.value,
                       occurred_on=occurred_on, customer_name=cell["customer_name"],
                       customer_contact=cell["customer_contact"])


def from_nhtsa(row: dict[str, str]) -> ComplaintIn:
    """One row of the NHTSA ODI complaints flat file (one row per complaint and component)."""
    cell = {k: (row.get(k) or "").strip() for k in NHTSA_COLUMNS}
    if not cell["CMPLID"]:
        raise RowError(str(_l("CMPLID is missing.")))
    received = _yyyymmdd(cell["DATEA"], "DATEA")
    if received is None:
        raise RowError(str(_l("DATEA is missing.")))
    extra = []
    if cell["FIRE"] == "Y":
        extra.append("fire")
    try:
        if int(float(cell["INJURED"] or 0)) > 0:
            extra.append("injury")
    except ValueError:
        raise RowError(str(_l("INJURED is not a number: %(v)s", v=cell["INJURED"][:20]))) from None
    model = " ".join(p for p in (cell["MAKETXT"], cell["MODELTXT"]) if p)
    place = ", ".join(p for p in (cell["CITY"].title(), cell["STATE"]) if p)
    return ComplaintIn(source="nhtsa", external_id=cell["CMPLID"], model=model,
                       received_at=datetime.combine(received, time(), tzinfo=UTC), text=cell["CDESCR"],
                       symptom=cell["COMPDESC"], serial=cell["VIN"], country="US", place=place,
                       channel=Channel.REGULATOR.value, kind=Kind.COMPLAINT.value,
                       occurred_on=_yyyymmdd(cell["FAILDATE"], "FAILDATE"), extra_terms=extra)


# --- the early-warning method -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    baseline_weeks: int = 13
    guard_weeks: int = 2
    min_history: int = 6  # weeks of history before any verdict
    floor_rate: float = 0.25
    alpha: float = 0.001
    min_count: int = 3
    shift: float = 2.0
    h: float = 5.0


METHOD = Method()


@dataclass(frozen=True)
class Week:
    index: int
    count: int
    expected: float | None  # None: not enough history for a verdict
    p_value: float | None
    cusum: float
    poisson: bool
    cusum_alarm: bool

    @property
    def alarm(self) -> bool:
        return self.poisson or self.cusum_alarm


def poisson_sf(x: int, lam: float) -> float:
    """P(X ≥ x) for X ~ Poisson(lam)."""
    if x <= 0:
        return 1.0
    term = math.exp(-lam)
    cdf = term
    for k in range(1, x):
        term *= lam / k
        cdf += term
    return max(0.0, 1.0 - cdf)


def assess(counts: Sequence[int], method: Method = METHOD) -> list[Week]:
    """The verdict on each week of a weekly series (oldest first). After a CUSUM alarm the sum restarts."""
    out: list[Week] = []
    s = 0.0
    for t, x in enumerate(counts):
        end = t - method.guard_weeks
        window = counts[max(0, end - method.baseline_weeks):max(0, end)]
        if t < method.min_history or len(window) < method.min_history - method.guard_weeks:
            out.append(Week(t, x, None, None, 0.0, False, False))
            continue
        lam0 = max(method.floor_rate, sum(window) / len(window))
        lam1 = method.shift * lam0
        s = max(0.0, s + x * math.log(lam1 / lam0) - (lam1 - lam0))
        p = poisson_sf(x, lam0)
        poisson = x >= method.min_count and p < method.alpha
        cusum_alarm = s > method.h and x >= 1
        out.append(Week(t, x, lam0, p, s, poisson, cusum_alarm))
        if cusum_alarm:
            s = 0.0
    return out


def naive(counts: Sequence[int], threshold: int = 5) -> list[bool]:
    """The naive rule it is compared with: a fixed number of complaints in a week."""
    return [x >= threshold for x in counts]


def grew(previous_observed: int, observed: int) -> bool:
    """A dismissed (or promoted) signal comes back only when the count behind it has grown."""
    return observed > previous_observed
