"""Safety notice pages: draft (division QA), sign and publish (head-office QA), the anonymous public page and index,
updates with a history, withdrawal, the incident page, and who is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from view_helpers import flashes, form_with, forms_of, location_path, text

from qa_incidents.incidents.models import Incident
from qa_incidents.safety_notices.models import SafetyNotice, SafetyNoticeVersion

DEMO_PASSWORD = "demo-password-2026"
ENGLISH = {"en_heading": "Stop using FH-1200 fan heaters", "en_product_name": "Fan heater FH-1200",
           "en_what_happened": "A customer reported carbon monoxide from the heater.",
           "en_contact_hours": "Every day 9:00-18:00"}
JAPANESE = {"ja_heading": "FH-1200 ファンヒーターの使用中止のお願い", "ja_product_name": "ファンヒーター FH-1200",
            "ja_what_happened": "お客様から一酸化炭素の発生が報告されました。"}


@pytest.fixture
def severe(demo, clock):  # type: ignore[no-untyped-def]
    """The demo's fan heater incident (Home Appliances), triaged S1."""
    from qa_incidents.accounts.models import User
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity

    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    workflow.triage(demo, user=qa, incident_id=incident.id, severity=Severity.S1,
                    override_reason="Carbon monoxide at a customer's home.", now=clock() - timedelta(hours=2))
    demo.commit()
    return incident


def draft(client, incident_id: int, **values):  # type: ignore[no-untyped-def]
    path = f"/safety-notices/incident/{incident_id}/draft"
    page = client.get(path)
    assert page.status_code == 200, text(page)[:1000]
    form = form_with(page, "models")
    data = form.data(**{"languages": ["en"], "actions": ["stop_using", "unplug", "contact"],
                        "contact_phone": "0120-000-111", **ENGLISH, **values})
    return client.post(path, data=data)


def assess(client, notice_id: int, **values):  # type: ignore[no-untyped-def]
    """The division's QA manager records the notice's risk assessment (R-Map, fire, region A) on its page."""
    page = client.get(f"/safety-notices/{notice_id}/risk-assessment")
    assert page.status_code == 200, text(page)[:1000]
    form = form_with(page, "rationale")
    return client.post(form.action or f"/safety-notices/{notice_id}/risk-assessment", data=form.data(**{
        "method": "r_map", "frequency": "2/100000", "harm_level": "3",
        "rationale": "Carbon monoxide at home can kill; 2 reports in 100,000 heaters a year.", **values}))


