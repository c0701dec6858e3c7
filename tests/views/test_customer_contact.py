"""Customer contact data in fields of its own: division QA of the division and head-office QA record and read it;
engineers, executives, other divisions' QA and lessons never get it (page, history, API, export)."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import flashes, form_with, text

from qa_incidents.accounts.models import User
from qa_incidents.api import tokens
from qa_incidents.incidents.models import Incident

NAME, PHONE, EMAIL, ADDRESS = "Hanako Yamada", "090-1234-5678", "hanako.yamada@example.jp", "3-12 Sakuragaoka, Setagaya"
SECRETS = (NAME, PHONE, EMAIL, ADDRESS, "Yamada", "09012345678")


def _fire(demo) -> Incident:  # type: ignore[no-untyped-def]
    return demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))


def _edit_with_contact(client, incident_id: int, **changes):  # type: ignore[no-untyped-def]
    form = form_with(client.get(f"/incidents/{incident_id}/edit"), "title")
    values = {"customer_name": NAME, "customer_phone": PHONE, "customer_email": EMAIL, "customer_address": ADDRESS}
    values.update(changes)
    return client.post(f"/incidents/{incident_id}/edit", data=form.data(**values))


def _api(client, demo, clock, email: str, method: str, path: str, **kw):  # type: ignore[no-untyped-def]
    demo.rollback()
    user = demo.scalar(sa.select(User).where(User.email == email))
    _, token = tokens.create_token(demo, user=user, name="test client", now=clock())
    demo.commit()
    return client.open(f"/api/v1{path}", method=method, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_division_qa_records_contact_and_only_qa_of_the_division_and_head_office_see_it(
        demo, clock, browser_as, fresh):  # type: ignore[no-untyped-def]
    incident_id = _fire(demo).id
    qa = browser_as("division.qa@example.com")
    edit = qa.get(f"/incidents/{incident_id}/edit")
    assert "Customer contact (visible to QA only)" in text(edit)
    response = _edit_with_contact(qa, incident_id)
    assert response.status_code == 302
    demo.rollback()
    stored = demo.execute(sa.select(Incident.customer_name, Incident.customer_phone, Incident.customer_email,
                                    Incident.customer_address).where(Incident.id == incident_id)).one()
    assert tuple(stored) == (NAME, PHONE, EMAIL, ADDRESS)

    for email in ("division.qa@example.com", "hq.qa@example.com"):
        page = text(browser_as(email).get(f"/incidents/{incident_id}"))
        assert NAME in page and PHONE in page and EMAIL in page and ADDRESS in page, email

    # The executive reads the incident (and its history) but never the contact values.
    page = browser_as("executive@example.com").get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    shown = text(page)
    assert "Refrigerator caught fire in kitchen" in shown
    assert not [s for s in SECRETS if s in shown]
    assert not [s for s in SECRETS if s in page.get_data(as_text=True)]
    # Division QA of another division cannot open the incident at all; engineers neither.
    assert browser_as("cable.qa@example.com").get(f"/incidents/{incident_id}").status_code in (403, 404)
    assert browser_as("engineer@example.com").get(f"/incidents/{incident_id}").status_code in (403, 404)


def test_reporters_form_has_no_contact_fields(demo, browser_as):  # type: ignore[no-untyped-def]
    page = text(browser_as("reporter@example.com").get(f"/incidents/{_fire(demo).id}/edit"))
    assert "Description" in page and "Customer contact" not in page


def test_contact_data_never_reaches_the_api_or_export_of_roles_without_the_right(
        demo, clock, browser_as, client):  # type: ignore[no-untyped-def]
    incident = _fire(demo)
    incident.customer_name, incident.customer_phone = NAME, PHONE
    incident.customer_email, incident.customer_address = EMAIL, ADDRESS
    demo.commit()
    path = f"/incidents/{incident.id}"

    qa = _api(client, demo, clock, "division.qa@example.com", "GET", path)
    assert qa.status_code == 200
    assert qa.get_json()["customer_contact"] == {"customer_name": NAME, "customer_phone": PHONE,
                                                 "customer_email": EMAIL, "customer_address": ADDRESS}

    executive = _api(client, demo, clock, "executive@example.com", "GET", path)
    assert executive.status_code == 200 and executive.get_json()["customer_contact"] is None
    assert not [s for s in SECRETS if s in executive.get_data(as_text=True)]
    listing = _api(client, demo, clock, "executive@example.com", "GET", "/incidents?limit=100")
    assert listing.status_code == 200 and not [s for s in SECRETS if s in listing.get_data(as_text=True)]
    assert _api(client, demo, clock, "engineer@example.com", "GET", path).status_code in (403, 404)
    assert _api(client, demo, clock, "cable.qa@example.com", "GET", path).status_code in (403, 404)

    for fmt in ("csv", "json"):
        export = browser_as("executive@example.com").get(f"/imports/export/register.{fmt}")
        assert export.status_code == 200
        body = export.get_data(as_text=True)
        assert "Refrigerator caught fire in kitchen" in body
        assert not [s for s in SECRETS if s in body], fmt


def test_api_records_contact_for_qa_and_refuses_it_from_a_reporter(demo, clock, client):  # type: ignore[no-untyped-def]
    incident = _fire(demo)
    path = f"/incidents/{incident.id}"
    body = {"customer_contact": {"customer_phone": PHONE}}
    version = incident.version
    made = {}
    for email in ("reporter@example.com", "division.qa@example.com"):
        user = demo.scalar(sa.select(User).where(User.email == email))
        made[email] = tokens.create_token(demo, user=user, name="t", now=clock())[1]
    demo.commit()

    def patch(email: str, payload: dict, if_match: str = f'"{version}"'):  # type: ignore[no-untyped-def, type-arg]
        return client.patch(f"/api/v1{path}", json=payload,
                            headers={"Authorization": f"Bearer {made[email]}", "If-Match": if_match})

    assert patch("reporter@example.com", body).status_code == 422
    response = patch("division.qa@example.com", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["customer_contact"]["customer_phone"] == PHONE
    bad = patch("division.qa@example.com", {"customer_contact": {"customer_email": "not an address"}}, "*")
    assert bad.status_code == 422


def test_history_shows_audited_contact_values_only_to_qa(demo, clock, browser_as):  # type: ignore[no-untyped-def]
    from qa_incidents.core import audit

    incident_id = _fire(demo).id
    assert _edit_with_contact(browser_as("hq.qa@example.com"), incident_id).status_code == 302
    demo.rollback()
    events = audit.events_for_incident(demo, incident_id)
    assert any((e.changes.get("customer_phone") or [None, None])[1] == PHONE for e in events)  # audited
    hq = text(browser_as("hq.qa@example.com").get(f"/incidents/{incident_id}"))
    assert "Customer phone" in hq and hq.count(PHONE) >= 2  # the contact block and the history
    executive = browser_as("executive@example.com").get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "Customer phone" not in executive and PHONE not in executive


def test_filing_form_warns_when_the_description_holds_a_phone_or_e_mail(demo, browser_as):  # type: ignore[no-untyped-def]
    incident_id = _fire(demo).id
    qa = browser_as("division.qa@example.com")
    response = _edit_with_contact(qa, incident_id, customer_phone="",
                                  description="Customer called from 03-5555-1234 and wrote to a.b@example.com.")
    assert response.status_code == 302  # a warning, not a refusal
    shown = flashes(qa.get(f"/incidents/{incident_id}"))
    assert any("Customer contact (visible to QA only)" in f and "Phone number" in f for f in shown), shown


def test_a_lesson_from_an_incident_with_contact_data_contains_none_of_it(demo, clock, browser_as, fresh):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from qa_incidents.reviews import service
    from qa_incidents.reviews.models import Lesson
    from qa_incidents.reviews.rules import CountermeasureType, Dimension

    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    incident.customer_name, incident.customer_phone = NAME, PHONE  # the triaged demo case
    incident.customer_email, incident.customer_address = EMAIL, ADDRESS
    demo.commit()
    writer = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    now = clock()
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity

    workflow.triage(demo, user=writer, incident_id=incident.id, severity=Severity.S1,
                    override_reason="CO poisoning at a customer's home", now=now)
    review = service.start_review(demo, user=writer, incident_ids=[incident.id], title="Relay overheating", now=now)
    # Contact data typed into the review's free text, in forms the patterns alone would not all catch.
    service.update_review(demo, user=writer, review_id=review.id, expected_version=review.version, now=now,
                          data=service.ReviewInput(
        title="Relay overheating",
        phenomenon=f"{NAME} reported smoke; Yamada called back from 0901234 5678 and {PHONE}, "
                   f"lives at {ADDRESS}, wrote from {EMAIL}.",
        failure_mode="Fire / overheating", mechanism="Loose crimp raised contact resistance.",
        process_stage="manufacturing", process_cause=f"Crimp height not controlled (unit of {NAME}).",
        escape_reason="End-of-line test checks function only.", framework_cause="No first-article rule.",
        motivating_factors=["schedule"], motivating_cause="Restarted quickly to meet output.",
        design_review_checks="Is every power joint given a crimp-height window?"))
    service.add_why_step(demo, user=writer, review_id=review.id, dimension=Dimension.TECHNICAL,
                         question="Why did it overheat?", answer=f"Resistance 20x nominal at {ADDRESS}",
                         evidence="TR-118", now=now)
    service.add_countermeasure(demo, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="First-article crimp check",
        owner_id=writer.id, due_on=now.date() + timedelta(days=10)))
    # An S1 review is the full form: every dimension that found a cause has its countermeasure.
    for dimension, tier in ((Dimension.TECHNICAL, "design"), (Dimension.FRAMEWORK, ""), (Dimension.MOTIVATING, "")):
        service.add_countermeasure(demo, user=writer, review_id=review.id, now=now, data=service.CountermeasureInput(
            dimension=dimension, kind=CountermeasureType.ELIMINATE_CAUSE, description=f"Answer the {dimension} cause",
            owner_id=writer.id, due_on=now.date() + timedelta(days=10), safety_tier=tier))
    service.submit_review(demo, user=writer, review_id=review.id, now=now)
    demo.commit()
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    service.approve_review(demo, user=hq, review_id=review.id, password="demo-password-2026", comment="ok", now=clock())
    demo.commit()
    lesson = demo.scalar(sa.select(Lesson).where(Lesson.review_id == review.id))
    stored = " ".join(str(getattr(lesson, c.name)) for c in Lesson.__table__.columns)
    assert "Loose crimp raised contact resistance." in stored
    assert not [s for s in SECRETS if s in stored]
    page = text(browser_as("engineer@example.com").get(f"/reviews/lessons/{lesson.id}"))
    assert "Loose crimp raised contact resistance." in page and not [s for s in SECRETS if s in page]
