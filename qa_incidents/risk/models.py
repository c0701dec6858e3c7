"""The table of recorded risk assessments: append-only, the latest one of a subject counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.db import Base


class RiskAssessment(Base):
    """One assessment of a decision's subject (a recall, a safety notice) by one method, or the reason for none.

    Never changed: a new assessment is a new row; the newest of a subject is the one in force."""

    __tablename__ = "risk_assessment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    subject_type: so.Mapped[str] = so.mapped_column(sa.String(20))  # "recall" or "safety_notice"
    subject_id: so.Mapped[int] = so.mapped_column()
    #: The subject's reference as people say it (RC-2026-0001, SN-2026-0001), for reports and timelines.
    subject_reference: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    method: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: What the assessor entered (R-Map: frequency, harm level, how estimated; EU: scenario, severity, steps).
    inputs: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    #: "A"/"B"/"C" (R-Map), "low"/"medium"/"high"/"serious" (EU), "" when skipped.
    result: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    rationale: so.Mapped[str] = so.mapped_column(sa.Text)
    assessed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    assessed_at: so.Mapped[datetime] = so.mapped_column()

    assessed_by: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.Index("ix_risk_assessment_subject", "subject_type", "subject_id"),
        sa.CheckConstraint("subject_type IN ('recall', 'safety_notice')", name="subject_known"),
        sa.CheckConstraint("method IN ('r_map', 'eu_gpsr', 'skipped')", name="method_known"),
        sa.CheckConstraint("(method = 'skipped') = (result = '')", name="result_iff_assessed"),
        sa.CheckConstraint("rationale <> ''", name="rationale_given"),
    )


@sa.event.listens_for(RiskAssessment, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: RiskAssessment) -> None:
    raise RuntimeError(f"risk assessment {target.id} is append-only")
