"""The API's request and response shapes, as pydantic models: they validate input and describe the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from qa_incidents.incidents.rules import Care, Hazard, Severity, Source, Status

MAX_ID = 2**31 - 1


def _clean_text(value: str) -> str:
    # A NUL or a lone surrogate cannot be stored (PostgreSQL refuses them): a clear 422, not a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _plausible_instant(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not 1900 <= utc.year <= 9998:
        raise ValueError("must fall between the years 1900 and 9998")
    return utc


Text = Annotated[str, AfterValidator(_clean_text)]
Instant = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_ID)]


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = Field(default=None, description="Messages by field name.")
    current_version: int | None = None


class CustomerContact(BaseModel):
    """The customer's contact data: its own fields, never the description. Only division QA and head-office QA
    may send or read it; for other roles it is null."""

    model_config = ConfigDict(extra="forbid")

    customer_name: Text = Field(default="", max_length=200)
    customer_phone: Text = Field(default="", max_length=50)
    customer_email: Text = Field(default="", max_length=254)
    customer_address: Text = Field(default="", max_length=500)


class IncidentIn(BaseModel):
    """The facts of an incident as a reporter states them (the same fields as the filing form)."""

    model_config = ConfigDict(extra="forbid")

    division_id: Id
    product_id: Id
    title: Text = Field(max_length=200)
    lot_numbers: Text = Field(default="", max_length=2000)
    serial_numbers: Text = Field(default="", max_length=4000)
    country: Text = Field(description="ISO 3166-1 alpha-2 code of the country where it happened.", max_length=2)
    place: Text = Field(max_length=200)
    occurred_at: Instant
    aware_at: Instant = Field(description="When the company became aware: legal reporting clocks start here.")
    source: Source
    hazard: Hazard
    deaths: Count = 0
    serious_injuries: Count = 0
    minor_injuries: Count = 0
    fire: bool = False
    smoke: bool = False
    co_poisoning: bool = False
    property_damage: bool = False
    no_harm: bool = False
    units_in_field: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    description: Text = Field(max_length=20000)
    injury_care: Care = Field(default=Care.NOT_STATED, description="The most serious care an injured person received.")
    recurrence_risk: bool = Field(default=False, description="A malfunction that could cause death or serious injury if it recurred.")
    suspected_defect: bool = Field(default=False, description="A defect or noncompliance is suspected.")
    labelling_problem: bool = Field(default=False, description="A labelling or instructions problem.")
    foreign_action: bool = Field(default=False, description="A recall or corrective action taken in another country.")
    lawsuit: bool = Field(default=False, description="A lawsuit has been filed about it.")
    choking: bool = Field(default=False, description="A choking incident.")
    aware_timezone: Text = Field(default="", max_length=64,
                                 description="IANA zone of the place where the company became aware (legal days are "
                                             "counted on its dates); default: the filer's zone.")
    customer_contact: CustomerContact | None = Field(default=None, description="Optional; QA roles only.")


class IncidentPatch(BaseModel):
    """Some of the facts; the others keep their stored values."""

    model_config = ConfigDict(extra="forbid")

    division_id: Id | None = None
    product_id: Id | None = None
    title: Annotated[Text, Field(max_length=200)] | None = None
    lot_numbers: Annotated[Text, Field(max_length=2000)] | None = None
    serial_numbers: Annotated[Text, Field(max_length=4000)] | None = None
    country: Annotated[Text, Field(max_length=2)] | None = None
    place: Annotated[Text, Field(max_length=200)] | None = None
    occurred_at: Instant | None = None
    aware_at: Instant | None = None
    source: Source | None = None
    hazard: Hazard | None = None
    deaths: Count | None = None
    serious_injuries: Count | None = None
    minor_injuries: Count | None = None
    fire: bool | None = None
    smoke: bool | None = None
    co_poisoning: bool | None = None
    property_damage: bool | None = None
    no_harm: bool | None = None
    units_in_field: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    description: Annotated[Text, Field(max_length=20000)] | None = None
    injury_care: Care | None = None
    recurrence_risk: bool | None = None
    suspected_defect: bool | None = None
    labelling_problem: bool | None = None
    foreign_action: bool | None = None
    lawsuit: bool | None = None
    choking: bool | None = None
    aware_timezone: Annotated[Text, Field(max_length=64)] | None = None
    customer_contact: CustomerContact | None = None


class IncidentOut(BaseModel):
    id: int
    reference: str
    version: int
    status: Status
    severity: Severity | None
    division_id: int
    division_code: str
    product_id: int
    product_model: str
    category_id: int
    title: str
    lot_numbers: str
    serial_numbers: str
    country: str
    place: str
    occurred_at: datetime
    aware_at: datetime
    source: Source
    hazard: Hazard
    deaths: int
    serious_injuries: int
    minor_injuries: int
    fire: bool
    smoke: bool
    co_poisoning: bool
    property_damage: bool
    no_harm: bool
    units_in_field: int
    description: str
    injury_care: Care
    recurrence_risk: bool
    suspected_defect: bool
    labelling_problem: bool
    foreign_action: bool
    lawsuit: bool
    choking: bool
    aware_timezone: str = ""
    customer_contact: CustomerContact | None = Field(
        default=None, description="Null unless the caller's role may read customer contact data.")
    created_at: datetime
    updated_at: datetime


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int = Field(description="How many incidents match the filters (that the caller may read).")
    next_cursor: str | None = Field(description="Pass as 'after' for the next page; null on the last page.")
    prev_cursor: str | None


class IncidentQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Status | None = None
    severity: Severity | None = None
    division_id: Id | None = None
    category_id: Id | None = None
    country: Annotated[Text, Field(min_length=2, max_length=2, pattern="^[A-Z]{2}$")] | None = None
    aware_from: Instant | None = Field(default=None, description="Became aware at or after this instant.")
    aware_to: Instant | None = Field(default=None, description="Became aware before this instant.")
    q: Annotated[Text, Field(max_length=200)] = Field(default="", description="Words to find in reference, title, "
                                                                              "description, lots, serials, place, product.")
    sort: Annotated[str, Field(pattern="^(aware|occurred|reference)_(asc|desc)$")] = "aware_desc"
    after: Annotated[Text, Field(max_length=500)] | None = Field(default=None, description="A next_cursor.")
    before: Annotated[Text, Field(max_length=500)] | None = Field(default=None, description="A prev_cursor.")
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Text = Field(min_length=1, max_length=10000)


class CommentOut(BaseModel):
    id: int
    incident_id: int
    author: str
    body: str
    created_at: datetime


class AttachmentOut(BaseModel):
    id: int
    incident_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class DeadlineOut(BaseModel):
    regime_code: str
    regime: str
    start: datetime
    due_at: datetime
    due_local: str = Field(description="The due time in the authority's time zone (ISO 8601 with offset).")
    time_zone: str
    is_legal_deadline: bool
    internal_target: datetime | None
    explanation: str
    unconfirmed: list[str]
    legal_basis: str = Field(default="", description="The articles the deadline comes from (duty, count and "
                                                    "rollover, holidays).")
    steps: list[str] = Field(default_factory=list, description="The computation, step by step.")
    calendar_version: str = Field(default="", description="The holiday calendar used, with its version.")
    aware_timezone: str = Field(default="", description="The aware site's IANA zone the days were counted in.")


class ObligationOut(BaseModel):
    regime_code: str
    title: str
    law: str
    verdict: str = Field(description="applies, decide (a person must decide) or not_triggered.")
    reason: str
    deadline: DeadlineOut | None


class DeadlineRuleOut(BaseModel):
    code: str
    regime: str
    kind: str
    amount: int
    time_zone: str
    source: str
    unconfirmed: list[str]


class DeadlineQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    regime: Annotated[Text, Field(min_length=1, max_length=40)]
    aware_at: Instant
    timezone: Annotated[Text | None, Field(default=None, max_length=64,
                                           description="The aware site's IANA zone (default: the authority's).")]
    country: Annotated[Text | None, Field(default=None, max_length=2,
                                          description="The incident's country (an EU member state receives EU "
                                                      "reports; default Belgium).")]


# --- regulator notification records ----------------------------------------------------------------------------

FieldName = Annotated[Text, Field(min_length=1, max_length=100)]


class NotificationOut(BaseModel):
    """A regulator notification record: what the company owes one authority for one incident."""

    id: int
    incident_id: int
    incident_reference: str
    version: int = Field(description="Changes with every save; send it as If-Match (the ETag) to change the draft.")
    regime_code: str
    authority: str
    title: str
    kind: str = Field(description="initial, follow_up, progress_report or final.")
    period_label: str
    origin: str = Field(description="derived (from the laws map), added (by a person) or follow_up.")
    state: str = Field(description="to_decide (reportability not yet decided: a decision is due at due_at), required, "
                                   "drafted, approved, submitted, acknowledged or not_required.")
    attention: str = Field(description="Set when later facts no longer trigger the obligation: a person decides.")
    clock_start: datetime | None
    due_at: datetime | None
    due_local: str | None = Field(description="The deadline in the authority's time zone (ISO 8601 with offset).")
    due_timezone: str
    due_explanation: str
    is_legal_deadline: bool
    urgency: str | None = Field(description="overdue, critical (4 h or less), soon (24 h or less), watch (more than "
                                            "half the time used), ok or no_deadline; null once no longer owed.")
    owner: str | None
    required_fields: list[str] = Field(description="The fields the authority asks for (from the laws map).")
    draft: dict[str, str] = Field(description="The saved draft, or the fields pre-filled from the incident.")
    missing_fields: list[str] = Field(description="Required fields the draft leaves empty.")
    missing_explanation: str
    steps: list[str] = Field(description="The steps the caller may take now (draft, approve, submit, acknowledge, "
                                         "not_required, reopen); approve and not_required are signed on the page.")
    approved: bool
    channel: str
    authority_reference: str
    submitted_at: datetime | None
    on_time: bool | None = Field(description="Whether the submission met the deadline; null before submission.")
    document_sha256: str
    acknowledged_at: datetime | None
    acknowledgement: str
    created_at: datetime
    updated_at: datetime


class DraftIn(BaseModel):
    """Draft fields to save. Fields left out keep their current (or pre-filled) value."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[FieldName, Annotated[Text, Field(max_length=20000)]] = Field(
        default_factory=dict, max_length=200, description="Values by field name (names from required_fields or draft).")
    missing_explanation: Annotated[Text, Field(max_length=5000)] = Field(
        default="", description="When the missing fields will follow (information to follow).")


