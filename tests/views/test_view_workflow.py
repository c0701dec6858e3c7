"""Workflow pages through the test client: triage, forged actions refused per role, the queue,
My work, signed decisions and the severity matrix pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, text

from qa_incidents.core.signatures import Signature
from qa_incidents.incidents.models import Incident

EMAILS = {
    "reporter": "reporter@example.com",
    "division_qa": "division.qa@example.com",
    "other_division_reporter": "cable.reporter@example.com",
    "head_office_qa": "hq.qa@example.com",
    "executive": "executive@example.com",
    "engineer": "engineer@example.com",
    "admin": "admin@example.com",
}


def matrix_post(token):
    """What a browser posts for the unchanged default matrix (multi-selects send one pair per chosen option)."""
    from werkzeug.datastructures import MultiDict

    from qa_incidents.incidents.severity import DEFAULT_MATRIX

    data = MultiDict({"csrf_token": token, "fallback": "S4", "similar_window_days": "365", "note": ""})
    for i, rule in enumerate(DEFAULT_MATRIX.rules):
        data[f"rules-{i}-code"] = rule.id
        data[f"rules-{i}-severity"] = rule.severity.value
        data[f"rules-{i}-note"] = rule.note
        data[f"rules-{i}-min_units"] = "" if rule.min_units is None else str(rule.min_units)
        data[f"rules-{i}-min_similar"] = "" if rule.min_similar is None else str(rule.min_similar)
        for h in rule.harm:
            data.add(f"rules-{i}-harm", h.value)
        for h in rule.hazards:
            data.add(f"rules-{i}-hazards", h.value)
    return data


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})


def triage_and_escalate(browser_as):
    qa = browser_as(EMAILS["division_qa"])
    response = post(qa, "/incidents/1/triage", severity="S1", override_reason="")
    assert response.status_code == 302
    response = post(qa, "/incidents/1/actions/request_escalation", reason="Fire, 48,200 units")
    assert response.status_code == 302
    return qa


def test_triage_page_shows_suggestion_and_why(browser_as):
    page = browser_as(EMAILS["division_qa"]).get("/incidents/1/triage")
    assert page.status_code == 200
    shown = text(page)
    assert "The matrix suggests S1 critical" in shown
    assert "Rule F1: harm is Fire and (units in the field ≥ 10,000 or similar reports ≥ 3) → S1" in shown
    assert form_with(page, "severity").selects["severity"][0].value == "S1"


def test_override_without_reason_is_refused_and_keeps_the_choice(browser_as, fresh):
    qa = browser_as(EMAILS["division_qa"])
    response = post(qa, "/incidents/1/triage", severity="S3", override_reason="")
    assert response.status_code == 422
    assert "You chose S3 but the matrix suggests S1: say why." in text(response)
    assert [o.value for o in form_with(response, "severity").selects["severity"] if o.selected] == ["S3"]
    assert fresh(sa.select(Incident.severity).where(Incident.id == 1)) is None


@pytest.mark.parametrize("who", ["reporter", "other_division_reporter", "executive", "engineer", "admin"])
def test_roles_that_may_not_triage_are_refused(browser_as, fresh, who):
    client = browser_as(EMAILS[who])
    response = post(client, "/incidents/1/triage", severity="S1", override_reason="")
    assert response.status_code in (403, 404)
    assert fresh(sa.select(Incident.status).where(Incident.id == 1)).value == "reported"


@pytest.mark.parametrize("action", ["request_escalation", "contain", "start_review", "close"])
@pytest.mark.parametrize("who", ["division_qa", "head_office_qa"])
def test_forged_actions_from_the_wrong_state_are_refused(browser_as, fresh, action, who):
    """Incident 1 is 'reported' and untriaged: none of these may happen yet, whoever asks."""
    response = post(browser_as(EMAILS[who]), f"/incidents/1/actions/{action}", reason="forged")
    assert response.status_code == 403
    assert fresh(sa.select(Incident.status).where(Incident.id == 1)).value == "reported"


def test_blocked_action_says_why_on_the_page(browser_as):
    qa = browser_as(EMAILS["division_qa"])
    post(qa, "/incidents/4/triage", severity="S3", override_reason="")
    page = text(qa.get("/incidents/4"))
    assert "Request escalation: Only S1 and S2 incidents are escalated to head office." in page


def test_queue_and_signed_approval(browser_as, fresh):
    triage_and_escalate(browser_as)
    hq = browser_as(EMAILS["head_office_qa"])
    queue = text(hq.get("/escalations/"))
    assert "1 request waiting, oldest first." in queue and "Refrigerator caught fire" in queue

    wrong = post(hq, "/incidents/1/escalation", decision="approve", comment="Agreed", password="wrong-password")
    assert wrong.status_code == 422
    assert "The password is not correct: nothing was signed." in text(wrong)
    assert form_with(wrong, "comment").values["comment"] == "Agreed"
    assert form_with(wrong, "comment").values["password"] == ""
    assert fresh(sa.select(sa.func.count(Signature.id))) == 0

    ok = post(hq, "/incidents/1/escalation", decision="approve", comment="Agreed", password="demo-password-2026")
    assert ok.status_code == 302
    page = hq.get("/incidents/1")
    shown = text(page)
    assert "approved escalation — Yuki Nakamura" in shown and "Escalated" in shown
    sha = fresh(sa.select(Signature.content_sha256))
    assert sha in shown
    assert "No escalation is waiting for a decision." in text(hq.get("/escalations/"))


def test_only_head_office_sees_the_queue_and_decides(browser_as):
    triage_and_escalate(browser_as)
    for who in ("division_qa", "reporter", "executive"):
        client = browser_as(EMAILS[who])
        assert client.get("/escalations/").status_code == 403
        response = post(client, "/incidents/1/escalation", decision="approve", comment="", password="demo-password-2026")
        assert response.status_code == 403


def test_my_work_lists_what_waits(browser_as):
    page = text(browser_as(EMAILS["division_qa"]).get("/my-work"))
    assert "Incidents to triage (4)" in page and "Refrigerator caught fire" in page
    assert "Extension cord" not in page  # another division's
    triage_and_escalate(browser_as)
    hq = text(browser_as(EMAILS["head_office_qa"]).get("/my-work"))
    assert "Escalations to decide (1)" in hq


def test_matrix_page_and_admin_edit(browser_as):
    page = text(browser_as(EMAILS["division_qa"]).get("/severity-matrix"))
    assert "Severity matrix version 1" in page and "D1" in page and "Edit matrix" not in page
    assert browser_as(EMAILS["division_qa"]).get("/severity-matrix/edit").status_code == 403
    assert browser_as(EMAILS["engineer"]).get("/severity-matrix").status_code == 403

    admin = browser_as(EMAILS["admin"])
    assert admin.get("/severity-matrix/edit").status_code == 200
    data = matrix_post(csrf_token(admin, "/severity-matrix/edit"))
    missing_note = admin.post("/severity-matrix/edit", data=data)
    assert missing_note.status_code == 422 and "Say why the matrix changes." in text(missing_note)
    data["rules-3-severity"] = "S1"  # rule F2: a fire is S1 from now on
    data["note"] = "All fires are S1"
    saved = admin.post("/severity-matrix/edit", data=data)
    assert saved.status_code == 302
    page = admin.get("/severity-matrix")
    assert "Severity matrix version 2" in text(page)
    assert "Severity matrix version 2 saved." in flashes(page)
    history = text(page).split("Change history", 1)[1]
    assert "Sam Admin · version 2" in history
    assert "rule F2 harm is Fire → S2 harm is Fire → S1" in history and "All fires are S1" in history


def test_matrix_edit_marks_the_faulty_row(browser_as, fresh):
    admin = browser_as(EMAILS["admin"])
    data = matrix_post(csrf_token(admin, "/severity-matrix/edit"))
    data["rules-3-code"] = "F1"  # the fourth row now repeats the third row's identifier
    data["note"] = "Tidy identifiers"
    response = admin.post("/severity-matrix/edit", data=data)
    assert response.status_code == 422
    assert "The matrix was not saved: correct the rows marked below." in flashes(response)
    page = response.get_data(as_text=True)
    row = page.split('name="rules-3-code"', 1)[1].split("</td>", 1)[0]
    assert "Rule identifiers must be unique." in row
    assert not any("rules-" in message for message in flashes(response))
    assert 'name="rules-3-code" type="text" value="F1"' in page or 'value="F1"' in row
    assert "Severity matrix version 1" in text(admin.get("/severity-matrix"))
