"""The lessons-learned library: publishing from approved reviews, importing public recall data, subscriptions."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from config import BASE_DIR
from qa_incidents.accounts.models import User
from qa_incidents.accounts.service import as_recipient
from qa_incidents.core import outbox
from qa_incidents.core.errors import NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents.rules import CONTACT_FIELDS
from qa_incidents.reviews import rules, search
from qa_incidents.reviews.models import Countermeasure, Lesson, LessonSubscription, Review, WhyStep
from qa_incidents.reviews.rules import Dimension

SAMPLE_PATH = BASE_DIR / "data" / "lessons" / "fda_device_recalls_sample.csv.gz"
SUBSCRIPTION_KINDS = ("category", "failure_mode")


# --- publishing ----------------------------------------------------------------------------


def _customer_strings(review: Review) -> list[str]:
    """Strings from the incidents that could identify a customer: places, serial and lot numbers, and the customer
    contact fields (each value whole; a phone also as bare digits; each word of a name on its own)."""
    out: list[str] = []
    for incident in review.incidents:
        out.append(incident.place)
        for name in CONTACT_FIELDS:
            value = (getattr(incident, name) or "").strip()
            if value:
                out.append(value)
                if name == "customer_phone":
                    out.append(re.sub(r"\D", "", value))  # also as written without separators
                if name == "customer_name":  # "Hanako Yamada" also as "Ms Yamada"
                    out.extend(re.split(r"[\s,、　・]+", value))
        out.extend(rules.serial_tokens(incident.serial_numbers))
        out.extend(rules.serial_tokens(incident.lot_numbers))
    return out


def _tier(c: Countermeasure) -> str:
    """A technical countermeasure's safety tier as the lesson shows it (with why no higher tier was practicable)."""
    if c.dimension != Dimension.TECHNICAL:
        return ""
    tier = f" · {rules.TIER_TITLES[c.safety_tier]}"
    return f"{tier}: {c.tier_reason}" if c.tier_reason else tier


def _texts(review: Review, steps: dict[Dimension, list[WhyStep]], countermeasures: list[Countermeasure]) -> dict[str, Any]:
    """The free texts of the lesson a review publishes, as the writers typed them (before scrubbing)."""

    def chain(dimension: Dimension) -> str:
        return "\n".join(f"Why? {s.question} — {s.answer}" for s in steps.get(dimension, []))

    stage = rules.STAGE_TITLES.get(rules.ProcessStage(review.process_stage)) if review.process_stage else ""
    factors = ", ".join(str(rules.FACTOR_TITLES[rules.MotivatingFactor(f)]) for f in review.motivating_factors or [])
    return {
        "title": review.title,
        "summary": review.phenomenon or review.mechanism,  # a short review may state no phenomenon
        "product": "; ".join(dict.fromkeys(f"{i.product.model} {i.product.name}" for i in review.incidents)),
        "mechanism": review.mechanism,
        "technical_cause": chain(Dimension.TECHNICAL),
        "process_cause": "\n".join(p for p in (
            f"Introduced in: {stage}" if stage else "", review.process_cause,
            f"Not detected because: {review.escape_reason}" if review.escape_reason else "",
            chain(Dimension.PROCESS)) if p),
        "framework_cause": "\n".join(p for p in (review.framework_cause, chain(Dimension.FRAMEWORK)) if p),
        "motivating_cause": "\n".join(p for p in (f"Factors: {factors}" if factors else "", review.motivating_cause,
                                                  chain(Dimension.MOTIVATING)) if p),
        "countermeasures": "\n".join(
            [f"- [{rules.CM_TYPE_TITLES[c.kind]}{_tier(c)}] {c.description}" for c in countermeasures]
            + [f"- [{rules.DIMENSION_TITLES[Dimension(d)]}] No countermeasure: {why}"
               for d, why in (review.no_countermeasure_reasons or {}).items() if d in {x.value for x in Dimension}]),
        "design_review_checks": [line.strip(" -•\t") for line in review.design_review_checks.splitlines()
                                 if line.strip(" -•\t")],
    }


def _in_english() -> Any:
    """The composed parts of a lesson in English (the catalogue's source language), in or outside a request."""
    from contextlib import nullcontext

    from flask import has_app_context
    from flask_babel import force_locale

    return force_locale("en") if has_app_context() else nullcontext()


def personal_data_found(review: Review, steps: dict[Dimension, list[WhyStep]],
                        countermeasures: list[Countermeasure]) -> list[tuple[str, rules.Finding]]:
    """What the scrubber will remove from the lesson this review publishes: (field, finding) pairs, for the approver
    to see before signing (and to send the review back if the analysis itself must be rewritten)."""
    known = _customer_strings(review)
    found: list[tuple[str, rules.Finding]] = []
    for name, value in _texts(review, steps, countermeasures).items():
        for text in value if isinstance(value, list) else [value]:
            found += [(name, f) for f in rules.find_personal_data(text or "", also=known)]
    return found


