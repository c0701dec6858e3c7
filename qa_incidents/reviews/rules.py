"""OCHIBO-HIROI rules in plain Python: cause dimensions, countermeasure states, personal-data scrubbing, search text.

No Flask, no database: every function here is tested in milliseconds.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.incidents.rules import SEVERE_LEVELS


class ReviewStatus(TitledEnum):
    DRAFT = "draft", _l("Draft")
    SUBMITTED = "submitted", _l("Submitted for approval")  # waiting for head-office QA
    APPROVED = "approved", _l("Approved")  # signed; a lesson is published


REVIEW_STATUS_TITLES = titles(ReviewStatus)


class Dimension(TitledEnum):
    """The four questions of an OCHIBO-HIROI review."""

    TECHNICAL = "technical", _l("Technical cause (failure mechanism)")
    PROCESS = "process", _l("Process cause (where introduced, why not detected)")
    FRAMEWORK = "framework", _l("Framework cause (rules, standards, organisation)")
    MOTIVATING = "motivating", _l("Motivating factors (schedule, cost, communication, skills)")


DIMENSION_TITLES = titles(Dimension)


class ProcessStage(TitledEnum):
    PLANNING = "planning", _l("Planning")
    DESIGN = "design", _l("Design")
    MANUFACTURING = "manufacturing", _l("Manufacturing")
    INSPECTION = "inspection", _l("Inspection")
    INSTALLATION = "installation", _l("Installation")
    SERVICE = "service", _l("Service")


STAGE_TITLES = titles(ProcessStage)


class MotivatingFactor(TitledEnum):
    SCHEDULE = "schedule", _l("Schedule pressure")
    COST = "cost", _l("Cost pressure")
    COMMUNICATION = "communication", _l("Communication")
    SKILLS = "skills", _l("Skills")


FACTOR_TITLES = titles(MotivatingFactor)


class CountermeasureType(TitledEnum):
    ELIMINATE_CAUSE = "eliminate_cause", _l("Eliminate the cause")
    PREVENT_ESCAPE = "prevent_escape", _l("Prevent escape")
    DETECT_EARLIER = "detect_earlier", _l("Detect earlier")


CM_TYPE_TITLES = titles(CountermeasureType)


class CountermeasureStatus(TitledEnum):
    OPEN = "open", _l("Open")
    IMPLEMENTED = "implemented", _l("Implemented, check pending")  # done, effectiveness not yet shown
    VERIFIED = "verified", _l("Verified effective")  # an effectiveness check found it effective: only now it counts as done


CM_STATUS_TITLES = titles(CountermeasureStatus)


class DeploymentAnswer(TitledEnum):
    PENDING = "pending", _l("Waiting for an answer")
    APPLICABLE = "applicable", _l("Applicable, in progress")  # applies; being put in place
    NOT_APPLICABLE = "not_applicable", _l("Not applicable")
    DONE = "done", _l("Done")


DEPLOYMENT_TITLES = titles(DeploymentAnswer)


# --- countermeasures -----------------------------------------------------------------------


def is_overdue(*, status: CountermeasureStatus, due_on: date, today: date) -> bool:
    """A countermeasure is overdue when its due day has passed and it is not yet verified."""
    return status != CountermeasureStatus.VERIFIED and due_on < today


def check_effectiveness(*, status: CountermeasureStatus, method: str, result: str, effective: bool | None) -> dict[str, str]:
    """Errors that refuse an effectiveness check (empty: it may be recorded)."""
    errors: dict[str, str] = {}
    if status == CountermeasureStatus.VERIFIED:
        errors["check_result"] = str(_l("This countermeasure is already verified."))
    if status == CountermeasureStatus.OPEN:
        errors["check_result"] = str(_l("Mark the countermeasure implemented before checking its effect."))
    if not method.strip():
        errors["check_method"] = str(_l("Say how the effect was checked."))
    if not result.strip():
        errors["check_result"] = str(_l("Record what the check found."))
    if effective is None:
        errors["check_effective"] = str(_l("Say whether it was effective."))
    return errors


def status_after_check(effective: bool) -> CountermeasureStatus:
    """An effective check verifies the countermeasure; an ineffective one reopens it."""
    return CountermeasureStatus.VERIFIED if effective else CountermeasureStatus.OPEN


def deployment_answer_errors(answer: DeploymentAnswer, reason: str) -> dict[str, str]:
    if answer == DeploymentAnswer.PENDING:
        return {"answer": str(_l("Choose an answer."))}
    if answer == DeploymentAnswer.NOT_APPLICABLE and not reason.strip():
        return {"reason": str(_l("Say why it does not apply."))}
    return {}


# --- depth: a review in proportion to the severity ----------------------------------------


class ReviewDepth(TitledEnum):
    """How deep a review goes: the short form for S3/S4, the full four-dimension review for S1/S2."""

    SHORT = "short", _l("Short review (S3/S4)")
    FULL = "full", _l("Full four-dimension review (S1/S2)")


DEPTH_TITLES = titles(ReviewDepth)

#: A short review says each non-technical cause in one line of at most this many characters.
ONE_LINE = 300


def depth_for(severities: Iterable[str | None]) -> ReviewDepth:
    """The depth a review of these incidents needs: full when any of them is S1 or S2, else short."""
    return ReviewDepth.FULL if any(s in SEVERE_LEVELS for s in severities) else ReviewDepth.SHORT


def depth_suffices(depth: str, severity: str | None) -> bool:
    """Whether an approved review of this depth is the review an incident of this severity needs."""
    return depth == ReviewDepth.FULL or severity not in SEVERE_LEVELS


def closed_without_review(*, status: str, severity: str | None, review_approved: bool) -> bool:
    """A gap in the gleaning: a closed S3/S4 incident with no approved review."""
    return status == "closed" and severity is not None and severity not in SEVERE_LEVELS and not review_approved


#: Dimensions where the team may state that no cause was found (the technical cause is always stated).
MAY_HAVE_NO_CAUSE = (Dimension.PROCESS, Dimension.FRAMEWORK, Dimension.MOTIVATING)


# --- safety tiers of technical countermeasures ---------------------------------------------


class SafetyTier(TitledEnum):
    """The three-step method of product safety, in order of priority; `not_recorded` for countermeasures older than
    the rule."""

    DESIGN = "design", _l("1. Design (fundamental safety design)")
    SAFEGUARD = "safeguard", _l("2. Safeguard (protective measures)")
    USAGE_INFORMATION = "usage_information", _l("3. Usage information (manuals, labels)")
    NOT_RECORDED = "not_recorded", _l("Safety tier not recorded")


TIER_TITLES = titles(SafetyTier)
#: The tiers one may choose, highest priority first.
TIER_ORDER = (SafetyTier.DESIGN, SafetyTier.SAFEGUARD, SafetyTier.USAGE_INFORMATION)


def tier_errors(*, dimension: Dimension, tier: str, reason: str) -> dict[str, str]:
    """Errors that refuse a countermeasure's safety tier (empty: it may be saved).

    A technical countermeasure says which tier it is; below design, the reason says why each higher tier is not
    practicable. Countermeasures against process, framework or motivating causes have no tier."""
    if dimension != Dimension.TECHNICAL:
        return {"safety_tier": str(_l("Only a countermeasure against the technical cause has a safety tier."))} \
            if tier not in ("", SafetyTier.NOT_RECORDED) else {}
    if tier not in {t.value for t in TIER_ORDER}:
        return {"safety_tier": str(_l("Choose the safety tier: design, safeguard or usage information."))}
    if tier != SafetyTier.DESIGN and not reason.strip():
        higher = [str(TIER_TITLES[t]) for t in TIER_ORDER[:TIER_ORDER.index(SafetyTier(tier))]]
        return {"tier_reason": str(_l("Say why a higher tier is not practicable (%(higher)s).",
                                      higher="; ".join(higher)))}
    return {}


@dataclass(frozen=True)
class ReviewContent:
    """What a review says, as far as the approval rules care."""

    title: str
    phenomenon: str
    mechanism: str
    process_stage: str
    process_cause: str
    escape_reason: str
    framework_cause: str
    motivating_cause: str
    countermeasures: int
    deployments_pending: int
    depth: str = ReviewDepth.FULL
    #: Dimensions where the team found no cause (their cause field then says why).
    no_cause: frozenset[str] = frozenset()
    #: The dimensions that have at least one countermeasure.
    countermeasure_dimensions: frozenset[str] = frozenset()
    #: In a short review, why a dimension with a cause has no countermeasure, by dimension.
    no_countermeasure_reasons: dict[str, str] | None = None


def causes_found(c: ReviewContent) -> list[Dimension]:
    """The dimensions where the review found a cause: the technical one always, the others unless marked none."""
    return [d for d in Dimension if d == Dimension.TECHNICAL or d.value not in c.no_cause]


def dimension_gaps(c: ReviewContent) -> dict[Dimension, str]:
    """Each dimension that found a cause and that no countermeasure answers, with the reason in words.

    A full review answers each with a countermeasure; a short review may instead say why there is none."""
    gaps: dict[Dimension, str] = {}
    reasons = c.no_countermeasure_reasons or {}
    for d in causes_found(c):
        if d.value in c.countermeasure_dimensions:
            continue
        if c.depth == ReviewDepth.SHORT:
            if not (reasons.get(d.value) or "").strip():
                gaps[d] = str(_l("%(dimension)s: a cause was found; add a countermeasure or say why there is none.",
                                 dimension=DIMENSION_TITLES[d]))
        else:
            gaps[d] = str(_l("%(dimension)s: a cause was found but no countermeasure answers it.",
                             dimension=DIMENSION_TITLES[d]))
    return gaps


def review_blocked(*, status: str, severity: str | None) -> str | None:
    """Why no review may be started on (or linked to) an incident in this state; None when one may.

    A review looks for the root cause of a case whose severity is known: an untriaged report is triaged first, and
    imported history is not a case to work (head-office QA reopens it as live work first)."""
    if status == "historical":
        return str(_l("This incident is imported history: reopen it as live work before reviewing it."))
    if severity is None or status == "reported":
        return str(_l("Triage the incident first: a review starts once its severity is known."))
    return None


def approval_errors(countermeasures: Sequence[tuple[str, int | None, date | None, bool]]) -> list[str]:
    """What stops head office from approving: each countermeasure (description, owner id, due date, whether the owner
    is still active) needs an owner who can act on it and a due date."""
    problems = []
    for description, owner_id, due_on, owner_active in countermeasures:
        short = description if len(description) <= 60 else description[:59] + "…"
        if owner_id is None or not owner_active:
            problems.append(str(_l("Countermeasure “%(cm)s” has no active owner.", cm=short)))
        if due_on is None:
            problems.append(str(_l("Countermeasure “%(cm)s” has no due date.", cm=short)))
    return problems


def submission_errors(c: ReviewContent) -> dict[str, str]:
    """What a review still lacks before head office may approve it. The form guides; this is the minimum.

    A short review needs the technical cause, one line per other dimension and, for each cause found, a
    countermeasure or why none; a full review all four dimensions and a countermeasure for each cause found."""
    if c.depth == ReviewDepth.SHORT:
        return _short_errors(c)
    errors: dict[str, str] = {}
    required = {
        "phenomenon": (c.phenomenon, _l("Describe the phenomenon.")),
        "mechanism": (c.mechanism, _l("State the failure mechanism (technical cause).")),
        "process_stage": (c.process_stage, _l("Say in which process stage the cause was introduced.")),
        "process_cause": (c.process_cause, _l("State the process cause.")),
        "escape_reason": (c.escape_reason, _l("Say why it was not detected.")),
        "framework_cause": (c.framework_cause, _l("State the framework cause (or why there is none).")),
        "motivating_cause": (c.motivating_cause, _l("State the motivating factors (or why there are none).")),
    }
    for name, (value, message) in required.items():
        if not (value or "").strip():
            errors[name] = str(message)
    if c.countermeasures == 0:
        errors["countermeasures"] = str(_l("Add at least one countermeasure."))
    for d, why in dimension_gaps(c).items():
        errors[f"countermeasures_{d.value}"] = why
    return errors


def _short_errors(c: ReviewContent) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not c.mechanism.strip():
        errors["mechanism"] = str(_l("State the failure mechanism (technical cause)."))
    lines = {"process_cause": (c.process_cause, _l("State the process cause in one line (or why there is none).")),
             "framework_cause": (c.framework_cause, _l("State the framework cause in one line (or why there is none).")),
             "motivating_cause": (c.motivating_cause,
                                  _l("State the motivating factors in one line (or why there are none)."))}
    for name, (value, message) in lines.items():
        if not (value or "").strip():
            errors[name] = str(message)
        elif not is_one_line(value):
            errors[name] = str(_l("One line of at most %(n)d characters in a short review.", n=ONE_LINE))
    for d, why in dimension_gaps(c).items():
        errors[f"countermeasures_{d.value}"] = why
    return errors


def is_one_line(text: str) -> bool:
    """Whether a text is one line of at most ONE_LINE characters."""
    text = (text or "").strip()
    return "\n" not in text and "\r" not in text and len(text) <= ONE_LINE


# --- lessons: personal data -----------------------------------------------------------------

_D = "[0-9０-９]"  # a digit, ASCII or full-width (Japanese text often has both)
_KANA_KANJI = "\u30a1-\u30fa\u30fc\u4e00-\u9fff\u3005"  # katakana and kanji (hiragana is mostly grammar)
_EMAIL = re.compile(r"[\w.+-]+\s?[@＠]\s?[\w-]+(?:\s?[.．]\s?[\w-]+)+")
#: "name at example dot com", "name [at] example [dot] com", "name(at)example(dot)com"
_EMAIL_SPELT = re.compile(
    r"[\w.+-]+\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|\s+at\s+|\s*アット\s*)\s*[\w-]+"
    r"(?:\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|\s+dot\s+|\s*ドット\s*|\.)\s*[\w-]+)*"
    r"\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|\s+dot\s+|\s*ドット\s*)\s*[A-Za-z]{2,6}\b", re.IGNORECASE)
_PHONE = re.compile(rf"(?<![\d-])(?:\+?{_D}{{1,3}}[\s.\-‐－]?)?(?:\({_D}{{2,4}}\)[\s.\-‐－]?|{_D}{{2,4}}[\s.\-‐－]){_D}{{2,4}}[\s.\-‐－]{_D}{{3,4}}(?![\w]|-\d)")
#: A phone number written without separators: 10 to 13 digits, e.g. 0312345678, 09012345678, +819012345678.
_PHONE_RUN = re.compile(rf"(?<![\w.\-])\+?{_D}{{10,13}}(?![\w.\-])")
_TOLL_FREE = re.compile(r"\b1?-?8(?:00|33|44|55|66|77|88)-?[A-Z0-9]{3}-?[A-Z0-9]{4}\b")
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][\w.'-]*\s+){1,4}(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Dr\.?|Lane|Ln\.?"
    r"|Way|Court|Ct\.?|Place|Pl\.?|Parkway|Pkwy\.?|Highway|Hwy\.?)(?:,?\s+(?:Suite|Ste\.?|Apt\.?|Unit)\s*[\w-]+)?",
)
#: Japanese addresses: prefecture, city, ward, town (…都/道/府/県, …市/区/町/村/郡) and block numbers
#: (…丁目, …番地, …番, …号, and 2-3-15 after a place name).
_JP_ADDRESS = re.compile(
    rf"(?:[{_KANA_KANJI}]{{1,5}}(?:都|道|府|県))?(?:[{_KANA_KANJI}]{{1,6}}(?:市|区|町|村|郡))+"
    rf"(?:[{_KANA_KANJI}]{{0,8}}(?:{_D}+|[一二三四五六七八九十]+)(?:丁目|番地|番|号|[-‐－ー]{_D}+)+)?"
    rf"|[{_KANA_KANJI}]{{0,8}}(?:{_D}+|[一二三四五六七八九十]+)(?:丁目)(?:{_D}+(?:番地?|[-‐－]))?(?:{_D}+号?)?"
    rf"|{_D}+番地(?:{_D}+号?)?")
#: Romanised Japanese addresses: "Setagaya-ku", "Minato-ku", "3-chome", "Kita-shi".
_JP_ADDRESS_LATIN = re.compile(r"\b(?:[A-Z][a-z]+-(?:ku|shi|cho|machi|mura|gun)|\d+-chome(?:\s*\d+(?:-\d+)*)?)\b")
_POSTAL_JP = re.compile(rf"〒\s?{_D}{{3}}[-‐－]?{_D}{{4}}|(?<![\w-]){_D}{{3}}[-‐－]{_D}{{4}}(?![\w-])")
_HONORIFIC = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?")
#: A Japanese name with an honorific: 田中様, 佐藤 花子さん, たなかさん, ヤマダ氏, and romanised Tanaka-san.
_JP_NAME = re.compile(rf"[{_KANA_KANJI}]{{1,6}}(?:[\s　][{_KANA_KANJI}]{{1,6}})?[\s　]?(?:様|さま|さん|氏|殿|ちゃん|くん|君)"
                      r"|\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)?-(?:san|sama|shi|dono|kun|chan)\b")
#: Words with an honorific that name nobody ("the customer", "everyone", "the wife").
_NOT_NAMES = frozenset({"客様", "皆様", "皆さん", "奥様", "奥さん", "ご主人様", "主人様", "各位殿", "担当者様", "ユーザー様", "お客さん"})
_ATTENTION = re.compile(r"\b(?:contact|call|attention|attn\.?)\s*:?\s+([A-Z][a-z'-]+\s+[A-Z][a-z'-]+)")

REDACTED = "[removed]"


class PersonalData(TitledEnum):
    KNOWN = "known", _l("Place, serial or lot number or customer contact data of the incident")  # a string from the incident: its place, serial or lot numbers, customer contact fields
    EMAIL = "email", _l("E-mail address")
    PHONE = "phone", _l("Phone number")
    ADDRESS = "address", _l("Address")
    POSTAL_CODE = "postal_code", _l("Postal code")
    NAME = "name", _l("Personal name")


PERSONAL_DATA_TITLES = titles(PersonalData)

#: Each pattern with what it finds, in the order they are applied (e-mail before phone, names last).
_PATTERNS: tuple[tuple[PersonalData, re.Pattern[str]], ...] = (
    (PersonalData.EMAIL, _EMAIL), (PersonalData.EMAIL, _EMAIL_SPELT), (PersonalData.PHONE, _TOLL_FREE),
    (PersonalData.PHONE, _PHONE), (PersonalData.POSTAL_CODE, _POSTAL_JP), (PersonalData.PHONE, _PHONE_RUN),
    (PersonalData.ADDRESS, _STREET), (PersonalData.ADDRESS, _JP_ADDRESS), (PersonalData.ADDRESS, _JP_ADDRESS_LATIN),
    (PersonalData.NAME, _HONORIFIC), (PersonalData.NAME, _JP_NAME),
)


@dataclass(frozen=True)
class Finding:
    """Personal data found in a text: what kind, and the text itself (shown to the approver only)."""

    kind: PersonalData
    text: str


def _scan(text: str, also: Iterable[str]) -> tuple[str, list[Finding]]:
    found: list[Finding] = []
    out = text

    def take(kind: PersonalData) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            if kind is PersonalData.NAME and match.group(0) in _NOT_NAMES:
                return match.group(0)
            if match.group(0).strip() and match.group(0) != REDACTED:
                found.append(Finding(kind, match.group(0).strip()))
            return REDACTED
        return replace

    for known in sorted({k.strip() for k in also if k and len(k.strip()) >= 3}, key=len, reverse=True):
        out = re.sub(re.escape(known), take(PersonalData.KNOWN), out, flags=re.IGNORECASE)
    for kind, pattern in _PATTERNS:
        out = pattern.sub(take(kind), out)

    def attention(match: re.Match[str]) -> str:
        found.append(Finding(PersonalData.NAME, match.group(1)))
        return match.group(0).replace(match.group(1), REDACTED)

    out = _ATTENTION.sub(attention, out)
    return out, found


def scrub_personal_data(text: str, *, also: Iterable[str] = ()) -> str:
    """The text without e-mail addresses (also spelt out: "name at example dot com"), phone numbers (with or
    without separators), street and Japanese addresses (…区, …丁目, …番地), postal codes and personal names (with
    an honorific: Mr …, 田中様, 佐藤さん, Tanaka-san).

    `also` lists exact strings known to identify customers (e.g. an incident's place, serial numbers);
    each is removed wherever it appears. Lessons are built from review fields, never from the customer's
    report, and this is the second line of defence.
    """
    if not text:
        return ""
    return _scan(text, also)[0]


def find_personal_data(text: str, *, also: Iterable[str] = ()) -> list[Finding]:
    """What scrub_personal_data would remove from the text, in order."""
    return _scan(text or "", also)[1]


def serial_tokens(text: str) -> list[str]:
    """Serial or lot numbers typed as a list (commas, spaces, new lines)."""
    return [t for t in re.split(r"[\s,;]+", text or "") if t]


# --- lessons: classification ----------------------------------------------------------------

#: FDA "Determined Cause" → (cause dimension, process stage where introduced).
FDA_CAUSES: dict[str, tuple[Dimension, str]] = {
    "Device Design": (Dimension.PROCESS, "design"),
    "Component design/selection": (Dimension.PROCESS, "design"),
    "Software design": (Dimension.PROCESS, "design"),
    "Software Design Change": (Dimension.PROCESS, "design"),
    "Package design/selection": (Dimension.PROCESS, "design"),
    "Labeling design": (Dimension.PROCESS, "design"),
    "Process design": (Dimension.PROCESS, "planning"),
    "Process control": (Dimension.PROCESS, "manufacturing"),
    "Packaging process control": (Dimension.PROCESS, "manufacturing"),
    "Packaging": (Dimension.PROCESS, "manufacturing"),
    "Nonconforming Material/Component": (Dimension.PROCESS, "inspection"),
    "Material/Component Contamination": (Dimension.PROCESS, "manufacturing"),
    "Mixed-up of materials/components": (Dimension.PROCESS, "manufacturing"),
    "Labeling mix-ups": (Dimension.PROCESS, "manufacturing"),
    "Error in labeling": (Dimension.PROCESS, "manufacturing"),
    "Equipment maintenance": (Dimension.PROCESS, "manufacturing"),
    "Environmental control": (Dimension.PROCESS, "manufacturing"),
    "Storage": (Dimension.PROCESS, "manufacturing"),
    "Manufacturing material removal": (Dimension.PROCESS, "manufacturing"),
    "Reprocessing Controls": (Dimension.PROCESS, "service"),
    "Software design (manufacturing process)": (Dimension.PROCESS, "manufacturing"),
    "Software Manufacturing/Software Deployment": (Dimension.PROCESS, "manufacturing"),
    "Software in the Use Environment": (Dimension.PROCESS, "installation"),
    "Incorrect or no expiration date": (Dimension.PROCESS, "manufacturing"),
    "Process change control": (Dimension.FRAMEWORK, "manufacturing"),
    "Component change control": (Dimension.FRAMEWORK, "design"),
    "Labeling Change Control": (Dimension.FRAMEWORK, "design"),
    "Software change control": (Dimension.FRAMEWORK, "design"),
    "Packaging change control": (Dimension.FRAMEWORK, "manufacturing"),
    "Vendor change control": (Dimension.FRAMEWORK, "manufacturing"),
    "Finished device change control": (Dimension.FRAMEWORK, "manufacturing"),
    "Release of Material/Component prior to receiving test results": (Dimension.FRAMEWORK, "inspection"),
    "No Marketing Application": (Dimension.FRAMEWORK, "planning"),
    "PMA": (Dimension.FRAMEWORK, "planning"),
    "Radiation Control for Health and Safety Act": (Dimension.FRAMEWORK, "design"),
    "Labeling False and Misleading": (Dimension.FRAMEWORK, "planning"),
    "Employee error": (Dimension.MOTIVATING, "manufacturing"),
    "Use error": (Dimension.MOTIVATING, "service"),
}

#: Failure modes recognised in a free-text reason, first match wins (an engineer's facet, not a diagnosis).
FAILURE_MODES: list[tuple[str, tuple[str, ...]]] = [
    ("Software fault", ("software", "firmware", "algorithm", "anomaly in the", "program")),
    ("Sterility / contamination", ("steril", "contamina", "bacteria", "microbial", "endotoxin", "particulate", "mold")),
    ("Labelling / instructions", ("label", "instructions for use", "ifu", "manual", "expiration", "mislabel")),
    ("Fire / overheating", ("fire", "overheat", "burn", "smoke", "melt", "thermal", "発火", "発煙", "過熱", "火災")),
    ("Electrical failure", ("electric", "battery", "power supply", "short circuit", "voltage", "current leak", "connector", "短絡", "漏電")),
    ("Fracture / breakage", ("fractur", "break", "broke", "crack", "snap", "separat", "破損", "割れ", "折損")),
    ("Leak / seal failure", ("leak", "seal", "occlu", "漏れ")),
    ("Wrong measurement / result", ("inaccurate", "incorrect result", "false", "erroneous", "measure", "reading", "calibrat")),
    ("Packaging failure", ("packag", "pouch", "tray")),
    ("Mechanical malfunction", ("mechan", "jam", "stuck", "fail to", "failure to", "does not", "malfunction", "不具合")),
]


def failure_mode_of(text: str) -> str:
    lowered = (text or "").lower()
    for mode, words in FAILURE_MODES:
        if any(w in lowered for w in words):
            return mode
    return "Other"


def clean_source_text(text: str) -> str:
    """Text from a public data set as people should read it: entities decoded, stray mojibake dropped."""
    text = html.unescape(html.unescape(text or ""))
    text = text.replace("Âż", "").replace("Â", "").replace("\u00bf", "")
    return re.sub(r"\s+", " ", text).strip()


# --- search text --------------------------------------------------------------------------

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_TOKEN = re.compile(rf"[0-9a-z]+|[{_CJK}]+")
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his how i if in
into is it its itself just may me might more most must my no nor not now of off on once only or other our out over own per
same she should so some such than that the their them then there these they this those through to too under until up upon
very was we were what when where which while who whom why will with would you your units unit lot lots product products
model models device devices firm recall recalled recalling reported report reports due potential possible result resulted
use used using customer customers one two three within which being s
""".split())


