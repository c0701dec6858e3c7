"""Saved views on the register (per user, soft-deleted) and bulk assignment of incidents (each checked and audited,
refusals reported per row)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident, SavedView
from qa_incidents.incidents.rules import Status


def _save(client, name: str, query: str):  # type: ignore[no-untyped-def]
    return client.post("/incidents/views", data={"csrf_token": csrf_token(client, "/notifications/inbox"),
                                                 "name": name, "query": query})


def test_a_user_saves_filters_under_a_name_and_sees_them_as_a_link(browser_as, fresh_all):  # type: ignore[no-untyped-def]
    qa = browser_as("division.qa@example.com")
    page = qa.get("/incidents/?status=reported&sort=aware_asc")
    assert 'name="query" value="status=reported&amp;sort=aware_asc"' in page.get_data(as_text=True)
    answer = _save(qa, "  Reports to   triage ", "status=reported&sort=aware_asc&after=abc&evil=1")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/incidents/?status=reported&sort=aware_asc")
    register = qa.get("/incidents/")
    assert '<a href="/incidents/?status=reported&amp;sort=aware_asc">Reports to triage</a>' in register.get_data(as_text=True)
    views = fresh_all(sa.select(SavedView))
    assert [(v.name, v.query, v.deleted_at) for v in views] == [("Reports to triage", "status=reported&sort=aware_asc", None)]
    assert fresh_all(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "saved_view")) == ["saved"]
    # Per user: another person sees none of them.
    assert "Reports to triage" not in text(browser_as("hq.qa@example.com").get("/incidents/"))


def test_a_refused_name_is_shown_again_with_the_reason(browser_as, fresh_all):  # type: ignore[no-untyped-def]
    qa = browser_as("division.qa@example.com")
    blank = _save(qa, "   ", "status=reported")
    assert blank.status_code == 422 and "Give the view a name." in text(blank)
    assert 'name="query" value="status=reported"' in blank.get_data(as_text=True)
    assert _save(qa, "Mine", "severity=S1").status_code == 302
    again = _save(qa, "mine", "severity=S2")
    assert again.status_code == 422 and "You already have a view named “mine”" in text(again)
    assert 'value="mine"' in again.get_data(as_text=True)  # what was typed is kept
    assert len(fresh_all(sa.select(SavedView))) == 1


def test_only_the_owner_deletes_a_view_and_it_is_kept_marked_deleted(browser_as, fresh, fresh_all):  # type: ignore[no-untyped-def]
    qa, hq = browser_as("division.qa@example.com"), browser_as("hq.qa@example.com")
    assert _save(qa, "S1 cases", "severity=S1").status_code == 302
    view_id = fresh(sa.select(SavedView.id))
    token = csrf_token(hq, "/notifications/inbox")
    assert hq.post(f"/incidents/views/{view_id}/delete", data={"csrf_token": token}).status_code == 404
    assert ">S1 cases</a>" in qa.get("/incidents/").get_data(as_text=True)
    token = csrf_token(qa, "/notifications/inbox")
    assert qa.post(f"/incidents/views/{view_id}/delete", data={"csrf_token": token}).status_code == 302
    after = qa.get("/incidents/")
    assert "View “S1 cases” deleted." in text(after) and ">S1 cases</a>" not in after.get_data(as_text=True)
    kept = fresh_all(sa.select(SavedView))
    assert len(kept) == 1 and kept[0].deleted_at is not None  # soft: the row stays
    assert qa.post(f"/incidents/views/{view_id}/delete", data={"csrf_token": token}).status_code == 404


def _bulk(client, ids: list[int], assignee_id: int | None):  # type: ignore[no-untyped-def]
    return client.post("/incidents/bulk-assign", data={
        "csrf_token": csrf_token(client, "/notifications/inbox"), "incident_id": [str(i) for i in ids],
        "assignee_id": "" if assignee_id is None else str(assignee_id), "query": "status=reported"})


def test_head_office_assigns_several_incidents_and_each_refusal_is_reported(browser_as, fresh, fresh_all, demo):  # type: ignore[no-untyped-def]
    hq = browser_as("hq.qa@example.com")
    register = hq.get("/incidents/").get_data(as_text=True)
    assert 'form="bulk"' in register and 'action="/incidents/bulk-assign"' in register
    ids = [i for i in fresh_all(sa.select(Incident.id).order_by(Incident.id))][:3]
    chooser = hq.get("/incidents/bulk-assign?" + "&".join(f"incident_id={i}" for i in ids))
    refs = fresh_all(sa.select(Incident.reference).where(Incident.id.in_(ids)).order_by(Incident.id))
    assert chooser.status_code == 200 and "3 incidents selected" in text(chooser)
    assert all(ref in text(chooser) for ref in refs)
    history = ids[2]
    demo.execute(sa.update(Incident).where(Incident.id == history).values(status=Status.HISTORICAL))
    demo.commit()
    reporter = fresh(sa.select(User.id).where(User.email == "reporter@example.com"))
    hq_id = fresh(sa.select(User.id).where(User.email == "hq.qa@example.com"))
    answer = _bulk(hq, ids, hq_id)
    assert answer.status_code == 200
    page = text(answer)
    assert "Assigned: 2 · already so: 0 · refused: 1" in page
    history_ref = fresh(sa.select(Incident.reference).where(Incident.id == history))
    assert re.search(rf"{history_ref} {history_ref} is not live work", page)
    assigned = fresh_all(sa.select(Incident.assignee_id).where(Incident.id.in_(ids)).order_by(Incident.id))
    assert assigned == [hq_id, hq_id, None]
    events = fresh_all(sa.select(AuditEvent.incident_id).where(AuditEvent.action == "assigned").order_by(AuditEvent.id))
    assert events == ids[:2]  # one event per incident changed
    # A person of one division cannot be given another division's incidents: refused row by row.
    cable = fresh(sa.select(Incident.id).join(User, User.id == Incident.created_by_id)
                  .where(User.email == "cable.reporter@example.com").limit(1))
    mixed = text(_bulk(hq, [ids[0], cable], reporter))
    assert "Assigned: 1 · already so: 0 · refused: 1" in mixed and "does not work incidents of this division" in mixed


def test_division_qa_bulk_assigns_only_its_own_division_and_others_may_not_at_all(browser_as, fresh):  # type: ignore[no-untyped-def]
    qa = browser_as("division.qa@example.com")
    own = fresh(sa.select(Incident.id).join(User, User.id == Incident.created_by_id)
                .where(User.email == "reporter@example.com").limit(1))
    cable = fresh(sa.select(Incident.id).join(User, User.id == Incident.created_by_id)
                  .where(User.email == "cable.reporter@example.com").limit(1))
    me = fresh(sa.select(User.id).where(User.email == "division.qa@example.com"))
    page = text(_bulk(qa, [own, cable], me))
    assert "Assigned: 1 · already so: 0 · refused: 1" in page and f"#{cable} No such incident." in page
    for email in ("reporter@example.com", "executive@example.com"):
        client = browser_as(email)
        assert 'form="bulk"' not in client.get("/incidents/").get_data(as_text=True)
        assert _bulk(client, [own], me).status_code == 403
    assert fresh(sa.select(Incident.assignee_id).where(Incident.id == cable)) is None
    nothing = _bulk(qa, [], me)
    assert nothing.status_code == 422 and "Select at least one incident." in text(nothing)
