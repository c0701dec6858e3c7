"""Queueing many localised notices at once: the same messages, keys and recipients as queueing them one at a time
(across runs, within one batch, in every language), in a number of statements that does not grow with the batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask
from flask_babel import gettext

from qa_incidents.core import i18n, outbox
from qa_incidents.core.i18n import Reader, Recipient, in_language, readers
from qa_incidents.core.outbox import Letter, Notice, OutboxAttachment, OutboxMessage
from qa_incidents.incidents.models import Incident


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """Background jobs run in the application context: gettext answers in the language a message is written in."""
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    with app.app_context():
        yield


def letter(tag: str) -> Any:
    """A compose function whose text shows the language it was written in and the readers' zone."""

    def compose(reader: Reader) -> tuple[str, str]:
        return (gettext("Severity: %(severity)s", severity=tag),
                f"{tag} {reader.language} {reader.datetime(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))}")

    return compose


def with_attachment(reader: Reader) -> Letter:
    return Letter(subject=gettext("Severity: %(severity)s", severity="report"), body_text="see attached",
                  body_html=f"<p>{reader.language}</p>", attachments=[("report.pdf", "application/pdf", b"%PDF-1")])


JA, EN = Recipient("ja.reader@example.com", "ja", "Asia/Tokyo"), Recipient("en.reader@example.com", "en")
OTHER_EN = Recipient(" second@example.com ", "en", "Europe/London")


def notices(incident_id: int) -> list[Notice]:
    """One of each case: two languages, one, a key used earlier in the batch, a key used by an earlier run, nobody
    to tell and then the same key with people, no key, keys per language from the start, an attachment."""
    return [
        Notice(people=[JA, EN, OTHER_EN, Recipient("EN.reader@example.com", "ja")], compose=letter("two"),
               incident_id=incident_id, dedupe_key="t:1"),
        Notice(people=[JA], compose=letter("ja only"), dedupe_key="t:2"),
        Notice(people=[EN], compose=letter("again in batch"), dedupe_key="t:1"),
        Notice(people=[EN, JA], compose=letter("earlier run"), dedupe_key="t:3"),
        Notice(people=[Recipient(" "), Recipient("")], compose=letter("nobody"), dedupe_key="t:4"),
        Notice(people=[EN], compose=letter("somebody"), dedupe_key="t:4"),
        Notice(people=[EN, JA], compose=letter("no key"), incident_id=incident_id),
        Notice(people=[EN, JA], compose=letter("per language"), dedupe_key="w:5", english_key_plain=False),
        Notice(people=[EN], compose=letter("plain key earlier"), dedupe_key="w:6", english_key_plain=False),
        Notice(people=[JA, EN], compose=letter("plain-key notice; :en is not its key"), dedupe_key="t:7"),
        Notice(people=[EN, JA], compose=with_attachment, incident_id=incident_id, dedupe_key="t:8"),
        Notice(people=[], compose=letter("nobody at all"), dedupe_key="t:9"),
    ]


def earlier_run(session: so.Session, now: datetime) -> None:
    """Messages an earlier run queued (or, for w:6, one from before messages were per language)."""
    for key in ("t:3:ja", "w:6", "t:7:en"):
        session.add(OutboxMessage(created_at=now, dedupe_key=key, to_addrs="x@example.com", subject="s", body_text="b",
                                  status="sent", attempts=1, next_attempt_at=now, last_error=""))
    session.commit()


def one_at_a_time(session: so.Session, notice: Notice, now: datetime) -> list[OutboxMessage]:
    """The rule as it is written out for one notice: nothing if any of its keys was used; else one message per
    language, each queued by outbox.enqueue (which checks its own key again)."""
    if notice.dedupe_key and session.scalar(sa.select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key.in_(notice.keys())).limit(1)):
        return []
    queued = []
    for reader, to in readers(notice.people, zone=notice.zone):
        with in_language(reader.language):
            written = notice.compose(reader)
        if not isinstance(written, Letter):
            written = Letter(*written)
        message = outbox.enqueue(session, to=to, subject=written.subject, body_text=written.body_text, now=now,
                                 body_html=written.body_html, incident_id=notice.incident_id,
                                 attachments=written.attachments, dedupe_key=notice.key_for(reader.language))
        if message is not None:
            queued.append(message)
    return queued