def publish_from_review(session: so.Session, *, review: Review, steps: dict[Dimension, list[WhyStep]],
                        countermeasures: list[Countermeasure], now: datetime) -> Lesson:
    """The lesson learned of an approved review: product, failure, causes, countermeasures; no customer data.

    Only the review's own analysis is copied (never the customer's report), and every text passes
    through the personal-data scrubber with the incidents' places and serial numbers as known strings.
    """
    known = _customer_strings(review)

    def clean(text: str) -> str:
        return rules.scrub_personal_data(text or "", also=known)

    with _in_english():  # stored in one language; each reader reads the composed parts in theirs (for_readers)
        texts = _texts(review, steps, countermeasures)
    first = review.incidents[0] if review.incidents else None
    stage = rules.STAGE_TITLES.get(rules.ProcessStage(review.process_stage)) if review.process_stage else ""
    primary = next((c.dimension for c in countermeasures if c.kind == rules.CountermeasureType.ELIMINATE_CAUSE),
                   Dimension.PROCESS if review.process_cause else Dimension.TECHNICAL)
    lesson = Lesson(
        source="review", source_ref=f"REVIEW-{review.id}", review_id=review.id,
        title=clean(texts["title"])[:300],
        summary=clean(texts["summary"]),
        product=clean(texts["product"])[:300],
        product_category=(first.product.category.path if first else "")[:120],
        failure_mode=(review.failure_mode or rules.failure_mode_of(f"{review.phenomenon} {review.mechanism}"))[:80],
        mechanism=clean(texts["mechanism"]),
        technical_cause=clean(texts["technical_cause"]),
        process_cause=clean(texts["process_cause"]),
        framework_cause=clean(texts["framework_cause"]),
        motivating_cause=clean(texts["motivating_cause"]),
        cause_category=(str(stage) if stage else "Unclassified")[:80],
        cause_dimension=primary.value,
        process_stage=review.process_stage,
        countermeasures=clean(texts["countermeasures"]),
        design_review_checks=[clean(line) for line in texts["design_review_checks"]],
        division=review.division.name[:120], year=now.year, published_at=now, times_opened=0,
    )
    session.add(lesson)
    session.flush()
    search.index_lessons(session, [lesson])
    return lesson


#: The free texts of a lesson, scrubbed again whenever a lesson is shown (page and API).
READER_TEXTS = ("title", "summary", "product", "mechanism", "technical_cause", "process_cause", "framework_cause",
                "motivating_cause", "countermeasures")


@dataclass(frozen=True)
class ShownLesson:
    """A lesson as readers get it: every free text scrubbed of personal data once more on the way out, so lessons
    imported from elsewhere or published before a pattern was known reach no engineer with a customer's details."""

    lesson: Lesson
    texts: dict[str, str]
    design_review_checks: list[str]

    def __getattr__(self, name: str) -> Any:
        texts = self.__dict__.get("texts", {})
        if name in texts:
            return texts[name]
        return getattr(self.__dict__["lesson"], name)


#: The lines publication composes around what the writers typed (see `_texts`), each re-worded for the reader.
_INTRODUCED = re.compile(r"^Introduced in: (.+)$")
_NOT_DETECTED = re.compile(r"^Not detected because: (.+)$")
_FACTORS = re.compile(r"^Factors: (.+)$")
_WHY = re.compile(r"^Why\? (.*) — (.*)$")
_NO_COUNTERMEASURE = re.compile(r"^- \[([^\]]+)\] No countermeasure: (.*)$")
_COUNTERMEASURE = re.compile(r"^- \[([^\]·:]+?)(?: · ([^\]:]+?))?(?:: ([^\]]*))?\] (.*)$")


def composed_in_reader_language(text: str) -> str:
    """A lesson's text with the labels and titles publication composed in (stage, factors, countermeasure kinds and
    safety tiers, "Why?") in the reader's language; what the writers typed stays as written."""
    from qa_incidents.core.i18n import data_text

    def line(value: str) -> str:
        if m := _INTRODUCED.match(value):
            return gettext("Introduced in: %(stage)s", stage=data_text(m[1]))
        if m := _NOT_DETECTED.match(value):
            return gettext("Not detected because: %(why)s", why=m[1])
        if m := _FACTORS.match(value):
            return gettext("Factors: %(factors)s", factors=gettext(", ").join(data_text(f) for f in m[1].split(", ")))
        if m := _WHY.match(value):
            return gettext("Why? %(question)s — %(answer)s", question=m[1], answer=m[2])
        if m := _NO_COUNTERMEASURE.match(value):
            return f"- [{data_text(m[1])}] " + gettext("No countermeasure: %(why)s", why=m[2])
        if m := _COUNTERMEASURE.match(value):
            kind = data_text(m[1]) + (f" · {data_text(m[2])}" if m[2] else "") + (f": {m[3]}" if m[3] else "")
            return f"- [{kind}] {m[4]}"
        return value

    return "\n".join(line(value) for value in text.split("\n"))


