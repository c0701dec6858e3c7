"""Tables of the API and of bulk import: tokens, idempotency keys, mapping profiles, import runs, imported keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base


class ApiToken(Base):
    """A personal API token. Only its SHA-256 is kept; the token itself is shown once, at creation."""

    __tablename__ = "api_token"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: The first characters of the token, so the user can tell tokens apart.
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]
    #: When the token stops working; empty for tokens made before tokens expired (they count from created_at).
    expires_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(lazy="joined")


class IdempotencyKey(Base):
    """The response given to a POST that carried an Idempotency-Key, replayed when the same request is retried."""

    __tablename__ = "api_idempotency_key"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    key: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))
    status_code: so.Mapped[int]
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    headers: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_api_idempotency_key_user_id"),)


class ImportProfile(Base):
    """A column mapping saved by a user (the shipped profiles live in data/profiles/)."""

    __tablename__ = "import_profile"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    definition: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ImportRun(Base):
    """One import of one file: its mapping, its progress and its report."""

    __tablename__ = "import_run"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    file_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    profile_name: so.Mapped[str] = so.mapped_column(sa.String(80))
    definition: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    #: draft → queued → running → done (or failed: the file could not be read at all).
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="draft")
    rows: so.Mapped[int] = so.mapped_column(default=0)
    processed: so.Mapped[int] = so.mapped_column(default=0)
    imported: so.Mapped[int] = so.mapped_column(default=0)
    rejected: so.Mapped[int] = so.mapped_column(default=0)
    already_present: so.Mapped[int] = so.mapped_column(default=0)
    #: The rejected rows: [{"line": n, "key": ..., "reason": ...}].
    report: so.Mapped[list[Any]] = so.mapped_column(sa.JSON, default=list)
    error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    finished_at: so.Mapped[datetime | None]
    #: What the mapping page shows of the file, read once at upload: {"columns", "rows" (the first few), "total"}.
    source_sample: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)

    created_by: so.Mapped[User] = so.relationship(lazy="joined")


class ImportedRecord(Base):
    """Which record a source row became: the source key makes a second import of the same row a no-op."""

    __tablename__ = "imported_record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    source: so.Mapped[str] = so.mapped_column(sa.String(80))
    source_key: so.Mapped[str] = so.mapped_column(sa.String(200))
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    entity_id: so.Mapped[int]
    import_run_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("import_run.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("source", "source_key", "entity_type", name="uq_imported_record_source"),
        sa.Index("ix_imported_record_entity", "entity_type", "entity_id"),
    )


class PendingLesson(Base):
    """A lesson learned that an import proposed: not in the library until head-office QA, other than the person
    who imported it, reviews it and signs its publication (or rejects it with a reason)."""

    __tablename__ = "pending_lesson"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    source_ref: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    #: The source row as imported; the lesson is made from it when published.
    row: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON)
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"))
    imported_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"))
    imported_at: so.Mapped[datetime]
    decision: so.Mapped[str | None] = so.mapped_column(sa.String(16))  # None (pending), "published", "rejected"
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: so.Mapped[datetime | None]
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    lesson_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("lesson.id"))
    signature_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("signature.id"))

    imported_by: so.Mapped[User] = so.relationship(foreign_keys=[imported_by_id], lazy="joined")
