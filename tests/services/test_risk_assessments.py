"""Recorded risk assessments: validated, append-only, audited, required before a launch or a notice's approval, and
carried into the status report to top management with the grid and the assessed cell."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, ValidationFailed
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity
from qa_incidents.recalls import service as recalls
from qa_incidents.reports import service as reports
from qa_incidents.reports.render import render_html
from qa_incidents.risk import service as risk
from qa_incidents.risk.models import RiskAssessment
from qa_incidents.risk.service import AssessmentInput

PASSWORD = "demo-password-2026"
EU_FIRE = AssessmentInput(method="eu_gpsr", scenario="The relay overheats overnight and the fridge catches fire.",
                          severity="4", steps=[("Relay from the bad lot", "1/10"), ("It ignites the housing", "1/100")],
                          rationale="Fire in a home is life-threatening.")


def visible(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def recall(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    qa = demo_user("division.qa@example.com")
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    campaign = recalls.create_campaign(demo, user=qa, incident_ids=[fire.id], now=clock(), data=recalls.CampaignInput(
        title="Relay", remedy="repair", countries=["JP"], units_affected=48200, owner_id=qa.id))
    recalls.add_population_line(demo, user=qa, recall_id=campaign.id, exclude=False, model="R-HW540", lot="",
                                serial_first="", serial_last="", units=48200, note="", now=clock())
    demo.commit()
    return campaign


def test_each_method_records_its_inputs_result_who_when_and_an_audit_event(demo, demo_user, recall, clock):
    qa = demo_user("division.qa@example.com")
    first = recalls.record_risk_assessment(demo, user=qa, recall_id=recall.id, data=EU_FIRE, now=clock())
    assert (first.method, first.result, first.assessed_by_id, first.subject_reference) == (
        "eu_gpsr", "serious", qa.id, recall.reference)
    assert first.inputs["probability"] == "1/1000" and first.inputs["steps"][1]["typed"] == "1/100"
    second = recalls.record_risk_assessment(demo, user=qa, recall_id=recall.id, now=clock.advance(hours=1),
                                            data=AssessmentInput(method="r_map", frequency="3/48200", harm_level="3",
                                                                 rationale="Field data: 3 fires."))
    assert second.result == "A"
    assert risk.latest(demo, "recall", recall.id).id == second.id  # the newest is in force
    assert [a.id for a in risk.history(demo, "recall", recall.id)] == [second.id, first.id]
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "risk_assessment")))
    assert len(events) == 2 and events[0].changes["result"] == [None, "serious"]
    assert events[0].incident_id is not None  # on the incident's timeline
    demo.commit()
    first.rationale = "changed afterwards"
    with pytest.raises(RuntimeError, match="append-only"):
        demo.flush()
    demo.rollback()


@pytest.mark.parametrize("data, fields", [
    (AssessmentInput(method="r_map", frequency="", harm_level="9", rationale=""), {"frequency", "harm_level",
                                                                                   "rationale"}),
    (AssessmentInput(method="eu_gpsr", scenario="", severity="5", steps=[("", "")], rationale="x"),
     {"scenario", "severity", "steps"}),
    (AssessmentInput(method="eu_gpsr", scenario="s", severity="2", steps=[("fall", "")], rationale="x"), {"steps"}),
    (AssessmentInput(method="skipped", rationale=" "), {"rationale"}),
    (AssessmentInput(method="guess", rationale="x"), {"method"}),
])
def test_bad_input_names_each_field(data, fields):
    with pytest.raises(ValidationFailed) as refused:
        risk.evaluate(data)
    assert set(refused.value.errors) == fields


def test_only_whoever_prepares_an_open_recall_assesses_it(demo, demo_user, recall, clock):
    for email in ("reporter@example.com", "cable.qa@example.com"):
        with pytest.raises(Exception) as refused:
            recalls.record_risk_assessment(demo, user=demo_user(email), recall_id=recall.id, data=EU_FIRE,
                                           now=clock())
        assert refused.value.status_code in (403, 404)
    recalls.withdraw(demo, user=demo_user("division.qa@example.com"), recall_id=recall.id, reason="No defect.",
                     now=clock())
    with pytest.raises(Forbidden):
        recalls.record_risk_assessment(demo, user=demo_user("hq.qa@example.com"), recall_id=recall.id, data=EU_FIRE,
                                       now=clock())


def test_the_launch_waits_for_an_assessment_and_the_status_report_shows_it(demo, demo_user, recall, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    with pytest.raises(ValidationFailed) as refused:
        recalls.launch(demo, user=hq, recall_id=recall.id, password=PASSWORD, comment="", now=clock())
    assert "Record a risk assessment" in refused.value.errors["launch"]
    demo.rollback()
    recalls.record_risk_assessment(demo, user=qa, recall_id=recall.id, data=EU_FIRE, now=clock())
    recalls.launch(demo, user=hq, recall_id=recall.id, password=PASSWORD, comment="", now=clock())
    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    workflow.triage(demo, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    report = reports.issue_now(demo, user=qa, incident=fire, now=clock.advance(minutes=5))
    demo.commit()
    [entry] = report.content["risk_assessments"]
    assert (entry["reference"], entry["method"], entry["result"]) == (recall.reference, "eu_gpsr", "serious")
    assert entry["grid"]["chosen"] == [4, 3]  # "> 1/10 000" row, severity 4
    html = render_html(report.content, number=report.number, issued_at=report.issued_at, zone="Asia/Tokyo")
    page = visible(html)
    assert "Risk assessment" in page and "Serious risk" in page and "Fire in a home is life-threatening." in page
    assert "1/1 000 (> 1/10 000)" in page and html.count('class="risk-chosen"') == 1
    assert demo.scalar(sa.select(sa.func.count(RiskAssessment.id))) == 1
