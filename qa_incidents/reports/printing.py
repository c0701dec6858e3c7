"""Status reports' PDFs, printed after the issue instead of inside it.

Issuing a report writes its content, its HTML and its e-mail in the issuing transaction; printing a PDF takes a
few hundred milliseconds and a large library, so no request waits for it (filing a severe incident issues a
report). The copy kept with a version is printed once (status_report_pdf, append-only) by whichever comes first:

- the delivery of its e-mail (the outbox prints attachments queued as ToPrint just before sending them);
- the scheduler's print job, every half minute, for versions nobody has been sent yet;
- the first reader who downloads it.

Copies in a reader's language or time zone are printed from the same content when they are sent or downloaded.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core import outbox
from qa_incidents.core.db import begin_write, dialect_insert
from qa_incidents.core.i18n import DEFAULT_LANGUAGE, in_language
from qa_incidents.reports.models import StatusReport, StatusReportPdf
from qa_incidents.reports.render import render_pdf

#: The outbox's name for a status report's PDF attachment: ToPrint("status-report:<id>:<language>:<zone>:<era>").
KIND = "status-report"


def print_copy(report: StatusReport, *, language: str = DEFAULT_LANGUAGE, zone: str | None = None,
               era: bool = False) -> bytes:
    """A PDF of the version, in `language`, dated in `zone` (the kept copy's zone when None)."""
    with in_language(language):
        return render_pdf(report.content, number=report.number, issued_at=report.issued_at,
                          zone=zone or report.zone, language=language, era=era)


def kept_pdf(session: so.Session, report: StatusReport, *, now: datetime) -> bytes:
    """The PDF kept with the version: printed and stored the first time it is needed, the same bytes ever after.
    Writes in the caller's (writing) transaction; two printers at once keep the first one's bytes."""
    found = session.scalar(sa.select(StatusReportPdf.pdf).where(StatusReportPdf.report_id == report.id))
    if found is not None:
        return found
    pdf = print_copy(report)
    session.execute(dialect_insert(session)(StatusReportPdf).values(report_id=report.id, pdf=pdf,
                                                   pdf_sha256=hashlib.sha256(pdf).hexdigest(), printed_at=now)
                    .on_conflict_do_nothing(index_elements=["report_id"]))
    return session.scalar(sa.select(StatusReportPdf.pdf).where(StatusReportPdf.report_id == report.id)) or pdf


def attachment(report: StatusReport, *, language: str, zone: str, era: bool) -> outbox.ToPrint:
    """The e-mail attachment of the version for one group of readers, printed when the message is delivered."""
    return outbox.ToPrint(f"{KIND}:{report.id}:{language}:{zone}:{int(era)}")


def _print_attachment(session: so.Session, arguments: str, now: datetime) -> bytes:
    report_id, language, rest = arguments.split(":", 2)
    zone, _, era = rest.rpartition(":")
    report = session.get(StatusReport, int(report_id))
    if report is None:
        raise LookupError(f"status report {report_id} does not exist")
    if language == DEFAULT_LANGUAGE and zone == report.zone and era != "1":
        return kept_pdf(session, report, now=now)  # the copy kept with the version, as its e-mail has always carried
    return print_copy(report, language=language, zone=zone, era=era == "1")


outbox.register_printer(KIND, _print_attachment)


def unprinted(session: so.Session, *, limit: int) -> list[int]:
    """Versions whose kept PDF is not printed yet, oldest first."""
    return list(session.scalars(
        sa.select(StatusReport.id).where(~sa.exists().where(StatusReportPdf.report_id == StatusReport.id))
        .order_by(StatusReport.id).limit(limit)))


def print_pending(session: so.Session, *, now: datetime, batch: int = 20) -> int:
    """The scheduler's job: print the kept PDF of up to `batch` versions that have none, each committed on its own.
    Returns how many it printed."""
    ids = unprinted(session, limit=batch)
    session.commit()
    printed = 0
    for report_id in ids:
        begin_write(session)
        report = session.get(StatusReport, report_id)
        if report is not None:
            kept_pdf(session, report, now=now)
            printed += 1
        session.commit()
    return printed
