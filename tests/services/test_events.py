"""Events between the features (core/events.py): every event is heard, subscribers write in the announcer's
transaction and a failing one rolls it back, and the main flow still derives its records through them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from blinker import NamedSignal

from qa_incidents.accounts.models import User
from qa_incidents.core import events
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.db import transaction
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records
from qa_incidents.notifications import subscriptions as notification_subscriptions
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.reports import service as reports

PASSWORD = "demo-password-2026"


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def fire(demo):
    return demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


@contextmanager
def unsubscribed(event: NamedSignal, receiver) -> Iterator[None]:  # type: ignore[no-untyped-def]
    event.disconnect(receiver)
    try:
        yield
    finally:
        event.connect(receiver, weak=False)


class Refused(Exception):
    pass


def test_every_event_is_listed_and_has_a_subscriber():
    events.connect_all()
    declared = {value for value in vars(events).values() if isinstance(value, NamedSignal)}
    assert declared == set(events.ALL)
    unheard = [event.name for event in events.ALL if not event.receivers]
    assert unheard == []


def test_filing_derives_the_notification_records_through_the_event(demo, make_facts, clock):
    reporter = user(demo, "reporter@example.com")
    incident = incidents.file_incident(demo, user=reporter, facts=make_facts(fire=True, title="Fire at filing"),
                                       now=clock())
    demo.commit()
    derived = records.records_of(demo, incident.id)
    assert derived and {r.origin for r in derived} == {"derived"}
    # without the notifications' subscriber, filing derives nothing: the records come from the event
    with unsubscribed(events.incident_filed, notification_subscriptions._derive_for_new):
        other = incidents.file_incident(demo, user=reporter, facts=make_facts(fire=True, title="Unheard fire"),
                                        now=clock())
    demo.commit()
    assert records.records_of(demo, other.id) == []


def test_a_failing_subscriber_rolls_the_whole_filing_back(demo, make_facts, clock):
    reporter = user(demo, "reporter@example.com")
    incidents_before = demo.scalar(sa.select(sa.func.count()).select_from(Incident))
    records_before = demo.scalar(sa.select(sa.func.count()).select_from(NotificationRecord))
    events_before = demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    heard = []

    def refuse(session, **payload):  # type: ignore[no-untyped-def]
        heard.append(payload["incident"].title)
        raise Refused("no")

    with events.incident_filed.connected_to(refuse), pytest.raises(Refused), transaction(demo) as s:
        incidents.file_incident(s, user=reporter, facts=make_facts(fire=True, title="Never filed"), now=clock())
    assert heard == ["Never filed"]
    assert demo.scalar(sa.select(sa.func.count()).select_from(Incident)) == incidents_before
    assert demo.scalar(sa.select(sa.func.count()).select_from(NotificationRecord)) == records_before
    assert demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events_before


def test_a_failing_subscriber_rolls_back_an_escalation_decision(demo, fire, clock):
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=clock())
    demo.commit()

    def refuse(session, **payload):  # type: ignore[no-untyped-def]
        raise Refused("no")

    with events.escalation_decided.connected_to(refuse), pytest.raises(Refused), transaction(demo) as s:
        workflow.decide_escalation(s, user=hq, incident_id=fire.id, approve=True, password=PASSWORD,
                                   comment="Agreed", now=clock())
    assert demo.get(Incident, fire.id).status.value == "escalation_requested"
    assert workflow.pending_escalation(demo, fire.id) is not None
    assert reports.pending_for(demo, fire.id) is None


def test_triage_and_escalation_issue_the_status_reports_through_the_events(demo, fire, clock):
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    # the first obligation that stands as reportable issues a status report at once
    [report] = reports.reports_of(demo, fire.id)
    assert [t["kind"] for t in report.triggers] == ["reportable"]
    workflow.request_escalation(demo, user=qa, incident_id=fire.id, reason="Fire, 48,200 units", now=clock())
    workflow.decide_escalation(demo, user=hq, incident_id=fire.id, approve=True, password=PASSWORD, comment="Agreed",
                               now=clock())
    demo.commit()
    # the approval is the next report's trigger
    assert [(t["kind"], t["detail"]) for t in reports.pending_for(demo, fire.id).triggers] == [
        ("escalation_approved", "Agreed")]


def test_a_mention_reaches_the_inbox_through_the_event(demo, fire, clock):
    qa, hq = user(demo, "division.qa@example.com"), user(demo, "hq.qa@example.com")
    heard = []

    def listen(session, **payload):  # type: ignore[no-untyped-def]
        heard.append((payload["author"].id, payload["body"]))

    with events.comment_added.connected_to(listen):
        incidents.add_comment(demo, user=qa, incident_id=fire.id, body="@hq.qa please look", now=clock())
    demo.commit()
    assert heard == [(qa.id, "@hq.qa please look")]
    assert demo.scalars(sa.text("SELECT user_id FROM inbox_item WHERE kind = 'mention'")).all() == [hq.id]


def test_the_case_hears_notifications_recalls_and_reviews(demo, fire):
    answered = events.gather(events.case_facts, demo, incident_id=fire.id, absent=frozenset())
    assert set(answered) == {"open_notifications", "open_recalls", "review_approved", "review_started",
                             "unchecked_countermeasures"}
    assert events.gather(events.case_facts, demo, incident_id=fire.id, absent=workflow.CASE_CHILDREN) == {}
    case = workflow.case_of(demo, fire)
    assert (case.open_recalls, case.review_approved) == (0, False)


def test_a_process_that_imported_no_subscriber_connects_them_all_at_its_first_announcement():
    """The command line, the scheduler or a script may call a service before any feature that subscribes is
    imported: the first announcement connects every subscriber (core.migrate.all_models imports every feature)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from qa_incidents.core import events\n"
            "assert 'qa_incidents.reports' not in sys.modules\n"
            "before = len(events.review_approved.receivers)\n"
            "review = type('Review', (), {'incidents': []})()\n"
            "events.announce(events.review_approved, None, review=review, now=None)\n"
            "print(before, all(e.receivers for e in events.ALL))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["0", "True"]
