"""Notification records: one per (incident, obligation, report), from required to acknowledged.

A record is what the company owes one authority for one incident: the initial report, or a
follow-up (a progress report for a period, a final report). Its state moves along the table
in `notifications/rules.py`; every change is in the audit trail; approval and "not required"
are electronic signatures; the document sent is kept as an incident attachment whose SHA-256
is recorded here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.db import Base
from qa_incidents.core.signatures import Signature
from qa_incidents.incidents.models import Attachment, Incident
from qa_incidents.laws.models import Obligation


class NotificationRecord(Base):
    __tablename__ = "notification_record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    #: The laws-map obligation; None for an authority the map does not list (added by hand).
    obligation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("obligation.id"))
    regime_code: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    authority: so.Mapped[str] = so.mapped_column(sa.String(200))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: initial | follow_up | progress_report | final
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="initial")
    #: For periodic reports, the period reported on (e.g. "2026-03"); "" for one-off reports.
    period_label: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    parent_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("notification_record.id"))
    #: The recall campaign a progress report belongs to (recalls reference records, not the other way).
    recall_id: so.Mapped[int | None] = so.mapped_column(index=True)
    #: derived (from the laws map) | added (by a person) | follow_up (scheduled by the system)
    origin: so.Mapped[str] = so.mapped_column(sa.String(20))
    origin_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: required | drafted | approved | submitted | acknowledged | not_required
    state: so.Mapped[str] = so.mapped_column(sa.String(20), index=True)
    #: A note when later facts no longer trigger a derived obligation; a person decides what to do.
    attention: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    clock_start: so.Mapped[datetime | None] = so.mapped_column()
    due_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    #: The moment half the time from clock_start to due_at is used (None without both, or with due_at not after
    #: clock_start). Kept by database triggers (migration 0012) on every write, whoever writes: the deadline board
    #: counts "more than half the time used" along an index with it. Read it in queries; a loaded record's value
    #: is the one read, not recomputed.
    half_time_at: so.Mapped[datetime | None] = so.mapped_column()
    #: The incident's division, copied by database triggers (migration 0012) so that a division's board is read
    #: along its own index instead of through every incident of the division. Read it in queries only.
    division_id: so.Mapped[int | None] = so.mapped_column()
    due_timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    due_explanation: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    is_legal_deadline: so.Mapped[bool] = so.mapped_column(default=True)
    #: The company's internal target (clock start + the regime's InternalTarget), set with the deadline; None
    #: without a target. Never replaces due_at: warnings and urgency follow the earlier of the two.
    target_at: so.Mapped[datetime | None] = so.mapped_column()
    owner_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))

    draft: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    missing_explanation: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    drafted_at: so.Mapped[datetime | None] = so.mapped_column()
    drafted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    approval_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    not_required_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    not_required_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    submitted_at: so.Mapped[datetime | None] = so.mapped_column()
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    channel: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    authority_reference: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    document_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident_attachment.id"))
    document_sha256: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column()
    #: For a clock that starts at a decision or an action (DeadlineRule.decision_working_days): who asked for the
    #: decision and when, and the signed event that started the legal clock (its moment and signature).
    clock_event_requested_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    clock_event_requested_at: so.Mapped[datetime | None] = so.mapped_column()
    clock_event_at: so.Mapped[datetime | None] = so.mapped_column()
    clock_event_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    acknowledgement: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: A "to decide" candidate obligation awaiting its reportability decision (due at due_at): not yet a report
    #: owed. The signed decision ("reportable" here, "not reportable" as not_required) clears it.
    decision_pending: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    decision_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))

    created_at: so.Mapped[datetime] = so.mapped_column()
    updated_at: so.Mapped[datetime] = so.mapped_column()
    version: so.Mapped[int] = so.mapped_column(default=1)

    incident: so.Mapped[Incident] = so.relationship(lazy="joined")
    obligation: so.Mapped[Obligation | None] = so.relationship()
    owner: so.Mapped[User | None] = so.relationship(foreign_keys=[owner_id])
    submitted_by: so.Mapped[User | None] = so.relationship(foreign_keys=[submitted_by_id])
    drafted_by: so.Mapped[User | None] = so.relationship(foreign_keys=[drafted_by_id])
    approval_signature: so.Mapped[Signature | None] = so.relationship(foreign_keys=[approval_signature_id])
    not_required_signature: so.Mapped[Signature | None] = so.relationship(foreign_keys=[not_required_signature_id])
    clock_event_signature: so.Mapped[Signature | None] = so.relationship(foreign_keys=[clock_event_signature_id])
    decision_signature: so.Mapped[Signature | None] = so.relationship(foreign_keys=[decision_signature_id])
    clock_event_requested_by: so.Mapped[User | None] = so.relationship(foreign_keys=[clock_event_requested_by_id])
    document: so.Mapped[Attachment | None] = so.relationship()
    parent: so.Mapped[NotificationRecord | None] = so.relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "regime_code", "kind", "period_label", name="uq_notification_report"),
        # The deadline board's rows and counts and the warning scan, read from the indexes alone.
        sa.Index("ix_notification_open_due_start", "state", "due_at", "clock_start", "id"),
        sa.Index("ix_notification_open_half", "state", "half_time_at", "due_at"),
        # The board filtered by owner ("My work") or by authority: one index range per open state, counts
        # included ("more than half the time used" from half_time_at; a division-limited viewer from division_id).
        # The authority index also serves the skip through the authorities (its first two columns).
        sa.Index("ix_notification_owner_board", "owner_id", "state", "due_at", "clock_start", "id", "half_time_at",
                 "division_id"),
        sa.Index("ix_notification_authority_board", "state", "authority", "due_at", "clock_start", "id",
                 "half_time_at"),
        sa.Index("ix_notification_division_due", "division_id", "state", "due_at", "clock_start", "id"),
        sa.Index("ix_notification_division_half", "division_id", "state", "half_time_at", "due_at"),
        sa.Index("ix_notification_division_authority", "division_id", "state", "authority"),
    )


class InternalTarget(Base):
    """Head-office QA's target for one regime (hours from the clock start); append-only: the newest row per
    regime is the current value, the older ones its history. hours None: the target was withdrawn."""

    __tablename__ = "internal_target"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    regime_code: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    hours: so.Mapped[int | None] = so.mapped_column()
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    set_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    set_at: so.Mapped[datetime] = so.mapped_column()

    set_by: so.Mapped[User | None] = so.relationship()


class CalendarDayChange(Base):
    """An administrator's change to an authority's holiday calendar: a day added (a holiday) or removed (a working
    day), with its source. Append-only; each change raises that calendar's adjustment version."""

    __tablename__ = "calendar_day_change"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    calendar_code: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    day: so.Mapped[date] = so.mapped_column()
    #: add | remove
    action: so.Mapped[str] = so.mapped_column(sa.String(10))
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    source: so.Mapped[str] = so.mapped_column(sa.Text)
    made_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    made_at: so.Mapped[datetime] = so.mapped_column()

    made_by: so.Mapped[User | None] = so.relationship()