def for_readers(lesson: Lesson) -> ShownLesson:
    return ShownLesson(lesson, {name: composed_in_reader_language(rules.scrub_personal_data(getattr(lesson, name) or ""))
                                for name in READER_TEXTS},
                       [rules.scrub_personal_data(c) for c in lesson.design_review_checks or []])


def notify_subscribers(session: so.Session, *, lesson: Lesson, now: datetime, base_url: str = "") -> int:
    """E-mail each engineer subscribed to the lesson's category (or a parent) or failure mode, once."""
    subs = session.scalars(sa.select(LessonSubscription).where(LessonSubscription.active.is_(True)))
    users: dict[int, User] = {}
    for sub in subs:
        hit = (sub.kind == "failure_mode" and sub.value == lesson.failure_mode) or (
            sub.kind == "category" and (lesson.product_category == sub.value
                                        or lesson.product_category.startswith(sub.value + " › ")))
        if hit:
            user = session.get(User, sub.user_id)
            if user is not None and user.active and can(user.actor, Capability.READ_LESSONS):
                users[user.id] = user
    body = (f"{lesson.title}\n{lesson.product_category} · {lesson.failure_mode}\n\n"
            f"{lesson.summary[:1000]}\n\n{base_url}/reviews/lessons/{lesson.id}?from=subscription\n")
    for user in users.values():  # each engineer reads it in their own language; the lesson stays as written
        outbox.enqueue_localised(
            session, people=[as_recipient(user)], now=now, dedupe_key=f"lesson-new:{lesson.id}:{user.id}",
            compose=lambda reader: (gettext("New lesson learned: %(title)s", title=lesson.title[:200]), body))
    return len(users)


# --- reading -------------------------------------------------------------------------------


def get_lesson(session: so.Session, lesson_id: int) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(str(_l("No such lesson.")))
    return lesson


def record_open(session: so.Session, lesson_id: int) -> None:
    """Count one more reading of the lesson (an atomic increment, safe under concurrent readers)."""
    session.execute(sa.update(Lesson).where(Lesson.id == lesson_id).values(times_opened=Lesson.times_opened + 1))


def facet_values(session: so.Session, kind: str) -> list[str]:
    column = Lesson.product_category if kind == "category" else Lesson.failure_mode
    return [v for v in session.scalars(sa.select(column).distinct().order_by(column)) if v]


# --- subscriptions -------------------------------------------------------------------------


def subscriptions_of(session: so.Session, user: User) -> list[LessonSubscription]:
    return list(session.scalars(sa.select(LessonSubscription).where(
        LessonSubscription.user_id == user.id, LessonSubscription.active.is_(True))
        .order_by(LessonSubscription.kind, LessonSubscription.value)))


def subscribe(session: so.Session, *, user: User, kind: str, value: str, now: datetime) -> LessonSubscription:
    if kind not in SUBSCRIPTION_KINDS:
        raise ValidationFailed({"kind": str(_l("Choose a category or a failure mode."))})
    value = value.strip()
    if not value or value not in facet_values(session, kind):
        raise ValidationFailed({"value": str(_l("Choose a value from the list."))})
    sub = session.scalar(sa.select(LessonSubscription).where(
        LessonSubscription.user_id == user.id, LessonSubscription.kind == kind, LessonSubscription.value == value))
    if sub is None:
        sub = LessonSubscription(user_id=user.id, kind=kind, value=value, active=True, created_at=now)
        session.add(sub)
    sub.active = True
    session.flush()
    return sub


def unsubscribe(session: so.Session, *, user: User, subscription_id: int) -> None:
    sub = session.get(LessonSubscription, subscription_id)
    if sub is None or sub.user_id != user.id:
        raise NotFound(str(_l("No such subscription.")))
    sub.active = False  # kept, never deleted
    session.flush()


# --- importing public recall data ----------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)