def approve(client, notice_id: int, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get(f"/safety-notices/{notice_id}")
    form = next(f for f in forms_of(page) if f.action.endswith("/approve"))
    return client.post(form.action, data=form.data(password=password))


def test_draft_sign_and_the_anonymous_public_page(severe, browser_as, app, fresh):
    qa = browser_as("division.qa@example.com")
    incident_page = text(qa.get(f"/incidents/{severe.id}"))
    assert "Public safety notice" in incident_page and "Draft a safety notice" in incident_page
    page = qa.get(f"/safety-notices/incident/{severe.id}/draft")
    form = form_with(page, "models")
    assert form.values["models"] == severe.product.model  # the products as the incident names them
    response = draft(qa, severe.id, **JAPANESE, languages=["en", "ja"])
    assert response.status_code == 303, text(response)[:3000]
    notice = fresh(sa.select(SafetyNotice))
    assert notice.status == "draft"
    shown = qa.get(location_path(response))
    assert "Version 1 of the safety notice is saved" in " ".join(flashes(shown))
    assert "Sign and publish" not in text(shown)  # the division drafts; head office signs
    anonymous = app.test_client()
    assert anonymous.get(f"/safety-notice/{notice.reference}").status_code == 404  # not public yet

    hq = browser_as("hq.qa@example.com")
    waiting = text(hq.get("/my-work"))
    assert "Safety notices to approve (1)" in waiting and notice.reference in waiting
    assert "Safety notices to approve" not in text(qa.get("/my-work"))
    refused = approve(hq, notice.id)
    assert refused.status_code == 422 and "Record a risk assessment" in text(refused)
    assert "Record a risk assessment" in text(hq.get(f"/safety-notices/{notice.id}"))  # said before signing, too
    bad = assess(qa, notice.id, frequency="often", harm_level="")
    assert bad.status_code == 422
    assert "Enter accidents per unit-year" in text(bad) and "Choose the severity of harm" in text(bad)
    assert 'value="often"' in bad.get_data(as_text=True)  # the input is kept
    assert assess(qa, notice.id).status_code == 303
    page = text(qa.get(f"/safety-notices/{notice.id}"))
    assert "Risk assessment" in page and "A: unacceptable risk" in page
    wrong = approve(hq, notice.id, password="not-my-password")
    assert wrong.status_code == 422 and "The password is not correct" in text(wrong)
    assert fresh(sa.select(SafetyNoticeVersion.published_at)) is None
    response = approve(hq, notice.id)
    assert response.status_code == 303
    assert "is signed and on the public page" in " ".join(flashes(hq.get(location_path(response))))

    public = anonymous.get(f"/safety-notice/{notice.reference}?lang=en")
    body = text(public)
    assert public.status_code == 200
    assert "Stop using FH-1200 fan heaters" in body and "A customer reported carbon monoxide" in body
    assert "Stop using the product now." in body and "0120-000-111" in body and severe.product.model in body
    assert "Version 1 · published 2026-11-20" in body and "History of this notice" in body
    assert severe.reference not in body and severe.title not in body  # nothing internal
    japanese = text(anonymous.get(f"/safety-notice/{notice.reference}?lang=ja"))
    assert "FH-1200 ファンヒーターの使用中止のお願い" in japanese and "Stop using FH-1200" not in japanese
    assert "What happened" not in japanese  # the labels are in Japanese too
    index = text(anonymous.get("/recall/?lang=en"))
    assert "Product safety notices" in index and "Stop using FH-1200 fan heaters" in index
    incident_page = text(qa.get(f"/incidents/{severe.id}"))
    assert notice.reference in incident_page and "Published" in incident_page
    assert "drafted a version of the public safety notice" in incident_page  # the timeline
    assert "signed and published the public safety notice" in incident_page
    assert "Safety notices to approve" not in text(hq.get("/my-work"))


def test_incomplete_language_re_renders_with_reasons_and_keeps_the_input(severe, browser_as, fresh):
    qa = browser_as("division.qa@example.com")
    response = draft(qa, severe.id, languages=["en", "ja"], ja_heading="Safety notice",
                     en_what_happened="Carbon monoxide came out of the heater.")
    assert response.status_code == 422
    form = form_with(response, "models")
    assert "Write the Japanese version in Japanese." in form.errors["ja_heading"]
    assert "Required in this language." in form.errors["ja_what_happened"]
    assert form.values["en_what_happened"] == "Carbon monoxide came out of the heater."
    assert form.values["ja_heading"] == "Safety notice"
    assert fresh(sa.select(sa.func.count(SafetyNotice.id))) == 0


def test_update_becomes_the_latest_with_the_history_and_withdrawal_keeps_it(severe, browser_as, app, fresh):
    qa, hq = browser_as("division.qa@example.com"), browser_as("hq.qa@example.com")
    assert draft(qa, severe.id).status_code == 303
    notice = fresh(sa.select(SafetyNotice))
    assert assess(qa, notice.id).status_code == 303
    assert approve(hq, notice.id).status_code == 303
    response = draft(qa, severe.id, kind="correction", en_what_happened="Two customers reported carbon monoxide.",
                     en_change_note="The number of reports was wrong.")
    assert response.status_code == 303, text(response)[:2000]
    assert approve(hq, notice.id).status_code == 303
    anonymous = app.test_client()
    body = text(anonymous.get(f"/safety-notice/{notice.reference}?lang=en"))
    assert "Two customers reported carbon monoxide." in body and "Version 2 · published" in body
    assert "Correction: The number of reports was wrong." in body and "Version 1 · published" in body

    page = hq.get(f"/safety-notices/{notice.id}")
    form = next(f for f in forms_of(page) if f.action.endswith("/withdraw"))
    refused = hq.post(form.action, data=form.data(password=DEMO_PASSWORD))
    assert refused.status_code == 422 and "Say why." in text(refused)
    response = hq.post(form.action, data=form.data(reason="The heater was not the cause.", password=DEMO_PASSWORD))
    assert response.status_code == 303
    body = text(anonymous.get(f"/safety-notice/{notice.reference}?lang=en"))
    assert "This notice was withdrawn on 2026-11-20." in body and "The heater was not the cause." in body
    assert "Version 1 · published" in body and "Version 2 · published" in body
    assert "Stop using FH-1200" not in text(anonymous.get("/recall/?lang=en"))
    assert fresh(sa.select(sa.func.count(SafetyNoticeVersion.id))) == 2


@pytest.mark.parametrize("email, status", [
    ("reporter@example.com", 403), ("executive@example.com", 403), ("engineer@example.com", 403),
    ("cable.qa@example.com", 404), ("admin@example.com", 403)])
def test_who_may_not_draft(severe, browser_as, email, status, fresh):
    client = browser_as(email)
    assert client.get(f"/safety-notices/incident/{severe.id}/draft").status_code == status
    assert fresh(sa.select(sa.func.count(SafetyNotice.id))) == 0


@pytest.mark.parametrize("email, status", [
    ("division.qa@example.com", 403), ("reporter@example.com", 403), ("executive@example.com", 403),
    ("cable.qa@example.com", 403)])
def test_who_may_not_approve(severe, browser_as, email, status, fresh):
    assert draft(browser_as("division.qa@example.com"), severe.id).status_code == 303
    notice = fresh(sa.select(SafetyNotice))
    client = browser_as(email)
    from view_helpers import csrf_token

    response = client.post(f"/safety-notices/{notice.id}/approve",
                           data={"password": DEMO_PASSWORD, "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == status
    assert fresh(sa.select(SafetyNoticeVersion.published_at)) is None


def test_other_divisions_do_not_see_the_notice_page(severe, browser_as, fresh):
    assert draft(browser_as("division.qa@example.com"), severe.id).status_code == 303
    notice = fresh(sa.select(SafetyNotice))
    assert browser_as("cable.reporter@example.com").get(f"/safety-notices/{notice.id}").status_code == 404
    assert browser_as("executive@example.com").get(f"/safety-notices/{notice.id}").status_code == 200


def test_a_minor_incident_offers_no_notice(demo, browser_as):
    qa = browser_as("division.qa@example.com")
    incident = demo.scalar(sa.select(Incident).where(Incident.severity.is_(None)).where(
        Incident.division_id == 2).limit(1))
    assert "Draft a safety notice" not in text(qa.get(f"/incidents/{incident.id}"))
    response = qa.get(f"/safety-notices/incident/{incident.id}/draft")
    assert response.status_code == 303
    assert "Only S1 and S2 (severe) incidents" in " ".join(flashes(qa.get(location_path(response))))


def test_the_public_notice_links_to_the_recall_that_follows_once_it_is_public(severe, browser_as, app, demo, clock,
                                                                              fresh):
    from qa_incidents.accounts.models import User
    from qa_incidents.recalls import service as recalls

    qa, hq = browser_as("division.qa@example.com"), browser_as("hq.qa@example.com")
    assert draft(qa, severe.id).status_code == 303
    notice = fresh(sa.select(SafetyNotice))
    assert assess(qa, notice.id).status_code == 303
    assert approve(hq, notice.id).status_code == 303
    from qa_incidents.core.db import begin_write

    demo.rollback()
    begin_write(demo)  # the test writes as the views do: a writer from the start of its transaction
    qa_user = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    hq_user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    recall = recalls.create_campaign(demo, user=qa_user, incident_ids=[severe.id], now=clock(),
                                     data=recalls.CampaignInput(title="FH-1200: replace the heater", remedy="repair",
                                                                countries=["JP"], units_affected=10,
                                                                owner_id=qa_user.id))
    recalls.add_population_line(demo, user=qa_user, recall_id=recall.id, exclude=False, model="FH-1200", lot="",
                                serial_first="", serial_last="", units=10, note="", now=clock())
    demo.commit()
    reference = recall.reference
    page = qa.get(f"/safety-notices/{notice.id}")
    form = next(f for f in forms_of(page) if f.action.endswith("/recall"))
    response = qa.post(form.action, data=form.data(recall_id=form.option_value("recall_id", reference)))
    assert response.status_code == 303
    assert reference in text(qa.get(f"/safety-notices/{notice.id}"))
    anonymous = app.test_client()
    link = "A recall follows this notice"
    assert link not in text(anonymous.get(f"/safety-notice/{notice.reference}?lang=en"))  # not public yet
    demo.rollback()
    begin_write(demo)
    recall = demo.get(recalls.RecallCampaign, recall.id)
    from tests.risk_helpers import assess_recall

    assess_recall(demo, user=qa_user, recall_id=recall.id, now=clock())
    recalls.launch(demo, user=hq_user, recall_id=recall.id, password=DEMO_PASSWORD, comment="", now=clock())
    import io

    from view_helpers import png_bytes

    picture = app.extensions["qa_storage"].put(io.BytesIO(png_bytes()))
    web = recalls.add_web_notice(demo, user=qa_user, recall_id=recall.id, picture=picture, picture_name="heater.png",
                                 keep_picture_from=None, now=clock(), content={
        "heading": "Product safety recall", "product_name": "Fan heater FH-1200", "identification": "Model FH-1200",
        "hazard": "Carbon monoxide.", "what_to_do": "Stop using it.", "remedy": "Replacement.",
        "contact": "0120-000-111", "units": "10", "where_sold": "Japan", "brand": "Acme", "incidents": "One."})
    recalls.publish_web_notice(demo, user=qa_user, recall_id=recall.id, notice_id=web.id, now=clock())
    demo.commit()
    body = anonymous.get(f"/safety-notice/{notice.reference}?lang=en").get_data(as_text=True)
    assert link in body and f"/recall/{reference}" in body


def test_the_api_reads_notices_and_cannot_publish_one(severe, browser_as, app, demo, clock, fresh):
    from qa_incidents.accounts.models import User
    from qa_incidents.api import tokens

    assert draft(browser_as("division.qa@example.com"), severe.id).status_code == 303
    notice = fresh(sa.select(SafetyNotice))
    client = app.test_client()

    def token(email: str) -> dict[str, str]:
        demo.rollback()
        user = demo.scalar(sa.select(User).where(User.email == email))
        secret = tokens.create_token(demo, user=user, name="test", now=clock())[1]
        demo.commit()
        return {"Authorization": f"Bearer {secret}"}

    hq = token("hq.qa@example.com")
    response = client.get(f"/api/v1/incidents/{severe.id}/safety-notices", headers=hq)
    assert response.status_code == 200
    [found] = response.get_json()
    assert (found["reference"], found["status"]) == (notice.reference, "draft")
    assert found["versions"][0]["published_at"] is None and found["versions"][0]["models"] == severe.product.model
    assert client.get(f"/api/v1/incidents/{severe.id}/safety-notices",
                      headers=token("cable.qa@example.com")).status_code == 404
    # No API call publishes it: there is no writing operation on notices at all.
    for method in ("POST", "PUT", "PATCH"):
        assert client.open(f"/api/v1/incidents/{severe.id}/safety-notices", method=method, headers=hq,
                           json={"status": "published"}).status_code in (404, 405)
    assert fresh(sa.select(SafetyNoticeVersion.published_at)) is None
