"""Tables of the laws map. Applicability is kept as date intervals, so the map can answer
"what applied to category C in country X on date D" for any past or future date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.catalogue.models import ProductCategory
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

    law: so.Mapped[Law] = so.relationship(back_populates="amendments")

    __table_args__ = (
        sa.CheckConstraint("promulgated_on IS NULL OR promulgated_on <= enforced_on", name="promulgated_before_enforced"),
    )


def in_force(valid_from: Any, valid_to: Any, on: dt.date) -> bool:
    """Whether a [valid_from, valid_to) interval (either end open) contains the date."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on < valid_to)
