"""Complaint pages: contact data only for QA managers, division scoping, a signal's chart and its prefilled forms."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, logged_in, text

from qa_incidents.accounts.models import User
from qa_incidents.complaints import rules, service
from qa_incidents.complaints.models import ComplaintSignal


def _user(session, email):  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


def _plant(session, clock):  # type: ignore[no-untyped-def]
    """One noise complaint a week on R-S38 for fifteen weeks, then nine within the last hours; committed."""
    qa = _user(session, "division.qa@example.com")
    now = clock()
    for week in range(1, 16):
        service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
            source="test", external_id=f"h{week}", model="R-S38", symptom="NOISE-COMPRESSOR", country="JP",
            received_at=now - timedelta(weeks=week), text="Compressor hums loudly"))
    for k in range(9):
        service.log_complaint(session, user=qa, now=now, data=rules.ComplaintIn(
            source="test", external_id=f"n{k}", model="R-S38", symptom="NOISE-COMPRESSOR", country="JP",
            received_at=now - timedelta(hours=k + 1), text="Compressor hums loudly and rattles"))
    session.commit()


def test_contact_data_is_shown_only_to_qa_managers_and_complaints_are_division_scoped(app, demo, clock):  # type: ignore[no-untyped-def]
    qa = _user(demo, "division.qa@example.com")
    complaint = service.log_complaint(demo, user=qa, now=clock(), data=rules.ComplaintIn(
        source="web", external_id="w1", model="R-S38", country="JP", received_at=clock() - timedelta(hours=1),
        text="Smoke came out of the back", customer_name="Hanako Yamada", customer_contact="hanako@example.jp"))
    demo.commit()
    assert complaint.flagged and complaint.safety_terms == "smoke"
    client = logged_in(app, "division.qa@example.com")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "hanako@example.jp" in page and "File as incident" in page
    for email in ("executive@example.com", "reporter@example.com"):
        client = logged_in(app, email)
        page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
        assert "Smoke came out of the back" in page and "hanako@example.jp" not in page and "Hanako" not in page
        assert client.get(f"/complaints/{complaint.id}/file").status_code == 403
    client = logged_in(app, "cable.reporter@example.com")
    assert client.get(f"/complaints/{complaint.id}").status_code == 404
    assert "Smoke came out" not in client.get("/complaints/").get_data(as_text=True)


def test_signal_pages_show_the_chart_and_the_prefilled_incident_form(app, demo, clock):  # type: ignore[no-untyped-def]
    _plant(demo, clock)
    service.scan(demo, now=clock())
    demo.commit()
    signal = demo.scalars(sa.select(ComplaintSignal)).one()
    client = logged_in(app, "division.qa@example.com")
    listing = client.get("/complaints/signals").get_data(as_text=True)
    assert "R-S38" in listing and "NOISE-COMPRESSOR" in listing
    page = client.get(f"/complaints/signals/{signal.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "Promote to incident" in html
    form = client.get(f"/complaints/signals/{signal.id}/promote").get_data(as_text=True)
    assert "Rising complaints: R-S38 — NOISE-COMPRESSOR" in form and "Compressor hums loudly and rattles" in form
    dismissed = client.post(f"/complaints/signals/{signal.id}/dismiss",
                            data={"reason": "", "csrf_token": csrf_token(client, f"/complaints/signals/{signal.id}")})
    assert dismissed.status_code == 422 and "Say why the signal is dismissed." in dismissed.get_data(as_text=True)


def test_my_work_lists_flagged_complaints_and_open_signals_for_qa_only(app, demo, clock):  # type: ignore[no-untyped-def]
    _plant(demo, clock)
    service.scan(demo, now=clock())
    qa = _user(demo, "division.qa@example.com")
    service.log_complaint(demo, user=qa, now=clock(), data=rules.ComplaintIn(
        source="web", external_id="w-smoke", model="R-S38", country="JP", received_at=clock() - timedelta(hours=1),
        text="Smoke came out of the back"))
    demo.commit()
    for email in ("division.qa@example.com", "hq.qa@example.com"):
        page = text(logged_in(app, email).get("/my-work"))
        assert "Flagged complaints not yet filed (1)" in page and "R-S38 — smoke" in page, email
        assert "Open signals to promote or dismiss (1)" in page and "R-S38 — NOISE-COMPRESSOR" in page, email
    for email in ("reporter@example.com", "cable.reporter@example.com", "executive@example.com"):
        assert "Complaints waiting for QA" not in text(logged_in(app, email).get("/my-work")), email


def test_the_dashboard_draws_complaints_signals_and_time_to_incident(app, demo, clock):  # type: ignore[no-untyped-def]
    _plant(demo, clock)
    service.scan(demo, now=clock())
    demo.commit()
    client = logged_in(app, "division.qa@example.com")
    body = text(client.get("/dashboard"))
    assert "Complaints per model and symptom" in body and "Open complaint signals" in body
    assert "Time from first complaint to incident" in body
    csv = client.get("/dashboard/complaints_by_week.csv").get_data(as_text=True)
    assert "R-S38 — NOISE-COMPRESSOR" in csv
    assert csv.strip().splitlines()[-1].endswith(",9")  # nine complaints this week
    signals = client.get("/dashboard/complaint_signals_open.csv").get_data(as_text=True)
    assert "R-S38 — NOISE-COMPRESSOR" in signals and ",9," in signals
    assert "≤ 1 day,0" in client.get("/dashboard/complaint_to_incident.csv").get_data(as_text=True)

    signal = demo.scalars(sa.select(ComplaintSignal)).one()
    form = form_with(client.get(f"/complaints/signals/{signal.id}/promote"), "title")
    filed = client.post(f"/complaints/signals/{signal.id}/promote", data=form.data(lot_numbers="L2611", no_harm="y"))
    assert filed.status_code == 302, (form_with(filed, "title").errors, flashes(filed))
    assert "R-S38" not in client.get("/dashboard/complaint_signals_open.csv").get_data(as_text=True)
    lead = client.get("/dashboard/complaint_to_incident.csv").get_data(as_text=True)
    assert "≤ 1 day,1" in lead  # the complaints behind the signal came in the hours before the filing
    assert logged_in(app, "cable.reporter@example.com").get("/dashboard").status_code == 403
