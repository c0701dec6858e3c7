"""Lessons learned that an import proposes: held back until head-office QA reviews and signs their publication.

Publishing a lesson is reached in the workflow only through a signature (a review's approval), so an import
never adds to the library directly. Proposing takes the capability of writing reviews; publishing takes the
approval capability, by someone other than the person who imported the lesson (the signature refuses them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.api.models import PendingLesson
from qa_incidents.core import audit
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.signatures import sign
from qa_incidents.reviews import lessons
from qa_incidents.reviews.models import Lesson

PUBLISH_MEANING = "Reviewed and approved for publication as a lesson learned"
ENTITY = "pending_lesson"


def propose(session: so.Session, *, record: dict[str, str], incident_id: int | None, user: Any,
            now: datetime) -> str:
    """Hold the lesson a source row makes for review; "created", "present" or "rejected: reason"."""
    if not can(user.actor, Capability.WRITE_REVIEWS):
        return "rejected: your role may not propose lessons learned"
    try:
        lesson = lessons.lesson_from_fda(record, now=now)
    except ValueError as e:
        return f"rejected: {e}"
    return hold(session, lesson=lesson, row={str(k): str(v) for k, v in record.items()}, incident_id=incident_id,
                user=user, now=now)


def propose_exported(session: so.Session, *, record: dict[str, str], fmt: str, user: Any, now: datetime) -> str:
    """Hold a row of the library's own export (from another installation) for review, as `propose` does."""
    from qa_incidents.reviews import lesson_transfer

    if not can(user.actor, Capability.WRITE_REVIEWS):
        return "rejected: your role may not propose lessons learned"
    try:
        lesson = lesson_transfer.lesson_from_row(record, fmt=fmt, now=now)
    except ValueError as e:
        return f"rejected: {e}"
    row = {str(k): "" if v is None else str(v) for k, v in record.items()}
    row[FORMAT_KEY] = fmt
    return hold(session, lesson=lesson, row=row, incident_id=None, user=user, now=now)


#: Marks a held row that came from the library's export (and in which file format), not from the FDA sample.
FORMAT_KEY = "__export_format__"


def hold(session: so.Session, *, lesson: Lesson, row: dict[str, str], incident_id: int | None, user: Any,
         now: datetime) -> str:
    """Keep a lesson out of the library until its publication is signed; "created" or "present" (idempotent)."""
    ref = lesson.source_ref
    if (session.scalar(sa.select(Lesson.id).where(Lesson.source_ref == ref)) is not None
            or session.scalar(sa.select(PendingLesson.id).where(PendingLesson.source_ref == ref)) is not None):
        return "present"
    item = PendingLesson(source_ref=ref, title=lesson.title[:300], row=row,
                         incident_id=incident_id, imported_by_id=user.id, imported_at=now, reason="")
    session.add(item)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=item.id, action="proposed", now=now,
                 incident_id=incident_id, changes={"source_ref": [None, ref], "title": [None, item.title]})
    return "created"


def waiting(session: so.Session, *, limit: int = 200) -> list[PendingLesson]:
    """The proposed lessons not yet decided, oldest first."""
    return list(session.scalars(sa.select(PendingLesson).where(PendingLesson.decision.is_(None))
                                .order_by(PendingLesson.id).limit(limit)))


def preview(item: PendingLesson, now: datetime) -> Lesson | None:
    """The lesson as it would be published (None if its row no longer makes one)."""
    from qa_incidents.reviews import lesson_transfer

    try:
        if FORMAT_KEY in item.row:
            return lesson_transfer.lesson_from_row(item.row, fmt=item.row[FORMAT_KEY], now=now)
        return lessons.lesson_from_fda(item.row, now=now)
    except ValueError:
        return None


def _undecided(session: so.Session, user: Any, pending_id: int) -> PendingLesson:
    if not can(user.actor, Capability.APPROVE):
        raise Forbidden(str(_l("Only head-office QA publishes lessons learned.")))
    item = session.get(PendingLesson, pending_id)
    if item is None:
        raise NotFound(str(_l("No such proposed lesson.")))
    if item.decision is not None:
        raise DomainError(str(_l("This proposed lesson was already decided.")))
    return item


def publish(session: so.Session, *, user: Any, pending_id: int, password: str, comment: str,
            now: datetime) -> Lesson:
    """Head-office QA (not the importer) signs the publication; the lesson then joins the library."""
    item = _undecided(session, user, pending_id)
    lesson = preview(item, now)
    if lesson is None:
        raise ValidationFailed({"publish": str(_l("The imported row no longer makes a lesson: reject it."))})
    content = {"source_ref": item.source_ref, "title": lesson.title, "summary": lesson.summary,
               "product": lesson.product, "cause_category": lesson.cause_category,
               "countermeasures": lesson.countermeasures, "imported_by": item.imported_by.name}
    signature = sign(session, user=user, password=password, meaning=PUBLISH_MEANING, entity_type=ENTITY,
                     entity_id=item.id, content=content, now=now, comment=comment, incident_id=item.incident_id,
                     prepared_by=[item.imported_by_id])
    lessons.add_indexed(session, [lesson])
    item.decision, item.decided_by_id, item.decided_at = "published", user.id, now
    item.lesson_id, item.signature_id = lesson.id, signature.id
    session.flush()
    audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=item.id, action="published", now=now,
                 incident_id=item.incident_id, changes={"decision": [None, "published"], "lesson": [None, lesson.id],
                                                        "signature": [None, signature.id]})
    return lesson


def reject(session: so.Session, *, user: Any, pending_id: int, reason: str, now: datetime) -> PendingLesson:
    """Head-office QA keeps a proposed lesson out of the library, saying why."""
    item = _undecided(session, user, pending_id)
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the lesson is not published."))})
    item.decision, item.decided_by_id, item.decided_at, item.reason = "rejected", user.id, now, reason.strip()
    session.flush()
    audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=item.id, action="rejected", now=now,
                 incident_id=item.incident_id,
                 changes={"decision": [None, "rejected"], "reason": [None, item.reason]})
    return item
