"""The API's notification records, recalls and lessons: the same scoping, rules and audit trail as the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.testing import FlaskClient

from qa_incidents.accounts.models import User
from qa_incidents.api import tokens
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Attachment
from qa_incidents.notifications.models import NotificationRecord

QA, HQ, REPORTER, OTHER = ("division.qa@example.com", "hq.qa@example.com", "reporter@example.com",
                           "cable.reporter@example.com")
EXECUTIVE, ENGINEER = "executive@example.com", "engineer@example.com"
PASSWORD = "demo-password-2026"
LESSON_ROWS = 300


def add_records_recalls_and_lessons(session: so.Session, now: Any) -> dict[str, int]:
    """Incident 1 triaged (its JP-CPSA-35 record), the two demo recalls, and part of the lessons library; committed."""
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity
    from qa_incidents.recalls.seed import seed_demo as seed_recalls
    from qa_incidents.reviews import lessons

    qa = session.scalar(sa.select(User).where(User.email == QA))
    workflow.triage(session, user=qa, incident_id=1, severity=Severity.S1, override_reason="",
                    now=now - timedelta(hours=1))
    seed_recalls(session)
    lessons.import_rows(session, lessons.read_sample()[:LESSON_ROWS], now=now)
    session.commit()
    from qa_incidents.recalls.models import RecallCampaign
    from qa_incidents.reviews.models import Lesson

    return {"record_id": session.scalar(sa.select(NotificationRecord.id).where(
                NotificationRecord.regime_code == "JP-CPSA-35")),
            "recall_id": session.scalar(sa.select(sa.func.min(RecallCampaign.id))),
            "lesson_id": session.scalar(sa.select(sa.func.min(Lesson.id)))}


@pytest.fixture
def ids(demo: so.Session, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return add_records_recalls_and_lessons(demo, clock())


@pytest.fixture
def api(client: FlaskClient, demo: so.Session, clock) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """api(email, method, path, **kw): a request with a bearer token of that demo user."""
    cache: dict[str, str] = {}

    def call(email: str, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        if email not in cache:
            demo.rollback()
            user = demo.scalar(sa.select(User).where(User.email == email))
            cache[email] = tokens.create_token(demo, user=user, name="test client", now=clock())[1]
            demo.commit()
        return client.open(f"/api/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {cache[email]}", **(headers or {})}, **kw)

    return call


def _fresh(demo: so.Session, stmt: Any) -> Any:
    demo.rollback()
    demo.expire_all()
    return demo.scalar(stmt)


# --- notification records ----------------------------------------------------------------------------------------


def test_records_are_listed_with_state_deadline_urgency_and_missing_fields(api, ids):  # type: ignore[no-untyped-def]
    listed = api(QA, "GET", "/incidents/1/notifications")
    assert listed.status_code == 200
    record = next(r for r in listed.get_json() if r["regime_code"] == "JP-CPSA-35")
    assert record["state"] == "required" and record["id"] == ids["record_id"]
    assert record["due_at"] and record["due_timezone"] == "Asia/Tokyo" and record["due_local"].endswith("+09:00")
    assert record["urgency"] in ("ok", "watch", "soon", "critical", "overdue")
    assert "商標" in record["missing_fields"] and "R-HW540" in record["draft"]["製品の名称及び型式"]  # pre-filled from the incident
    assert record["steps"] == ["draft"]  # division QA drafts; approval is head office's signature
    one = api(QA, "GET", f"/incidents/1/notifications/{ids['record_id']}")
    assert one.status_code == 200 and one.headers["ETag"] == f'"{one.get_json()["version"]}"'


@pytest.mark.parametrize("email, status", [(REPORTER, 200), (OTHER, 404), (EXECUTIVE, 200), (ENGINEER, 403)])
def test_records_are_scoped_like_their_incident(api, ids, email, status):  # type: ignore[no-untyped-def]
    assert api(email, "GET", "/incidents/1/notifications").status_code == status
    response = api(email, "GET", f"/incidents/1/notifications/{ids['record_id']}")
    assert response.status_code == status
    if status != 200:
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_record_of_another_incident_is_not_found_under_this_one(api, ids):  # type: ignore[no-untyped-def]
    assert api(HQ, "GET", f"/incidents/2/notifications/{ids['record_id']}").status_code == 404


def test_draft_needs_if_match_saves_keeps_audit_and_refuses_stale_versions(api, ids, demo):  # type: ignore[no-untyped-def]
    url = f"/incidents/1/notifications/{ids['record_id']}"
    version = api(QA, "GET", url).headers["ETag"]
    body = {"fields": {"商標": "Acme Cool"}, "missing_explanation": "Casualty details follow within 10 days."}
    assert api(QA, "PUT", url + "/draft", json=body).status_code == 428
    saved = api(QA, "PUT", url + "/draft", json=body, headers={"If-Match": version})
    assert saved.status_code == 200, saved.get_json()
    record = saved.get_json()
    assert record["state"] == "drafted" and record["draft"]["商標"] == "Acme Cool"
    assert "商標" not in record["missing_fields"] and "R-HW540" in record["draft"]["製品の名称及び型式"]  # the others kept
    assert saved.headers["ETag"] != version
    stale = api(QA, "PUT", url + "/draft", json={"fields": {"商標": "Other"}}, headers={"If-Match": version})
    assert stale.status_code == 412 and stale.get_json()["current_version"] == record["version"]
    event = _fresh(demo, sa.select(AuditEvent).where(AuditEvent.action == "notification_drafted"))
    assert event.changes["draft: 商標"] == ["", "Acme Cool"]
    unknown = api(QA, "PUT", url + "/draft", json={"fields": {"colour": "red"}}, headers={"If-Match": saved.headers["ETag"]})
    assert unknown.status_code == 422 and "fields.colour" in unknown.get_json()["errors"]


@pytest.mark.parametrize("email", [REPORTER, EXECUTIVE])
def test_roles_that_do_not_work_notifications_cannot_draft(api, ids, email):  # type: ignore[no-untyped-def]
    url = f"/incidents/1/notifications/{ids['record_id']}"
    refused = api(email, "PUT", url + "/draft", json={"fields": {}}, headers={"If-Match": "*"})
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "Your role may not do this."


def test_submission_after_the_signed_approval_is_idempotent_and_keeps_the_document(api, ids, demo, clock):  # type: ignore[no-untyped-def]
    from qa_incidents.notifications import records

    url = f"/incidents/1/notifications/{ids['record_id']}"
    submission = {"channel": "METI portal", "authority_reference": "METI-42",
                  "submitted_at": (clock() - timedelta(minutes=5)).isoformat()}
    early = api(QA, "POST", url + "/submission", json=submission)
    assert early.status_code == 403 and "required" in early.get_json()["detail"]  # not approved yet
    api(QA, "PUT", url + "/draft", json={"missing_explanation": "Follows."}, headers={"If-Match": "*"})
    demo.rollback()
    hq = demo.scalar(sa.select(User).where(User.email == HQ))
    records.approve(demo, user=hq, record=demo.get(NotificationRecord, ids["record_id"]), password=PASSWORD,
                    comment="", now=clock() - timedelta(minutes=10))  # the signature: page only; before the sending
    demo.commit()
    attachments = _fresh(demo, sa.select(sa.func.count(Attachment.id)))
    future = api(QA, "POST", url + "/submission", json={**submission, "submitted_at": (clock() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "submitted_at" in future.get_json()["errors"]
    key = {"Idempotency-Key": "submit-jp-1"}
    first = api(QA, "POST", url + "/submission", json=submission, headers=key)
    assert first.status_code == 200, first.get_json()
    done = first.get_json()
    assert done["state"] == "submitted" and done["on_time"] is True and len(done["document_sha256"]) == 64
    assert done["steps"] == ["acknowledge"]
    again = api(QA, "POST", url + "/submission", json=submission, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == done
    assert _fresh(demo, sa.select(sa.func.count(Attachment.id))) == attachments + 1  # one PDF kept, not two
    acknowledged = api(QA, "POST", url + "/acknowledgement",
                       json={"acknowledged_at": clock().isoformat(), "text": "Received, ref. 2026-118"})
    assert acknowledged.status_code == 200 and acknowledged.get_json()["state"] == "acknowledged"
    assert _fresh(demo, sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action.in_(["notification_submitted", "notification_acknowledged"]))) == 2


def test_reopening_is_head_office_only(api, ids):  # type: ignore[no-untyped-def]
    url = f"/incidents/1/notifications/{ids['record_id']}/reopening"
    refused = api(HQ, "POST", url, json={"reason": "New facts"})
    assert refused.status_code == 403 and "required" in refused.get_json()["detail"]  # not marked not-required
    assert api(QA, "POST", url, json={"reason": "New facts"}).status_code == 403


# --- recalls -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("email, divisions", [
    (HQ, {"HA", "CM"}), (EXECUTIVE, {"HA", "CM"}), (REPORTER, {"HA"}), (QA, {"HA"}), (OTHER, {"CM"}),
])
def test_recalls_are_scoped_by_division(api, ids, email, divisions):  # type: ignore[no-untyped-def]
    listed = api(email, "GET", "/recalls")
    assert listed.status_code == 200
    page = listed.get_json()
    assert {r["division_code"] for r in page["items"]} == divisions and page["total"] == len(divisions)
    for recall in api(HQ, "GET", "/recalls").get_json()["items"]:
        expected = 200 if recall["division_code"] in divisions else 404
        assert api(email, "GET", f"/recalls/{recall['id']}").status_code == expected


def test_ids_past_the_id_columns_are_looked_up_as_nothing(api, ids):  # type: ignore[no-untyped-def]
    # INTEGER ids are 32-bit on PostgreSQL: a cursor or id past them lists everything before it, or finds nothing
    everything = api(HQ, "GET", "/recalls").get_json()
    past = api(HQ, "GET", "/recalls?after=4009342391")
    assert past.status_code == 200 and past.get_json()["total"] == everything["total"] > 0
    assert api(HQ, "GET", "/recalls/4009342391").status_code == 404
    assert api(HQ, "GET", "/incidents/4009342391").status_code == 404
    assert api(HQ, "GET", "/complaints?after=4009342391").status_code == 200


def test_engineers_read_no_recalls(api, ids):  # type: ignore[no-untyped-def]
    assert api(ENGINEER, "GET", "/recalls").status_code == 403
    assert api(ENGINEER, "GET", f"/recalls/{ids['recall_id']}").status_code == 403


def test_a_recall_reads_with_its_progress(api, ids):  # type: ignore[no-untyped-def]
    recall = api(OTHER, "GET", f"/recalls/{ids['recall_id']}").get_json()
    assert recall["reference"].startswith("RC-") and recall["status"] == "launched"
    progress = recall["progress"]
    assert progress["totals"]["replaced"] == 4200 + 1900 + 6100 + 3300 == progress["totals"]["remedied"]
    assert progress["completion_rate"] == pytest.approx(15500 / 64000)
    assert progress["completion"] == "24.2 %" and progress["target_met"] is False
    assert set(progress["by_country"]) == {"US", "CA"} and progress["by_country"]["CA"]["replaced"] == 1900
    curve = [point["remedied"] for point in progress["curve"]]
    assert curve and curve == sorted(curve) and curve[-1] <= 15500  # cumulative by week, up to today
    assert recall["incidents"] and recall["remedied"] == 15500


def test_recall_list_filters_and_pages(api, ids):  # type: ignore[no-untyped-def]
    first = api(HQ, "GET", "/recalls?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next_cursor"] and first["total"] == 2
    second = api(HQ, "GET", f"/recalls?limit=1&after={first['next_cursor']}").get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["items"][0]["id"] != second["items"][0]["id"]
    drafts = api(HQ, "GET", "/recalls?status=draft").get_json()
    assert [r["status"] for r in drafts["items"]] == ["draft"]
    bad = api(HQ, "GET", "/recalls?status=lost")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    assert api(OTHER, "GET", "/recalls?incident_id=1").status_code == 404  # another division's incident


# --- lessons -----------------------------------------------------------------------------------------------------


def test_engineers_search_lessons_but_read_no_incidents(api, ids):  # type: ignore[no-untyped-def]
    assert api(ENGINEER, "GET", "/incidents").status_code == 403
    found = api(ENGINEER, "GET", "/lessons?q=pump&limit=3")
    assert found.status_code == 200
    page = found.get_json()
    assert page["total"] >= 4 and len(page["items"]) == 3 and page["next_offset"] == 3
    assert page["estimated"] is False  # a narrow search counts exactly
    assert all("<mark>" in item["snippet_html"].lower() or "pump" in item["title"].lower() for item in page["items"])
    assert page["facets"]["year"] and all(isinstance(f["value"], int) for f in page["facets"]["year"])
    rest = api(ENGINEER, "GET", "/lessons?q=pump&offset=3&limit=100").get_json()
    assert len(rest["items"]) == page["total"] - 3 and rest["next_offset"] is None
    assert not {i["id"] for i in rest["items"]} & {i["id"] for i in page["items"]}


def test_lesson_search_applies_facets(api, ids):  # type: ignore[no-untyped-def]
    everything = api(REPORTER, "GET", "/lessons?limit=1").get_json()
    assert everything["total"] == LESSON_ROWS
    year = everything["facets"]["year"][0]
    only = api(REPORTER, "GET", f"/lessons?year={year['value']}&limit=100").get_json()
    assert only["total"] == year["count"] and {i["year"] for i in only["items"]} == {year["value"]}


def test_a_lesson_and_its_similar_lessons(api, ids, demo):  # type: ignore[no-untyped-def]
    lesson = api(ENGINEER, "GET", f"/lessons/{ids['lesson_id']}")
    assert lesson.status_code == 200 and lesson.get_json()["source_ref"].startswith("FDA-")
    similar = api(ENGINEER, "GET", f"/lessons/{ids['lesson_id']}/similar?limit=4").get_json()
    assert 1 <= len(similar) <= 4 and ids["lesson_id"] not in {s["id"] for s in similar}
    missing = api(ENGINEER, "GET", "/lessons/999999")
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"


def test_the_document_describes_the_new_operations_and_what_stays_on_the_pages(client):  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path in ("/incidents/{incident_id}/notifications/{record_id}/draft", "/recalls/{recall_id}",
                 "/lessons", "/lessons/{lesson_id}/similar"):
        assert path in paths
    assert "If-Match" in {p["name"] for p in paths["/incidents/{incident_id}/notifications/{record_id}/draft"]["put"]["parameters"]}
    assert "password" in document["info"]["description"] and "web pages only" in document["info"]["description"]


def test_a_form_part_without_a_readable_name_is_not_a_server_error(api, ids):  # type: ignore[no-untyped-def]
    body = (b'--B\r\nContent-Disposition: form-data; name="a\nb"\r\n\r\n1\r\n'
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--B--\r\n')
    response = api(QA, "POST", "/incidents/1/attachments", data=body,
                   headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 201


def test_an_id_with_a_line_break_is_a_problem_not_a_page(api):  # type: ignore[no-untyped-def]
    response = api(QA, "GET", "/incidents/%0A1/notifications")
    assert response.status_code == 404 and response.headers["Content-Type"] == "application/problem+json"


def test_a_broad_lesson_search_says_its_counts_are_estimates(api, ids, monkeypatch):  # type: ignore[no-untyped-def]
    from qa_incidents.reviews import search

    monkeypatch.setattr(search, "BROAD_AT_MOST", 2)  # 'pump' matches more than two lessons: a broad search
    broad = api(ENGINEER, "GET", "/lessons?q=pump&limit=3").get_json()
    assert broad["estimated"] is True and broad["total"] >= 3
