"""The e-mail outbox: messages are rows written in the same transaction as the change that
caused them, and a scheduled job sends them with retries, so a crash loses no notice."""

from __future__ import annotations

import enum
import itertools
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

from qa_incidents.core import events
from qa_incidents.core.db import Base, begin_write, dialect_insert
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
    """A file sent with a message (e.g. a status report's PDF), kept with it so a retry sends the same bytes.

    A file that is slow to make (a printed PDF) is queued as a `printer` spec with no data: the delivery job prints
    it just before the first attempt and keeps the bytes, so the request that queued the message never waits for it.
    """

    __tablename__ = "outbox_attachment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    message_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("outbox_message.id"), index=True)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    data: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: "kind:arguments" of a file still to print (see register_printer); None when data was given.
    printer: so.Mapped[str | None] = so.mapped_column(sa.String(200))


@dataclass(frozen=True)
class ToPrint:
    """An attachment printed at delivery: `spec` is "kind:arguments", kind a name given to register_printer."""

    spec: str


#: An attachment: (file name, content type, the bytes or what prints them).
Attachment = tuple[str, str, bytes | ToPrint]

#: kind -> printer(session, arguments, now) -> bytes; filled by the modules that queue such attachments.
_PRINTERS: dict[str, Callable[[so.Session, str, datetime], bytes]] = {}


def register_printer(kind: str, printer: Callable[[so.Session, str, datetime], bytes]) -> None:
    """Make `printer` print the attachments queued as ToPrint("<kind>:<arguments>")."""
    _PRINTERS[kind] = printer


def _attachment_row(name: str, kind: str, data: bytes | ToPrint) -> dict[str, Any]:
    if isinstance(data, ToPrint):
        return {"filename": name, "content_type": kind, "data": None, "printer": data.spec}
    return {"filename": name, "content_type": kind, "data": data, "printer": None}


def print_attachments(session: so.Session, message: OutboxMessage, *, now: datetime) -> None:
    """Print the message's attachments still to print, keeping the bytes (a retry sends the same ones)."""
    for attachment in message.attachments:
        if attachment.data is None:
            kind, _, arguments = (attachment.printer or "").partition(":")
            printer = _PRINTERS.get(kind)
            if printer is None:
                raise LookupError(f"no printer for attachment {attachment.filename!r} ({attachment.printer!r})")
            attachment.data = printer(session, arguments, now)


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
    attachments: list[Attachment] | None = None,
) -> OutboxMessage | None:
    """Queue a message in the caller's transaction; None if there is nobody to send to or it was queued before."""
    row = _row(to=to, letter=Letter(subject, body_text, body_html), now=now, incident_id=incident_id,
               dedupe_key=dedupe_key)
    if row is None:
        return None
    if dedupe_key and session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    message = OutboxMessage(**row)
    message.attachments = [OutboxAttachment(**_attachment_row(*attachment)) for attachment in attachments or []]
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None  # a concurrent writer queued the same key first
    events.announce(events.mail_queued, session, rows=[row])  # the recipients' bells
    return message


def _row(*, to: Iterable[str], letter: Letter, now: datetime, incident_id: int | None,
         dedupe_key: str | None) -> dict[str, Any] | None:
    """The columns of a pending message (None if it has nobody to go to): every way of queueing writes these."""
    recipients = sorted({a.strip() for a in to if a and a.strip()})
    if not recipients:
        return None
    return {"created_at": now, "dedupe_key": dedupe_key, "to_addrs": ", ".join(recipients),
            "subject": letter.subject[:300], "body_text": letter.body_text, "body_html": letter.body_html,
            "incident_id": incident_id, "status": MailStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
            "last_error": ""}


@dataclass
class Letter:
    """One message as composed for one group of readers."""

    subject: str
    body_text: str
    body_html: str | None = None
    attachments: list[Attachment] | None = None


#: The zone of dates in a message to several readers when the caller names none (head office's).
SHARED_ZONE = "Asia/Tokyo"


