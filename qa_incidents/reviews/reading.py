"""How lessons are read: opens by where the reader came from, "this helped" marks, and searches that found nothing.

A lesson link carries `from=search|similar|subscription`; the open is counted in its own short transaction on a
connection of its own (count_open), so the page's read transaction is never upgraded to a write (on SQLite a
read transaction that later writes fails with "database is locked" when another writer committed meanwhile).
Searches that found nothing are kept the same way, for head-office QA to grow the vocabulary where people search.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.db import Base

ORIGINS = ("search", "similar", "subscription")
OPEN, HELPED = "open", "helped"


class LessonReading(Base):
    """One reading of a lesson: opened (from where) or marked as helpful (once per reader). Append-only."""

    __tablename__ = "lesson_reading"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lesson_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lesson.id"), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # "open" or "helped"
    origin: so.Mapped[str] = so.mapped_column(sa.String(20), default="")  # search, similar, subscription or ""
    at: so.Mapped[datetime] = so.mapped_column()


class LessonSearchMiss(Base):
    """A lessons search that found nothing."""

    __tablename__ = "lesson_search_miss"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    query: so.Mapped[str] = so.mapped_column(sa.String(500))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))
    at: so.Mapped[datetime] = so.mapped_column(index=True)


def origin_of(value: str | None) -> str:
    """The link's from= value if it is one we count, else "" (typed or bookmarked)."""
    return value if value in ORIGINS else ""


def _write(session: so.Session, statement: Any) -> None:
    """Run one insert in its own transaction (never the page's read transaction); in a request through the one
    side-write helper (`core.web.write_apart`: a writer from BEGIN, retried, never failing the page)."""
    from flask import has_request_context

    if has_request_context():
        from qa_incidents.core.web import write_apart

        write_apart(lambda side: side.execute(statement))
        return
    with session.get_bind().connect() as conn:  # type: ignore[union-attr]
        conn.execute(statement)
        conn.commit()


def count_open(session: so.Session, *, lesson_id: int, user_id: int | None, origin: str, now: datetime) -> None:
    _write(session, sa.insert(LessonReading).values(lesson_id=lesson_id, user_id=user_id, kind=OPEN,
                                                    origin=origin_of(origin), at=now))


def count_miss(session: so.Session, *, query: str, user_id: int | None, now: datetime) -> None:
    query = " ".join((query or "").split())[:500]
    if query:
        _write(session, sa.insert(LessonSearchMiss).values(query=query, user_id=user_id, at=now))


def mark_helped(session: so.Session, *, lesson_id: int, user_id: int, origin: str, now: datetime) -> bool:
    """Record that the lesson helped this reader (in the caller's transaction); False if already marked."""
    exists = session.scalar(sa.select(LessonReading.id).where(
        LessonReading.lesson_id == lesson_id, LessonReading.user_id == user_id, LessonReading.kind == HELPED))
    if exists is not None:
        return False
    session.add(LessonReading(lesson_id=lesson_id, user_id=user_id, kind=HELPED, origin=origin_of(origin), at=now))
    session.flush()
    return True


def helped_count(session: so.Session, lesson_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).where(
        LessonReading.lesson_id == lesson_id, LessonReading.kind == HELPED)) or 0


def has_helped(session: so.Session, *, lesson_id: int, user_id: int) -> bool:
    return session.scalar(sa.select(LessonReading.id).where(
        LessonReading.lesson_id == lesson_id, LessonReading.user_id == user_id, LessonReading.kind == HELPED)) is not None


def opens_by_origin(session: so.Session, *, since: datetime | None = None) -> dict[tuple[str, str], int]:
    """(kind, origin) → count, over every lesson (since the given time, if any)."""
    stmt = sa.select(LessonReading.kind, LessonReading.origin, sa.func.count()).group_by(
        LessonReading.kind, LessonReading.origin)
    if since is not None:
        stmt = stmt.where(LessonReading.at >= since)
    return {(k, o): n for k, o, n in session.execute(stmt)}


def misses(session: so.Session, *, limit: int = 100) -> list[tuple[str, int, datetime]]:
    """Searches that found nothing, most frequent first: (query, times, last searched)."""
    key = sa.func.lower(LessonSearchMiss.query)
    rows = session.execute(sa.select(sa.func.min(LessonSearchMiss.query), sa.func.count(), sa.func.max(LessonSearchMiss.at))
                           .group_by(key).order_by(sa.func.count().desc(), sa.func.max(LessonSearchMiss.at).desc())
                           .limit(limit)).all()
    return [(q, int(n), at) for q, n, at in rows]
