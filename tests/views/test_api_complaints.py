"""The complaints API: logging with safety flags, division scoping, contact data by role, signals read and dismissed."""

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
from qa_incidents.complaints import rules, service
from qa_incidents.complaints.models import Complaint, ComplaintSignal
from qa_incidents.core.audit import AuditEvent

QA, HQ, REPORTER, OTHER = ("division.qa@example.com", "hq.qa@example.com", "reporter@example.com",
                           "cable.reporter@example.com")
EXECUTIVE, ENGINEER = "executive@example.com", "engineer@example.com"


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


def _body(**extra: Any) -> dict[str, Any]:
    return {"external_id": "CC-1", "model": "R-S38", "country": "JP", "symptom": "ODOUR",
            "text": "Burning smell and smoke from the back of the fridge", "customer_name": "Hanako Yamada",
            "customer_contact": "hanako@example.jp", **extra}


def test_a_logged_complaint_is_flagged_scoped_and_its_contact_shown_only_to_qa(api, demo):  # type: ignore[no-untyped-def]
    created = api(REPORTER, "POST", "/complaints", json=_body())
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["flagged"] is True and "smoke" in data["safety_terms"] and data["source"] == "api"
    assert data["customer_name"] is None  # a reporter logs contact data but does not read it back
    assert created.headers["Location"].endswith(f"/api/v1/complaints/{data['id']}")
    demo.rollback()
    stored = demo.get(Complaint, data["id"])
    assert stored.customer_contact == "hanako@example.jp" and stored.flagged
    assert demo.scalar(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "complaint",
                                                          AuditEvent.entity_id == data["id"])) == "created"

    read = api(QA, "GET", f"/complaints/{data['id']}").get_json()
    assert (read["customer_name"], read["customer_contact"]) == ("Hanako Yamada", "hanako@example.jp")
    assert api(EXECUTIVE, "GET", f"/complaints/{data['id']}").get_json()["customer_contact"] is None
    assert api(OTHER, "GET", f"/complaints/{data['id']}").status_code == 404  # another division's complaint
    assert api(ENGINEER, "GET", f"/complaints/{data['id']}").status_code == 403
    listing = api(QA, "GET", "/complaints?flagged=true&linked=false").get_json()
    assert [c["id"] for c in listing["items"]] == [data["id"]] and listing["total"] == 1
    assert api(OTHER, "GET", "/complaints").get_json()["total"] == 0


def _division(session: so.Session, code: str) -> int:
    from qa_incidents.accounts.models import Division

    return session.scalar(sa.select(Division.id).where(Division.code == code))


def test_bad_complaints_get_json_errors_and_nothing_is_stored(api, demo):  # type: ignore[no-untyped-def]
    assert api(REPORTER, "POST", "/complaints", json=_body()).status_code == 201
    again = api(REPORTER, "POST", "/complaints", json=_body(text="Another call"))
    assert again.status_code == 422 and "already recorded" in again.get_json()["errors"]["external_id"]
    bad = api(REPORTER, "POST", "/complaints", json=_body(external_id="CC-2", country="Japan", channel="pigeon"))
    assert bad.status_code == 422 and {"country", "channel"} <= set(bad.get_json()["errors"])
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    foreign = api(REPORTER, "POST", "/complaints", json=_body(external_id="CC-3", model="NO-SUCH-MODEL",
                                                              division_id=_division(demo, "CM")))
    assert foreign.status_code == 422 and "may not log" in foreign.get_json()["errors"]["model"]
    other = api(OTHER, "POST", "/complaints", json=_body(external_id="CC-4"))  # R-S38 belongs to another division
    assert other.status_code == 422 and "may not log" in other.get_json()["errors"]["model"]
    assert api(EXECUTIVE, "POST", "/complaints", json=_body(external_id="CC-5")).status_code == 403
    future = api(REPORTER, "POST", "/complaints", json=_body(external_id="CC-6", received_at="2999-01-01T00:00:00Z"))
    assert future.status_code == 422 and "future" in future.get_json()["errors"]["received_at"]
    assert api(REPORTER, "POST", "/complaints", data="{", content_type="application/json").status_code == 400
    assert api(REPORTER, "GET", "/complaints?limit=0").status_code == 422
    assert api(REPORTER, "GET", "/complaints/99999").status_code == 404
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1


def add_complaints_and_a_signal(session: so.Session, now: Any) -> dict[str, int]:
    """A rising noise on R-S38 (history of one a week, nine this week), scanned into a signal; committed."""
    qa = session.scalar(sa.select(User).where(User.email == QA))
    for week in range(1, 16):
        service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
            source="test", external_id=f"h{week}", model="R-S38", symptom="NOISE", country="JP",
            received_at=now - timedelta(weeks=week), text="Compressor hums"))
    for k in range(9):
        service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
            source="test", external_id=f"n{k}", model="R-S38", symptom="NOISE", country="JP",
            received_at=now - timedelta(hours=k + 1), text="Compressor hums and rattles"))
    assert service.scan(session, now=now).raised == 1
    session.commit()
    return {"complaint_id": session.scalar(sa.select(sa.func.min(Complaint.id))),
            "signal_id": session.scalar(sa.select(ComplaintSignal.id))}


def test_signals_are_read_with_their_complaints_and_dismissed_with_a_reason(api, demo, clock):  # type: ignore[no-untyped-def]
    signal_id = add_complaints_and_a_signal(demo, clock())["signal_id"]

    listing = api(HQ, "GET", "/complaint-signals?status=open").get_json()
    assert [s["id"] for s in listing["items"]] == [signal_id] and listing["items"][0]["observed"] == 9
    assert api(OTHER, "GET", "/complaint-signals").get_json()["total"] == 0
    assert api(OTHER, "GET", f"/complaint-signals/{signal_id}").status_code == 404
    detail = api(EXECUTIVE, "GET", f"/complaint-signals/{signal_id}").get_json()
    assert len(detail["complaint_ids"]) == 9 and detail["series"][-1]["complaints"] == 9

    assert api(EXECUTIVE, "POST", f"/complaint-signals/{signal_id}/dismiss", json={"reason": "noise"}).status_code == 403
    assert api(REPORTER, "POST", f"/complaint-signals/{signal_id}/dismiss", json={"reason": "noise"}).status_code == 403
    empty = api(QA, "POST", f"/complaint-signals/{signal_id}/dismiss", json={"reason": "  "})
    assert empty.status_code == 422 and "Say why" in empty.get_json()["errors"]["reason"]
    done = api(QA, "POST", f"/complaint-signals/{signal_id}/dismiss", json={"reason": "Known hum, firmware fixed"})
    assert done.status_code == 200 and done.get_json()["status"] == "dismissed"
    again = api(QA, "POST", f"/complaint-signals/{signal_id}/dismiss", json={"reason": "again"})
    assert again.status_code == 422
    demo.rollback()
    assert demo.scalar(sa.select(AuditEvent.changes).where(AuditEvent.entity_type == "complaint_signal",
                                                           AuditEvent.action == "dismissed"))["reason"] == \
        [None, "Known hum, firmware fixed"]


def test_the_openapi_document_describes_the_complaint_operations(client):  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/complaints", "/complaints/{complaint_id}", "/complaint-signals", "/complaint-signals/{signal_id}",
            "/complaint-signals/{signal_id}/dismiss"} <= set(document["paths"])
    assert "ComplaintIn" in document["components"]["schemas"]
