"""The faster filing path gives what the plain one gave: the incident it returns is the stored row, its audit event
is chained like any other, and the choices looked up in sets are the choices offered."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent, jsonable
from qa_incidents.core.clock import common_timezones
from qa_incidents.core.countries import country_codes
from qa_incidents.core.db import make_session_factory
from qa_incidents.core.forms import FixedChoices, timezone_choices, timezone_options
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.integrity.chain import verify_chain


def _filer(session: so.Session) -> User:
    return session.scalar(sa.select(User).where(User.email == "reporter@example.com"))


def _facts(session: so.Session, user: User):  # type: ignore[no-untyped-def]
    template = session.scalar(sa.select(Incident).where(Incident.division_id == user.division_id).limit(1))
    facts = service.facts_of(template)
    facts.title = "  Charger case cracked, contacts exposed  "
    return facts


def test_the_returned_incident_is_the_stored_row(demo, engine, clock):
    user = _filer(demo)
    incident = service.file_incident(demo, user=user, facts=_facts(demo, user), now=clock())
    demo.commit()
    other = make_session_factory(engine)()
    try:
        stored = other.get(Incident, incident.id)
        for column in sa.inspect(Incident).columns:
            assert getattr(incident, column.key) == getattr(stored, column.key), column.key
        assert incident.title == "Charger case cracked, contacts exposed" and incident.version == 1
        assert incident.severity is None and incident.category_id == stored.product.category_id
    finally:
        other.close()
    assert incident.division.name == stored.division.name and incident.created_by.email == "reporter@example.com"


def test_the_returned_incident_can_be_changed_in_the_same_session(demo, clock):
    """The object is a full member of the session: its version column guards the next save as usual."""
    user = _filer(demo)
    incident = service.file_incident(demo, user=user, facts=_facts(demo, user), now=clock())
    facts = service.facts_of(incident)
    facts.place = "Umeda, Osaka"
    service.update_incident(demo, user=user, incident_id=incident.id, facts=facts, expected_version=1,
                            now=clock() + timedelta(minutes=5))
    demo.commit()
    demo.expire_all()
    assert (demo.get(Incident, incident.id).place, demo.get(Incident, incident.id).version) == ("Umeda, Osaka", 2)


def test_the_filing_event_holds_every_field_and_extends_the_chain(demo, clock):
    user = _filer(demo)
    incident = service.file_incident(demo, user=user, facts=_facts(demo, user), now=clock())
    demo.commit()
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "incident",
                                                    AuditEvent.entity_id == incident.id))
    assert event.action == "created" and event.actor_id == user.id and event.incident_id == incident.id
    assert event.changes == {name: [None, jsonable(getattr(incident, name))] for name in service.AUDITED_FIELDS
                             if getattr(incident, name) is not None}
    assert event.prev_hash == demo.scalar(sa.select(AuditEvent.hash).where(AuditEvent.id < event.id)
                                          .order_by(AuditEvent.id.desc()).limit(1))
    report = verify_chain(demo)
    assert report.ok, report.problem


def test_fixed_choices_look_up_what_a_scan_finds():
    zones = timezone_options()
    assert isinstance(zones, FixedChoices) and timezone_options() is zones  # built once
    assert timezone_choices() == [(z, z.replace("_", " ")) for z in common_timezones()]
    assert zones.values == {value for value, _label in timezone_choices()}
    assert "Asia/Tokyo" in zones.values and "Mars/Olympus_Mons" not in zones.values
    assert country_codes() is country_codes() and "JP" in country_codes()  # built once