class SubmissionIn(BaseModel):
    """How and when the approved report was sent. The approved draft is kept as a PDF attachment of the incident."""

    model_config = ConfigDict(extra="forbid")

    channel: Annotated[Text, Field(min_length=1, max_length=200)] = Field(description="Portal, e-mail, fax…")
    authority_reference: Annotated[Text, Field(max_length=120)] = ""
    submitted_at: Instant


class AcknowledgementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledged_at: Instant
    text: Annotated[Text, Field(max_length=5000)] = Field(default="", description="What the authority answered.")


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=5000)]


# --- recalls -----------------------------------------------------------------------------------------------------


class TallyOut(BaseModel):
    located: int
    notified: int
    repaired: int
    replaced: int
    refunded: int
    remedied: int = Field(description="repaired + replaced + refunded.")


class CurvePoint(BaseModel):
    week_ending: date
    remedied: int = Field(description="Units remedied in total by the end of the week.")


class RecallProgressOut(BaseModel):
    totals: TallyOut
    completion_rate: float = Field(description="Remedied units as a share of the affected units, 0.0 to 1.0.")
    completion: str = Field(description="The completion rate as people read it, e.g. '37.5 %'.")
    target_percent: int
    target_met: bool
    last_progress_on: date | None
    stalled_since: date | None = Field(description="Set when nothing was remedied for the campaign's stall weeks.")
    by_country: dict[str, TallyOut]
    by_channel: dict[str, TallyOut]
    curve: list[CurvePoint] = Field(description="The completion curve: cumulative remedied units by week.")


