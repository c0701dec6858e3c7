"""What people read, printed: the status report as a brief (no internal field names, the narrative once, the
sections in the order an executive reads them), page and PDF from one template; regulator drafts in the authority's
language; the printer fetches nothing but fonts."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.pdf import _fonts_only, html_to_pdf
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.reports import service as reports
from qa_incidents.reports.render import render_html, render_pdf

PASSWORD = "demo-password-2026"
#: Stored column names a reader must never see (what the audit trail records about records' columns).
INTERNAL = ("document_sha256", "category_id", "missing_explanation", "product_id", "division_id", "sha256",
            "approval_signature_id", "notification_submitted", "status_report_narrative", "_id")


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def reported(demo, clock):
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=clock())
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD, comment="Agreed",
                               now=clock())
    first = reports.issue_now(demo, user=qa, incident=fire, now=clock.advance(minutes=5))
    demo.commit()
    # Since the first report: a change of facts and a regulator record's internal columns, as the trail keeps them.
    later = clock.advance(hours=2)
    audit.record(demo, actor_id=qa.id, entity_type="incident", entity_id=fire.id, incident_id=fire.id,
                 action="updated", now=later, changes={"units_in_field": [48200, 51000], "category_id": [3, 4]})
    audit.record(demo, actor_id=qa.id, entity_type="notification_record", entity_id=1, incident_id=fire.id,
                 action="notification_submitted", now=later,
                 changes={"document_sha256": [None, "ab" * 32], "missing_explanation": [None, "to follow"]})
    reports.save_narrative(demo, user=qa, incident=fire, text="Approve the stop-ship budget.", now=later)
    reports.save_narrative(demo, user=qa, incident=fire, text=NARRATIVE, now=later,
                           asks="We need approval of the stop-ship budget.")
    second = reports.issue_now(demo, user=qa, incident=fire, now=clock.advance(minutes=5))
    demo.commit()
    return first, second


NARRATIVE = "Shipments of lot L2405 stopped; field inspection of the relay starts Monday."


def test_the_brief_names_no_internal_field_and_says_changes_in_sentences(demo, reported):
    _first, report = reported
    html = render_html(report.content, number=report.number, issued_at=report.issued_at, zone="Asia/Tokyo")
    page = visible(html)
    printed = pdf_text(render_pdf(report.content, number=report.number, issued_at=report.issued_at,
                                  zone="Asia/Tokyo"))
    for shown in (page, printed):
        for name in INTERNAL:
            assert name not in shown, name
    changed = page.split("Changed since the last report", 1)[1]
    assert "Kenji Sato changed the facts: Units in the field." in changed
    assert "Kenji Sato recorded the submission of a regulator notification." in changed
    # The division's words are said once, where management reads what is asked of it, not as a change too.
    assert page.count("We need approval of the stop-ship budget.") == 1
    assert "narrative" not in changed


def test_the_brief_reads_in_the_order_an_executive_needs(demo, reported):
    _first, report = reported
    page = visible(render_html(report.content, number=report.number, issued_at=report.issued_at, zone="Asia/Tokyo"))
    order = ["What happened", "Severity S1 and why", "Authorities", "Containment", "Recall", "Decided",
             "Needed from management", "Changed since the last report"]
    places = [page.index(heading) for heading in order]
    assert places == sorted(places)
    decided = page.split("Decided", 1)[1].split("Needed from management", 1)[0]
    assert "Yuki Nakamura approved the escalation" in decided
    asked = page.split("Needed from management", 1)[1].split("Next steps", 1)[0]
    assert "We need approval of the stop-ship budget." in asked and NARRATIVE not in asked
    # The division's account of the case is read with what happened, not as something asked of management.
    account = page.split("The division's account", 1)[1].split("Severity S1 and why", 1)[0]
    assert page.index("What happened") < page.index("The division's account") and NARRATIVE in account
    assert page.count(NARRATIVE) == 1


def test_page_and_pdf_are_one_document(demo, reported):
    _first, report = reported
    page = visible(render_html(report.content, number=report.number, issued_at=report.issued_at, zone="Asia/Tokyo"))
    printed = re.sub(r"\s+", " ", pdf_text(render_pdf(report.content, number=report.number,
                                                       issued_at=report.issued_at, zone="Asia/Tokyo")))
    headings = [f"Status report no. {report.number}", "What happened", "Authorities", "Containment", "Decided",
                "Needed from management", "Next steps", "Changed since the last report"]
    assert [printed.index(h) for h in headings] == sorted(printed.index(h) for h in headings)
    for words in ("We need approval of the stop-ship budget.", "changed the facts: Units in the field",
                  "Yuki Nakamura approved the escalation"):
        assert words in page and words in printed, words


def test_reports_issued_before_events_kept_their_entity_still_read_as_sentences(demo, reported):
    _first, report = reported
    old = dict(report.content)
    old["changes_since_last"] = [{"at": "2026-11-20T03:00:00+00:00", "by": "Kenji Sato", "what": "notification submitted",
                                  "fields": ["document_sha256", "missing_explanation"]}]
    page = visible(render_html(old, number=1, issued_at=report.issued_at, zone="Asia/Tokyo"))
    assert "Kenji Sato recorded the submission of a regulator notification." in page
    assert "document_sha256" not in page and "missing_explanation" not in page


def test_the_printer_fetches_nothing_but_the_fonts(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not print me")
    with pytest.raises(ValueError):
        _fonts_only(secret.as_uri())
    with pytest.raises(ValueError):
        _fonts_only("http://169.254.169.254/latest/meta-data/")
    data = html_to_pdf(f'<p>Hello</p><img src="{secret.as_uri()}"><iframe src="{secret.as_uri()}"></iframe>'
                       f'<object data="{secret.as_uri()}"></object>')
    assert "Hello" in pdf_text(data) and "do not print me" not in pdf_text(data)


def test_a_long_list_of_changes_keeps_the_brief_short(demo, reported):
    _first, report = reported
    many = dict(report.content)
    many["changes_since_last"] = [{"at": f"2026-11-20T{h:02d}:00:00+00:00", "by": "Kenji Sato", "entity": "comment",
                                   "action": "commented", "what": "commented", "fields": []} for h in range(20)]
    page = visible(render_html(many, number=3, issued_at=report.issued_at, zone="Asia/Tokyo"))
    assert page.count("Kenji Sato commented.") == 12
    assert "and 8 earlier changes (see the incident's timeline)." in page
    assert len(PdfReader(io.BytesIO(render_pdf(many, number=3, issued_at=report.issued_at,
                                               zone="Asia/Tokyo"))).pages) <= 2


def test_the_brief_prints_on_one_page(demo, reported):
    _first, report = reported
    data = render_pdf(report.content, number=report.number, issued_at=report.issued_at, zone="Asia/Tokyo")
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
