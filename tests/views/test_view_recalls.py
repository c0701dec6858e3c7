"""Recall pages: prepare, sign the launch, notices, progress and CSV import, reports, closure, scoping."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, forms_of, location_path, png_bytes, text

from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.core.signatures import Signature
from qa_incidents.recalls import service
from qa_incidents.recalls.models import ProgressEntry, RecallCampaign

DEMO_PASSWORD = "demo-password-2026"
COMPLETE_NOTICE = {
    "heading": "Product safety recall", "product_name": "French-door refrigerator 540 L (R-HW540)",
    "brand": "Acme; sold by ShopCo", "identification": "Model R-HW540; serial numbers AB-100000 to AB-199999, "
    "printed on the label inside the fridge door.", "where_sold": "Sold in Japan from January 2025 to June 2026.",
    "units": "About 48,200 units.", "hazard": "The compressor relay can overheat and set the refrigerator on fire.",
    "incidents": "One fire with a minor burn.", "what_to_do": "Stop using the refrigerator and unplug it.",
    "remedy": "We replace the relay at your home free of charge.", "contact": "Recall desk 0120-000-000",
}


def start_recall(client, incident_id: int = 1, **changes):  # type: ignore[no-untyped-def]
    page = client.get(f"/recalls/new?incident={incident_id}")
    assert page.status_code == 200, page.status_code
    form = form_with(page, "title")
    values = {"title": "R-HW540 relay: replace", "countries": "JP", "units_affected": "1000",
              "target_percent": "90", **changes}
    return client.post(form.action or f"/recalls/new?incident={incident_id}", data=form.data(**values))


def add_line(client, recall_id: int, **values):  # type: ignore[no-untyped-def]
    form = form_with(client.get(f"/recalls/{recall_id}/population"), "model")
    return client.post(f"/recalls/{recall_id}/population", data=form.data(**values))


def sign(client, path: str, password: str = DEMO_PASSWORD, **values):  # type: ignore[no-untyped-def]
    form = form_with(client.get(path), "password")
    return client.post(path, data=form.data(password=password, **values))


def assess(client, recall_id: int = 1, **values):  # type: ignore[no-untyped-def]
    """Division QA records the recall's risk assessment by the EU method (a fire: severity 4, 1/10 × 1/100)."""
    path = f"/recalls/{recall_id}/risk-assessment"
    form = form_with(client.get(path), "rationale")
    return client.post(path, data=form.data(**{
        "method": "eu_gpsr", "scenario": "A family leaves the fridge running overnight; the relay overheats.",
        "severity": "4", "step_1_text": "The relay is from the bad lot", "step_1_probability": "1/10",
        "step_2_text": "It overheats enough to ignite the housing", "step_2_probability": "1/100",
        "rationale": "Fire in a home is life-threatening; the supplier's data gives both steps.", **values}))


@pytest.fixture
def prepared(browser_as):  # type: ignore[no-untyped-def]
    """A recall for incident 1 with its population, prepared by division QA (not launched)."""
    qa = browser_as("division.qa@example.com")
    response = start_recall(qa)
    assert response.status_code == 302, text(response)[:2000]
    assert location_path(response) == "/recalls/1/population"
    assert add_line(qa, 1, model="R-HW540", serial_first="AB-100000", serial_last="AB-199999",
                    units="1000").status_code == 302
    assert add_line(qa, 1, model="R-HW540", serial_first="AB-120000", serial_last="AB-120999", exclude=True,
                    note="Reworked at the factory before shipping").status_code == 302
    assert assess(qa).status_code == 303
    return qa


@pytest.fixture
def launched(prepared, browser_as):  # type: ignore[no-untyped-def]
    hq = browser_as("hq.qa@example.com")
    assert sign(hq, "/recalls/1/launch").status_code == 302
    return prepared, hq