class RecallSummaryOut(BaseModel):
    id: int
    reference: str
    status: str = Field(description="draft (being prepared), launched, closed or withdrawn.")
    division_id: int
    division_code: str
    title: str
    remedy: str
    countries: list[str]
    units_affected: int
    target_percent: int
    remedied: int
    completion_rate: float
    stalled: bool
    launched_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime


class RecallOut(RecallSummaryOut):
    version: int
    description: str
    target_date: date | None
    stall_weeks: int
    report_regimes: list[str]
    owner: str
    incidents: list[str] = Field(description="References of the linked incidents you may read.")
    effectiveness_check: str
    withdrawn_reason: str
    created_at: datetime
    progress: RecallProgressOut


class RecallPage(BaseModel):
    items: list[RecallSummaryOut]
    total: int = Field(description="How many recalls match the filters (that the caller may read).")
    next_cursor: str | None = Field(description="Pass as 'after' for the next page; null on the last page.")


class RecallQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["draft", "launched", "closed", "withdrawn"] | None = None
    division_id: Id | None = None
    incident_id: Id | None = Field(default=None, description="Only recalls linked to this incident.")
    after: Annotated[str, Field(max_length=20, pattern="^[0-9]{1,10}$")] | None = Field(
        default=None, description="A next_cursor.")
    limit: Annotated[int, Field(ge=1, le=200)] = 50


