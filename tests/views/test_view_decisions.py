"""The incident page's reportability decisions table, signing a decision, and the decision file PDF."""

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Attachment, Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications.models import NotificationRecord
from tests.conftest import csrf_token


def _triaged_glass(demo, clock):
    from qa_incidents.accounts.models import User

    glass = demo.scalar(sa.select(Incident).where(Incident.title.contains("Door glass shattered")))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=glass.id, severity=Severity.S2, override_reason="", now=clock())
    demo.commit()
    record = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == glass.id,
                                                             NotificationRecord.regime_code == "US-CPSC-15B"))
    return glass, record


def test_decisions_table_signing_and_decision_file(browser_as, demo, clock, fresh):
    glass, record = _triaged_glass(demo, clock)
    page = text(browser_as("division.qa@example.com").get(f"/incidents/{glass.id}"))
    table = page.split("Reportability decisions", 1)[1]
    assert "US-CPSC-15B" in table and "To decide" in table
    # Division QA may not sign the decision.
    qa = browser_as("division.qa@example.com")
    path = f"/incidents/{glass.id}/notifications/{record.id}"
    assert qa.post(f"{path}/decide-reportable", data={"csrf_token": csrf_token(qa, path), "decide-reasons": "x",
                                                       "decide-password": "demo-password-2026"}).status_code == 403
    hq = browser_as("hq.qa@example.com")
    assert "Decide: reportable" in text(hq.get(path))
    missing = hq.post(f"{path}/decide-reportable", data={"csrf_token": csrf_token(hq, path), "decide-reasons": "",
                                                          "decide-password": "demo-password-2026"})
    assert missing.status_code == 422 and "Give the reasons." in text(missing)
    done = hq.post(f"{path}/decide-reportable", data={"csrf_token": csrf_token(hq, path),
                                                       "decide-reasons": "Repeated breakage supports a hazard.",
                                                       "decide-password": "demo-password-2026"})
    assert done.status_code == 302
    table = text(hq.get(f"/incidents/{glass.id}")).split("Reportability decisions", 1)[1]
    assert "Reportable" in table and "Repeated breakage supports a hazard." in table and "Yuki Nakamura" in table
    pdf = hq.get(f"/incidents/{glass.id}/decisions.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    kept = fresh(sa.select(Attachment.filename).where(Attachment.incident_id == glass.id,
                                                      Attachment.filename.contains("reportability-decisions")))
    assert kept is not None
