"""The JSON API: token authentication, division scoping per role, problems, idempotent POSTs, If-Match/ETag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.testing import FlaskClient
from view_helpers import png_bytes

from qa_incidents.accounts.models import User
from qa_incidents.api import tokens
from qa_incidents.api.models import ApiToken
from qa_incidents.catalogue.models import Product
from qa_incidents.incidents.models import Comment, Incident


@pytest.fixture
def token_for(demo: so.Session, clock) -> Callable[[str], str]:  # type: ignore[no-untyped-def]
    """token_for(email): a fresh API token of that demo user."""

    def make(email: str) -> str:
        demo.rollback()  # a fresh transaction: the views have written since
        user = demo.scalar(sa.select(User).where(User.email == email))
        _, text = tokens.create_token(demo, user=user, name="test client", now=clock())
        demo.commit()
        return text

    return make


@pytest.fixture
def api(client: FlaskClient, token_for: Callable[[str], str]) -> Callable[..., Any]:
    """api(email, method, path, **kw): a request with that user's bearer token."""
    cache: dict[str, str] = {}

    def call(email: str, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        if email not in cache:
            cache[email] = token_for(email)
        all_headers = {"Authorization": f"Bearer {cache[email]}", **(headers or {})}
        return client.open(f"/api/v1{path}", method=method, headers=all_headers, **kw)

    return call


def _incident(demo: so.Session, division_code: str) -> Incident:
    from qa_incidents.accounts.models import Division

    return demo.scalar(sa.select(Incident).join(Division, Incident.division_id == Division.id)
                       .where(Division.code == division_code).order_by(Incident.id).limit(1))


def _new_incident_body(demo: so.Session, clock, model: str = "R-HW540", **changes: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    product = demo.scalar(sa.select(Product).where(Product.model == model))
    body = {
        "division_id": product.division_id, "product_id": product.id, "title": "Compressor relay overheated",
        "lot_numbers": "L2611-02", "country": "JP", "place": "Kobe",
        "occurred_at": (clock() - timedelta(hours=10)).isoformat(), "aware_at": (clock() - timedelta(hours=2)).isoformat(),
        "source": "customer_complaint", "hazard": "overheating", "smoke": True, "units_in_field": 1200,
        "description": "Smell of burning plastic from the rear; the relay cover was discoloured.",
    }
    body.update(changes)
    return body


def test_no_token_no_access_and_a_session_cookie_does_not_count(api, login_as, client):  # type: ignore[no-untyped-def]
    login_as("hq.qa@example.com")  # a logged-in browser session…
    response = client.get("/api/v1/incidents")
    assert response.status_code == 401  # …does not authenticate the API
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Bearer" in response.get_json()["detail"]
    assert client.post("/api/v1/incidents", json={}).status_code == 401
    assert client.get("/api/v1/incidents", headers={"Authorization": "Bearer qai_forged"}).status_code == 401


def test_token_is_stored_hashed_and_last_use_is_recorded(api, demo, clock):  # type: ignore[no-untyped-def]
    assert api("reporter@example.com", "GET", "/incidents").status_code == 200
    token = demo.scalar(sa.select(ApiToken))
    demo.refresh(token)
    assert token.token_hash != token.prefix and len(token.token_hash) == 64
    assert token.last_used_at == clock()


def test_a_revoked_token_is_refused_at_once(client, demo, clock, demo_user=None):  # type: ignore[no-untyped-def]
    user = demo.scalar(sa.select(User).where(User.email == "reporter@example.com"))
    token, text = tokens.create_token(demo, user=user, name="bridge", now=clock())
    demo.commit()
    assert client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {text}"}).status_code == 200
    tokens.revoke_token(demo, user=user, token_id=token.id, now=clock())
    demo.commit()
    assert client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {text}"}).status_code == 401


@pytest.mark.parametrize("email, sees_ha, sees_cm", [
    ("reporter@example.com", True, False),
    ("division.qa@example.com", True, False),
    ("cable.reporter@example.com", False, True),
    ("hq.qa@example.com", True, True),
    ("executive@example.com", True, True),
])
def test_list_and_read_are_scoped_to_the_division(api, demo, email, sees_ha, sees_cm):  # type: ignore[no-untyped-def]
    ha, cm = _incident(demo, "HA"), _incident(demo, "CM")
    listed = api(email, "GET", "/incidents?limit=200").get_json()
    codes = {item["division_code"] for item in listed["items"]}
    assert ("HA" in codes) == sees_ha and ("CM" in codes) == sees_cm
    assert api(email, "GET", f"/incidents/{ha.id}").status_code == (200 if sees_ha else 404)
    assert api(email, "GET", f"/incidents/{cm.id}").status_code == (200 if sees_cm else 404)
    assert api(email, "GET", f"/incidents/{cm.id}/comments").status_code == (200 if sees_cm else 404)
    assert api(email, "GET", f"/incidents/{cm.id}/obligations").status_code == (200 if sees_cm else 404)


def test_engineers_read_no_incidents(api):  # type: ignore[no-untyped-def]
    response = api("engineer@example.com", "GET", "/incidents")
    assert response.status_code == 403
    assert response.get_json()["title"] == "Not allowed"


def test_admins_hold_no_api_tokens(demo, clock):  # type: ignore[no-untyped-def]
    from qa_incidents.core.errors import Forbidden

    admin = demo.scalar(sa.select(User).where(User.email == "admin@example.com"))
    with pytest.raises(Forbidden):
        tokens.create_token(demo, user=admin, name="x", now=clock())


def test_filing_through_the_api_uses_the_same_rules(api, demo, clock):  # type: ignore[no-untyped-def]
    body = _new_incident_body(demo, clock)
    response = api("reporter@example.com", "POST", "/incidents", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["reference"].startswith("INC-2026-")
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/api/v1/incidents/{created['id']}")
    # A rule of the service (not of the schema): no harm stated and 'no harm' not ticked.
    refused = api("reporter@example.com", "POST", "/incidents", json=_new_incident_body(demo, clock, smoke=False))
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "no_harm" in refused.get_json()["errors"]


def test_the_api_takes_and_gives_the_reportability_facts(api, demo, clock):  # type: ignore[no-untyped-def]
    body = _new_incident_body(demo, clock, country="AU", smoke=False, minor_injuries=1, injury_care="doctor_or_nurse",
                              recurrence_risk=True, suspected_defect=True, foreign_action=True)
    response = api("reporter@example.com", "POST", "/incidents", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["injury_care"], created["recurrence_risk"], created["suspected_defect"], created["foreign_action"],
            created["labelling_problem"], created["lawsuit"], created["choking"]) == (
        "doctor_or_nurse", True, True, True, False, False, False)
    changed = api("reporter@example.com", "PATCH", f"/incidents/{created['id']}",
                  json={"injury_care": "hospitalised", "lawsuit": True}, headers={"If-Match": response.headers["ETag"]})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["injury_care"], changed.get_json()["lawsuit"]) == ("hospitalised", True)
    assert api("reporter@example.com", "GET", f"/incidents/{created['id']}").get_json()["lawsuit"] is True
    # not a care class: the schema names the field
    bad = api("reporter@example.com", "POST", "/incidents", json={**body, "injury_care": "vet"})
    assert bad.status_code == 422 and "injury_care" in bad.get_json()["errors"]
    # care for an injury nobody had: the service's rule, the same as on the form
    none_hurt = api("reporter@example.com", "POST", "/incidents",
                    json={**body, "minor_injuries": 0, "smoke": True, "injury_care": "hospitalised"})
    assert none_hurt.status_code == 422 and "injury_care" in none_hurt.get_json()["errors"]


def test_filing_for_another_division_is_refused(api, demo, clock):  # type: ignore[no-untyped-def]
    body = _new_incident_body(demo, clock, model="EX-15A3")  # a Cable Materials product
    response = api("reporter@example.com", "POST", "/incidents", json=body)
    assert response.status_code == 422
    assert "own division" in response.get_json()["errors"]["division_id"]


def test_schema_errors_name_the_field(api, demo, clock):  # type: ignore[no-untyped-def]
    body = _new_incident_body(demo, clock, deaths=-1, aware_at="2026-11-19T10:00:00")  # negative; no time zone
    problem = api("reporter@example.com", "POST", "/incidents", json=body).get_json()
    assert problem["status"] == 422
    assert set(problem["errors"]) >= {"deaths", "aware_at"}
    assert api("reporter@example.com", "POST", "/incidents", data="{not json",
               headers={"Content-Type": "application/json"}).status_code == 400


def test_idempotency_key_makes_a_retry_safe(api, demo, clock):  # type: ignore[no-untyped-def]
    body = _new_incident_body(demo, clock)
    before = demo.scalar(sa.select(sa.func.count(Incident.id)))
    first = api("reporter@example.com", "POST", "/incidents", json=body, headers={"Idempotency-Key": "k-123"})
    again = api("reporter@example.com", "POST", "/incidents", json=body, headers={"Idempotency-Key": "k-123"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) == before + 1
    other = api("reporter@example.com", "POST", "/incidents", json={**body, "title": "Other"},
                headers={"Idempotency-Key": "k-123"})
    assert other.status_code == 409


def test_if_match_guards_against_lost_updates(api, demo):  # type: ignore[no-untyped-def]
    ha = _incident(demo, "HA")
    read = api("reporter@example.com", "GET", f"/incidents/{ha.id}")
    tag = read.headers["ETag"]
    assert api("reporter@example.com", "PATCH", f"/incidents/{ha.id}", json={"place": "Kyoto"}).status_code == 428
    changed = api("reporter@example.com", "PATCH", f"/incidents/{ha.id}", json={"place": "Kyoto"},
                  headers={"If-Match": tag})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["place"] == "Kyoto"
    assert changed.headers["ETag"] != tag
    stale = api("division.qa@example.com", "PATCH", f"/incidents/{ha.id}", json={"place": "Nara"},
                headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == changed.get_json()["version"]


def test_reading_scope_is_not_writing_scope(api, demo):  # type: ignore[no-untyped-def]
    cm = _incident(demo, "CM")
    response = api("executive@example.com", "POST", f"/incidents/{cm.id}/comments", json={"body": "Noted."})
    assert response.status_code == 403
    response = api("reporter@example.com", "POST", f"/incidents/{cm.id}/comments", json={"body": "Noted."})
    assert response.status_code == 404


def test_comments_and_attachments(api, demo):  # type: ignore[no-untyped-def]
    ha = _incident(demo, "HA")
    posted = api("reporter@example.com", "POST", f"/incidents/{ha.id}/comments", json={"body": "Called the customer."})
    assert posted.status_code == 201
    assert posted.get_json()["author"] == "Aiko Tanaka"
    assert [c["body"] for c in api("reporter@example.com", "GET", f"/incidents/{ha.id}/comments").get_json()][-1] \
        == "Called the customer."
    assert demo.scalar(sa.select(sa.func.count(Comment.id)).where(Comment.incident_id == ha.id)) >= 1
    import io

    uploaded = api("reporter@example.com", "POST", f"/incidents/{ha.id}/attachments",
                   data={"file": (io.BytesIO(png_bytes()), "relay.png")}, content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    item = uploaded.get_json()
    assert item["content_type"] == "image/png" and item["filename"] == "relay.png"
    content = api("reporter@example.com", "GET", f"/incidents/{ha.id}/attachments/{item['id']}/content")
    assert content.status_code == 200 and content.data == png_bytes()
    content.close()
    assert api("cable.reporter@example.com", "GET", f"/incidents/{ha.id}/attachments/{item['id']}/content"
               ).status_code == 404


def test_obligations_and_deadline_calculation(api, demo):  # type: ignore[no-untyped-def]
    ha = _incident(demo, "HA")
    obligations = api("reporter@example.com", "GET", f"/incidents/{ha.id}/obligations")
    assert obligations.status_code == 200
    assert all({"regime_code", "verdict", "reason"} <= set(o) for o in obligations.get_json())
    rules = api("engineer@example.com", "GET", "/deadline-rules").get_json()
    code = rules[0]["code"]
    due = api("engineer@example.com", "GET", f"/deadline?regime={code}&aware_at=2026-03-05T10:00:00%2B09:00")
    assert due.status_code == 200, due.get_json()
    assert due.get_json()["regime_code"] == code
    assert api("engineer@example.com", "GET", "/deadline?regime=NOPE&aware_at=2026-03-05T10:00:00Z").status_code == 404


def test_cursor_pagination_walks_every_incident_once(api, demo):  # type: ignore[no-untyped-def]
    seen: list[int] = []
    path = "/incidents?limit=2"
    while True:
        page = api("hq.qa@example.com", "GET", path).get_json()
        seen += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        path = f"/incidents?limit=2&after={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == page["total"] == demo.scalar(sa.select(sa.func.count(Incident.id)))
    assert api("hq.qa@example.com", "GET", "/incidents?after=garbage").status_code == 400


def test_openapi_document_is_generated_from_the_code(client):  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"/incidents", "/incidents/{incident_id}", "/incidents/{incident_id}/comments",
            "/incidents/{incident_id}/attachments", "/incidents/{incident_id}/obligations", "/deadline"} <= set(doc["paths"])
    assert "IncidentIn" in doc["components"]["schemas"]
    post = doc["paths"]["/incidents"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "application/problem+json" in post["responses"]["422"]["content"]
