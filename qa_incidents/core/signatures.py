"""Electronic signatures: the signer re-enters the password (or, signed in with an identity provider, a one-time
code from a fresh re-authentication there); the record is immutable.

A signature keeps who signed, when, the stated meaning, what was signed (a JSON snapshot)
and the SHA-256 of that snapshot, so any later change to the content is detectable.

Separation of duties lives here, in the one function every signature meaning goes through: each
caller names who prepared what is signed (requested the escalation, drafted the notification,
drafted the recall, submitted the review…) and none of them may sign it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.core.audit import jsonable, record
from qa_incidents.core.db import Base
from qa_incidents.core.errors import DomainError


class SignatureRefused(DomainError):
    """The password was wrong or the meaning missing: nothing was signed."""

    status_code = 422


class SeparationOfDuties(SignatureRefused):
    """The signer prepared what they were about to sign: someone else must sign it."""

    status_code = 403


class Signature(Base):
    """One electronic signature. Never updated, never deleted (triggers in the migration)."""

    __tablename__ = "signature"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    signer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id"), index=True)
    signer_name: so.Mapped[str] = so.mapped_column(sa.String(120))  # as it was at signing time
    signed_at: so.Mapped[datetime] = so.mapped_column()
    meaning: so.Mapped[str] = so.mapped_column(sa.String(80))
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    entity_id: so.Mapped[int] = so.mapped_column()
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    content: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    content_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")


@sa.event.listens_for(Signature, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: Signature) -> None:
    raise RuntimeError(f"signature {target.id} is immutable")


#: The words shown for each stored meaning (the stored meaning stays in English: it is part of the signed record).
MEANING_TITLES = {
    "approved escalation": _l("approved escalation"),
    "rejected escalation": _l("rejected escalation"),
    "reopened closed incident": _l("reopened closed incident"),
    "approved OCHIBO-HIROI review": _l("approved OCHIBO-HIROI review"),
    "deferred effectiveness check": _l("deferred effectiveness check"),
    "approved regulator notification for submission": _l("approved regulator notification for submission"),
    "determined regulator notification not required": _l("determined regulator notification not required"),
    "decided regulator notification reportable": _l("decided regulator notification reportable"),
    "approved recall launch": _l("approved recall launch"),
    "approved recall closure": _l("approved recall closure"),
    "approved product safety notice for publication": _l("approved product safety notice for publication"),
    "withdrew product safety notice": _l("withdrew product safety notice"),
}


def meaning_title(meaning: str) -> str:
    """A signature's meaning in the reader's language (an unknown meaning as it was signed)."""
    found = MEANING_TITLES.get(meaning)
    return str(found) if found is not None else meaning


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the signed content (sorted keys, no whitespace)."""
    canonical = json.dumps(jsonable(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sign(
    session: so.Session,
    *,
    user: Any,
    password: str,
    meaning: str,
    entity_type: str,
    entity_id: int,
    content: dict[str, Any],
    now: datetime,
    prepared_by: Iterable[int | None],
    comment: str = "",
    incident_id: int | None = None,
) -> Signature:
    """Verify the signer's password (or single sign-on re-authentication) and record the signature (and its audit
    event).

    prepared_by: the users who requested, drafted or submitted what is signed; none of them may sign it
    (separation of duties). Every password check counts towards the account's lock-out.
    """
    from qa_incidents.accounts.service import PasswordChecksLocked, verify_password
    from qa_incidents.sso.service import redeem_reauthentication

    if user.id in {i for i in prepared_by if i is not None}:
        raise SeparationOfDuties(str(_l(
            "You prepared this yourself (you requested, drafted or submitted it): someone else must sign it. "
            "Nothing was signed.")))
    # Single sign-on users sign with the one-time code of a fresh re-authentication at their provider; anything
    # else is a password, checked (and counted towards the lock-out) as at log-in.
    proof = redeem_reauthentication(session, user=user, code=password, now=now)
    if proof is None:
        try:
            if not verify_password(session, user=user, password=password, now=now):
                raise SignatureRefused(str(_l("The password is not correct: nothing was signed.")))
        except PasswordChecksLocked as locked:
            raise SignatureRefused(str(locked)) from None
    if not meaning.strip():
        raise SignatureRefused(str(_l("A signature needs a stated meaning.")))
    snapshot = jsonable(content)
    signature = Signature(
        signer_id=user.id, signer_name=user.name, signed_at=now, meaning=meaning.strip(), entity_type=entity_type,
        entity_id=entity_id, incident_id=incident_id, content=snapshot, content_sha256=content_hash(content),
        comment=comment.strip(),
    )
    session.add(signature)
    session.flush()
    if proof is not None:
        proof.signature_id = signature.id
    record(session, actor_id=user.id, entity_type="signature", entity_id=signature.id, incident_id=incident_id,
           action="signed", now=now,
           changes={"meaning": [None, signature.meaning], "sha256": [None, signature.content_sha256],
                    "comment": [None, signature.comment],
                    "authentication": [None, "password" if proof is None else
                                       f"{proof.method} at {proof.authenticated_at.isoformat()}"]})
    return signature


def signatures_for_incident(session: so.Session, incident_id: int) -> list[Signature]:
    return list(session.scalars(
        sa.select(Signature).where(Signature.incident_id == incident_id).order_by(Signature.signed_at, Signature.id)))
