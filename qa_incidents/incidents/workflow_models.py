"""Tables for the severity matrix versions, triage decisions and escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.db import Base
from qa_incidents.core.signatures import Signature
from qa_incidents.incidents.models import _enum
from qa_incidents.incidents.rules import Severity


class SeverityMatrixVersion(Base):
    """One version of the severity matrix. A change is a new row; old versions stay as evidence."""

    __tablename__ = "severity_matrix_version"

    version: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    created_at: so.Mapped[datetime] = so.mapped_column()
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    definition: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    created_by: so.Mapped[User | None] = so.relationship(lazy="joined")


class TriageDecision(Base):
    """A severity decision: what the matrix suggested, what the person decided, and why."""

    __tablename__ = "triage_decision"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: so.Mapped[datetime] = so.mapped_column()
    matrix_version: so.Mapped[int] = so.mapped_column(sa.ForeignKey("severity_matrix_version.version"))
    suggested: so.Mapped[Severity] = so.mapped_column(_enum(Severity))
    suggested_rule: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    suggested_reason: so.Mapped[str] = so.mapped_column(sa.Text)
    similar_reports: so.Mapped[int] = so.mapped_column(default=0)
    severity: so.Mapped[Severity] = so.mapped_column(_enum(Severity))
    override_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    decided_by: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("severity = suggested OR override_reason <> ''", name="override_needs_reason"),
    )


class Escalation(Base):
    """A division's request to escalate an incident, and head office's signed decision."""

    __tablename__ = "escalation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    severity: so.Mapped[Severity] = so.mapped_column(_enum(Severity))
    requested_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    requested_at: so.Mapped[datetime] = so.mapped_column(index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    decision: so.Mapped[str | None] = so.mapped_column(sa.String(16))  # "approved" | "rejected" | None (pending)
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: so.Mapped[datetime | None]
    decision_comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))

    requested_by: so.Mapped[User] = so.relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: so.Mapped[User | None] = so.relationship(foreign_keys=[decided_by_id], lazy="joined")
    signature: so.Mapped[Signature | None] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "(decision IS NULL AND decided_at IS NULL AND signature_id IS NULL) OR "
            "(decision IN ('approved', 'rejected') AND decided_at IS NOT NULL AND signature_id IS NOT NULL)",
            name="decided_iff_signed",
        ),
    )
