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


def propose_many(session: so.Session, *, items: list[tuple[dict[str, str], int | None]], user: Any,
                 now: datetime, scrubbed: dict[str, str] | None = None) -> list[str]:
    """`propose` for a batch of (row, incident_id), one outcome each in order: the same refusals, one look-up of the
    batch's references and one INSERT of its new held rows. Only what holding needs is worked out here (the
    reference and title, from the reason scrubbed once per distinct text: `scrubbed`, raw reason → scrubbed_reason(),
    may bring them worked out before); the whole lesson is made from the kept row when it is reviewed, as for a
    single proposal."""
    if not can(user.actor, Capability.WRITE_REVIEWS):
        return ["rejected: your role may not propose lessons learned"] * len(items)
    scrubbed = dict(scrubbed or {})
    heads: list[tuple[str, str] | str] = []
    for record, _ in items:
        try:
            heads.append(fda_heading(record, now=now, scrubbed=scrubbed))
        except ValueError as e:
            heads.append(f"rejected: {e}")
    refs = sorted({h[0] for h in heads if isinstance(h, tuple)})
    present: set[str] = set()
    for i in range(0, len(refs), 500):
        chunk = refs[i:i + 500]
        present.update(session.scalars(sa.select(Lesson.source_ref).where(Lesson.source_ref.in_(chunk))))
        present.update(session.scalars(sa.select(PendingLesson.source_ref).where(PendingLesson.source_ref.in_(chunk))))
    outcomes: list[str] = []
    rows: list[dict[str, Any]] = []
    for (record, incident_id), head in zip(items, heads, strict=True):
        if isinstance(head, str):
            outcomes.append(head)
        elif head[0] in present:
            outcomes.append("present")
        else:
            present.add(head[0])
            rows.append({"source_ref": head[0], "title": head[1][:300], "row": {str(k): str(v) for k, v in record.items()},
                         "incident_id": incident_id, "imported_by_id": user.id, "imported_at": now, "reason": ""})
            outcomes.append("created")
    if rows:
        from qa_incidents.core.bulk import insert_with_ids

        ids = insert_with_ids(session.connection(), PendingLesson.__table__, rows, key="source_ref")
        for row, item_id in zip(rows, ids, strict=True):
            audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=item_id, action="proposed", now=now,
                         incident_id=row["incident_id"],
                         changes={"source_ref": [None, row["source_ref"]], "title": [None, row["title"]]})
    return outcomes


def fda_heading(row: dict[str, str], *, now: datetime, scrubbed: dict[str, str] | None = None) -> tuple[str, str]:
    """The reference and title `lessons.lesson_from_fda` gives a row, with the same refusals (ValueError), without
    making the rest of the lesson; `scrubbed` keeps each reason's scrubbed text for the next row of the same recall.
    (tests/services/test_import_batches.py checks that the two agree on every sample row.)"""

    raw = row.get("Reason for Recall", "") or ""
    memo = scrubbed if scrubbed is not None else {}
    if raw not in memo:
        memo[raw] = scrubbed_reason(row)
    event, _year, title = lessons.fda_heading_of(row, memo[raw], now=now)
    return f"FDA-{event}", title


def scrubbed_reason(row: dict[str, str]) -> str:
    """A source row's reason for recall as a lesson's title and summary start from: cleaned, personal data removed
    (no database, no request: an import works it out while it reads the file)."""
    return lessons.fda_reason(row)


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
