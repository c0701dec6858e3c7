"""The technical-law compliance register's rules, in plain Python: a product model's state for one law from its
evidence and the day, and which product models an amendment reaches. No Flask, no database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles

#: Evidence expiring within this many days (counting today) shows as "expiring".
DEFAULT_WARN_DAYS = 90


class State(TitledEnum):
    COMPLIANT = "compliant", _l("Compliant")
    EXPIRING = "expiring", _l("Evidence expiring")
    EXPIRED = "expired", _l("Evidence expired")
    GAP = "gap", _l("Gap: no evidence")


STATE_TITLES = titles(State)

#: As the laws map says it (notifications.deadlines.UNCONFIRMED_LABEL), without depending on the notifications.
UNCONFIRMED_LABEL = _l("To be confirmed by the legal department")

EVIDENCE_KINDS = ("certificate", "test_report", "declaration")
EVIDENCE_KIND_TITLES = {
    "certificate": _l("Certificate"),
    "test_report": _l("Test report"),
    "declaration": _l("Declaration of conformity"),
}


@dataclass(frozen=True)
class EvidenceFacts:
    """What the state rule reads of one piece of evidence (withdrawn evidence is not given to it)."""

    issued_on: dt.date
    expires_on: dt.date | None


@dataclass(frozen=True)
class Assessment:
    state: State
    #: The expiry that decided the state (None: no expiry, or no evidence).
    expires_on: dt.date | None = None
    days_left: int | None = None


def assess(evidence: Iterable[EvidenceFacts], *, today: dt.date, warn_days: int = DEFAULT_WARN_DAYS) -> Assessment:
    """The state of a product model for one law on a day.

    Evidence counts from its issue day; it is valid through its expiry day (the day after, it has expired). The best
    evidence decides: one without expiry, else the one expiring last. No evidence issued by today: a gap. Valid
    evidence whose expiry is at most `warn_days` days away: expiring. Only expired evidence: expired."""
    issued = [e for e in evidence if e.issued_on <= today]
    if not issued:
        return Assessment(State.GAP)
    if any(e.expires_on is None for e in issued):
        return Assessment(State.COMPLIANT)
    last = max(e.expires_on for e in issued if e.expires_on is not None)
    days_left = (last - today).days
    if days_left < 0:
        return Assessment(State.EXPIRED, last, days_left)
    if days_left <= warn_days:
        return Assessment(State.EXPIRING, last, days_left)
    return Assessment(State.COMPLIANT, last, days_left)


def reaches(law_countries: set[str], markets: set[str]) -> bool:
    """Whether a law of a jurisdiction with these member countries applies where a product is sold."""
    return bool(law_countries & markets)


def in_scope(lineage: Iterable[int], scope: set[int]) -> bool:
    """Whether a category (given with its ancestors, itself first) falls in a scope of category ids, each meaning
    itself and its sub-categories."""
    return any(c in scope for c in lineage)


def due_before(enforced_on: dt.date) -> dt.date:
    """A re-assessment is due the day before the amendment is enforced."""
    return enforced_on - dt.timedelta(days=1)
