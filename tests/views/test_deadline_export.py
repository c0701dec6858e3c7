"""The deadlines export reads the stored notification records (no obligations worked out per incident) a page at a
time, and streams the file: the same few queries whatever the number of incidents."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from view_helpers import logged_in

from qa_incidents.api import exports
from qa_incidents.incidents.models import Incident
from qa_incidents.notifications import obligations, service
from qa_incidents.notifications.models import NotificationRecord


@pytest.fixture
def worked(demo, clock):  # type: ignore[no-untyped-def]
    """The demo with the CO heater case escalated (its regulator notification records derived)."""
    from qa_incidents.accounts.models import User
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity
    from qa_incidents.seed import DEMO_PASSWORD

    def user(email: str) -> User:
        return demo.scalar(sa.select(User).where(User.email == email))

    heater = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    now = clock() - timedelta(hours=6)
    workflow.triage(demo, user=user("division.qa@example.com"), incident_id=heater.id, severity=Severity.S1,
                    override_reason="", now=now)
    workflow.request_escalation(demo, user=user("division.qa@example.com"), incident_id=heater.id, reason="CO.",
                                now=now + timedelta(minutes=30))
    workflow.decide_escalation(demo, user=user("hq.qa@example.com"), incident_id=heater.id, approve=True,
                               password=DEMO_PASSWORD, comment="Go.", now=now + timedelta(hours=1))
    demo.commit()
    return demo


@pytest.fixture
def demo_user(demo):  # type: ignore[no-untyped-def]
    from qa_incidents.accounts.models import User

    return lambda email: demo.scalar(sa.select(User).where(User.email == email))


def _never(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("obligations were worked out for the export")


def test_the_deadline_export_lists_the_stored_records(worked, demo_user, monkeypatch, engine):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(service, "obligations_for", _never)
    monkeypatch.setattr(obligations, "assess", _never)
    records = list(worked.scalars(sa.select(NotificationRecord).where(
        NotificationRecord.state.in_(["required", "drafted", "approved"]))))
    assert records
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    hq = demo_user("hq.qa@example.com")
    rows = list(csv.DictReader(io.StringIO(exports.render("deadlines", "csv", session=worked, user=hq)
                                           .decode("utf-8").lstrip("\ufeff"))))
    assert len(statements) <= 4  # a page of records with a deadline, a page of those without (+ the user's reads)
    assert sorted((r["reference"], r["regime_code"]) for r in rows) == sorted(
        (worked.get(Incident, r.incident_id).reference, r.regime_code) for r in records)
    heater = next(r for r in rows if r["title"] == "Suspected CO release from fan heater")
    assert heater["due_at"] and heater["time_zone"] and heater["due_local"]
    assert [r["due_at"] for r in rows if r["due_at"]] == sorted(r["due_at"] for r in rows if r["due_at"])
    # scoped like the board: the cable reporter sees none of Home Appliances' records
    cable = exports.render("deadlines", "json", session=worked, user=demo_user("cable.reporter@example.com"))
    assert not [i for i in json.loads(cable)["items"] if i["division"] == "HA"]


def test_the_export_is_streamed(worked, app):  # type: ignore[no-untyped-def]
    client = logged_in(app, "hq.qa@example.com")
    for fmt in ("csv", "json"):
        response = client.get(f"/imports/export/deadlines.{fmt}", buffered=False)
        assert response.status_code == 200 and response.is_streamed
        body = response.get_data()
        response.close()
        assert b"Suspected CO release from fan heater" in body
    assert json.loads(client.get("/imports/export/register.json").get_data())["items"]
