"""Tables of status reports: numbered immutable versions per incident, recipients and acknowledgements,
and the distribution list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division, User
from qa_incidents.core.db import Base
from qa_incidents.incidents.models import Incident


class PendingStatusReport(Base):
    """What will go into the next status report of an incident: the triggers so far and the division's narrative.

    The scheduler issues it after a short hold (so a narrative can be added and a burst of changes makes one
    report, not five); a person may issue it at once.
    """

    __tablename__ = "pending_status_report"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    #: Set when the report is issued: the row then stays as the record of what was pending (never deleted).
    issued_as_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("status_report.id"))
    first_trigger_at: so.Mapped[datetime] = so.mapped_column()
    triggers: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON, default=list)
    narrative: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    narrative_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    #: What the division needs from management (decisions, budget, people), apart from its account of the case.
    asks: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default=sa.text("''"))

    incident: so.Mapped[Incident] = so.relationship(lazy="joined")


class StatusReport(Base):
    """One issued version. Never changed, never deleted (triggers in the migration)."""

    __tablename__ = "status_report"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    number: so.Mapped[int] = so.mapped_column()
    issued_at: so.Mapped[datetime] = so.mapped_column(index=True)
    issued_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    triggers: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)
    content: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    content_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    html: so.Mapped[str] = so.mapped_column(sa.Text)
    #: The time zone the kept copy (its HTML here, its PDF in status_report_pdf) writes its dates in.
    zone: so.Mapped[str] = so.mapped_column(sa.String(64), server_default=sa.text("'Asia/Tokyo'"))

    incident: so.Mapped[Incident] = so.relationship(lazy="joined")
    issued_by: so.Mapped[User | None] = so.relationship()
    #: The PDF kept with the version, once printed (reports.printing; None until then).
    printed: so.Mapped[StatusReportPdf | None] = so.relationship(lazy="select", viewonly=True)
    recipients: so.Mapped[list[StatusReportRecipient]] = so.relationship(order_by="StatusReportRecipient.email")

    __table_args__ = (sa.UniqueConstraint("incident_id", "number", name="uq_status_report_number"),)


@sa.event.listens_for(StatusReport, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: StatusReport) -> None:
    raise RuntimeError(f"status report {target.id} is immutable")


class StatusReportPdf(Base):
    """The PDF kept with an issued version: printed after the issue, outside the request that issued it (by the
    scheduler, or by the first reader who asks for it), once; never changed, never deleted (triggers in the
    migration). Its HTML twin is StatusReport.html, written at issue."""

    __tablename__ = "status_report_pdf"

    report_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("status_report.id"), primary_key=True)
    pdf: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    pdf_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    printed_at: so.Mapped[datetime] = so.mapped_column()


@sa.event.listens_for(StatusReportPdf, "before_update")
def _refuse_print_update(_mapper: Any, _conn: Any, target: StatusReportPdf) -> None:
    raise RuntimeError(f"the PDF of status report {target.report_id} is immutable")


class StatusReportRecipient(Base):
    """Who a version was sent to, and when they acknowledged it."""

    __tablename__ = "status_report_recipient"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    report_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("status_report.id"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column()
    escalated_at: so.Mapped[datetime | None] = so.mapped_column()

    user: so.Mapped[User | None] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("report_id", "email", name="uq_status_report_recipient"),)


class DistributionEntry(Base):
    """An extra recipient of status reports: for one division (or all) and some severities."""

    __tablename__ = "report_distribution"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    division_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("division.id"))
    severities: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column()

    division: so.Mapped[Division | None] = so.relationship()


class DashboardFigures(Base):
    """The dashboard's slow-to-count figures for one viewing scope, as counted under a value of the `dashboard`
    change marker (core/freshness.py)."""

    __tablename__ = "dashboard_figures"

    key: so.Mapped[str] = so.mapped_column(sa.String(200), primary_key=True)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    figures: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    counted_at: so.Mapped[datetime] = so.mapped_column()
