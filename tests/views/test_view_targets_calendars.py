"""The internal targets page and the holiday calendar form: who may change them, errors re-shown, results shown."""

from __future__ import annotations

import pytest
from view_helpers import csrf_token

from qa_incidents.notifications import deadlines


@pytest.fixture(autouse=True)
def _clean_engine_policy():
    yield
    deadlines.INTERNAL_TARGETS.clear()
    deadlines.CALENDAR_ADJUSTMENTS.clear()
    deadlines.CALENDAR_ADJUSTMENT_VERSIONS.clear()


def test_targets_page_shows_rule_and_target_and_refuses_other_roles(demo, browser_as):
    client = browser_as("division.qa@example.com")
    page = client.get("/deadlines/targets").get_data(as_text=True)
    assert "JP-CPSA-35" in page and "Set a target" not in page
    token = csrf_token(client, "/deadlines/calculator")
    assert client.post("/deadlines/targets", data={"regime": "JP-CPSA-35", "amount": "7", "unit": "days",
                                                   "note": "x", "csrf_token": token}).status_code == 403
    client = browser_as("hq.qa@example.com")
    token = csrf_token(client, "/deadlines/targets")
    bad = client.post("/deadlines/targets", data={"regime": "JP-CPSA-35", "amount": "seven", "unit": "days",
                                                  "note": "Company rule", "csrf_token": token})
    assert bad.status_code == 422 and 'value="Company rule"' in bad.get_data(as_text=True)
    done = client.post("/deadlines/targets", data={"regime": "JP-CPSA-35", "amount": "7", "unit": "days",
                                                   "note": "Company rule", "csrf_token": token})
    assert done.status_code == 302
    page = client.get("/deadlines/targets").get_data(as_text=True)
    assert "7 days" in page and "Company rule" in page


def test_calendar_page_offers_the_form_to_admins_only_and_shows_the_changes(demo, browser_as):
    client = browser_as("hq.qa@example.com")
    token = csrf_token(client, "/deadlines/calculator")
    assert "Add or remove a day" not in client.get("/deadlines/calendars?year=2026").get_data(as_text=True)
    assert client.post("/deadlines/calendars", data={"calendar": "JP-ADMIN-HOLIDAYS", "day": "2026-03-11",
                                                     "action": "add", "name": "x", "source": "y",
                                                     "csrf_token": token}).status_code == 403
    client = browser_as("admin@example.com")
    token = csrf_token(client, "/deadlines/calendars")
    bad = client.post("/deadlines/calendars", data={"calendar": "JP-ADMIN-HOLIDAYS", "day": "2026-03-11",
                                                    "action": "add", "name": "Day of mourning", "source": "",
                                                    "csrf_token": token})
    assert bad.status_code == 422 and 'value="Day of mourning"' in bad.get_data(as_text=True)
    done = client.post("/deadlines/calendars", data={"calendar": "JP-ADMIN-HOLIDAYS", "day": "2026-03-11",
                                                     "action": "add", "name": "Day of mourning",
                                                     "source": "Cabinet Order No. 1 (test)", "csrf_token": token})
    assert done.status_code == 302
    page = client.get("/deadlines/calendars?year=2026").get_data(as_text=True)
    assert "Cabinet Order No. 1 (test)" in page and "2026-03-11" in page and "adjustments v1" in page


def test_record_page_and_board_show_the_target_beside_the_legal_deadline(demo, clock, browser_as):
    import sqlalchemy as sa

    from qa_incidents.accounts.models import User
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.rules import Severity
    from qa_incidents.notifications import policy
    from qa_incidents.notifications.models import NotificationRecord

    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    policy.set_target(demo, user=hq, regime_code="JP-CPSA-35", amount=3, unit="days", note="Company rule", now=clock())
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    demo.commit()
    record = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == fire.id,
                                                             NotificationRecord.regime_code == "JP-CPSA-35"))
    client = browser_as("division.qa@example.com")
    page = client.get(f"/incidents/{fire.id}/notifications/{record.id}").get_data(as_text=True)
    assert 'id="internal-target"' in page and "(warnings follow the target)" in page
    assert "Internal target:" in client.get(f"/incidents/{fire.id}").get_data(as_text=True)
    assert "Internal target:" in client.get("/notifications/board").get_data(as_text=True)


def test_a_change_made_by_another_worker_is_followed_after_the_refresh_time(demo, clock, app, browser_as):
    from qa_incidents.notifications import policy
    from qa_incidents.notifications.models import InternalTarget

    client = browser_as("hq.qa@example.com")
    demo.add(InternalTarget(regime_code="JP-CPSA-35", hours=48, note="set elsewhere", set_at=clock()))
    demo.commit()
    client.get("/notifications/board")
    assert "JP-CPSA-35" not in deadlines.INTERNAL_TARGETS  # read at start, kept for REFRESH_SECONDS
    app.extensions["qa_policy_loaded"] -= policy.REFRESH_SECONDS + 1
    client.get("/notifications/board")
    assert deadlines.INTERNAL_TARGETS["JP-CPSA-35"] == 48