def publish_notice(client, **changes):  # type: ignore[no-untyped-def]
    page = client.get("/recalls/1/notices/web/new")
    form = form_with(page, "hazard")
    data = form.data(**{**COMPLETE_NOTICE, **changes})
    data["picture"] = (io.BytesIO(png_bytes()), "fridge.png")
    response = client.post("/recalls/1/notices/web/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:1500]
    page = client.get(location_path(response))
    publish = [f for f in forms_of(page) if f.action.endswith("/publish")]
    return client.post(publish[0].action, data=publish[0].values) if publish else None


def test_division_qa_prepares_and_head_office_signs_the_launch(prepared, browser_as, fresh):
    page = prepared.get("/recalls/1")
    body = text(page)
    assert "RC-2026-0001" in body and "Being prepared" in body and "INC-2026-000001" in body
    assert "Approve launch" not in body  # division QA prepares; it does not approve
    assert prepared.get("/recalls/1/launch").status_code == 403

    hq = browser_as("hq.qa@example.com")
    wrong = sign(hq, "/recalls/1/launch", password="not-my-password")
    assert wrong.status_code == 422 and "The password is not correct" in text(wrong)
    assert fresh(sa.select(RecallCampaign.status)) == "draft"

    response = sign(hq, "/recalls/1/launch", comment="Go.")
    assert response.status_code == 302
    assert "Recall RC-2026-0001 launched. Publish the customer notice next." in flashes(hq.get(location_path(response)))
    assert fresh(sa.select(RecallCampaign.status)) == "launched"
    signature = fresh(sa.select(Signature).where(Signature.entity_type == "recall"))
    assert signature.meaning == "approved recall launch" and signature.signer_name == "Yuki Nakamura"
    assert signature.content["population"][1]["exclude"] is True
    assert signature.content["risk_assessment"]["method"] == "eu_gpsr"  # the signer signs the risk they saw
    assert signature.content["risk_assessment"]["result"] == "serious"


def test_the_risk_assessment_is_required_checked_and_shown_with_its_grid(browser_as, fresh):
    from qa_incidents.risk.models import RiskAssessment

    qa = browser_as("division.qa@example.com")
    start_recall(qa)
    add_line(qa, 1, model="R-HW540")
    hq = browser_as("hq.qa@example.com")
    assert "Record a risk assessment (R-Map or the EU method)" in text(hq.get("/recalls/1"))
    refused = sign(hq, "/recalls/1/launch")
    assert refused.status_code == 422 and "Record a risk assessment" in text(refused)
    assert fresh(sa.select(RecallCampaign.status)) == "draft"

    form_page = qa.get("/recalls/1/risk-assessment")
    assert form_with(form_page, "rationale").values["frequency"] == "1/1000"  # 1 incident over 1,000 units
    bad = assess(qa, step_2_probability="2", rationale="")
    assert bad.status_code == 422
    body = text(bad)
    assert "Step 2: give its probability between 0 and 1" in body and "Give the reasons for the values" in body
    assert form_with(bad, "rationale").values["step_2_probability"] == "2"  # the input is kept
    assert fresh(sa.select(sa.func.count(RiskAssessment.id))) == 0

    assert assess(qa).status_code == 303
    page = qa.get("/recalls/1")
    body = text(page)
    assert "EU method (GPSR / Safety Gate risk assessment guidelines)" in body and "Serious risk" in body
    assert "1/1 000 (> 1/10 000)" in body and "Kenji Sato" in body  # the scenario's probability, who assessed
    html = page.get_data(as_text=True)
    assert html.count('aria-current="true"') == 1  # one cell of the grid is marked: "> 1/10 000" × severity 4
    assert "recorded a risk assessment" in text(qa.get("/incidents/1"))  # on the incident's timeline

    skipped = assess(qa, method="skipped", rationale="Same hazard as RC-2025-0007, assessed there.")
    assert skipped.status_code == 303
    body = text(qa.get("/recalls/1"))
    assert "No assessment (reason recorded)" in body and "Same hazard as RC-2025-0007" in body
    assert "2 assessments recorded; the latest is in force." in body
    assert "Record a risk assessment" not in text(hq.get("/recalls/1"))  # a recorded reason to skip is enough
    # Whoever assessed the risk prepared the decision: head office may not assess and then sign.
    assert "Approve launch" in text(hq.get("/recalls/1"))


def test_launch_needs_a_population(browser_as, fresh):
    qa = browser_as("division.qa@example.com")
    start_recall(qa)
    hq = browser_as("hq.qa@example.com")
    assert "Describe the affected population" in text(hq.get("/recalls/1"))
    response = sign(hq, "/recalls/1/launch")
    assert response.status_code == 422
    assert "Describe the affected population (at least one model)." in text(response)
    assert fresh(sa.select(RecallCampaign.status)) == "draft"


def test_bad_input_re_renders_with_reasons_and_keeps_what_was_typed(browser_as):
    qa = browser_as("division.qa@example.com")
    response = start_recall(qa, countries="JP, XX")
    assert response.status_code == 422
    form = form_with(response, "title")
    assert "Unknown country codes: XX." in form.errors["countries"]
    assert form.values["title"] == "R-HW540 relay: replace" and form.values["countries"] == "JP, XX"
    response = start_recall(qa, target_percent="150")
    assert response.status_code == 422 and "target_percent" in form_with(response, "title").errors
    start_recall(qa)
    bad = add_line(qa, 1, model="R-HW540", serial_first="AB-200000", serial_last="AB-100000")
    assert bad.status_code == 422
    assert "comes after" in form_with(bad, "model").errors["serial_last"]
    assert form_with(bad, "model").values["serial_first"] == "AB-200000"


def test_notice_publication_is_checked_against_the_required_contents(launched):
    qa, _hq = launched
    response = publish_notice(qa, units="", hazard="In rare situations the relay may overheat.")
    # Japan only: the units are not required and the EU word check does not apply.
    assert response.status_code == 302
    assert "Version 1 is now on the public page." in flashes(qa.get(location_path(response)))

    page = qa.get("/recalls/1/notices/web/new")
    form = form_with(page, "hazard")
    data = form.data(picture=None, product_name="", contact="")
    response = qa.post("/recalls/1/notices/web/new", data=data, content_type="multipart/form-data")
    version = qa.get(location_path(response))
    assert "Missing: Product name and common names." in text(version)
    publish = [f for f in forms_of(version) if f.action.endswith("/publish")][0]
    refused = qa.post(publish.action, data=publish.values)
    assert "Not published: Missing: Product name and common names. Missing: Contact point." in flashes(
        qa.get(location_path(refused)))
    # the public page still shows version 1, with its picture kept
    public = qa.application.test_client().get("/recall/RC-2026-0001")
    assert "French-door refrigerator 540 L (R-HW540)" in text(public)


def test_adverts_and_mailings_are_recorded(launched, fresh):
    qa, _ = launched
    page = qa.get("/recalls/1/notices")
    advert = form_with(page, "advert-paper")
    data = advert.data(**{"advert-paper": "Asahi Shimbun", "advert-edition": "Morning, national", "advert-region": "Kanto",
                          "advert-run_on": "2026-11-19", "advert-size": "2 columns x 10 cm", "advert-cost": "1250000",
                          "advert-currency": "jpy", "advert-text_as_run": "Product safety recall: R-HW540 refrigerators"})
    data["advert-image"] = (io.BytesIO(png_bytes()), "advert.png")
    response = qa.post(advert.action, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:1000]
    mailing = form_with(page, "mailing-recipients")
    bad = qa.post(mailing.action, data=mailing.data(**{"mailing-sent_on": "2026-11-19", "mailing-recipients": "0"}))
    assert bad.status_code == 422
    ok = qa.post(mailing.action, data=mailing.data(**{"mailing-sent_on": "2026-11-19", "mailing-recipients": "3120"}))
    assert ok.status_code == 302
    body = text(qa.get("/recalls/1/notices"))
    assert "Asahi Shimbun" in body and "1,250,000.00 JPY" in body and "3,120" in body


def test_progress_entry_chart_and_csv_import(launched, fresh):
    qa, _ = launched
    page = qa.get("/recalls/1/progress")
    form = form_with(page, "entry-repaired")
    response = qa.post(form.action, data=form.data(**{"entry-recorded_on": "2026-11-20", "entry-country": "JP",
                                                      "entry-repaired": "120", "entry-notified": "400"}))
    assert response.status_code == 302
    page = qa.get("/recalls/1/progress")
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html and "Completion curve" in html
    assert "12.0 %" in text(page)

    csv_text = ("centre,reference,date,country,channel,located,notified,repaired,replaced,refunded\n"
                "Osaka SC,B-1,2026-11-19,JP,service_centre,10,10,30,0,0\n"
                "Osaka SC,B-2,2026/11/19,JP,service_centre,1,1,1,0,0\n"
                "Osaka SC,B-3,2026-11-19,ZZ,service_centre,1,1,1,0,0\n"
                "Osaka SC,B-4,2026-11-19,JP,service_centre,1,1,-4,0,0\n"
                "Tokyo SC,T-9,2026-11-19,JP,retailer,0,0,0,20,5\n"
                "Tokyo SC,T-10,2026-11-01,JP,retailer,0,0,0,1,0\n")
    imp = [f for f in forms_of(page) if f.action.endswith("/progress/import")][0]

    def upload(content: str):  # type: ignore[no-untyped-def]
        data = dict(imp.values)
        data["csv-file"] = (io.BytesIO(content.encode()), "centres.csv")
        return qa.post(imp.action, data=data, content_type="multipart/form-data")

    result = upload(csv_text)
    body = text(result)
    assert "2 rows added, 0 already imported, 4 rejected." in body
    assert "3 Date “2026/11/19” is not YYYY-MM-DD." in body
    assert "4 Use a two-letter country code, e.g. JP." in body
    assert "5 repaired “-4” is not a whole number of 0 or more." in body
    assert "7 The day is before the recall was launched." in body
    again = text(upload(csv_text))
    assert "0 rows added, 2 already imported, 4 rejected." in again
    assert fresh(sa.select(sa.func.sum(ProgressEntry.repaired))) == 150
    assert "Missing columns: reference" in text(upload("centre,date\nX,2026-11-19\n"))

    csv_response = qa.get("/recalls/1/progress.csv")
    assert csv_response.mimetype == "text/csv"
    assert csv_response.get_data(as_text=True).splitlines()[-1].endswith(",175")


def test_reports_follow_the_cpsc_schedule_and_are_tracked(launched, app, demo, clock):
    qa, _ = launched
    form = form_with(qa.get("/recalls/1/edit"), "title")
    data = form.data()
    data["report_regimes"] = "US-CPSC-MPR"
    data["countries"] = "JP, US"
    assert qa.post("/recalls/1/edit", data=data).status_code == 302
    clock.advance(days=45)
    page = text(qa.get("/recalls/1/reports"))
    assert "2026-11 2026-11-01 2026-11-30 2026-12-01" in page
    assert "2026-12 2026-12-01 2026-12-31 2027-01-01" in page
    report = qa.get("/recalls/1/reports/US-CPSC-MPR/2026-11")
    assert report.status_code == 200 and "CPSC monthly progress report: 2026-11" in text(report)
    assert qa.get("/recalls/1/reports/US-CPSC-MPR/2031-01").status_code == 404
    track = [f for f in forms_of(qa.get("/recalls/1/reports")) if f.action.endswith("/track")][0]
    response = qa.post(track.action, data=track.values)
    assert "3 report periods are tracked as regulator notifications." in flashes(qa.get(location_path(response)))
    from qa_incidents.notifications.models import NotificationRecord

    demo.rollback()
    records = list(demo.scalars(sa.select(NotificationRecord).where(NotificationRecord.recall_id == 1)
                                .order_by(NotificationRecord.period_label)))
    assert [(r.regime_code, r.kind, r.period_label) for r in records] == [
        ("US-CPSC-MPR", "progress_report", "2026-11"), ("US-CPSC-MPR", "progress_report", "2026-12"),
        ("US-CPSC-MPR", "progress_report", "2027-01")]  # the current month's report too: its deadline is known
    assert records[0].due_at.isoformat() == "2026-12-02T04:59:59+00:00"  # end of 1 December in New York


def test_closure_needs_the_effectiveness_check_and_a_justification_below_target(launched, fresh, demo):
    qa, hq = launched
    assert service.open_recalls_for(demo, 1) == 1
    response = sign(hq, "/recalls/1/close")
    assert response.status_code == 422
    body = text(response)
    assert "Record the effectiveness check first." in body
    assert "The target of 90 % is not reached (0.0 % remedied)" in body

    form = form_with(qa.get("/recalls/1/effectiveness"), "effectiveness_check")
    assert qa.post("/recalls/1/effectiveness", data=form.data(effectiveness_check="short")).status_code == 422
    assert qa.post("/recalls/1/effectiveness", data=form.data(
        effectiveness_check="Twenty repaired units re-tested at 45 °C for 72 h: no relay overheating.")).status_code == 302
    response = sign(hq, "/recalls/1/close", justification="Remaining units are exported stock destroyed by the "
                                                         "distributor; certificates on file.")
    assert response.status_code == 302
    assert fresh(sa.select(RecallCampaign.status)) == "closed"
    demo.rollback()
    assert service.open_recalls_for(demo, 1) == 0
    closure = fresh(sa.select(Signature).where(Signature.meaning == "approved recall closure"))
    assert "destroyed by the distributor" in closure.content["justification"]


def test_division_scoping_and_roles(launched, browser_as):
    other_division = browser_as("cable.reporter@example.com")
    for path in ("/recalls/1", "/recalls/1/progress", "/recalls/1/notices", "/recalls/1/population"):
        assert other_division.get(path).status_code == 404, path
    assert "RC-2026-0001" not in text(other_division.get("/recalls/"))
    reporter = browser_as("reporter@example.com")  # same division, reads but does not run recalls
    assert reporter.get("/recalls/1").status_code == 200
    token = csrf_token(reporter, "/recalls/1")
    assert reporter.post("/recalls/1/progress", data={"csrf_token": token}).status_code == 403
    assert reporter.get("/recalls/new?incident=1").status_code == 403
    executive = browser_as("executive@example.com")
    assert executive.get("/recalls/1/progress").status_code == 200
    assert executive.get("/recalls/1/close").status_code == 403


def test_incident_page_lists_recalls_and_a_start_link(launched):
    qa, _ = launched
    page = qa.get("/recalls/?incident=1")
    assert "Recalls for INC-2026-000001" in text(page) and "RC-2026-0001" in text(page)
    assert 'href="/recalls/new?incident=1"' in page.get_data(as_text=True)


def test_stall_scan_mails_the_owner_once_per_stall(launched, demo, clock):
    now = clock() + timedelta(weeks=5)
    assert service.recall_scan(demo, now) == 1
    demo.commit()
    assert service.recall_scan(demo, now + timedelta(days=1)) == 0
    demo.commit()
    message = demo.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("recall-stall:%")))
    assert message.to_addrs == "division.qa@example.com"
    assert "RC-2026-0001 has made no progress for 4 weeks" in message.subject
    assert message.dedupe_key == f"recall-stall:1:{date(2026, 11, 20).isoformat()}"