@dataclass
class Notice:
    """One notice to queue in each of its recipients' languages (see enqueue_localised for what each field means).

    english_key_plain: English's message keeps the plain dedupe key (the key messages had before they were per
    language). False for notices that were per language from the start, whose English key is `<key>:en` (the
    deadline warnings); either way a message under the plain key or under any language's key counts as queued.
    """

    people: Iterable[Recipient]
    compose: Callable[[Reader], Letter | tuple[str, str]]
    incident_id: int | None = None
    dedupe_key: str | None = None
    zone: str = SHARED_ZONE
    english_key_plain: bool = True

    def key_for(self, language: str) -> str | None:
        """The dedupe key of this notice's message in the language."""
        if not self.dedupe_key:
            return None
        if language == DEFAULT_LANGUAGE and self.english_key_plain:
            return self.dedupe_key
        return f"{self.dedupe_key}:{language}"

    def keys(self) -> set[str]:
        """Every key under which a message of this notice may have been queued: the plain key and each language's
        (none without a dedupe key)."""
        if not self.dedupe_key:
            return set()
        return {self.dedupe_key, *(key for language in LANGUAGES if (key := self.key_for(language)))}


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
    [queued] = enqueue_localised_many(session, [Notice(people=people, compose=compose, incident_id=incident_id,
                                                       dedupe_key=dedupe_key, zone=zone)], now=now)
    return queued


#: Keys looked up per query: well under every database's limit on bound parameters.
KEYS_PER_QUERY = 1000


def enqueue_localised_many(session: so.Session, notices: Iterable[Notice], *, now: datetime) -> list[list[OutboxMessage]]:
    """Queue many notices as enqueue_localised queues each, in order; returns each notice's messages (none: nothing
    queued, as it was queued before or has nobody to go to).

    The same messages and keys as one call per notice, including between notices of one batch (a later notice
    whose key an earlier one used queues nothing), but in a bounded number of statements: the keys already used
    are read in one query per thousand, and the messages written with one multi-row INSERT per thousand, where one
    call per notice spends a query and a savepoint on each message. A key that a concurrent writer queued first is
    skipped, not an error (as enqueue skips it).
    """
    notices = list(notices)
    taken = _keys_taken(session, {key for notice in notices for key in notice.keys()})
    planned: list[tuple[int, dict[str, Any], list[Attachment]]] = []
    for n, notice in enumerate(notices):
        if notice.keys() & taken:
            continue
        for reader, to in readers(notice.people, zone=notice.zone):
            with in_language(reader.language):
                letter = notice.compose(reader)
            if not isinstance(letter, Letter):
                letter = Letter(subject=letter[0], body_text=letter[1])
            row = _row(to=to, letter=letter, now=now, incident_id=notice.incident_id,
                       dedupe_key=notice.key_for(reader.language))
            if row is not None:
                planned.append((n, row, letter.attachments or []))
                if row["dedupe_key"]:
                    taken.add(row["dedupe_key"])  # a later notice of the batch sees it, as it would in the table
    queued: list[list[OutboxMessage]] = [[] for _ in notices]
    messages = _insert(session, [row for _n, row, _a in planned])
    events.announce(events.mail_queued, session,  # the recipients' bells
                    rows=[row for (_n, row, _a), message in zip(planned, messages, strict=True) if message is not None])
    files = []
    for (n, _r, attachments), message in zip(planned, messages, strict=True):
        if message is not None:
            queued[n].append(message)
            files += [{"message_id": message.id, **_attachment_row(*attachment)} for attachment in attachments]
    if files:
        session.execute(sa.insert(OutboxAttachment), files)
    return queued


def _keys_taken(session: so.Session, keys: set[str]) -> set[str]:
    """Those of the keys under which a message is queued already."""
    ordered = sorted(keys)
    found: set[str] = set()
    for i in range(0, len(ordered), KEYS_PER_QUERY):
        found.update(session.scalars(sa.select(OutboxMessage.dedupe_key)
                                     .where(OutboxMessage.dedupe_key.in_(ordered[i:i + KEYS_PER_QUERY]))))
    return found


def _insert(session: so.Session, rows: list[dict[str, Any]]) -> list[OutboxMessage | None]:
    """Insert the rows, in order; each one's message, or None where a concurrent writer had queued its key first.

    A run of rows with keys is one INSERT … ON CONFLICT (dedupe_key) DO NOTHING, its messages matched by key; a run
    without is a plain INSERT, its messages returned in the order of the rows."""
    if not rows:
        return []
    session.flush()  # rows the caller added first (e.g. the incident a message refers to) go in first
    insert = dialect_insert(session)
    found: list[OutboxMessage | None] = []
    for keyed, run in itertools.groupby(rows, key=lambda row: row["dedupe_key"] is not None):
        batch = list(run)
        if keyed:
            stmt = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage)
            by_key = {m.dedupe_key: m for m in session.scalars(stmt, batch)}
            found += [by_key.get(row["dedupe_key"]) for row in batch]
        else:
            found += session.scalars(sa.insert(OutboxMessage).returning(OutboxMessage, sort_by_parameter_order=True),
                                     batch).all()
    return found


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
            print_attachments(session, message, now=now)
            sender.send(message)
        except Exception as e:  # any transport or printing error is a retry, never a lost message
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
