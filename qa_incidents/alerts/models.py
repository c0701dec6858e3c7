"""Tables of group-wide early alerts, the divisions they address and their answers; and the parts, suppliers and
designs of the product catalogue that the alert's suggestions are computed from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.alerts.rules import AlertAnswer
from qa_incidents.catalogue.models import Product
from qa_incidents.core.db import Base
from qa_incidents.incidents.models import Attachment, _enum


class ProductPart(Base):
    """A part a product model uses (with its supplier), or the design platform it shares with other models."""

    __tablename__ = "product_part"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))  # "part" or "design"
    code: so.Mapped[str] = so.mapped_column(sa.String(80))  # part number, or design platform name
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    supplier: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_at: so.Mapped[datetime] = so.mapped_column()
    #: A retired part or design no longer suggests divisions for an alert; it is kept, never deleted (migration 0039).
    active: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())

    product: so.Mapped[Product] = so.relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("product_id", "kind", "code", name="uq_product_part_code"),
                      sa.CheckConstraint("kind IN ('part', 'design')", name="kind"))


class GroupAlert(Base):
    """A "check your products" alert head-office QA sent about a severe incident."""

    __tablename__ = "group_alert"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    #: Written for the receiving divisions, who may not read the incident: its reference and title are not shown them.
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    due_on: so.Mapped[date] = so.mapped_column()
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column()

    created_by: so.Mapped[User] = so.relationship(lazy="joined")
    addressees: so.Mapped[list[GroupAlertDivision]] = so.relationship(back_populates="alert",
                                                                       order_by="GroupAlertDivision.id")


class GroupAlertDivision(Base):
    """One division an alert addresses, with its latest answer (every answer is kept in group_alert_answer)."""

    __tablename__ = "group_alert_division"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    alert_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group_alert.id"), index=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    #: Why the division was asked, in the catalogue's words ("same part PR-7 (PTC relay)"), or "" if chosen by hand.
    basis: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    answer: so.Mapped[AlertAnswer] = so.mapped_column(_enum(AlertAnswer), default=AlertAnswer.PENDING, index=True)
    answered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: so.Mapped[datetime | None] = so.mapped_column()

    alert: so.Mapped[GroupAlert] = so.relationship(back_populates="addressees", lazy="joined")
    division: so.Mapped[Division] = so.relationship(lazy="joined")
    answered_by: so.Mapped[User | None] = so.relationship(lazy="joined")
    answers: so.Mapped[list[GroupAlertAnswer]] = so.relationship(order_by="GroupAlertAnswer.id")

    __table_args__ = (sa.UniqueConstraint("alert_id", "division_id", name="uq_group_alert_division_alert"),)


class GroupAlertAnswer(Base):
    """One answer of a division, with its evidence. Never changed, never deleted: a new answer is a new row."""

    __tablename__ = "group_alert_answer"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    addressee_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group_alert_division.id"), index=True)
    answer: so.Mapped[AlertAnswer] = so.mapped_column(_enum(AlertAnswer))
    evidence: so.Mapped[str] = so.mapped_column(sa.Text)
    attachment_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident_attachment.id"))
    answered_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: so.Mapped[datetime] = so.mapped_column()

    answered_by: so.Mapped[User] = so.relationship(lazy="joined")
    attachment: so.Mapped[Attachment | None] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("answer <> 'pending' AND evidence <> ''", name="answered_with_evidence"),)


@sa.event.listens_for(GroupAlertAnswer, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: GroupAlertAnswer) -> None:
    raise RuntimeError(f"group alert answer {target.id} is append-only")
