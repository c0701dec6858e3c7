"""Two people save the same incident at the same moment: the second gets a clear conflict,
never "database is locked" (SQLite) or a silent overwrite (either database)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.db import begin_write, make_session_factory
from qa_incidents.core.errors import EditConflict
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident


def test_second_concurrent_writer_gets_edit_conflict(demo, engine, clock):
    factory = make_session_factory(engine)
    first, second = factory(), factory()
    outcome: dict[str, object] = {}
    try:
        begin_write(first)
        aiko = first.scalar(sa.select(User).where(User.email == "reporter@example.com"))
        facts = service.facts_of(first.get(Incident, 1))
        facts.title = "Saved first"
        service.update_incident(first, user=aiko, incident_id=1, facts=facts, expected_version=1, now=clock())

        def save_second() -> None:
            try:
                begin_write(second)  # waits for the first writer on SQLite
                kenji = second.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
                theirs = service.facts_of(second.get(Incident, 1))
                theirs.place = "Saved second"
                service.update_incident(second, user=kenji, incident_id=1, facts=theirs, expected_version=1, now=clock())
                second.commit()
                outcome["result"] = "saved"
            except Exception as e:  # the test asserts on what came out
                second.rollback()
                outcome["result"] = e

        thread = threading.Thread(target=save_second)
        thread.start()
        time.sleep(0.3)  # the second writer is now waiting for the first
        first.commit()
        thread.join(timeout=30)
    finally:
        first.close()
        second.close()
    result = outcome["result"]
    assert isinstance(result, EditConflict), result
    assert result.changed_by == "Aiko Tanaka" and result.current_version == 2
    check = factory()
    incident = check.get(Incident, 1)
    assert (incident.title, incident.version) == ("Saved first", 2) and incident.place != "Saved second"
    check.close()
