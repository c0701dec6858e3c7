"""Property-based run of the whole API against its own OpenAPI document (Schemathesis + Hypothesis).

For every operation, generated requests (valid and invalid) must never get a 5xx, and every
response must match the document: status code, content type, headers and body schema. Path ids
are drawn mostly from real records, so the runs reach the code behind the 404.
"""

from __future__ import annotations

import io

import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_api_complaints import add_complaints_and_a_signal
from test_api_resources import add_records_recalls_and_lessons
from view_helpers import png_bytes

from qa_incidents.accounts.models import User
from qa_incidents.api import tokens
from qa_incidents.incidents.models import Incident
from qa_incidents.notifications.deadlines import RULES
from qa_incidents.notifications.models import NotificationRecord

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
#: Examples per operation: enough to find the classic 500s (NULs, huge numbers, bad dates), small enough for CI.
EXAMPLES = 25


def test_api_conforms_to_its_document(app, demo, clock):  # type: ignore[no-untyped-def]
    created = add_records_recalls_and_lessons(demo, clock())
    created.update(add_complaints_and_a_signal(demo, clock()))
    user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    _, text = tokens.create_token(demo, user=user, name="schema run", now=clock())
    demo.commit()
    headers = {"Authorization": f"Bearer {text}"}
    incident_ids = list(demo.scalars(sa.select(Incident.id).order_by(Incident.id)))
    record_incident = demo.scalar(sa.select(NotificationRecord.incident_id).where(
        NotificationRecord.id == created["record_id"]))
    client = app.test_client()
    attached = client.post(f"/api/v1/incidents/{incident_ids[0]}/attachments", headers=headers,
                           data={"file": (io.BytesIO(png_bytes()), "a.png")}, content_type="multipart/form-data")
    assert attached.status_code == 201
    # The notification record's incident comes up more often, so the record is reached through it.
    real_ids = {"incident_id": [*incident_ids, 10**6, *[record_incident] * (2 * len(incident_ids))],
                "attachment_id": [attached.get_json()["id"], 10**6],
                **{name: [value, value, 10**6] for name, value in created.items()}}

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    seen: list[tuple[str, int]] = []
    for operation in operations:
        _property_run(operation, headers, real_ids, seen)()
    # The run reached real records, not only 404s and validation errors.
    assert {status for _, status in seen} >= {200, 404, 422}
    assert sum(1 for label, status in seen if status == 200 and "{incident_id}" in label) >= 5
    # …including the notification records, recalls and lessons.
    for path in ("/incidents/{incident_id}/notifications/{record_id}", "/recalls/{recall_id}", "/lessons/{lesson_id}",
                 "/lessons/{lesson_id}/similar", "/recalls", "/lessons"):
        assert (f"GET {path}", 200) in seen, path


def _property_run(operation, headers, real_ids, seen):  # type: ignore[no-untyped-def]
    """A Hypothesis test of one operation: valid and invalid requests, checked against the document."""
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    cases = st.one_of(*[operation.as_strategy(generation_mode=m) for m in modes])
    choices = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in real_ids.items()})

    @given(case=cases, ids=choices, regime=st.sampled_from(sorted(RULES)), real=st.booleans())
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case, ids, regime, real):  # type: ignore[no-untyped-def]
        if real and case.path_parameters:
            for name in case.path_parameters:
                case.path_parameters[name] = ids[name]
        if real and isinstance(case.query, dict) and "regime" in case.query:
            case.query["regime"] = regime
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen.append((operation.label, response.status_code))

    return run
