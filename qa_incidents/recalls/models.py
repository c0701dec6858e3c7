"""Tables of recalls: campaigns, their incidents and affected population, customer notices, progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base
from qa_incidents.recalls.rules import RecallStatus


class RecallCampaign(Base):
    """A recall or repair program: from the decision to the last unit remedied."""

    __tablename__ = "recall_campaign"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    version: so.Mapped[int] = so.mapped_column(default=1)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=RecallStatus.DRAFT.value, index=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    remedy: so.Mapped[str] = so.mapped_column(sa.String(16))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # internal: the decision and its reasons
    countries: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    units_affected: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    target_percent: so.Mapped[int] = so.mapped_column(default=100)
    target_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    stall_weeks: so.Mapped[int] = so.mapped_column(default=4)
    report_regimes: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)

    launched_at: so.Mapped[datetime | None]
    launch_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    effectiveness_check: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    effectiveness_checked_at: so.Mapped[datetime | None]
    effectiveness_checked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    closure_justification: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    closed_at: so.Mapped[datetime | None]
    closure_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    withdrawn_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    division: so.Mapped[Division] = so.relationship(lazy="joined")
    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'launched', 'closed', 'withdrawn')", name="status_known"),
        sa.CheckConstraint("(launched_at IS NULL) = (status IN ('draft', 'withdrawn'))", name="launched_iff_launched"),
        sa.CheckConstraint("(closed_at IS NULL) = (status <> 'closed')", name="closed_iff_closed"),
        sa.CheckConstraint("target_percent BETWEEN 1 AND 100", name="target_percent_range"),
        sa.CheckConstraint("stall_weeks >= 1 AND units_affected >= 0", name="weeks_and_units"),
    )


class RecallIncident(Base):
    """An incident that led to (or is covered by) a recall."""

    __tablename__ = "recall_incident"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    linked_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    linked_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    incident: so.Mapped[Any] = so.relationship("Incident", lazy="joined")

    __table_args__ = (sa.UniqueConstraint("recall_id", "incident_id", name="uq_recall_incident_pair"),)


class PopulationLine(Base):
    """One line of the affected population: a model, narrowed by lot and/or serial range; or an exclusion."""

    __tablename__ = "recall_population"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    exclude: so.Mapped[bool] = so.mapped_column(default=False)
    model: so.Mapped[str] = so.mapped_column(sa.String(80))
    lot: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    serial_first: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    serial_last: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    units: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class NewspaperAdvert(Base):
    """A recall advertisement as it ran in a newspaper."""

    __tablename__ = "recall_advert"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    paper: so.Mapped[str] = so.mapped_column(sa.String(200))
    edition: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    region: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(2), default="")
    run_on: so.Mapped[date] = so.mapped_column(sa.Date)
    size: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    cost: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="")
    text_as_run: so.Mapped[str] = so.mapped_column(sa.Text)
    image_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    image_name: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    image_type: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class WebNotice(Base):
    """One version of the website notice. Versions are never changed; publishing stamps one."""

    __tablename__ = "recall_web_notice"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    number: so.Mapped[int] = so.mapped_column()
    heading: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    #: The language this version is written in; a campaign publishes one notice per language it chooses.
    language: so.Mapped[str] = so.mapped_column(sa.String(8), default="en", server_default="en")
    product_name: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    brand: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    identification: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    where_sold: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    units: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    hazard: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    incidents: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    what_to_do: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    remedy: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    contact: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    picture_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    picture_name: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    picture_type: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    published_at: so.Mapped[datetime | None]
    published_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))

    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id], lazy="joined")

    __table_args__ = (sa.UniqueConstraint("recall_id", "number", name="uq_recall_web_notice_number"),)

    def content(self) -> dict[str, str]:
        """The notice's text fields (and the picture's name) by NOTICE_FIELDS name."""
        from qa_incidents.recalls.rules import NOTICE_FIELDS

        return {name: (self.picture_name if name == "picture" else getattr(self, name)) for name in NOTICE_FIELDS}


class Mailing(Base):
    """A batch of direct notices: letters or e-mails sent to known owners."""

    __tablename__ = "recall_mailing"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    sent_on: so.Mapped[date] = so.mapped_column(sa.Date)
    country: so.Mapped[str] = so.mapped_column(sa.String(2), default="")
    recipients: so.Mapped[int] = so.mapped_column(default=0)
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("recipients >= 0", name="recipients_not_negative"),)


class ProgressEntry(Base):
    """Units located, notified and remedied on a day, in a country, through a channel (increments)."""

    __tablename__ = "recall_progress"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    recorded_on: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(2))
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))
    located: so.Mapped[int] = so.mapped_column(default=0)
    notified: so.Mapped[int] = so.mapped_column(default=0)
    repaired: so.Mapped[int] = so.mapped_column(default=0)
    replaced: so.Mapped[int] = so.mapped_column(default=0)
    refunded: so.Mapped[int] = so.mapped_column(default=0)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="manual")
    #: A service centre's own reference for the row: the same row imported twice is kept once.
    row_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("recall_id", "row_key", name="uq_recall_progress_row_key"),
        sa.CheckConstraint("located >= 0 AND notified >= 0 AND repaired >= 0 AND replaced >= 0 AND refunded >= 0",
                           name="counts_not_negative"),
    )


class LookupDay(Base):
    """How many serial checks the public page answered on a day (no serials, no addresses: counts only)."""

    __tablename__ = "recall_lookup_day"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recall_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("recall_campaign.id"), index=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    checks: so.Mapped[int] = so.mapped_column(default=0)
    affected: so.Mapped[int] = so.mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("recall_id", "day", name="uq_recall_lookup_day_recall_day"),)


class CheckLimit(Base):
    """How many serial checks one client made lately, kept in the database so that the limit holds across worker
    processes and hosts. The client is a keyed hash of its address (no address is stored); one row per client,
    reused window after window (a sliding window estimated from this window's and the previous window's counts)."""

    __tablename__ = "public_check_limit"

    client: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    window_start: so.Mapped[datetime]
    hits: so.Mapped[int] = so.mapped_column(default=0)
    previous: so.Mapped[int] = so.mapped_column(default=0)