def tokens(text: str) -> list[str]:
    """Words and Japanese character bigrams, lower case, as the index stores them.

    Japanese has no spaces between words and many words are two characters long (火災, 発煙),
    which a trigram index cannot find, so each run of Japanese script is indexed as overlapping
    character pairs, and a search term is split the same way.
    """
    normal = unicodedata.normalize("NFKC", text or "").lower()
    out: list[str] = []
    for match in _TOKEN.finditer(normal):
        word = match.group(0)
        if word[0].isascii():
            out.append(word)
        elif len(word) == 1:
            out.append(word)
        else:
            out.extend(word[i:i + 2] for i in range(len(word) - 1))
    return out


def index_text(*parts: str) -> str:
    """The text as stored in the full-text index."""
    return " ".join(t for part in parts for t in tokens(part))


def query_terms(text: str, *, limit: int = 24) -> list[str]:
    """The distinct meaningful terms of a query, in order of first appearance (stop words dropped)."""
    seen: dict[str, None] = {}
    for t in tokens(text):
        if t in STOPWORDS or (t.isascii() and (len(t) < 2 or t.isdigit())):
            continue
        seen.setdefault(t, None)
        if len(seen) >= limit:
            break
    return list(seen)


def keyword_overlap(query: str, document: str) -> int:
    """Plain keyword matching: how many distinct query terms appear in the document (the baseline)."""
    doc = set(tokens(document))
    return sum(1 for t in query_terms(query, limit=200) if t in doc)


def highlight(text: str, terms: Iterable[str], *, width: int = 220) -> str:
    """An HTML snippet of the text around the first matching term, matches wrapped in <mark>, all else escaped."""
    text = text or ""
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    if not words:
        return html.escape(text[:width] + ("…" if len(text) > width else ""))
    # A latin term matches at a word start and may run on (fire → fires); Japanese bigrams match anywhere.
    parts = [(rf"\b{re.escape(w)}\w*" if w.isascii() else re.escape(w)) for w in words]
    pattern = re.compile("|".join(parts), re.IGNORECASE)
    first = pattern.search(text)
    start = 0 if first is None else max(0, first.start() - width // 3)
    piece = text[start:start + width]
    out, last = [], 0
    for m in pattern.finditer(piece):
        out.append(html.escape(piece[last:m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        last = m.end()
    out.append(html.escape(piece[last:]))
    return ("…" if start else "") + "".join(out) + ("…" if start + width < len(text) else "")
