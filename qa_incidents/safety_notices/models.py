"""Tables of public product safety notices: the notice of an incident and its versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base
from qa_incidents.safety_notices.rules import NoticeStatus


class SafetyNotice(Base):
    """The public safety notice of a severe incident: drafted by the division, signed and published by head office,
    updated in versions, withdrawn with a reason (never deleted)."""

    __tablename__ = "safety_notice"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=NoticeStatus.DRAFT.value, index=True)
    recall_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("recall_campaign.id"))
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    first_published_at: so.Mapped[datetime | None]
    withdrawn_at: so.Mapped[datetime | None]
    withdrawn_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    withdraw_signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))

    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status_known"),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (status <> 'withdrawn')", name="withdrawn_iff_withdrawn"),
        sa.CheckConstraint("status <> 'withdrawn' OR (withdrawn_reason <> '' AND withdraw_signature_id IS NOT NULL)",
                           name="withdrawn_with_reason_and_signature"),
    )


class SafetyNoticeVersion(Base):
    """One version of the notice, in every language chosen. A draft is edited in place; once head-office QA signs
    it, it is published and never changes again (database triggers refuse it)."""

    __tablename__ = "safety_notice_version"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    notice_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("safety_notice.id"), index=True)
    number: so.Mapped[int] = so.mapped_column()
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    languages: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    #: {language: {field: text}} for the fields of rules.TEXT_FIELDS.
    texts: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    #: Which products, as the company writes them (the same in every language).
    models: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    lots: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    serials: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    actions: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    contact_phone: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    contact_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    drafted_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    drafted_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))
    published_at: so.Mapped[datetime | None]

    drafted_by: so.Mapped[User] = so.relationship(foreign_keys=[drafted_by_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("notice_id", "number", name="uq_safety_notice_version_number"),
        sa.CheckConstraint("kind IN ('initial', 'update', 'correction')", name="kind_known"),
        # Nothing reaches the public page without head-office QA's signature.
        sa.CheckConstraint("(published_at IS NULL) = (signature_id IS NULL)", name="published_iff_signed"),
    )

    def text(self, language: str, name: str) -> str:
        return str((self.texts or {}).get(language, {}).get(name) or "")

    def content(self) -> dict[str, Any]:
        """What head-office QA signs: every text and fact of the version."""
        return {"number": self.number, "kind": self.kind, "languages": list(self.languages), "texts": self.texts,
                "models": self.models, "lots": self.lots, "serials": self.serials, "actions": list(self.actions),
                "contact_phone": self.contact_phone, "contact_email": self.contact_email,
                "contact_url": self.contact_url}
