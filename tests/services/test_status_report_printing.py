"""Status reports' PDFs are printed after the issue, never inside the request that issues them: by the e-mail's
delivery, by the scheduler's print job, or by the first download; the kept copy is printed once and never changes."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from qa_incidents.accounts.models import User
from qa_incidents.core import outbox
from qa_incidents.core.outbox import OutboxAttachment, OutboxMessage
from qa_incidents.core.scheduler import JOBS, run_report_prints
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.reports import printing
from qa_incidents.reports import service as reports
from qa_incidents.reports.models import StatusReport, StatusReportPdf

PASSWORD = "demo-password-2026"


def _user(session, email) -> User:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


def _text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def fire(demo, clock):  # type: ignore[no-untyped-def]
    """The demo's refrigerator fire, triaged S1 (which issues report 1: a reportable obligation) and escalated."""
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    qa, hq = _user(demo, "division.qa@example.com"), _user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=clock())
    demo.commit()
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD, comment="Agreed",
                               now=clock())
    demo.commit()
    return fire


def _attachments(session, report: StatusReport) -> list[OutboxAttachment]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(OutboxAttachment).join(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"status-report:{report.id}%")).order_by(OutboxAttachment.id)))


def test_issuing_prints_nothing(demo, fire, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("a PDF was printed inside the issuing transaction")

    monkeypatch.setattr("qa_incidents.reports.render.html_to_pdf", refuse)
    report = reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())
    demo.commit()
    assert report.printed is None and fire.reference in report.html
    [attachment] = _attachments(demo, report)
    assert attachment.data is None and attachment.printer == f"status-report:{report.id}:en:Asia/Tokyo:0"
    assert attachment.filename == f"{fire.reference}-status-{report.number}.pdf"


def test_issuing_compiles_the_report_template_once_per_process(demo, fire, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issuing runs inside the filing's write transaction: the report's template is compiled by the first issue and
    reused after (a fresh environment per report compiled it each time, about 100 ms under SQLite's write lock)."""
    import jinja2

    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        compiled.append(name)
        return original(self, source, name, filename, raw, defer_init)

    reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())  # warms the process
    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    for _ in range(2):
        clock.advance(minutes=5)
        report = reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())
        assert fire.reference in report.html
    demo.commit()
    assert compiled == []


def test_delivery_prints_the_kept_copy_once_and_sends_it(demo, fire, clock) -> None:  # type: ignore[no-untyped-def]
    report = reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())
    demo.commit()
    sent, failed = outbox.deliver_pending(demo, sender=outbox.LogSender(), now=clock())
    assert failed == 0 and sent >= 1
    kept = demo.get(StatusReportPdf, report.id)
    assert kept is not None and kept.printed_at == clock()
    assert kept.pdf_sha256 == hashlib.sha256(kept.pdf).hexdigest()
    text = _text(kept.pdf)
    assert fire.reference in text and f"Status report no. {report.number}" in text
    [attachment] = _attachments(demo, report)
    assert attachment.data == kept.pdf  # the e-mail carries the kept copy, byte for byte
    assert printing.kept_pdf(demo, report, now=clock()) == kept.pdf  # printed once: the same bytes ever after


def test_the_print_job_prints_reports_nobody_was_sent(demo, fire, clock, app) -> None:  # type: ignore[no-untyped-def]
    waiting = printing.unprinted(demo, limit=100)
    assert waiting  # the demo's reports and report 1 of this fire
    demo.commit()
    assert JOBS["report_prints"][0] is run_report_prints
    assert run_report_prints(app) == min(len(waiting), 20)
    while printing.unprinted(demo, limit=100):
        demo.commit()
        assert run_report_prints(app) > 0
    demo.commit()
    assert run_report_prints(app) == 0
    for report_id in waiting:
        kept = demo.get(StatusReportPdf, report_id)
        assert kept is not None and kept.pdf.startswith(b"%PDF")


def test_the_kept_copy_is_append_only(demo, fire, clock, engine) -> None:  # type: ignore[no-untyped-def]
    report = reports.last_report(demo, fire.id)
    printing.kept_pdf(demo, report, now=clock())
    demo.commit()
    with engine.connect() as c, pytest.raises(sa.exc.DatabaseError):
        c.execute(sa.text("UPDATE status_report_pdf SET pdf_sha256 = 'x' WHERE report_id = :i"), {"i": report.id})
        c.commit()
    with engine.connect() as c, pytest.raises(sa.exc.DatabaseError):
        c.execute(sa.text("DELETE FROM status_report_pdf WHERE report_id = :i"), {"i": report.id})
        c.commit()


def test_a_failed_print_is_retried_not_lost(demo, fire, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    report = reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())
    demo.commit()

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OSError("font cache unreadable")

    monkeypatch.setattr("qa_incidents.reports.render.html_to_pdf", broken)
    outbox.deliver_pending(demo, sender=outbox.LogSender(), now=clock())
    [message] = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == f"status-report:{report.id}"))
    assert message.status == "pending" and message.attempts == 1 and "font cache unreadable" in message.last_error
    assert demo.get(StatusReportPdf, report.id) is None
    monkeypatch.undo()
    outbox.deliver_pending(demo, sender=outbox.LogSender(), now=message.next_attempt_at)
    demo.refresh(message)
    assert message.status == "sent" and message.attachments[0].data.startswith(b"%PDF")


def test_an_unknown_printer_fails_the_attempt(demo, clock) -> None:  # type: ignore[no-untyped-def]
    message = outbox.enqueue(demo, to=["someone@example.com"], subject="s", body_text="b", now=clock(),
                             attachments=[("x.pdf", "application/pdf", outbox.ToPrint("nothing-by-that-name:1"))])
    demo.commit()
    outbox.deliver_pending(demo, sender=outbox.LogSender(), now=clock())
    demo.refresh(message)
    assert message.status == "pending" and "no printer" in message.last_error


def test_first_download_prints_and_keeps_it(demo, fire, clock, login_as) -> None:  # type: ignore[no-untyped-def]
    report = reports.last_report(demo, fire.id)
    assert report.printed is None
    number, report_id = report.number, report.id
    demo.commit()
    client = login_as("hq.qa@example.com")
    first = client.get(f"/incidents/{fire.id}/status-reports/{number}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert fire.reference in _text(first.data)
    demo.expire_all()
    kept = demo.get(StatusReportPdf, report_id)
    assert kept is not None and kept.pdf == first.data
    assert client.get(f"/incidents/{fire.id}/status-reports/{number}.pdf").data == first.data
