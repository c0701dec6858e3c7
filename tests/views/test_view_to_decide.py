"""A record whose reportability is still to be decided reads "To decide" with its decision due date and owner
everywhere records are listed (deadline board, its export, the incident page, My work, the status report's next
steps), never "Required"; only a signed "reportable" decision makes it "Required"."""

from __future__ import annotations

import csv
import html
import io
import re

import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import TO_DECIDE, shown_state
from tests.conftest import csrf_token

CODE = "US-CPSC-15B"


def _row(response, *needles: str) -> str:
    """The text of the one table row holding every needle."""
    body = response.get_data(as_text=True)
    found = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", tr)))
             for tr in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S) if all(n in tr for n in needles)]
    assert len(found) == 1, found
    return found[0]


def _pending_glass(demo, clock):
    glass = demo.scalar(sa.select(Incident).where(Incident.title.contains("Door glass shattered")))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    if glass.status.value == "reported":
        workflow.triage(demo, user=qa, incident_id=glass.id, severity=Severity.S2, override_reason="", now=clock())
    demo.commit()
    record = demo.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == glass.id,
                                                             NotificationRecord.regime_code == CODE))
    assert record.decision_pending and record.state == "required" and record.due_at is not None
    return glass, record


def test_shown_state_is_to_decide_only_while_the_decision_is_pending():
    assert shown_state("required", decision_pending=True) == TO_DECIDE
    assert shown_state("required", decision_pending=False) == "required"
    assert shown_state("not_required", decision_pending=True) == "not_required"


def test_a_pending_decision_reads_to_decide_until_signed_reportable(browser_as, demo, clock):
    glass, record = _pending_glass(demo, clock)
    owner = record.owner.name
    hq = browser_as("hq.qa@example.com")

    board = _row(hq.get("/notifications/board"), CODE, glass.reference)
    assert "To decide" in board and "Required" not in board
    assert "Decision due" in board and owner in board and "decides reportability" in board

    exported = list(csv.DictReader(io.StringIO(hq.get("/imports/export/board.csv").get_data(as_text=True).lstrip("\ufeff"))))
    [line] = [r for r in exported if r["regime_code"] == CODE and r["reference"] == glass.reference]
    assert line["state"] == "to_decide" and line["owner"] == owner and line["due_at"]

    page = hq.get(f"/incidents/{glass.id}")
    listed = _row(page, f"/notifications/{record.id}\"", "badge state-")
    assert "To decide" in listed and "Decision due" in listed and "Required" not in listed
    assert f"Decision owner: {owner}" in listed
    obligation = _row(page, "verdict-", CODE)
    assert "To decide" in obligation and "Decision due" in obligation and "Required" not in obligation

    mine = _row(browser_as("division.qa@example.com").get("/my-work"), CODE, glass.reference)
    assert "To decide" in mine and "Decision due" in mine and "Required" not in mine

    path = f"/incidents/{glass.id}/notifications/{record.id}"
    assert 'id="record-state">To decide<' in hq.get(path).get_data(as_text=True)
    done = hq.post(f"{path}/decide-reportable", data={"csrf_token": csrf_token(hq, path),
                                                       "decide-reasons": "Repeated breakage supports a hazard.",
                                                       "decide-password": "demo-password-2026"})
    assert done.status_code == 302

    board = _row(hq.get("/notifications/board"), CODE, glass.reference)
    assert "Required" in board and "To decide" not in board and "Decision due" not in board
    exported = list(csv.DictReader(io.StringIO(hq.get("/imports/export/board.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["state"] for r in exported if r["regime_code"] == CODE and r["reference"] == glass.reference] == ["required"]
    listed = _row(hq.get(f"/incidents/{glass.id}"), f"/notifications/{record.id}\"", "badge state-")
    assert "Required" in listed and "To decide" not in listed


def test_the_status_report_lists_a_pending_decision_as_to_decide(demo, clock):
    from qa_incidents.reports import content

    glass, record = _pending_glass(demo, clock)
    built = content.build(demo, glass, now=clock(), since=None, narrative="", triggers=[])
    [entry] = [n for n in built["notifications"] if n["regime"] == CODE]
    assert entry["state"] == "to_decide"
    [step] = [s for s in built["next_steps"] if s.get("regime") == CODE]
    assert step["kind"] == "decide" and step["due"] == record.due_at.isoformat()