def read_sample(path: Path = SAMPLE_PATH) -> list[dict[str, str]]:
    """The rows of the bundled FDA device-recall sample (or another file of the same columns; .csv or .csv.gz)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


DESIGN_REVIEW_CHECKS = {
    "Software fault": ["Are failure modes of each software function analysed and tested at their limits?",
                       "Does a change to the software re-run the full verification suite?"],
    "Sterility / contamination": ["Is the sterile barrier validated for the whole shelf life and transport?",
                                  "Are contamination sources in the process identified and monitored?"],
    "Labelling / instructions": ["Are labels and instructions checked against the released design by someone else?",
                                 "Is the label verified on the line (right label, right product, right date)?"],
    "Fire / overheating": ["Is the temperature rise of every current path measured at worst-case load and ambient?",
                           "Are contacts and joints specified with margin for loosening and oxidation?"],
    "Electrical failure": ["Are connectors, cells and power parts derated and tested for the use environment?",
                           "Is a single electrical fault shown to leave the product safe?"],
    "Fracture / breakage": ["Is fatigue life shown for the worst-case load spectrum, with margin?",
                            "Are material and heat-treatment lots traceable and checked?"],
    "Leak / seal failure": ["Are seals validated over temperature, pressure and ageing?"],
    "Wrong measurement / result": ["Is accuracy verified across the full range, lots and interfering conditions?"],
    "Packaging failure": ["Is the package validated for distribution (drop, vibration, climate)?"],
    "Mechanical malfunction": ["Are tolerances stacked and mechanisms tested at the extremes of wear and use?"],
}


def fda_reason(row: dict[str, str]) -> str:
    """An FDA row's reason for recall as a lesson's title and summary start from: cleaned, personal data removed."""
    return rules.scrub_personal_data(rules.clean_source_text(row.get("Reason for Recall", "") or ""))


def fda_heading_of(row: dict[str, str], reason: str, *, now: datetime) -> tuple[str, int, str]:
    """An FDA row's recall event id, year posted and lesson title (from its scrubbed `reason`), or ValueError saying
    why the row cannot be a lesson. The one place these refusals are made (lesson_from_fda, the import's batches)."""
    event = (row.get("Recall Event ID") or "").strip()
    if not event.isdigit():
        raise ValueError("no recall event id")
    if len(reason) < 10:
        raise ValueError("no reason for recall")
    try:
        year = int(str(row.get("Year Posted", "")).strip())
    except ValueError:
        raise ValueError("no year posted") from None
    if not 1990 <= year <= now.year:
        raise ValueError(f"year {year} out of range")
    return event, year, reason if len(reason) <= 160 else reason[:157].rsplit(" ", 1)[0] + "…"


def lesson_from_fda(row: dict[str, str], *, now: datetime) -> Lesson:
    """A lesson from one FDA device-recall row; ValueError says why a row cannot be one."""
    reason = fda_reason(row)
    event, year, title = fda_heading_of(row, reason, now=now)
    cause = rules.clean_source_text(row.get("FDA Determined Cause", ""))
    dimension, stage = rules.FDA_CAUSES.get(cause, (None, ""))
    product = rules.scrub_personal_data(rules.clean_source_text(row.get("Trade Name/Product", "")))
    specialty = rules.clean_source_text(row.get("Medical Specialty", ""))
    if specialty in ("", "N/A"):
        specialty = "Other medical devices"
    mode = rules.failure_mode_of(reason)
    return Lesson(
        source="fda", source_ref=f"FDA-{event}", review_id=None, title=title, summary=reason,
        product=product[:300], product_category=f"Medical devices › {specialty}"[:120], failure_mode=mode,
        mechanism="", technical_cause="", process_cause="", framework_cause="", motivating_cause="",
        cause_category=(cause or "Unclassified")[:80], cause_dimension=dimension.value if dimension else "",
        process_stage=stage,
        countermeasures=rules.scrub_personal_data(rules.clean_source_text(row.get("Action", "")))[:2000],
        design_review_checks=DESIGN_REVIEW_CHECKS.get(mode, []), division="", year=year, published_at=now,
        times_opened=0,
    )


def import_rows(session: so.Session, rows: Iterable[dict[str, str]], *, now: datetime,
                skip_refs: Iterable[str] = ()) -> ImportReport:
    """Add the lessons not yet in the library (by source reference); report each rejected row. Idempotent."""
    report = ImportReport()
    skip = set(skip_refs)
    existing = set(session.scalars(sa.select(Lesson.source_ref).where(Lesson.source == "fda")))
    batch: list[Lesson] = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            lesson = lesson_from_fda(row, now=now)
        except ValueError as e:
            report.rejected.append(f"line {number}: {e}")
            continue
        if lesson.source_ref in existing or lesson.source_ref in skip:
            report.unchanged += 1
            continue
        existing.add(lesson.source_ref)
        batch.append(lesson)
        if len(batch) >= 500:
            add_indexed(session, batch)
            report.created += len(batch)
            batch = []
    add_indexed(session, batch)
    report.created += len(batch)
    return report


def add_indexed(session: so.Session, batch: list[Lesson]) -> None:
    """Add new lessons and index them for search, in one flush."""
    if batch:
        session.add_all(batch)
        session.flush()
        search.index_lessons(session, batch)


def rows_with_progress(rows: list[dict[str, str]], bar: Any) -> Iterator[dict[str, str]]:
    for row in rows:
        yield row
        bar.update(1)
