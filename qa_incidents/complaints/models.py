"""Tables for complaints, early-warning signals and the complaints behind each signal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base


class Complaint(Base):
    """A complaint, inquiry or repair record from a customer channel. Never deleted; linked to an incident once filed."""

    __tablename__ = "complaint"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    source: so.Mapped[str] = so.mapped_column(sa.String(32))  # web, api, a file's source name, nhtsa
    external_id: so.Mapped[str] = so.mapped_column(sa.String(64))  # the source's own id, or a hash of the row
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"))
    product_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("product.id"))
    model: so.Mapped[str] = so.mapped_column(sa.String(80))
    symptom: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="complaint")
    channel: so.Mapped[str] = so.mapped_column(sa.String(16), default="phone")
    serial: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(2))
    place: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    occurred_on: so.Mapped[date | None] = so.mapped_column()
    received_at: so.Mapped[datetime] = so.mapped_column()
    week_start: so.Mapped[date] = so.mapped_column()  # Monday (UTC) of received_at: the signal scan's unit
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    # Customer contact data: its own fields, shown only to roles with READ_CUSTOMER_CONTACT.
    customer_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    customer_contact: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    safety_terms: so.Mapped[str] = so.mapped_column(sa.String(400), default="")  # matched terms, "; "-joined
    flagged: so.Mapped[bool] = so.mapped_column(default=False)
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_complaint_source_external"),
        # The flagged list of a division: one range, newest first.
        sa.Index("ix_complaint_division_flagged", "division_id", "flagged", "received_at"),
        sa.Index("ix_complaint_division_received", "division_id", "received_at"),
        # The signal scan: weekly counts per division, model and symptom from the index alone.
        sa.Index("ix_complaint_series", "week_start", "division_id", "model", "symptom"),
    )


class ComplaintSignal(Base):
    """A model's symptom complaining more than its own history says it should."""

    __tablename__ = "complaint_signal"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    product_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("product.id"))
    model: so.Mapped[str] = so.mapped_column(sa.String(80))
    symptom: so.Mapped[str] = so.mapped_column(sa.String(80))
    week_start: so.Mapped[date] = so.mapped_column()  # the week of the latest alarm
    observed: so.Mapped[int] = so.mapped_column()  # complaints behind the signal (its alarm weeks)
    expected: so.Mapped[float] = so.mapped_column(sa.Float)  # baseline complaints per week
    p_value: so.Mapped[float] = so.mapped_column(sa.Float)
    cusum: so.Mapped[float] = so.mapped_column(sa.Float)
    reason: so.Mapped[str] = so.mapped_column(sa.String(16))  # poisson, cusum, both
    series: so.Mapped[list[Any]] = so.mapped_column(sa.JSON, default=list)  # [[week iso, count, expected|None], …]
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open", index=True)
    decision_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: so.Mapped[datetime | None] = so.mapped_column()
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    decided_by: so.Mapped[User | None] = so.relationship(lazy="joined")

    __table_args__ = (sa.Index("ix_complaint_signal_key", "division_id", "model", "symptom"),)


class SignalComplaint(Base):
    """A complaint behind a signal."""

    __tablename__ = "complaint_signal_member"

    signal_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("complaint_signal.id"), primary_key=True)
    complaint_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("complaint.id"), primary_key=True, index=True)