def table(session: so.Session) -> list[tuple[Any, ...]]:
    """Every message as stored, in the order queued, with its attachments (ids left out: they differ between runs)."""
    session.flush()
    session.expire_all()
    return [(m.dedupe_key, m.to_addrs, m.subject, m.body_text, m.body_html, m.incident_id, m.status, m.attempts,
             m.created_at, m.next_attempt_at, m.sent_at, m.last_error,
             [(a.filename, a.content_type, a.data) for a in m.attachments])
            for m in session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


def shown(result: list[list[OutboxMessage]]) -> list[list[tuple[str | None, str]]]:
    return [[(m.dedupe_key, m.to_addrs) for m in messages] for messages in result]


@pytest.fixture
def fire(demo: so.Session, clock) -> int:  # type: ignore[no-untyped-def]
    """The demo data with an empty outbox but for an earlier run's messages; the id of an incident to refer to."""
    demo.execute(sa.delete(OutboxAttachment))
    demo.execute(sa.delete(OutboxAttachment))
    demo.execute(sa.delete(OutboxMessage))
    demo.commit()
    earlier_run(demo, clock())
    incident_id = demo.scalar(sa.select(Incident.id).where(Incident.title.contains("Refrigerator caught fire")))
    assert incident_id is not None
    return incident_id


def test_a_batch_queues_what_one_call_per_notice_queues(demo, fire, ctx, clock):  # type: ignore[no-untyped-def]
    now = clock()
    batch = shown(outbox.enqueue_localised_many(demo, notices(fire), now=now))
    in_batch = table(demo)
    demo.rollback()

    singly = shown([one_at_a_time(demo, notice, now) for notice in notices(fire)])
    assert batch == singly
    assert table(demo) == in_batch
    assert sum(map(len, batch)) == len(in_batch) - 3 == 12  # besides the earlier run's three
    demo.rollback()

    # enqueue_localised, one call per notice, is the same again (for the notices it can express).
    plain = [n for n in notices(fire) if n.english_key_plain]
    one_by_one = shown([outbox.enqueue_localised(demo, people=n.people, compose=n.compose, now=now,
                                                 incident_id=n.incident_id, dedupe_key=n.dedupe_key) for n in plain])
    assert one_by_one == [s for s, n in zip(batch, notices(fire), strict=True) if n.english_key_plain]
    assert [row for row in table(demo) if not (row[0] or "").startswith("w:")] == [
        row for row in in_batch if not (row[0] or "").startswith("w:")]


def test_what_a_batch_queues_for_each_notice(demo, fire, ctx, clock):  # type: ignore[no-untyped-def]
    result = outbox.enqueue_localised_many(demo, notices(fire), now=clock())
    demo.commit()
    assert shown(result) == [
        [("t:1", "en.reader@example.com, second@example.com"), ("t:1:ja", "ja.reader@example.com")],
        [("t:2:ja", "ja.reader@example.com")],
        [],  # t:1 was queued earlier in the batch
        [],  # t:3 was queued by an earlier run (in Japanese)
        [],  # nobody to tell...
        [("t:4", "en.reader@example.com")],  # ...so the key is still free for the next notice
        [(None, "en.reader@example.com"), (None, "ja.reader@example.com")],
        [("w:5:en", "en.reader@example.com"), ("w:5:ja", "ja.reader@example.com")],
        [],  # a message under the plain key counts
        [("t:7", "en.reader@example.com"), ("t:7:ja", "ja.reader@example.com")],
        [("t:8", "en.reader@example.com"), ("t:8:ja", "ja.reader@example.com")],
        [],
    ]
    english, japanese = result[0]
    # Two English readers in different zones: head office's zone, named; one Japanese reader: their own.
    assert english.subject == "Severity: two" and english.body_text == "two en 2026-11-20 12:00 JST (Asia/Tokyo)"
    assert japanese.subject == "重大度：two" and japanese.body_text == "two ja 2026年11月20日 12:00 JST"
    assert english.incident_id == japanese.incident_id == fire and english.status == "pending"
    [english, japanese] = result[10]
    assert [(a.filename, a.data) for a in demo.scalars(sa.select(OutboxAttachment).where(
        OutboxAttachment.message_id.in_([english.id, japanese.id])).order_by(OutboxAttachment.message_id))] == [
        ("report.pdf", b"%PDF-1"), ("report.pdf", b"%PDF-1")]
    assert (english.body_html, japanese.body_html) == ("<p>en</p>", "<p>ja</p>")

    # A second run, even after readers changed language, queues nothing again.
    rows = table(demo)
    again = outbox.enqueue_localised_many(demo, [Notice(people=[Recipient(n.people[0].email, "ja")] if n.people else [],
                                                        compose=n.compose, incident_id=n.incident_id,
                                                        dedupe_key=n.dedupe_key, english_key_plain=n.english_key_plain)
                                                 for n in notices(fire) if n.dedupe_key], now=clock())
    assert again == [[] for n in notices(fire) if n.dedupe_key]
    assert table(demo) == rows


def test_a_key_a_concurrent_writer_queued_first_is_skipped(demo, fire, ctx, clock, monkeypatch):  # type: ignore[no-untyped-def]
    """Between the look-up and the insert another scan may queue the same key: its message stands, no error."""
    now = clock()
    batch = [Notice(people=[EN, JA], compose=letter("race"), dedupe_key="race:1"),
             Notice(people=[EN], compose=letter("other"), dedupe_key="race:2")]
    real = outbox._keys_taken

    def looked_up_before_the_other_writer(session: so.Session, keys: set[str]) -> set[str]:
        found = real(session, keys)
        session.execute(sa.insert(OutboxMessage), [{
            "created_at": now, "dedupe_key": "race:1:ja", "to_addrs": "winner@example.com", "subject": "first",
            "body_text": "b", "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": ""}])
        return found

    monkeypatch.setattr(outbox, "_keys_taken", looked_up_before_the_other_writer)
    result = outbox.enqueue_localised_many(demo, batch, now=now)
    demo.commit()
    assert shown(result) == [[("race:1", "en.reader@example.com")], [("race:2", "en.reader@example.com")]]
    assert demo.scalar(sa.select(OutboxMessage.to_addrs).where(OutboxMessage.dedupe_key == "race:1:ja")) == (
        "winner@example.com")


def test_a_large_batch_takes_a_bounded_number_of_statements(demo, fire, ctx, clock):  # type: ignore[no-untyped-def]
    """1,500 notices in two languages (3,000 messages, 3,000 keys to look up): a handful of statements, each
    look-up within a thousand bound parameters, where one call per notice would take thousands."""
    statements: list[tuple[str, int]] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        statements.append((statement.split(None, 1)[0].upper(), len(parameters) if not executemany else 0))

    many = [Notice(people=[EN, JA], compose=letter(f"n{i}"), incident_id=fire, dedupe_key=f"bulk:{i}")
            for i in range(1500)]
    engine = demo.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = outbox.enqueue_localised_many(demo, many, now=clock())
        demo.flush()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert sum(1 for messages in result if messages) == 1500
    assert demo.scalar(sa.select(sa.func.count()).where(OutboxMessage.dedupe_key.like("bulk:%"))) == 3000
    selects = [n for kind, n in statements if kind == "SELECT"]
    # Three look-ups of the keys and one of the recipients' accounts (whose bells hear of the messages).
    assert len(selects) == 4 and max(selects) <= outbox.KEYS_PER_QUERY
    assert len(statements) <= 12, statements

    # Run again: all already queued, three look-ups and nothing else.
    statements.clear()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        again = outbox.enqueue_localised_many(demo, many, now=clock())
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert again == [[] for _ in many] and [kind for kind, _n in statements] == ["SELECT"] * 3
