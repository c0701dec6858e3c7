"""Filing an incident, editing its facts without losing anyone's work, comments, attachments, timeline."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent, events_for_incident
from qa_incidents.core.db import make_session_factory
from qa_incidents.core.errors import EditConflict, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.storage import StoredFile
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Attachment, Comment, Incident
from qa_incidents.incidents.rules import Status

SHA = "ab" * 32


def stored_file(size: int = 2048, content_type: str = "image/png") -> StoredFile:
    return StoredFile(sha256=SHA, size=size, content_type=content_type)


# --- filing ----------------------------------------------------------------------------


def test_demo_incidents_are_numbered_from_one(demo):
    references = demo.scalars(sa.select(Incident.reference).order_by(Incident.id)).all()
    assert references == [f"INC-2026-{n:06d}" for n in range(1, 7)]


def test_file_incident_gives_sequential_references(demo, demo_user, make_facts, clock):
    reporter = demo_user("reporter@example.com")
    first = service.file_incident(demo, user=reporter, facts=make_facts(), now=clock())
    second = service.file_incident(demo, user=reporter, facts=make_facts(title="Second"), now=clock())
    demo.commit()
    assert (first.reference, second.reference) == ("INC-2026-000007", "INC-2026-000008")
    assert first.status is Status.REPORTED
    assert first.version == 1


def test_numbers_restart_each_year(demo, demo_user, make_facts, clock):
    new_year = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    incident = service.file_incident(demo, user=demo_user("reporter@example.com"), facts=make_facts(), now=new_year)
    assert incident.reference == "INC-2027-000001"


def test_file_incident_stores_the_facts_and_copies_the_category(demo, demo_user, demo_product, make_facts, clock):
    reporter = demo_user("reporter@example.com")
    facts = make_facts("OH-F33", title="  Heater smells of gas  ", place=" Sapporo ")
    incident = service.file_incident(demo, user=reporter, facts=facts, now=clock())
    demo.commit()
    demo.expire_all()
    stored = demo.get(Incident, incident.id)
    assert stored.title == "Heater smells of gas"  # trimmed
    assert stored.place == "Sapporo"
    assert stored.category_id == demo_product("OH-F33").category_id
    assert stored.division.code == "HA"
    assert stored.created_by_id == reporter.id and stored.created_at == clock()
    assert stored.occurred_at == facts.occurred_at and stored.occurred_at.tzinfo is not None


def test_file_incident_writes_a_created_event_with_the_values(demo, demo_user, make_facts, clock):
    reporter = demo_user("reporter@example.com")
    facts = make_facts()
    incident = service.file_incident(demo, user=reporter, facts=facts, now=clock())
    demo.commit()
    [event] = events_for_incident(demo, incident.id)
    assert (event.action, event.entity_type, event.entity_id) == ("created", "incident", incident.id)
    assert event.actor_id == reporter.id and event.occurred_at == clock()
    changes = event.changes
    assert changes["title"] == [None, "Door hinge snapped"]
    assert changes["country"] == [None, "JP"]
    assert changes["minor_injuries"] == [None, 1]
    assert changes["fire"] == [None, False]
    assert changes["hazard"] == [None, "mechanical"]
    assert changes["category_id"] == [None, incident.category_id]
    assert changes["occurred_at"] == [None, facts.occurred_at.isoformat()]
    json.dumps(changes)  # stored as plain JSON


def test_product_of_another_division_is_refused(demo, demo_user, demo_product, demo_division, make_facts, clock):
    facts = make_facts("R-HW540", product_id=demo_product("RS-FR95").id)
    with pytest.raises(ValidationFailed) as failure:
        service.file_incident(demo, user=demo_user("reporter@example.com"), facts=facts, now=clock())
    assert set(failure.value.errors) == {"product_id"}
    assert "another division" in failure.value.errors["product_id"]


def test_reporter_cannot_file_for_another_division(demo, demo_user, make_facts, clock):
    facts = make_facts("RS-FR95")  # a Cable Materials product, for Cable Materials
    with pytest.raises(ValidationFailed) as failure:
        service.file_incident(demo, user=demo_user("reporter@example.com"), facts=facts, now=clock())
    assert set(failure.value.errors) == {"division_id"}
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) == 6


def test_head_office_can_file_for_any_division(demo, demo_user, make_facts, clock):
    incident = service.file_incident(demo, user=demo_user("hq.qa@example.com"), facts=make_facts("RS-FR95"), now=clock())
    assert incident.division.code == "CM"


@pytest.mark.parametrize("email", ["executive@example.com", "engineer@example.com", "admin@example.com"])
def test_roles_without_filing_rights_are_refused(demo, demo_user, make_facts, clock, email):
    with pytest.raises(ValidationFailed) as failure:
        service.file_incident(demo, user=demo_user(email), facts=make_facts(), now=clock())
    assert "division_id" in failure.value.errors


def test_invalid_facts_are_refused_with_every_problem(demo, demo_user, make_facts, clock):
    facts = make_facts(title="", country="XX", aware_at=clock() + timedelta(hours=1))
    with pytest.raises(ValidationFailed) as failure:
        service.file_incident(demo, user=demo_user("reporter@example.com"), facts=facts, now=clock())
    assert {"title", "country", "aware_at"} <= set(failure.value.errors)
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) == 6


def test_retired_product_is_refused(demo, demo_user, demo_product, make_facts, clock):
    demo_product("R-S38").active = False
    demo.flush()
    with pytest.raises(ValidationFailed) as failure:
        service.file_incident(demo, user=demo_user("reporter@example.com"), facts=make_facts("R-S38"), now=clock())
    assert set(failure.value.errors) == {"product_id"}


# --- editing ---------------------------------------------------------------------------


@pytest.fixture
def filed(demo, demo_user, make_facts, clock) -> Incident:
    """A fresh Home Appliances incident filed by the reporter, committed."""
    incident = service.file_incident(demo, user=demo_user("reporter@example.com"), facts=make_facts(), now=clock())
    demo.commit()
    return incident


def test_update_records_field_level_before_and_after(demo, demo_user, demo_product, filed, clock):
    manager = demo_user("division.qa@example.com")
    later = clock.advance(hours=2)
    facts = replace(service.facts_of(filed), title="Door hinge snapped twice", minor_injuries=2,
                    product_id=demo_product("R-S38").id)
    updated = service.update_incident(demo, user=manager, incident_id=filed.id, facts=facts, expected_version=1,
                                      now=later)
    demo.commit()
    assert updated.version == 2
    assert (updated.updated_by_id, updated.updated_at) == (manager.id, later)
    event = events_for_incident(demo, filed.id)[0]
    assert (event.action, event.actor_id, event.occurred_at) == ("updated", manager.id, later)
    assert event.changes == {
        "title": ["Door hinge snapped", "Door hinge snapped twice"],
        "minor_injuries": [1, 2],
        "product_id": [demo_product("R-HW540").id, demo_product("R-S38").id],
    }  # the category is the same for both refrigerators, so it is not listed


def test_changing_product_category_is_recorded(demo, demo_user, demo_product, filed, clock):
    facts = replace(service.facts_of(filed), product_id=demo_product("BD-SX120").id)
    service.update_incident(demo, user=demo_user("reporter@example.com"), incident_id=filed.id, facts=facts,
                            expected_version=1, now=clock.advance(minutes=5))
    event = events_for_incident(demo, filed.id)[0]
    assert event.changes["category_id"] == [demo_product("R-HW540").category_id, demo_product("BD-SX120").category_id]
    assert demo.get(Incident, filed.id).category_id == demo_product("BD-SX120").category_id


def test_saving_unchanged_facts_writes_no_event_and_keeps_the_version(demo, demo_user, filed, clock):
    before = demo.scalar(sa.select(sa.func.count(AuditEvent.id)))
    facts = replace(service.facts_of(filed), title="  Door hinge snapped ")  # only whitespace differs
    result = service.update_incident(demo, user=demo_user("division.qa@example.com"), incident_id=filed.id, facts=facts,
                                     expected_version=1, now=clock.advance(hours=1))
    demo.commit()
    assert result.version == 1
    assert result.updated_at == clock() - timedelta(hours=1)  # untouched
    assert demo.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_the_same_instants_in_another_zone_are_no_change(demo, demo_user, filed, clock):
    tokyo = ZoneInfo("Asia/Tokyo")
    facts = replace(service.facts_of(filed), occurred_at=filed.occurred_at.astimezone(tokyo),
                    aware_at=filed.aware_at.astimezone(tokyo))
    result = service.update_incident(demo, user=demo_user("reporter@example.com"), incident_id=filed.id, facts=facts,
                                     expected_version=1, now=clock.advance(hours=1))
    assert result.version == 1
    assert [e.action for e in events_for_incident(demo, filed.id)] == ["created"]


def test_stale_version_is_refused_and_names_who_changed_it(demo, demo_user, filed, clock):
    reporter, manager = demo_user("reporter@example.com"), demo_user("division.qa@example.com")
    original = service.facts_of(filed)
    manager_saved_at = clock.advance(minutes=10)
    service.update_incident(demo, user=manager, incident_id=filed.id, facts=replace(original, title="Manager's title"),
                            expected_version=1, now=manager_saved_at)
    demo.commit()

    with pytest.raises(EditConflict) as conflict:
        service.update_incident(demo, user=reporter, incident_id=filed.id,
                                facts=replace(original, title="Reporter's title"), expected_version=1,
                                now=clock.advance(minutes=5))
    assert conflict.value.changed_by == "Kenji Sato"
    assert conflict.value.changed_at == manager_saved_at
    assert conflict.value.current_version == 2
    assert conflict.value.current.title == "Manager's title"
    assert conflict.value.status_code == 409
    assert "Kenji Sato" in str(conflict.value)
    demo.commit()
    demo.expire_all()
    assert demo.get(Incident, filed.id).title == "Manager's title"
    assert [e.action for e in events_for_incident(demo, filed.id)] == ["updated", "created"]


def test_a_save_that_races_another_is_refused_not_lost(demo, engine, demo_user, filed, clock):
    """Two editors passed the version check at once: the database version column catches the second."""
    reporter, manager_id = demo_user("reporter@example.com"), demo_user("division.qa@example.com").id
    facts = service.facts_of(filed)
    # End this session's read transaction, as between two requests: on SQLite a read transaction
    # that outlives another's commit cannot write at all ("database is locked"): a deferred-transaction limit.
    demo.commit()
    other = make_session_factory(engine)()
    try:
        manager = other.get(type(reporter), manager_id)
        service.update_incident(other, user=manager, incident_id=filed.id,
                                facts=replace(facts, title="Saved first"), expected_version=1,
                                now=clock.advance(minutes=1))
        other.commit()
    finally:
        other.close()
    # This session still holds version 1 in memory (expire_on_commit=False), as a request would.
    assert filed.version == 1
    with pytest.raises(EditConflict) as conflict:
        service.update_incident(demo, user=reporter, incident_id=filed.id,
                                facts=replace(facts, title="Saved second"), expected_version=1,
                                now=clock.advance(minutes=1))
    assert conflict.value.current_version == 2
    assert conflict.value.changed_by == "Kenji Sato"
    demo.rollback()
    demo.expire_all()
    assert demo.get(Incident, filed.id).title == "Saved first"


def test_executive_may_read_but_not_edit(demo, demo_user, filed, clock):
    with pytest.raises(Forbidden):
        service.update_incident(demo, user=demo_user("executive@example.com"), incident_id=filed.id,
                                facts=replace(service.facts_of(filed), title="x"), expected_version=1, now=clock())


def test_reporter_of_another_division_cannot_even_find_it_to_edit(demo, demo_user, filed, clock):
    with pytest.raises(NotFound):
        service.update_incident(demo, user=demo_user("cable.reporter@example.com"), incident_id=filed.id,
                                facts=service.facts_of(filed), expected_version=1, now=clock())


def test_editing_into_invalid_facts_is_refused(demo, demo_user, filed, clock):
    facts = replace(service.facts_of(filed), no_harm=True)  # contradicts the stated injury
    with pytest.raises(ValidationFailed) as failure:
        service.update_incident(demo, user=demo_user("reporter@example.com"), incident_id=filed.id, facts=facts,
                                expected_version=1, now=clock())
    assert set(failure.value.errors) == {"no_harm"}


# --- comments, attachments and the timeline --------------------------------------------


def test_add_comment_is_stored_and_audited(demo, demo_user, filed, clock):
    reporter = demo_user("reporter@example.com")
    comment = service.add_comment(demo, user=reporter, incident_id=filed.id, body="  Customer sent photos.  ",
                                  now=clock.advance(minutes=3))
    demo.commit()
    assert demo.get(Comment, comment.id).body == "Customer sent photos."
    event = events_for_incident(demo, filed.id)[0]
    assert (event.action, event.entity_type, event.entity_id, event.incident_id) == (
        "commented", "comment", comment.id, filed.id)
    assert event.changes == {"body": [None, "Customer sent photos."]}


@pytest.mark.parametrize("body", ["", "   ", "x" * 10001])
def test_empty_or_huge_comment_is_refused(demo, demo_user, filed, clock, body):
    with pytest.raises(ValidationFailed) as failure:
        service.add_comment(demo, user=demo_user("reporter@example.com"), incident_id=filed.id, body=body, now=clock())
    assert set(failure.value.errors) == {"body"}
    assert demo.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_executive_cannot_comment(demo, demo_user, filed, clock):
    with pytest.raises(Forbidden):
        service.add_comment(demo, user=demo_user("executive@example.com"), incident_id=filed.id, body="Noted", now=clock())


def test_add_attachment_is_stored_and_audited(demo, demo_user, filed, clock):
    reporter = demo_user("reporter@example.com")
    attachment = service.add_attachment(demo, user=reporter, incident_id=filed.id, filename="photo.png",
                                        stored=stored_file(), now=clock.advance(minutes=4))
    demo.commit()
    stored = demo.get(Attachment, attachment.id)
    assert (stored.filename, stored.sha256, stored.size, stored.content_type) == ("photo.png", SHA, 2048, "image/png")
    event = events_for_incident(demo, filed.id)[0]
    assert (event.action, event.entity_type, event.entity_id, event.incident_id) == (
        "attached", "attachment", attachment.id, filed.id)
    assert event.changes == {"file": [None, "photo.png"], "sha256": [None, SHA], "size": [None, 2048],
                             "content_type": [None, "image/png"]}
    assert service.get_attachment(demo, user=reporter, incident_id=filed.id, attachment_id=attachment.id) == stored


def test_attachment_names_lose_any_path(demo, demo_user, filed, clock):
    cases = {
        "C:\\Users\\aiko\\Desktop\\photo 1.jpg": "photo 1.jpg",
        "../../etc/passwd": "passwd",
        "  report.pdf ": "report.pdf",
        "": f"attachment-{SHA[:12]}",
        "dir/": f"attachment-{SHA[:12]}",
    }
    kept = {given: service.add_attachment(demo, user=demo_user("reporter@example.com"), incident_id=filed.id,
                                          filename=given, stored=stored_file(), now=clock()).filename
            for given in cases}
    assert kept == cases


def test_a_very_long_attachment_name_still_fits_its_column(demo, demo_user, filed, clock):
    attachment = service.add_attachment(demo, user=demo_user("reporter@example.com"), incident_id=filed.id,
                                        filename="x" * 300 + ".png", stored=stored_file(), now=clock())
    demo.commit()  # PostgreSQL would refuse a name longer than the column
    assert 0 < len(demo.get(Attachment, attachment.id).filename) <= 255


def test_attachment_of_another_incident_is_not_found(demo, demo_user, filed, clock):
    reporter = demo_user("reporter@example.com")
    attachment = service.add_attachment(demo, user=reporter, incident_id=filed.id, filename="a.png",
                                        stored=stored_file(), now=clock())
    other_id = demo.scalar(sa.select(Incident.id).where(Incident.reference == "INC-2026-000001"))
    with pytest.raises(NotFound):
        service.get_attachment(demo, user=reporter, incident_id=other_id, attachment_id=attachment.id)
    with pytest.raises(NotFound):
        service.get_attachment(demo, user=demo_user("cable.reporter@example.com"), incident_id=filed.id,
                               attachment_id=attachment.id)


def test_timeline_lists_every_event_of_the_incident_newest_first(demo, demo_user, filed, clock):
    reporter = demo_user("reporter@example.com")
    comment = service.add_comment(demo, user=reporter, incident_id=filed.id, body="first", now=clock.advance(hours=1))
    attachment = service.add_attachment(demo, user=reporter, incident_id=filed.id, filename="a.pdf",
                                        stored=stored_file(content_type="application/pdf"), now=clock.advance(hours=1))
    service.update_incident(demo, user=reporter, incident_id=filed.id,
                            facts=replace(service.facts_of(filed), title="Retitled"), expected_version=1,
                            now=clock.advance(hours=1))
    # Two events in the same instant keep the order they were written in.
    second = service.add_comment(demo, user=reporter, incident_id=filed.id, body="second", now=clock())
    # Another incident's events stay out of this timeline.
    other_id = demo.scalar(sa.select(Incident.id).where(Incident.reference == "INC-2026-000001"))
    service.add_comment(demo, user=reporter, incident_id=other_id, body="elsewhere", now=clock.advance(hours=1))
    demo.commit()

    timeline = events_for_incident(demo, filed.id)
    assert [(e.action, e.entity_id) for e in timeline] == [
        ("commented", second.id),
        ("updated", filed.id),
        ("attached", attachment.id),
        ("commented", comment.id),
        ("created", filed.id),
    ]
    assert all(e.incident_id == filed.id for e in timeline)
    assert [e.occurred_at for e in timeline] == sorted((e.occurred_at for e in timeline), reverse=True)
    comments, attachments = service.comments_and_attachments(demo, filed.id)
    assert [c.body for c in comments] == ["first", "second"]
    assert [a.filename for a in attachments] == ["a.pdf"]
