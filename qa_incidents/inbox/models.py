"""In-app notifications (the bell) and the people who watch an incident."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base


class InboxItem(Base):
    """One thing that changed for one person: an event on an incident they watch, a message they were sent, or a
    mention. Worded when shown (events, mentions: in the reader's language), or as the message's subject."""

    __tablename__ = "inbox_item"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))  # event | message | mention
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    action: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    text: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_inbox_item_user_read", "user_id", "read_at"),)


class IncidentWatcher(Base):
    """Someone who follows an incident. Stopping keeps the row (active False), so the trail of who watched stays."""

    __tablename__ = "incident_watcher"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id", name="uq_incident_watcher"),)