# --- lessons learned ---------------------------------------------------------------------------------------------


class LessonHitOut(BaseModel):
    id: int
    source_ref: str
    title: str
    product_category: str
    failure_mode: str
    cause_category: str
    cause_dimension: str
    division: str
    year: int
    score: float = Field(description="Relevance, higher is better (0 when listing without a query).")
    snippet_html: str = Field(description="Escaped HTML of the summary with the matched words in <mark>.")


class FacetCount(BaseModel):
    value: str | int
    count: int


class LessonSearchPage(BaseModel):
    items: list[LessonHitOut]
    total: int
    estimated: bool = Field(default=False, description="True when total and the facet counts are estimates: a broad "
                                                       "search ranks the newest 1,000 matches and estimates from them "
                                                       "(add a word or a filter for exact counts).")
    next_offset: int | None = Field(description="Pass as 'offset' for the next page; null on the last page.")
    facets: dict[str, list[FacetCount]] = Field(description="Counts per category, failure mode, cause dimension, "
                                                            "division and year over all matching lessons.")


class LessonQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: Annotated[Text, Field(max_length=500)] = Field(default="", description="Words (Japanese too); every word must "
                                                                             "match (prefixes count). Empty: newest first.")
    category: Annotated[Text, Field(max_length=120)] | None = None
    failure_mode: Annotated[Text, Field(max_length=80)] | None = None
    cause_dimension: Annotated[Text, Field(max_length=20)] | None = None
    division: Annotated[Text, Field(max_length=120)] | None = None
    year: Annotated[int, Field(ge=1900, le=9999)] | None = None
    offset: Annotated[int, Field(ge=0, le=100000)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class LessonOut(BaseModel):
    id: int
    source: str
    source_ref: str
    title: str
    summary: str
    product: str
    product_category: str
    failure_mode: str
    mechanism: str
    technical_cause: str
    process_cause: str
    framework_cause: str
    motivating_cause: str
    cause_category: str
    cause_dimension: str
    process_stage: str
    countermeasures: str
    design_review_checks: list[str]
    division: str
    year: int
    published_at: datetime
    times_opened: int


class SimilarQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: Annotated[int, Field(ge=1, le=20)] = 5


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
