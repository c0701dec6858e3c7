"""The outbox delivers over real SMTP (a local aiosmtpd server), retries failures, and never sends twice."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from qa_incidents.core import outbox
from qa_incidents.core.outbox import MailStatus, OutboxMessage, SmtpSender


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_delivers_over_smtp_once(session, clock, smtp):
    controller, inbox = smtp
    outbox.enqueue(session, to=["hq.qa@example.com", "exec@example.com"], subject="Escalation requested: INC-2026-000001",
                   body_text="Please decide.", body_html="<p>Please decide.</p>", now=clock(), dedupe_key="k1")
    outbox.enqueue(session, to=["hq.qa@example.com"], subject="duplicate", body_text="x", now=clock(), dedupe_key="k1")
    session.commit()
    sender = SmtpSender("127.0.0.1", controller.port, "qa-incidents@example.com")
    assert outbox.deliver_pending(session, sender=sender, now=clock()) == (1, 0)
    assert outbox.deliver_pending(session, sender=sender, now=clock()) == (0, 0)
    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["Subject"] == "Escalation requested: INC-2026-000001"
    assert "hq.qa@example.com" in received["To"] and "exec@example.com" in received["To"]
    assert session.scalar(sa.select(OutboxMessage.status)) == MailStatus.SENT.value


def test_failure_is_retried_later_not_lost(session, clock, smtp):
    controller, inbox = smtp
    outbox.enqueue(session, to=["hq.qa@example.com"], subject="SLA due soon", body_text="x", now=clock())
    session.commit()
    dead = SmtpSender("127.0.0.1", free_port(), "qa-incidents@example.com", timeout=2)
    assert outbox.deliver_pending(session, sender=dead, now=clock()) == (0, 1)
    message = session.scalar(sa.select(OutboxMessage))
    assert message.status == MailStatus.PENDING.value and message.attempts == 1 and "Error" in message.last_error
    live = SmtpSender("127.0.0.1", controller.port, "qa-incidents@example.com")
    assert outbox.deliver_pending(session, sender=live, now=clock()) == (0, 0)  # not yet due again
    assert outbox.deliver_pending(session, sender=live, now=clock.advance(minutes=1)) == (1, 0)
    assert [m["Subject"] for m in inbox.messages] == ["SLA due soon"]


def test_gives_up_after_the_last_retry(session, clock):
    outbox.enqueue(session, to=["a@example.com"], subject="s", body_text="x", now=clock())
    session.commit()

    class Broken:
        def send(self, message):
            raise OSError("relay down")

    for minutes in (0, *outbox.RETRY_MINUTES):
        clock.advance(minutes=minutes)
        outbox.deliver_pending(session, sender=Broken(), now=clock())
    message = session.scalar(sa.select(OutboxMessage))
    assert message.status == MailStatus.FAILED.value and "relay down" in message.last_error
    assert message.attempts == len(outbox.RETRY_MINUTES) + 1
    assert clock.now - message.created_at >= timedelta(minutes=sum(outbox.RETRY_MINUTES))


def test_nobody_to_send_to_queues_nothing(session, clock):
    assert outbox.enqueue(session, to=["", " "], subject="s", body_text="x", now=clock()) is None
