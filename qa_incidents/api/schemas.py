"""The API's request and response shapes, as pydantic models: they validate input and describe the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from qa_incidents.incidents.rules import Hazard, Severity, Source, Status

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


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
