"""The e-mail outbox: messages are rows written in the same transaction as the change that
caused them, and a scheduled job sends them with retries, so a crash loses no notice."""

from __future__ import annotations

import enum
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from qa_incidents.core.db import Base, begin_write
from qa_incidents.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, Reader, Recipient, in_language, readers

log = logging.getLogger(__name__)

#: Minutes to wait after the n-th failed attempt; after the last, the message is marked failed.
RETRY_MINUTES = (1, 5, 15, 60, 240, 720)


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_at: so.Mapped[datetime] = so.mapped_column()
    #: A message with the same key is never queued twice (e.g. one SLA warning per incident).
    dedupe_key: so.Mapped[str | None] = so.mapped_column(sa.String(200), unique=True)
    to_addrs: so.Mapped[str] = so.mapped_column(sa.Text)
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body_text: so.Mapped[str] = so.mapped_column(sa.Text)
    body_html: so.Mapped[str | None] = so.mapped_column(sa.Text)
    incident_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("incident.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=MailStatus.PENDING.value, index=True)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(index=True)
    sent_at: so.Mapped[datetime | None]
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    attachments: so.Mapped[list[OutboxAttachment]] = so.relationship(order_by="OutboxAttachment.id")


class OutboxAttachment(Base):
    """A file sent with a message (e.g. a status report's PDF), kept with it so a retry sends the same bytes."""

    __tablename__ = "outbox_attachment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    message_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("outbox_message.id"), index=True)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)


def enqueue(
    session: so.Session,
    *,
    to: list[str],
    subject: str,
    body_text: str,
    now: datetime,
    body_html: str | None = None,
    incident_id: int | None = None,
    dedupe_key: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> OutboxMessage | None:
    """Queue a message in the caller's transaction; None if there is nobody to send to or it was queued before."""
    recipients = sorted({a.strip() for a in to if a and a.strip()})
    if not recipients:
        return None
    if dedupe_key and session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    message = OutboxMessage(created_at=now, dedupe_key=dedupe_key, to_addrs=", ".join(recipients), subject=subject[:300],
                            body_text=body_text, body_html=body_html, incident_id=incident_id,
                            status=MailStatus.PENDING.value, attempts=0, next_attempt_at=now, last_error="")
    message.attachments = [OutboxAttachment(filename=name, content_type=kind, data=data)
                           for name, kind, data in attachments or []]
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None  # a concurrent writer queued the same key first
    return message


@dataclass
class Letter:
    """One message as composed for one group of readers."""

    subject: str
    body_text: str
    body_html: str | None = None
    attachments: list[tuple[str, str, bytes]] | None = None


#: The zone of dates in a message to several readers when the caller names none (head office's).
SHARED_ZONE = "Asia/Tokyo"


def enqueue_localised(
    session: so.Session,
    *,
    people: Iterable[Recipient],
    compose: Callable[[Reader], Letter | tuple[str, str]],
    now: datetime,
    zone: str = SHARED_ZONE,
    incident_id: int | None = None,
    dedupe_key: str | None = None,
) -> list[OutboxMessage]:
    """Queue one message per language among the recipients, each composed in that language.

    compose(reader) runs under the reader's language (gettext answers in it) and returns (subject, body_text) or a
    Letter; reader.datetime()/reader.date() write dates for them: in the recipient's own time zone when the message
    has one recipient, else in `zone`, named. Each message's dedupe key is `dedupe_key:<language>`, except English's
    (the source language), which keeps the plain key messages had before they were per language; once any of them
    was queued, nothing is queued again, so a re-run sends nothing twice even if someone changed language since.
    """
    if dedupe_key and session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key.in_(
            {_language_key(dedupe_key, language) for language in LANGUAGES})).limit(1)):
        return []
    queued = []
    for reader, to in readers(people, zone=zone):
        with in_language(reader.language):
            letter = compose(reader)
        if not isinstance(letter, Letter):
            letter = Letter(subject=letter[0], body_text=letter[1])
        message = enqueue(session, to=to, subject=letter.subject, body_text=letter.body_text, now=now,
                          body_html=letter.body_html, incident_id=incident_id, attachments=letter.attachments,
                          dedupe_key=_language_key(dedupe_key, reader.language))
        if message is not None:
            queued.append(message)
    return queued


def _language_key(dedupe_key: str | None, language: str) -> str | None:
    if not dedupe_key:
        return None
    return dedupe_key if language == DEFAULT_LANGUAGE else f"{dedupe_key}:{language}"


def message_id_header(message: OutboxMessage, from_addr: str) -> str:
    """The Message-ID of an outbox row: the same on every attempt, so a message resent after a crash
    (sent, but the sender died before recording it) is recognisably the same message, not a new one."""
    domain = from_addr.rpartition("@")[2].strip(" >") or "qa-incidents.invalid"
    return f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None: ...


@dataclass
class SmtpSender:
    host: str
    port: int
    from_addr: str
    timeout: float = 10.0

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.from_addr
        email["To"] = message.to_addrs
        email["Subject"] = message.subject
        email["Message-ID"] = message_id_header(message, self.from_addr)
        email.set_content(message.body_text)
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                                 filename=attachment.filename)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(email)


class LogSender:
    """Development: write each message to the log instead of sending it."""

    def send(self, message: OutboxMessage) -> None:
        log.info("mail to %s: %s\n%s", message.to_addrs, message.subject, message.body_text)


def sender_from_config(config: Any) -> Sender:
    if config.get("MAIL_BACKEND", "log") == "smtp":
        return SmtpSender(config["SMTP_HOST"], int(config["SMTP_PORT"]), config["MAIL_FROM"])
    return LogSender()


def deliver_pending(session: so.Session, *, sender: Sender, now: datetime, batch: int = 50) -> tuple[int, int]:
    """Send what is due; each message is committed on its own. Returns (sent, failed attempts)."""
    ids = list(session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == MailStatus.PENDING.value, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(batch)))
    sent = failed = 0
    session.commit()
    for message_id in ids:
        begin_write(session)
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status != MailStatus.PENDING.value:
            continue
        try:
            sender.send(message)
        except Exception as e:  # any transport error is a retry, never a lost message
            message.attempts += 1
            message.last_error = f"{type(e).__name__}: {e}"[:2000]
            if message.attempts > len(RETRY_MINUTES):
                message.status = MailStatus.FAILED.value
            else:
                message.next_attempt_at = now + timedelta(minutes=RETRY_MINUTES[message.attempts - 1])
            failed += 1
        else:
            message.attempts += 1
            message.status = MailStatus.SENT.value
            message.sent_at = now
            sent += 1
        session.commit()
    return sent, failed
