"""Migration 0032 links each decision record made without its laws-map obligation to its regime's obligation, so a
candidate decided reportable drafts the authority's form; records a person added for an authority the map does not
list keep none."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from qa_incidents.accounts.models import User
from qa_incidents.core.migrate import alembic_config, upgrade
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications import records


def test_decision_records_get_their_obligation_back(demo, engine, database_url, clock):  # type: ignore[no-untyped-def]
    glass = demo.scalar(sa.select(Incident).where(Incident.title.contains("Door glass shattered")))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    if glass.status.value == "reported":
        workflow.triage(demo, user=qa, incident_id=glass.id, severity=Severity.S2, override_reason="", now=clock())
    added = records.add_obligation(demo, user=qa, incident_id=glass.id, obligation_id=None, reason="Asked by the buyer.",
                                   now=clock(), regime_code="XX-BUYER", authority="A buyer's regulator",
                                   title="Buyer report", due_at=clock())
    demo.commit()
    row = demo.execute(sa.text("SELECT id, obligation_id FROM notification_record WHERE incident_id = :i "
                               "AND regime_code = 'US-CPSC-15B'"), {"i": glass.id}).one()
    assert row.obligation_id is not None
    demo.execute(sa.text("UPDATE notification_record SET obligation_id = NULL WHERE id = :id"), {"id": row.id})
    demo.commit()
    demo.close()
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0031")
    upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT obligation_id FROM notification_record WHERE id = :id"),
                            {"id": row.id}).scalar() == row.obligation_id
        assert conn.execute(sa.text("SELECT obligation_id FROM notification_record WHERE id = :id"),
                            {"id": added.id}).scalar() is None
