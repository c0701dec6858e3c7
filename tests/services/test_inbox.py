"""The bell: watchers hear of an incident's changes, queued e-mails reach their recipients' bells, mentions reach
only those who may read the incident; marking read; all of it scoped by division."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core import audit, outbox
from qa_incidents.core.errors import NotFound
from qa_incidents.inbox import service as inbox
from qa_incidents.inbox.models import IncidentWatcher
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents.models import Incident


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def fire(demo):
    return demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


def test_a_watcher_hears_of_changes_by_others_not_their_own(demo, fire, clock):
    hq, qa = user(demo, "hq.qa@example.com"), user(demo, "division.qa@example.com")
    inbox.set_watching(demo, user=hq, incident_id=fire.id, watching=True, now=clock())
    assert inbox.is_watching(demo, user=hq, incident_id=fire.id)
    incidents.add_comment(demo, user=qa, incident_id=fire.id, body="Supplier contacted.", now=clock())
    incidents.add_comment(demo, user=hq, incident_id=fire.id, body="Thanks.", now=clock())
    demo.commit()
    items = inbox.items(demo, user=hq)
    assert [(i["item"].kind, i["item"].action, i["actor"], i["reference"]) for i in items] == [
        ("event", "commented", "Kenji Sato", fire.reference)]
    assert inbox.unread_count(demo, user=hq) == 1
    assert inbox.unread_count(demo, user=qa) == 0  # not a watcher
    # Watching is itself on the record.
    trail = [(e.entity_type, e.action) for e in audit.events_for_incident(demo, fire.id)]
    assert ("watcher", "watched") in trail


def test_unwatching_stops_the_news_and_keeps_the_row(demo, fire, clock):
    hq, qa = user(demo, "hq.qa@example.com"), user(demo, "division.qa@example.com")
    inbox.set_watching(demo, user=hq, incident_id=fire.id, watching=True, now=clock())
    inbox.set_watching(demo, user=hq, incident_id=fire.id, watching=False, now=clock())
    incidents.add_comment(demo, user=qa, incident_id=fire.id, body="Supplier contacted.", now=clock())
    demo.commit()
    assert inbox.unread_count(demo, user=hq) == 0
    assert demo.scalar(sa.select(sa.func.count(IncidentWatcher.id))) == 1
    assert ("watcher", "unwatched") in [(e.entity_type, e.action) for e in audit.events_for_incident(demo, fire.id)]


def test_nobody_watches_an_incident_they_may_not_read(demo, fire, clock):
    other = user(demo, "cable.qa@example.com")  # another division
    with pytest.raises(NotFound):
        inbox.set_watching(demo, user=other, incident_id=fire.id, watching=True, now=clock())


def test_a_mention_reaches_those_who_may_read_the_incident_only(demo, fire, clock):
    qa, hq, cable = (user(demo, e) for e in ("division.qa@example.com", "hq.qa@example.com", "cable.qa@example.com"))
    incidents.add_comment(demo, user=qa, incident_id=fire.id, now=clock(),
                          body="@hq.qa please look; also @cable.qa and @[Aiko Tanaka]. Mail me at a@b.c.")
    demo.commit()
    mentions = {
        uid for (uid,) in demo.execute(sa.text("SELECT user_id FROM inbox_item WHERE kind = 'mention'"))}
    assert mentions == {hq.id, user(demo, "reporter@example.com").id}  # Oliver (Cables) may not read it
    [item] = inbox.items(demo, user=hq)
    assert item["item"].kind == "mention" and item["actor"] == "Kenji Sato"
    assert inbox.items(demo, user=cable) == []


def test_a_queued_email_reaches_its_recipients_bells(demo, fire, clock):
    outbox.enqueue(demo, to=["executive@example.com", "list@elsewhere.example"], subject="Status report no. 1",
                   body_text="…", now=clock(), incident_id=fire.id)
    demo.commit()
    executive = user(demo, "executive@example.com")
    [item] = inbox.items(demo, user=executive)
    assert (item["item"].kind, item["item"].text, item["reference"]) == ("message", "Status report no. 1",
                                                                          fire.reference)
    assert inbox.mark_read(demo, user=user(demo, "hq.qa@example.com"), now=clock()) == 0  # not theirs
    assert inbox.mark_read(demo, user=executive, now=clock(), item_id=item["item"].id) == 1
    assert inbox.unread_count(demo, user=executive) == 0


def test_items_of_an_incident_no_longer_readable_are_not_shown(demo, fire, clock):
    qa = user(demo, "division.qa@example.com")
    outbox.enqueue(demo, to=["division.qa@example.com"], subject="About the fire", body_text="…", now=clock(),
                   incident_id=fire.id)
    demo.commit()
    assert inbox.unread_count(demo, user=qa) == 1
    qa.division_id = user(demo, "cable.qa@example.com").division_id  # moved to another division
    demo.commit()
    assert inbox.unread_count(demo, user=qa) == 0 and inbox.items(demo, user=qa) == []


def test_a_change_the_system_makes_reaches_the_watchers_too(demo, fire, clock):
    hq = user(demo, "hq.qa@example.com")
    inbox.set_watching(demo, user=hq, incident_id=fire.id, watching=True, now=clock())
    audit.record(demo, actor_id=None, entity_type="notification_record", entity_id=1, incident_id=fire.id,
                 action="notification_rederived", now=clock())
    demo.commit()
    [item] = inbox.items(demo, user=hq)
    assert (item["item"].action, item["item"].actor_id, item["actor"]) == ("notification_rederived", None, "")
    assert item["item"].created_at == clock()
