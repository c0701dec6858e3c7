"""A user moved to another division sees nothing more of the old division: not on My work, not under "Waiting for
your acknowledgement" (the lists go through the one scoping rule, core.permissions.scoped)."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import Division, User
from qa_incidents.incidents.models import Incident
from qa_incidents.reports import service as reports
from qa_incidents.reports.models import DistributionEntry

HOME_APPLIANCES_TITLES = ["Refrigerator caught fire", "Suspected CO release from fan heater",
                          "Door glass shattered during drying cycle", "Indoor unit emitted smoke"]


def _move(demo, email: str, code: str) -> None:  # type: ignore[no-untyped-def]
    division = demo.scalar(sa.select(Division).where(Division.code == code))
    demo.execute(sa.update(User).where(User.email == email).values(division_id=division.id))
    demo.commit()


def _report_to(demo, clock, email: str) -> Incident:  # type: ignore[no-untyped-def]
    """A status report of a Home Appliances incident, sent to email (on the distribution list)."""
    demo.add(DistributionEntry(email=email, division_id=None, severities=[], active=True, created_at=clock()))
    incident = demo.scalar(sa.select(Incident).where(Incident.title.startswith("Refrigerator caught fire")))
    reports.issue(demo, incident=incident, now=clock())
    demo.commit()
    return incident


def test_my_work_and_reports_follow_the_users_division(demo, clock, browser_as):  # type: ignore[no-untyped-def]
    incident = _report_to(demo, clock, "division.qa@example.com")
    qa = browser_as("division.qa@example.com")
    before = text(qa.get("/my-work"))
    assert incident.reference in before  # while in Home Appliances, the report waits for them
    assert incident.reference in text(qa.get("/status-reports"))

    _move(demo, "division.qa@example.com", "CM")
    _move(demo, "reporter@example.com", "CM")
    for email in ("division.qa@example.com", "reporter@example.com"):
        client = browser_as(email)
        for path in ("/my-work", "/status-reports"):
            page = client.get(path)
            assert page.status_code == 200
            shown = text(page)
            assert incident.reference not in shown, (email, path)
            assert not [t for t in HOME_APPLIANCES_TITLES if t in shown], (email, path)
        assert client.get(f"/incidents/{incident.id}").status_code == 404  # and indeed they cannot open it