def test_the_risk_assessment_reads_wholly_in_japanese(prepared, demo):
    """The assessment panel and form, for a Japanese reader (what people wrote stays as written)."""
    import html as html_lib
    import re

    from qa_incidents.accounts.models import User

    demo.execute(sa.update(User).where(User.email == "division.qa@example.com").values(locale="ja"))
    demo.commit()
    page = prepared.get("/recalls/1")
    html = page.get_data(as_text=True)
    start = html.index('class="panel risk-panel"')
    panel = html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ",
                                                         html[html.index(">", start) + 1:html.index("</section>", start)])))
    assert "リスクアセスメント" in panel and "EUの手法(GPSR/Safety Gateリスク評価ガイドライン)" in panel
    assert "重大リスク" in panel and "4: 生命にかかわる、または死亡、約10パーセントを超える障害" in panel
    form = text(prepared.get("/recalls/1/risk-assessment"))
    assert "発生頻度(件/台・年)" in form and "シナリオの段階とそれぞれの確率" in form
    written = ("A family leaves the fridge running overnight; the relay overheats.", "The relay is from the bad lot",
               "It overheats enough to ignite the housing",
               "Fire in a home is life-threatening; the supplier's data gives both steps.")
    for shown in (panel, form):  # no English sentence of the application's own is left
        for w in written:
            shown = shown.replace(w, "")
        runs = [r for r in re.findall(r"[A-Za-z][a-z]+(?:[ ,'-]+[A-Za-z][a-z]+){2,}", shown) if "Safety Gate" not in r]
        assert runs == [], runs
