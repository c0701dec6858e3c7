"""Events between the features: what happened to an incident, announced by the feature it happened in and heard by
the features that build on it, so the incidents never call back into notifications, reports, recalls or reviews,
and core (the audit trail, the outbox) never calls up into the inbox.

- An event is a named blinker signal of this module (the list is `ALL`). The announcer calls
  `announce(event, session, **payload)` in its own transaction; every subscriber runs at once, synchronously, with
  the same session, so what it writes commits or rolls back with the change that caused it. A subscriber's exception
  is not caught: it reaches the announcer, whose transaction then rolls back as a whole.
- A question (`case_facts`) is an event whose subscribers answer: `gather(event, session, **payload)` merges the
  mappings they return.
- Subscribers of one event must not depend on each other's order. Where order matters the announcer announces two
  events in turn (the obligations are derived before a status report trigger is noted, as before events).
- Where subscribers are connected: each feature that hears events has a `subscriptions.py`, imported by the feature
  package's `__init__.py`, so importing any module of the feature connects them. The first `announce` or `gather`
  of a process calls `core.migrate.all_models()`, which imports every feature package: a service called without
  Flask (the command line, the scheduler, the tests) hears the same subscribers as the web application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import blinker
import sqlalchemy.orm as so

_events = blinker.Namespace()

# --- incidents ------------------------------------------------------------------------------------------------------

#: A live incident was filed (not imported history). Payload: incident, user, now.
incident_filed = _events.signal("incident-filed", doc="A live incident was filed: its obligations are derived.")
#: What an incident's obligations are derived from changed: its facts were edited, triage set its severity, or
#: imported history became live work. Payload: incident, user, now.
facts_changed = _events.signal("facts-changed", doc="Facts, severity or status that obligations depend on changed.")
#: Facts edited so that a count of harm grew or a harm flag turned on. Payload: incident, fields (names), now.
harm_increased = _events.signal("harm-increased", doc="More harm than before was reported.")
#: A triaged incident was triaged again with another severity. Payload: incident, before, after (Severity), now.
severity_changed = _events.signal("severity-changed", doc="The severity changed at re-triage.")
#: Head-office QA signed an escalation decision. Payload: incident, escalation, approved (bool), comment, now.
escalation_decided = _events.signal("escalation-decided", doc="An escalation was approved or rejected.")
#: A comment was posted on an incident. Payload: incident, author, comment_id, body, now.
comment_added = _events.signal("comment-added", doc="A comment was posted on an incident.")

# --- regulator notifications ----------------------------------------------------------------------------------------

#: An incident's regulator obligations changed (derived again, one added, one decided reportable). Payload: incident,
#: reportable_before (ids of its records that stood as reportable just before), user (or None), now, base_url.
obligations_changed = _events.signal("obligations-changed", doc="An incident's regulator obligations changed.")
#: A notification was submitted to its authority. Payload: record, late (bool), now.
notification_submitted = _events.signal("notification-submitted", doc="A regulator notification was submitted.")
#: A notification's deadline passed and its overdue warning went out. Payload: record, now.
notification_overdue = _events.signal("notification-overdue", doc="A regulator notification is overdue.")

# --- recalls and reviews --------------------------------------------------------------------------------------------

#: Head-office QA signed a recall's launch. Payload: recall, incidents (linked), now.
recall_launched = _events.signal("recall-launched", doc="A recall was launched.")
#: An OCHIBO-HIROI review was approved. Payload: review, now.
review_approved = _events.signal("review-approved", doc="A root-cause review was approved.")

# --- core ------------------------------------------------------------------------------------------------------------

#: An event about an incident (or one of its children) was appended to the audit trail. Payload: incident_id,
#: entity_type, action, actor_id (or None), now.
incident_audited = _events.signal("incident-audited", doc="An audit event about an incident was recorded.")
#: Many audit events about incidents were appended at once (a bulk import's batch). Payload: rows (each with
#: incident_id, entity_type, action, actor_id, occurred_at).
incidents_audited = _events.signal("incidents-audited", doc="A batch of audit events about incidents was recorded.")
#: E-mails were queued in the outbox. Payload: rows (the messages' columns, as written).
mail_queued = _events.signal("mail-queued", doc="E-mails were queued.")

# --- questions ------------------------------------------------------------------------------------------------------

#: What the lifecycle's guards read about an incident from the features built on it. Payload: incident_id, absent
#: (kinds of record the caller knows the incident has none of: "notifications", "recalls", "reviews"). Each subscriber
#: answers with the `lifecycle.Case` fields it knows, leaving out those of a kind named in `absent`.
case_facts = _events.signal("case-facts", doc="The lifecycle guards' facts from notifications, recalls and reviews.")

#: Every event and question: each has at least one subscriber (tests/services/test_events.py).
ALL: tuple[blinker.NamedSignal, ...] = (
    incident_filed, facts_changed, harm_increased, severity_changed, escalation_decided, comment_added,
    obligations_changed, notification_submitted, notification_overdue, recall_launched, review_approved,
    incident_audited, incidents_audited, mail_queued, case_facts,
)

_connected = False


def connect_all() -> None:
    """Make sure every feature's subscribers are connected (once per process; importing a feature connects its own)."""
    global _connected
    if not _connected:
        from qa_incidents.core.migrate import all_models

        all_models()  # imports every feature package, whose __init__ imports its subscriptions
        _connected = True


def announce(event: blinker.NamedSignal, session: so.Session, **payload: Any) -> None:
    """Tell every subscriber of `event`, now, in `session`'s transaction; a subscriber's exception propagates."""
    connect_all()
    event.send(session, **payload)


def gather(event: blinker.NamedSignal, session: so.Session, **payload: Any) -> dict[str, Any]:
    """Ask every subscriber of a question; their answers (mappings) merged."""
    connect_all()
    answers: dict[str, Any] = {}
    for _receiver, answer in event.send(session, **payload):
        if answer:
            answers.update(answer)
    return answers


Receiver = Callable[..., Any]


def subscribe(*events: blinker.NamedSignal) -> Callable[[Receiver], Receiver]:
    """Decorator: connect a function `(session, **payload)` to each event, strongly (it lives as long as the process)."""
    def connect(receiver: Receiver) -> Receiver:
        for event in events:
            event.connect(receiver, weak=False)
        return receiver
    return connect

