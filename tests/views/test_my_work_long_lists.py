"""My work with long lists: the most urgent entries, the count of all, and the way to the rest."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import User
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status

QA = "division.qa@example.com"


def add_reported(demo, clock, count):
    """`count` reported copies of the demo fire, known an hour apart: the oldest is the most urgent."""
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    facts = {c.key: getattr(fire, c.key) for c in Incident.__table__.columns if c.key not in ("id", "reference")}
    copies = []
    for n in range(count):
        copy = Incident(**facts, reference=f"INC-2026-{920_000 + n}")
        copy.status, copy.severity, copy.title = Status.REPORTED, None, f"Copy {n:03d} of the fire"
        copy.aware_at = clock() - timedelta(hours=n + 1)
        copy.occurred_at = copy.aware_at - timedelta(hours=1)
        demo.add(copy)
        copies.append(copy)
    demo.commit()
    return copies


def test_the_triage_list_shows_the_50_most_urgent_and_counts_all(browser_as, demo, clock):
    copies = add_reported(demo, clock, workflow.MY_WORK_ROWS + 10)
    qa = demo.scalar(sa.select(User).where(User.email == QA))
    total = len(workflow.triage_queue(demo, division_id=qa.division_id, now=clock()))
    demo.rollback()  # end the read: the login writes
    response = browser_as(QA).get("/my-work")
    page = text(response)
    html = response.get_data(as_text=True)
    assert f"Incidents to triage ({total})" in page
    assert f"The 50 most urgent of {total} are listed." in page
    assert 'href="/incidents/?status=reported"' in html
    section = html.split('id="to-triage"', 1)[1].split("</section>", 1)[0]
    assert len(re.findall(r"<tr class=\"sla-", section)) == 50
    assert copies[-1].title in section  # known first: the most urgent of the copies
    assert copies[0].title not in section  # known last: beyond the first 50


def test_short_lists_say_nothing_more(browser_as):
    page = text(browser_as(QA).get("/my-work"))
    assert "Incidents to triage (4)" in page
    assert "are listed." not in page and "See them all in the incident register" not in page


def test_escalated_cases_to_contain_are_capped_too(browser_as, demo, clock):
    copies = add_reported(demo, clock, workflow.MY_WORK_ROWS + 2)
    for copy in copies:
        copy.status, copy.severity = Status.ESCALATED, Severity.S1
    demo.commit()
    html = browser_as(QA).get("/my-work").get_data(as_text=True)
    section = html.split('id="to-contain"', 1)[1].split("</section>", 1)[0]
    assert "(52)" in section and "The 50 oldest of 52 are listed." in text_of(section)
    assert 'href="/incidents/?status=escalated"' in section
    assert copies[-1].reference in section and copies[0].reference not in section


def text_of(fragment):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def test_open_incidents_i_filed_say_when_there_are_more(browser_as, demo, clock):
    copies = add_reported(demo, clock, workflow.MY_WORK_ROWS + 3)
    filer = demo.get(User, copies[0].created_by_id)
    demo.rollback()
    html = browser_as(filer.email).get("/my-work").get_data(as_text=True)
    section = html.split('id="my-open"', 1)[1].split("</section>", 1)[0]
    assert "Open incidents I filed (more than 50)" in text_of(section)
    assert "The 50 most recent are listed." in text_of(section)
    assert len(re.findall(r"<li>", section)) == 50
    assert copies[0].reference in section  # known last: the most recent
    assert copies[-1].reference not in section


def add_escalations(demo, clock, count):
    """`count` copies of the demo fire waiting for head office's decision, the last one requested first."""
    from qa_incidents.incidents.workflow_models import Escalation

    copies = add_reported(demo, clock, count)
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    for n, copy in enumerate(copies):
        copy.status, copy.severity = Status.ESCALATION_REQUESTED, Severity.S1
        demo.add(Escalation(incident_id=copy.id, severity=Severity.S1, requested_by_id=hq.id,
                            requested_at=clock() - timedelta(minutes=10 * (n + 1)), reason="Fire in a home"))
    demo.commit()
    return copies


def test_the_approval_queue_lists_the_oldest_and_counts_all(browser_as, demo, clock, monkeypatch):
    copies = add_escalations(demo, clock, 3)
    total = workflow.pending_escalation_count(demo)
    demo.rollback()
    monkeypatch.setattr(workflow, "QUEUE_ROWS", 2)
    page = text(browser_as("hq.qa@example.com").get("/escalations/"))
    assert f"{total} requests waiting, oldest first." in page
    assert "The 2 oldest are listed; decide them to see the next." in page
    assert copies[-1].reference in page  # requested first
    assert copies[0].reference not in page


def test_escalations_beyond_the_first_50_lead_to_the_approval_queue(browser_as, demo, clock):
    copies = add_escalations(demo, clock, workflow.MY_WORK_ROWS + 1)
    total = workflow.pending_escalation_count(demo)
    demo.rollback()
    html = browser_as("hq.qa@example.com").get("/my-work").get_data(as_text=True)
    section = html.split('id="escalations"', 1)[1].split("</section>", 1)[0]
    assert f"The 50 oldest of {total} are listed." in text_of(section)
    assert 'href="/escalations/"' in section and "/incidents/?status=" not in section
    assert copies[-1].reference in section  # requested first
