"""An assignee per incident: set on the incident page by the division's QA or head-office QA, audited, shown on the
incident, filterable on the register ("Assigned to me") and listed on My work; checked on the server."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status


def _assign(client, incident_id: int, assignee_id: int | str | None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/notifications/inbox")
    return client.post(f"/incidents/{incident_id}/assignee",
                       data={"csrf_token": token, "assignee_id": "" if assignee_id is None else str(assignee_id)})


def _user(fresh, email: str) -> int:  # type: ignore[no-untyped-def]
    return fresh(sa.select(User.id).where(User.email == email))


def _incident(fresh, title: str) -> int:  # type: ignore[no-untyped-def]
    return fresh(sa.select(Incident.id).where(Incident.title == title))


def test_division_qa_assigns_a_reporter_and_everyone_sees_it(browser_as, fresh, fresh_all):  # type: ignore[no-untyped-def]
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    qa, reporter = browser_as("division.qa@example.com"), browser_as("reporter@example.com")
    assert "Assigned to: nobody" in text(qa.get(f"/incidents/{fire}"))
    chooser = text(qa.get(f"/incidents/{fire}/assignee"))
    assert "Aiko Tanaka (Home Appliances)" in chooser and "Yuki Nakamura" in chooser and "Emma Walsh" not in chooser
    answer = _assign(qa, fire, _user(fresh, "reporter@example.com"))
    assert answer.status_code == 302
    page = text(reporter.get(f"/incidents/{fire}"))
    assert "Assigned to: Aiko Tanaka" in page
    assert "assigned the incident" in page and "Aiko Tanaka" in page
    assert f'href="/incidents/{fire}/assignee"' not in reporter.get(f"/incidents/{fire}").get_data(as_text=True)
    assert f'href="/incidents/{fire}/assignee"' in qa.get(f"/incidents/{fire}").get_data(as_text=True)
    events = fresh_all(sa.select(AuditEvent).where(AuditEvent.incident_id == fire, AuditEvent.action == "assigned"))
    assert [e.changes["assignee"] for e in events] == [[None, "Aiko Tanaka"]]
    assert events[0].actor_id == _user(fresh, "division.qa@example.com")

    mine = text(reporter.get("/incidents/?assigned=me"))
    assert "Refrigerator caught fire in kitchen" in mine and "1 incident" in mine
    assert "Refrigerator caught fire in kitchen" not in text(qa.get("/incidents/?assigned=me"))
    assert "Refrigerator caught fire in kitchen" not in text(qa.get("/incidents/?assigned=nobody"))
    work = text(reporter.get("/my-work"))
    assert "Incidents assigned to you (1)" in work and "Refrigerator caught fire in kitchen" in work

    assert _assign(qa, fire, None).status_code == 302
    assert "Assigned to: nobody" in text(reporter.get(f"/incidents/{fire}"))
    assert fresh(sa.select(Incident.assignee_id).where(Incident.id == fire)) is None


def test_head_office_assigns_itself_to_any_division(browser_as, fresh):  # type: ignore[no-untyped-def]
    cable = fresh(sa.select(Incident.id).join(User, User.id == Incident.created_by_id)
                  .where(User.email == "cable.reporter@example.com").limit(1))
    hq = browser_as("hq.qa@example.com")
    assert _assign(hq, cable, _user(fresh, "hq.qa@example.com")).status_code == 302
    assert "Assigned to: Yuki Nakamura" in text(hq.get(f"/incidents/{cable}"))


def test_only_qa_of_the_division_or_head_office_may_assign(browser_as, fresh):  # type: ignore[no-untyped-def]
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    reporter_id = _user(fresh, "reporter@example.com")
    assert _assign(browser_as("reporter@example.com"), fire, reporter_id).status_code == 403
    assert _assign(browser_as("executive@example.com"), fire, reporter_id).status_code == 403
    assert _assign(browser_as("cable.qa@example.com"), fire, reporter_id).status_code == 404  # may not even read it
    assert browser_as("reporter@example.com").get(f"/incidents/{fire}/assignee").status_code == 403
    assert fresh(sa.select(Incident.assignee_id).where(Incident.id == fire)) is None
    # The page offers the form to neither the reporter nor the executive.
    for email in ("reporter@example.com", "executive@example.com"):
        page = browser_as(email).get(f"/incidents/{fire}").get_data(as_text=True)
        assert f"/incidents/{fire}/assignee" not in page


def test_a_person_who_does_not_work_the_division_is_refused_with_the_reason(browser_as, fresh):  # type: ignore[no-untyped-def]
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    qa = browser_as("division.qa@example.com")
    for email in ("cable.reporter@example.com", "executive@example.com"):
        answer = _assign(qa, fire, _user(fresh, email))
        assert answer.status_code == 422
        assert "does not work incidents of this division" in text(answer)
        assert f'<option value="{_user(fresh, email)}"' not in answer.get_data(as_text=True)
    assert _assign(qa, fire, "x").status_code == 400
    assert fresh(sa.select(Incident.assignee_id).where(Incident.id == fire)) is None


def test_imported_history_takes_no_assignee(browser_as, fresh, demo):  # type: ignore[no-untyped-def]
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    demo.execute(sa.update(Incident).where(Incident.id == fire).values(status=Status.HISTORICAL))
    demo.commit()
    answer = _assign(browser_as("hq.qa@example.com"), fire, _user(fresh, "hq.qa@example.com"))
    assert answer.status_code == 422 and "is not live work" in text(answer)


def test_the_register_export_keeps_the_assigned_filter(browser_as, fresh):  # type: ignore[no-untyped-def]
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    qa = browser_as("division.qa@example.com")
    assert _assign(qa, fire, _user(fresh, "division.qa@example.com")).status_code == 302
    register = qa.get("/incidents/?assigned=me").get_data(as_text=True)
    assert "/imports/export/register.csv?assigned=me" in register
    mine = qa.get("/imports/export/register.json?assigned=me")
    assert mine.status_code == 200
    body = mine.get_data(as_text=True)
    assert "Refrigerator caught fire in kitchen" in body and "Suspected CO release from fan heater" not in body
    assert "Refrigerator caught fire in kitchen" not in qa.get("/imports/export/register.json?assigned=nobody").get_data(as_text=True)
    assert qa.get("/imports/export/register.json?assigned=someone").status_code == 400


def test_assigning_reads_in_japanese(browser_as, fresh, demo):  # type: ignore[no-untyped-def]
    demo.execute(sa.update(User).where(User.email == "division.qa@example.com").values(locale="ja"))
    demo.commit()
    fire = _incident(fresh, "Refrigerator caught fire in kitchen")
    qa = browser_as("division.qa@example.com")
    page = text(qa.get(f"/incidents/{fire}"))
    assert "担当者 : なし" in page or "担当者: なし" in page
    assert "割り当て…" in page
    chooser = text(qa.get(f"/incidents/{fire}/assignee"))
    assert "の担当を割り当て" in chooser and "― なし ―" in chooser
    register = text(qa.get("/incidents/"))
    assert "保存済みビュー" in register and "自分の担当" in register and "選択したものを割り当て…" in register
    refused = _assign(qa, fire, _user(fresh, "cable.reporter@example.com"))
    assert refused.status_code == 422 and "はこの部門のインシデントを担当しません" in text(refused)
