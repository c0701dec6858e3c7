"""Tables of the laws map. Applicability is kept as date intervals, so the map can answer
"what applied to category C in country X on date D" for any past or future date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base


class Jurisdiction(Base):
    """A country, or a bloc such as the EU whose laws apply in each member country."""

    __tablename__ = "jurisdiction"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(8), unique=True)  # ISO 3166-1 alpha-2, or a bloc code (EU)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    is_bloc: so.Mapped[bool] = so.mapped_column(default=False)
    #: For a bloc: the ISO codes of its member countries, space-separated.
    members: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    holiday_country: so.Mapped[str] = so.mapped_column(sa.String(8), default="")  # for the `holidays` package
    holiday_subdiv: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)

    @property
    def member_codes(self) -> set[str]:
        return set(self.members.split()) if self.is_bloc else {self.code}


class Law(Base):
    """A law or regulation in a jurisdiction."""

    __tablename__ = "law"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    jurisdiction_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("jurisdiction.id"), index=True)
    short_name: so.Mapped[str] = so.mapped_column(sa.String(60), unique=True)
    name_original: so.Mapped[str] = so.mapped_column(sa.String(300))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(300))
    citation: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    authority: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="in_force")  # in_force | planned | repealed
    in_force_from: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    repealed_on: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    source: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Points the legal department has not confirmed, one per line; shown as such everywhere.
    unconfirmed: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    jurisdiction: so.Mapped[Jurisdiction] = so.relationship(lazy="joined")
    coverage: so.Mapped[list[LawCategory]] = so.relationship(back_populates="law", order_by="LawCategory.id")
    obligations: so.Mapped[list[Obligation]] = so.relationship(back_populates="law", order_by="Obligation.regime_code")
    amendments: so.Mapped[list[Amendment]] = so.relationship(back_populates="law", order_by="Amendment.enforced_on")


class LawCategory(Base):
    """The law covers this category (and its sub-categories) from valid_from until before valid_to."""

    __tablename__ = "law_category"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"), index=True)
    category_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product_category.id"), index=True)
    valid_from: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)

    law: so.Mapped[Law] = so.relationship(back_populates="coverage")
    category: so.Mapped[ProductCategory] = so.relationship(lazy="joined")


class Obligation(Base):
    """A reporting obligation a law carries, identified by its regime code (e.g. JP-CPSA-35)."""

    __tablename__ = "obligation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"), index=True)
    regime_code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: Harm classes (see incidents.severity.HarmClass) that trigger it; empty means a human decides.
    trigger_harms: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    trigger_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Also applies when the product is sold in the jurisdiction, not only when the incident happened there.
    applies_to_markets: so.Mapped[bool] = so.mapped_column(default=False)
    required_fields: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    follow_ups: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    channel: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    valid_from: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    source: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    unconfirmed: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    law: so.Mapped[Law] = so.relationship(back_populates="obligations")


class Amendment(Base):
    """An amendment (or the law's own entry into force): promulgated, then enforced on a date."""

    __tablename__ = "amendment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"), index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    promulgated_on: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    enforced_on: so.Mapped[dt.date] = so.mapped_column(sa.Date, index=True)
    summary: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Codes of the product categories the amendment affects (sub-categories included).
    affected_categories: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    #: Where the amendment is published (official journal, gazette, ministry notice): migration 0040.
    source: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default=sa.text("''"))

    law: so.Mapped[Law] = so.relationship(back_populates="amendments")

    __table_args__ = (
        sa.CheckConstraint("promulgated_on IS NULL OR promulgated_on <= enforced_on", name="promulgated_before_enforced"),
    )


def in_force(valid_from: Any, valid_to: Any, on: dt.date) -> bool:
    """Whether a [valid_from, valid_to) interval (either end open) contains the date."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on < valid_to)


# --- the technical-law compliance register (migration 0040) ----------------------------------------------------


class TechnicalLaw(Base):
    """A law of the map that products must conform to before they are sold (PSE, RoHS, RED…): a product model sold
    where it applies, in a category it covers, needs evidence of conformity for it."""

    __tablename__ = "technical_law"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"))
    #: What shows conformity (e.g. "EU declaration of conformity; technical documentation; CE marking").
    evidence_expected: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    law: so.Mapped[Law] = so.relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("law_id", name="uq_technical_law_law"),)


class ComplianceEvidence(Base):
    """A certificate, test report or declaration of conformity of one product model for one technical law. Never
    deleted: a wrong or superseded document is withdrawn with a reason."""

    __tablename__ = "compliance_evidence"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product.id"), index=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"), index=True)
    #: The product's division when recorded (the scoping column).
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))  # certificate | test_report | declaration
    issuer: so.Mapped[str] = so.mapped_column(sa.String(200))
    number: so.Mapped[str] = so.mapped_column(sa.String(120))
    issued_on: so.Mapped[dt.date] = so.mapped_column(sa.Date)
    expires_on: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    filename: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    size: so.Mapped[int] = so.mapped_column(default=0)
    content_type: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    withdrawn_at: so.Mapped[dt.datetime | None] = so.mapped_column()
    withdrawn_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    withdrawn_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    product: so.Mapped[Product] = so.relationship(lazy="joined")
    law: so.Mapped[Law] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('certificate', 'test_report', 'declaration')", name="kind"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="expiry"),
    )


class ReassessmentTask(Base):
    """A product model to re-assess against an amended technical law before the amendment is enforced."""

    __tablename__ = "reassessment_task"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    amendment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("amendment.id"))
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product.id"), index=True)
    law_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("law.id"))
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    due_on: so.Mapped[dt.date] = so.mapped_column(sa.Date, index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open", index=True)  # open | closed
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[dt.datetime | None] = so.mapped_column()
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    conclusion: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    evidence_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("compliance_evidence.id"))

    amendment: so.Mapped[Amendment] = so.relationship(lazy="joined")
    product: so.Mapped[Product] = so.relationship(lazy="joined")
    law: so.Mapped[Law] = so.relationship(lazy="joined")
    division: so.Mapped[Division] = so.relationship(lazy="joined")
    evidence: so.Mapped[ComplianceEvidence | None] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.UniqueConstraint("amendment_id", "product_id", name="uq_reassessment_task_amendment_product"),
    )
