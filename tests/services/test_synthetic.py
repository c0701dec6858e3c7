"""Synthetic data: valid rows, the reference counter moved past them, lessons findable, filing still works."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.core.sequences import Counter
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.workflow_models import TriageDecision
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES
from qa_incidents.reviews import search
from qa_incidents.reviews.models import Lesson
from qa_incidents.synthetic.generate import Plan, generate
from qa_incidents.synthetic.texts import stories, title_of


def test_titles_are_first_sentences_cut_at_a_word() -> None:
    assert title_of("The fan stopped. Then smoke.") == "The fan stopped"
    cut = title_of("word " * 60, limit=20)
    assert cut.endswith("…") and len(cut) <= 20


def test_stories_come_from_the_bundled_samples() -> None:
    found = stories()
    assert len(found) > 1000
    assert all(s.title and s.description for s in found)


def test_generated_data_is_valid_and_usable(demo, clock) -> None:  # type: ignore[no-untyped-def]
    session, now = demo, clock.now
    session.commit()
    before = session.scalar(sa.select(sa.func.count()).select_from(Incident))
    report = generate(session, Plan.for_incidents(600, lessons=300, open_notifications=120), now=now)

    assert report.counts["incidents"] == 600
    assert session.scalar(sa.select(sa.func.count()).select_from(Incident)) == before + 600
    refs = list(session.scalars(sa.select(Incident.reference)))
    assert len(refs) == len(set(refs)) and all(r.startswith("INC-") and len(r) == 15 for r in refs)
    # Every year's counter is at least its highest reference number, so the next report gets a fresh one.
    for year in {r[4:8] for r in refs}:
        top = max(int(r[9:]) for r in refs if r[4:8] == year)
        assert session.scalar(sa.select(Counter.value).where(Counter.name == f"incident-{year}")) >= top
    triaged = session.scalar(sa.select(sa.func.count()).select_from(Incident).where(
        Incident.severity.is_not(None), Incident.reference.in_(refs)))
    assert session.scalar(sa.select(sa.func.count()).select_from(TriageDecision)) >= triaged > 0
    open_records = session.scalar(sa.select(sa.func.count()).select_from(NotificationRecord).where(
        NotificationRecord.state.in_([s.value for s in OPEN_STATES])))
    assert open_records >= 120
    assert session.scalar(sa.select(sa.func.count()).select_from(Lesson)) >= 300
    first = session.scalars(sa.select(Lesson).order_by(Lesson.id).limit(1)).one()
    word = next(w for w in first.title.split() if len(w) > 5 and w.isalpha())
    assert search.search_lessons(session, word).total > 0
    # Datetimes read back aware and in order.
    incident = session.scalars(sa.select(Incident).order_by(Incident.id.desc()).limit(1)).one()
    assert incident.aware_at.tzinfo is not None and incident.occurred_at <= incident.aware_at <= now


def _indexes(session) -> set[str]:  # type: ignore[no-untyped-def]
    inspector = sa.inspect(session.connection())
    return {i["name"] for table in ("incident", "triage_decision", "notification_record")
            for i in inspector.get_indexes(table)}


def test_a_bulk_load_puts_every_index_back_and_keeps_what_triggers_fill(demo, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from qa_incidents.incidents.service import REGISTER_MARKER
    from qa_incidents.synthetic import generate as generator

    session, now = demo, clock.now
    session.commit()
    indexes = _indexes(session)
    assert "ix_incident_status_occurred_id" in indexes
    marker = session.scalar(sa.select(Counter.value).where(Counter.name == REGISTER_MARKER))
    session.commit()
    monkeypatch.setattr(generator, "BULK", 100)  # the bulk path (indexes set aside) for a small load
    before = session.scalar(sa.select(sa.func.count()).select_from(Lesson))
    generate(session, Plan.for_incidents(400, lessons=150, open_notifications=80), now=now)

    assert _indexes(session) == indexes
    # The lessons asked for are all new ones (the demo's own are not counted in them).
    assert session.scalar(sa.select(sa.func.count()).select_from(Lesson)) == before + 150
    # The register's change marker moved (its trigger stayed in place), so no count remembered before is used.
    assert session.scalar(sa.select(Counter.value).where(Counter.name == REGISTER_MARKER)) != marker
    # Columns a trigger derives are filled for the loaded rows too.
    assert session.scalar(sa.select(sa.func.count()).select_from(NotificationRecord).where(
        NotificationRecord.division_id.is_(None))) == 0


def test_no_signed_state_without_its_signature(demo, clock) -> None:  # type: ignore[no-untyped-def]
    """Generated data is measurement data, but it reaches no state the workflow reaches only through a signature
    without that signature, signed by head-office QA who did not prepare what is signed."""
    from qa_incidents.accounts.models import User
    from qa_incidents.core.signatures import Signature, content_hash
    from qa_incidents.incidents.rules import Status
    from qa_incidents.incidents.workflow_models import Escalation

    session, now = demo, clock.now
    session.commit()
    before = session.scalar(sa.select(sa.func.max(Incident.id)))
    generate(session, Plan.for_incidents(800, lessons=50, open_notifications=200), now=now)
    new = list(session.scalars(sa.select(Incident).where(Incident.id > before)))
    escalations = {e.incident_id: e for e in session.scalars(sa.select(Escalation).where(Escalation.incident_id > before))}
    needs_approval = [i for i in new if i.status in (Status.ESCALATED, Status.CONTAINED)
                      or (i.severity is not None and i.severity.value in ("S1", "S2")
                          and i.status in (Status.UNDER_REVIEW, Status.CLOSED))]
    assert needs_approval
    for incident in needs_approval:
        escalation = escalations[incident.id]
        assert escalation.decision == "approved" and escalation.signature is not None
        assert escalation.signature.meaning == "approved escalation"
        assert escalation.signature.entity_id == escalation.id and escalation.signature.incident_id == incident.id
        assert escalation.signature.signer_id == escalation.decided_by_id != escalation.requested_by_id
        assert session.get(User, escalation.signature.signer_id).role.value == "head_office_qa"
    for incident in new:
        if incident.status == Status.ESCALATION_REQUESTED:
            assert escalations[incident.id].decision is None and escalations[incident.id].signature_id is None
        if incident.status in (Status.ESCALATION_REQUESTED, Status.ESCALATED, Status.CONTAINED):
            assert incident.severity.value in ("S1", "S2")
    records = list(session.scalars(sa.select(NotificationRecord).where(
        NotificationRecord.incident_id > before, NotificationRecord.state.in_(("approved", "submitted", "acknowledged")))))
    assert records
    for record in records:
        signature = session.get(Signature, record.approval_signature_id)
        assert signature is not None and signature.entity_type == "notification_record"
        assert signature.entity_id == record.id and signature.meaning == "approved regulator notification for submission"
        assert record.drafted_by_id is not None and signature.signer_id != record.drafted_by_id
        assert signature.content_sha256 == content_hash(signature.content)
