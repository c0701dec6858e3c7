"""Bulk triage of several minor reports: one severity (S3/S4), one rationale; each incident triaged as its own page
would (decision, audit event, derived notifications), the matrix suggestion shown per incident, a disagreement needing
its own reason, severe incidents refused, per-division permissions."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token, text

from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Hazard, Severity, Status
from qa_incidents.incidents.workflow_models import TriageDecision

HARMLESS = {"deaths": 0, "serious_injuries": 0, "minor_injuries": 0, "fire": False, "smoke": False,
            "co_poisoning": False, "property_damage": False, "hazard": Hazard.MECHANICAL, "units_in_field": 100}


HOME_APPLIANCES, CABLES = 2, 5  # the demo's division ids


def _reports(demo, division_id: int, n: int) -> list[int]:
    """n incidents of a division, made new minor reports (no harm: the matrix suggests S4)."""
    ids = list(demo.scalars(sa.select(Incident.id).where(Incident.division_id == division_id)
                            .order_by(Incident.id).limit(n)))
    assert len(ids) == n
    demo.execute(sa.update(Incident).where(Incident.id.in_(ids)).values(status=Status.REPORTED, severity=None, **HARMLESS))
    demo.commit()
    return ids


def _rows(demo, stmt):
    """Every row (all columns) of a read in a new transaction."""
    demo.rollback()
    try:
        return [tuple(r) for r in demo.execute(stmt)]
    finally:
        demo.rollback()


def _post(client, ids, *, severity="S4", rationale="Cosmetic reports, no hazard.", **overrides):
    data = {"csrf_token": csrf_token(client, "/notifications/inbox"), "incident_id": [str(i) for i in ids],
            "severity": severity, "rationale": rationale, "query": "status=reported"}
    data |= {f"override_{i}": why for i, why in overrides.items()}
    return client.post("/incidents/bulk-triage", data=data)


def test_several_minor_reports_are_triaged_in_one_action_each_as_on_its_page(browser_as, demo, fresh, fresh_all):
    ids = _reports(demo, HOME_APPLIANCES, 4)
    minor, severe = ids[2], ids[3]
    demo.execute(sa.update(Incident).where(Incident.id == minor).values(minor_injuries=1))  # the matrix: S3 (I2)
    demo.execute(sa.update(Incident).where(Incident.id == severe).values(fire=True))  # the matrix: S2 (F2)
    demo.commit()
    before = fresh(sa.select(sa.func.coalesce(sa.func.max(TriageDecision.id), 0)))
    events_before = fresh(sa.select(sa.func.max(AuditEvent.id)))
    qa = browser_as("division.qa@example.com")
    assert 'formaction="/incidents/bulk-triage"' in qa.get("/incidents/?status=reported").get_data(as_text=True)
    chooser = qa.get("/incidents/bulk-triage?" + "&".join(f"incident_id={i}" for i in ids))
    assert chooser.status_code == 200
    rows = {row.split("</tr>")[0] for row in chooser.get_data(as_text=True).split('<tr class="suggested-')[1:]}
    assert sorted(r[:2] for r in rows) == ["S2", "S3", "S4", "S4"]  # each incident's matrix suggestion is shown
    answer = _post(qa, ids)
    assert answer.status_code == 200
    page = text(answer)
    assert "Triaged: 2 · refused: 2" in page
    refs = dict(_rows(demo, sa.select(Incident.id, Incident.reference).where(Incident.id.in_(ids))))
    assert f"{refs[minor]} The matrix suggests S3, not S4: give this incident its own reason" in page
    assert f"{refs[severe]} The matrix suggests S2: a severe incident is triaged on its own page" in page
    rows = _rows(demo, sa.select(Incident.id, Incident.status, Incident.severity).where(Incident.id.in_(ids))
                     .order_by(Incident.id))
    assert rows == [(ids[0], Status.TRIAGED, Severity.S4), (ids[1], Status.TRIAGED, Severity.S4),
                    (minor, Status.REPORTED, None), (severe, Status.REPORTED, None)]
    # Each triaged incident has its own decision (with the matrix suggestion and the rationale) and audit event.
    decisions = _rows(demo, sa.select(TriageDecision.incident_id, TriageDecision.suggested, TriageDecision.override_reason)
                          .where(TriageDecision.id > before).order_by(TriageDecision.incident_id))
    assert decisions == [(ids[0], Severity.S4, "Cosmetic reports, no hazard."),
                         (ids[1], Severity.S4, "Cosmetic reports, no hazard.")]
    events = fresh_all(sa.select(AuditEvent.incident_id).where(AuditEvent.action == "triage", AuditEvent.id > events_before)
                       .order_by(AuditEvent.incident_id))
    assert events == ids[:2]
    # The one that differs from the matrix is triaged with its own reason.
    again = text(_post(qa, [minor], **{str(minor): "A scratch from the packaging, not a product injury."}))
    assert "Triaged: 1 · refused: 0" in again
    assert fresh(sa.select(TriageDecision.override_reason).where(TriageDecision.incident_id == minor)
                 .order_by(TriageDecision.id.desc()).limit(1)) == (
        "A scratch from the packaging, not a product injury. — Cosmetic reports, no hazard.")
    # Already triaged: not again in bulk.
    assert "Already triaged" in text(_post(qa, [ids[0]]))


def test_bulk_triage_refuses_severe_severities_and_needs_a_rationale(browser_as, demo, fresh):
    ids = _reports(demo, HOME_APPLIANCES, 2)
    before = fresh(sa.select(sa.func.coalesce(sa.func.max(TriageDecision.id), 0)))
    qa = browser_as("division.qa@example.com")
    for severity, rationale, said in (("S2", "Fire risk.", "Bulk triage sets S3 or S4 only"), ("S9", "x", "Choose S3 or S4."),
                                      ("S4", "  ", "Say why these incidents have this severity.")):
        answer = _post(qa, ids, severity=severity, rationale=rationale)
        assert answer.status_code == 422 and said in text(answer)
        assert f'value="{ids[0]}" checked' in answer.get_data(as_text=True)  # the selection is kept
    assert fresh(sa.select(sa.func.count()).select_from(TriageDecision).where(TriageDecision.id > before)) == 0


def test_division_qa_triages_only_its_own_division_and_others_may_not_at_all(browser_as, demo, fresh):
    own = _reports(demo, HOME_APPLIANCES, 1)[0]
    cable = _reports(demo, CABLES, 1)[0]
    page = text(_post(browser_as("division.qa@example.com"), [own, cable]))
    assert "Triaged: 1 · refused: 1" in page and f"#{cable} No such incident." in page
    assert fresh(sa.select(Incident.status).where(Incident.id == cable)) == Status.REPORTED
    for email in ("reporter@example.com", "executive@example.com", "engineer@example.com"):
        client = browser_as(email)
        assert "bulk-triage" not in client.get("/incidents/").get_data(as_text=True)
        assert _post(client, [own]).status_code == 403


def test_my_work_selects_reports_to_triage_for_bulk_triage(browser_as):
    page = browser_as("hq.qa@example.com").get("/my-work").get_data(as_text=True)
    section = page.split('id="to-triage"', 1)[1].split("</section>", 1)[0]
    assert 'form="bulk-triage"' in section and 'action="/incidents/bulk-triage"' in section
    assert 'form="bulk-triage"' not in browser_as("reporter@example.com").get("/my-work").get_data(as_text=True)
