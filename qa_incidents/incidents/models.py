"""Tables for incidents, their comments and attachments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base
from qa_incidents.incidents.rules import Care, Hazard, Severity, Source, Status


def _enum(cls: type) -> sa.Enum:
    # Stored as plain strings with a CHECK, so adding a value is a migration, not a type change.
    return sa.Enum(cls, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e])


class Incident(Base):
    """A product incident as reported by a division."""

    __tablename__ = "incident"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    version: so.Mapped[int] = so.mapped_column(default=1)
    status: so.Mapped[Status] = so.mapped_column(_enum(Status), default=Status.REPORTED, index=True)
    severity: so.Mapped[Severity | None] = so.mapped_column(_enum(Severity), index=True)

    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product.id"))  # indexed by ix_incident_product_aware_id
    # Denormalised from the product so the register filters by category without a join.
    category_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product_category.id"), index=True)

    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    lot_numbers: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    serial_numbers: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(2), index=True)
    place: so.Mapped[str] = so.mapped_column(sa.String(200))
    occurred_at: so.Mapped[datetime] = so.mapped_column(index=True)
    aware_at: so.Mapped[datetime] = so.mapped_column(index=True)
    #: The IANA zone of the place where the company became aware (legal days count on its dates).
    aware_timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="", server_default=sa.text("''"))
    source: so.Mapped[Source] = so.mapped_column(_enum(Source))
    hazard: so.Mapped[Hazard] = so.mapped_column(_enum(Hazard))

    deaths: so.Mapped[int] = so.mapped_column(default=0)
    serious_injuries: so.Mapped[int] = so.mapped_column(default=0)
    minor_injuries: so.Mapped[int] = so.mapped_column(default=0)
    fire: so.Mapped[bool] = so.mapped_column(default=False)
    smoke: so.Mapped[bool] = so.mapped_column(default=False)
    co_poisoning: so.Mapped[bool] = so.mapped_column(default=False)
    property_damage: so.Mapped[bool] = so.mapped_column(default=False)
    no_harm: so.Mapped[bool] = so.mapped_column(default=False)
    units_in_field: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    # The facts each regime's definitions need (migration 0023): the most serious care an injured person
    # received, and yes/no facts other than harm that trigger or call for a reportability decision.
    injury_care: so.Mapped[Care] = so.mapped_column(_enum(Care), default=Care.NOT_STATED, server_default="not_stated")
    recurrence_risk: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    suspected_defect: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    labelling_problem: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    foreign_action: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    lawsuit: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    choking: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # Customer contact data (migration 0030): fields of their own, shown only to READ_CUSTOMER_CONTACT roles.
    customer_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default=sa.text("''"))
    customer_phone: so.Mapped[str] = so.mapped_column(sa.String(50), default="", server_default=sa.text("''"))
    customer_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default=sa.text("''"))
    customer_address: so.Mapped[str] = so.mapped_column(sa.String(500), default="", server_default=sa.text("''"))

    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    updated_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: The person who works the incident now (set on the incident page by its division's QA or head-office QA).
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)

    division: so.Mapped[Division] = so.relationship(lazy="joined")
    product: so.Mapped[Product] = so.relationship(lazy="joined")
    # Read only where shown (most incidents have none): not joined into every load of an incident.
    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_id], lazy="select")
    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id], lazy="joined")
    updated_by: so.Mapped[User] = so.relationship(foreign_keys=[updated_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("aware_at >= occurred_at", name="aware_not_before_occurred"),
        sa.CheckConstraint(
            "deaths >= 0 AND serious_injuries >= 0 AND minor_injuries >= 0 AND units_in_field >= 0",
            name="counts_not_negative",
        ),
        # Keyset pagination of the register walks these (sort key, id) pairs.
        sa.Index("ix_incident_aware_id", "aware_at", "id"),
        sa.Index("ix_incident_occurred_id", "occurred_at", "id"),
        # The same within a status, and within a division's status (migration 0011): a filtered page is one range scan.
        sa.Index("ix_incident_status_aware_id", "status", "aware_at", "id"),
        sa.Index("ix_incident_status_occurred_id", "status", "occurred_at", "id"),
        sa.Index("ix_incident_division_status_aware_id", "division_id", "status", "aware_at", "id"),
        sa.Index("ix_incident_division_status_occurred_id", "division_id", "status", "occurred_at", "id"),
        # A page filtered by country, category or severity read in its sort's order (migration 0046).
        sa.Index("ix_incident_country_aware_id", "country", "aware_at", "id"),
        sa.Index("ix_incident_country_occurred_id", "country", "occurred_at", "id"),
        sa.Index("ix_incident_category_aware_id", "category_id", "aware_at", "id"),
        sa.Index("ix_incident_category_occurred_id", "category_id", "occurred_at", "id"),
        sa.Index("ix_incident_severity_aware_id", "severity", "aware_at", "id"),
        sa.Index("ix_incident_severity_occurred_id", "severity", "occurred_at", "id"),
        # Similar reports: a product's incidents within a window of aware_at, one range (migration 0016).
        sa.Index("ix_incident_product_aware_id", "product_id", "aware_at", "id"),
    )


class IncidentTally(Base):
    """How many incidents there are per status, division and severity, at eight grains (`grain` bits: 1 the category,
    2 the country, 4 the month of awareness in UTC as YYYYMM; a part not in the grain is 0 or ''). Kept by triggers
    on `incident` in the writer's transaction (migration 0038); the register's counts sum one grain's rows."""

    __tablename__ = "incident_tally"

    grain: so.Mapped[int] = so.mapped_column(sa.SmallInteger, primary_key=True)
    category_id: so.Mapped[int] = so.mapped_column(primary_key=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(2), primary_key=True)
    month: so.Mapped[int] = so.mapped_column(primary_key=True)
    division_id: so.Mapped[int] = so.mapped_column(primary_key=True)
    severity: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)  # '' for none yet
    status: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)
    n: so.Mapped[int] = so.mapped_column(sa.BigInteger)


class Comment(Base):
    """A remark on an incident. Comments are never edited or deleted."""

    __tablename__ = "incident_comment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    author: so.Mapped[User] = so.relationship(lazy="joined")


class Attachment(Base):
    """A file attached to an incident; the bytes live in content-addressed storage."""

    __tablename__ = "incident_attachment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    size: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    uploaded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    uploaded_by: so.Mapped[User] = so.relationship(lazy="joined")



class SavedView(Base):
    """A user's named register filters (the register's query string); deleted softly, by its owner only."""

    __tablename__ = "saved_view"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    query: so.Mapped[str] = so.mapped_column(sa.String(2000))
    created_at: so.Mapped[datetime]
    deleted_at: so.Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_saved_view_user_id", "user_id", "deleted_at"),)
