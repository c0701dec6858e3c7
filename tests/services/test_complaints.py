"""Complaints end to end below the browser: bulk import, safety flags, the signal scan, filing and promoting, scoping."""

from __future__ import annotations

import gzip
import io
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from qa_incidents.accounts.models import Division, User
from qa_incidents.complaints import rules, service
from qa_incidents.complaints.models import Complaint, ComplaintSignal, SignalComplaint
from qa_incidents.core.audit import AuditEvent

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "complaints" / "nhtsa_complaints_ford_2024-02.csv.gz"


def _user(session, email):  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


def _factory(session):  # type: ignore[no-untyped-def]
    return lambda: type(session)(bind=session.get_bind())


def test_nhtsa_sample_imports_once_and_reports_bad_rows(demo, clock):
    hq = _user(demo, "hq.qa@example.com")
    division = demo.scalar(sa.select(Division.id).where(Division.code == "SS"))
    text = gzip.decompress(SAMPLE.read_bytes()).decode("utf-8")
    lines = text.splitlines(keepends=True)
    # A bad row (no date) in the middle: reported with its line, the rest kept.
    broken = lines[5].split(",")
    broken[15] = ""
    lines[5] = ",".join(broken)
    bad_text = "".join(lines)

    def run():  # type: ignore[no-untyped-def]
        return service.import_complaints(_factory(demo), user_id=hq.id, now=clock(), default_division_id=division,
                                         rows=service.read_rows(io.StringIO(bad_text), source="nhtsa"), batch_size=100)

    first = run()
    assert first.read == 311 and len(first.errors) == 1
    assert first.errors[0][0] == 6 and "DATEA" in first.errors[0][1]
    assert first.inserted == 310 and first.flagged > 0
    again = run()
    assert again.inserted == 0 and again.duplicates == 310
    demo.commit()  # a fresh snapshot
    assert demo.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 310
    fire = demo.scalars(sa.select(Complaint).where(Complaint.flagged.is_(True))).all()
    assert fire and all(c.division_id == division for c in fire)
    assert demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                       .where(AuditEvent.entity_type == "complaint_import")) == 8  # two imports, 310 rows each in batches of 100


def test_a_reporter_cannot_import_for_another_division(demo, clock):
    reporter = _user(demo, "reporter@example.com")  # Home Appliances
    csv_text = ("external_id,received_at,model,serial,country,place,channel,kind,symptom,occurred_on,text,"
                "customer_name,customer_contact\n"
                "A1,2026-11-18T10:00:00+09:00,R-S38,S1,JP,Osaka,phone,complaint,NOISE,,Loud hum,Ms A,090\n"
                "A2,2026-11-18T10:00:00+09:00,EX-15A3,S2,GB,Leeds,phone,complaint,HEAT,,Cord got hot and smoke,Mr B,07\n")
    result = service.import_complaints(_factory(demo), user_id=reporter.id, now=clock(),
                                       rows=service.read_rows(io.StringIO(csv_text), source="cc"))
    assert result.inserted == 1
    assert result.errors == [(3, "This model belongs to a division you may not log complaints for.")]


def _plant(session, clock, *, model="R-S38", symptom="NOISE-COMPRESSOR", history=1, now_count=9):  # type: ignore[no-untyped-def]
    qa = _user(session, "division.qa@example.com")
    now = clock()
    for week in range(1, 16):
        for k in range(history):
            service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
                source="test", external_id=f"h{week}-{k}", model=model, symptom=symptom, country="JP",
                received_at=now - timedelta(weeks=week), text="Compressor hums loudly"))
    for k in range(now_count):
        service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
            source="test", external_id=f"n{k}-{now_count}", model=model, symptom=symptom, country="JP",
            received_at=now - timedelta(hours=k + 1), text="Compressor hums loudly and rattles"))
    session.commit()


def test_a_rising_symptom_raises_one_signal_with_its_complaints(demo, clock):
    _plant(demo, clock)
    result = service.scan(demo, now=clock())
    demo.commit()
    assert result.raised == 1
    signal = demo.scalars(sa.select(ComplaintSignal)).one()
    assert (signal.model, signal.symptom, signal.status) == ("R-S38", "NOISE-COMPRESSOR", "open")
    assert signal.observed == 9 and signal.expected == 1.0 and signal.p_value < 0.001
    assert demo.scalar(sa.select(sa.func.count()).select_from(SignalComplaint)) == 9
    assert service.scan(demo, now=clock()).raised == 0  # the same numbers: nothing new


def test_a_dismissed_signal_comes_back_only_when_it_grows(demo, clock):
    _plant(demo, clock)
    service.scan(demo, now=clock())
    qa = _user(demo, "division.qa@example.com")
    signal = demo.scalars(sa.select(ComplaintSignal)).one()
    service.dismiss_signal(demo, user=qa, signal=signal, reason="Known noise, fixed by firmware", now=clock())
    demo.commit()
    assert service.scan(demo, now=clock()).raised == 0
    _plant(demo, clock, history=0, now_count=12)  # three more this week
    assert service.scan(demo, now=clock()).raised == 1
    demo.commit()
    assert [s.status for s in demo.scalars(sa.select(ComplaintSignal).order_by(ComplaintSignal.id))] == ["dismissed", "open"]
    actions = set(demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "complaint_signal")))
    assert actions == {"raised", "dismissed"}
