"""FDA Form 3500A and the EU MIR form section by section, never pre-filled from a different quantity; Form 1's
heading in Japanese for the Japanese authority; an older map's field lists brought up to the forms' items."""

from __future__ import annotations

from datetime import timedelta

from test_notification_rules import T0, facts

from qa_incidents.laws.seed import EARLIER_FORM_ITEMS, FDA_3500A_ITEMS, form_items_update, starting_form_items
from qa_incidents.notifications.documents import ReportDocument, render_pdf
from qa_incidents.notifications.drafts import EU_MIR, FDA_3500A, prefill


def device_facts(**changes):
    base = dict(product_name="Infusion pump IP-7", model="IP-7", category="Medical devices", country="US",
                place="Boston, MA", lot_numbers="L2409", serial_numbers="SN-1001", description="Free-flow of the line.",
                fire=False, property_damage=False, minor_injuries=2, units_in_field=5000, similar_reports=7,
                timezone="America/New_York", injury_care="hospitalised")
    base.update(changes)
    return facts(**base)


def test_3500a_has_its_sections_and_the_device_problem_codes_for_a_person_to_choose():
    sections = {item.split()[1][0] for item in FDA_3500A}
    assert sections == {"A", "B", "D", "E", "G", "H"}  # C (products) and F (user facilities) are not the manufacturer's
    draft = prefill(list(FDA_3500A), device_facts())
    h6 = next(name for name in draft if name.startswith("3500A H6"))
    assert "medical device problem code (IMDRF Annex A)" in h6 and draft[h6] == ""
    assert draft["3500A D1 brand name"] == "Infusion pump IP-7"
    assert draft["3500A D4 model, catalogue, serial and lot numbers, expiration date, UDI"] == "model IP-7; lot L2409; serial SN-1001"
    assert draft["3500A B3 date of event"].startswith((T0 - timedelta(hours=5)).strftime("%Y-%m-%d"))
    assert draft["3500A G3 date received by manufacturer"].endswith("(America/New_York)")
    assert draft["3500A B2 outcomes attributed to the adverse event"] == "hospitalization (initial or prolonged)"
    # whether an injury is an 803.3 "serious injury" is the reportability decision's: H1 is not guessed
    assert draft["3500A H1 type of reportable event (death, serious injury, malfunction)"] == ""
    assert prefill(["3500A H1 type of reportable event (death, serious injury, malfunction)"],
                   device_facts(deaths=1))["3500A H1 type of reportable event (death, serious injury, malfunction)"] == "death"


def test_mir_has_its_sections_and_no_count_comes_from_another_quantity():
    assert {item.split()[1] for item in EU_MIR} == {"1", "2", "3", "4", "5", "6", "7"}
    draft = prefill(list(EU_MIR), device_facts())
    for name in ("MIR 4 number of patients involved", "MIR 4 number of medical devices involved",
                 "MIR 6 similar incidents by country and devices on the market"):
        assert draft[name] == "", name
    # neither the units in the field (5,000) nor the internal similar reports (7) appear anywhere
    assert not any("5000" in v or "5,000" in v for v in draft.values())
    assert "7 similar" not in " ".join(draft.values())
    assert draft["MIR 4 incident description narrative"].startswith("Free-flow of the line.")
    assert draft["MIR 4 country where the incident occurred"] == "US"
    assert "most serious care received: hospitalised" in draft["MIR 4 patient: outcome and IMDRF health effect codes (Annexes E, F)"]
    assert draft["MIR 1 classification: death, unanticipated serious deterioration in health, serious public health threat"] == ""


def test_3500a_never_fills_quantities_or_b2_from_the_injury_counts():
    draft = prefill(list(FDA_3500A), device_facts(injury_care="doctor_or_nurse"))
    assert draft["3500A B2 outcomes attributed to the adverse event"] == ""  # treated, not hospitalised: a person says
    assert not any("5000" in v or "5,000" in v for v in draft.values())


def test_form_1_heading_and_addressee_are_japanese_for_the_japanese_authority(app):
    doc = ReportDocument(title="Serious product accident report (重大製品事故報告)", authority="Consumer Affairs Agency",
                         regime_code="JP-CPSA-35", incident_reference="INC-2026-000001", due="2026年11月30日",
                         fields={"事故発生場所": "東京都世田谷区（JP）"}, missing=[], missing_explanation="",
                         prepared="", status_line="", language="ja")
    assert doc.heading == "重大製品事故報告書（様式第一）"
    assert doc.addressee.startswith("内閣総理大臣 殿")
    english = ReportDocument(title="Section 15(b) report", authority="CPSC", regime_code="US-CPSC-15B",
                             incident_reference="INC-2026-000001", due="", fields={}, missing=[], missing_explanation="",
                             prepared="", status_line="", language="en")
    assert (english.heading, english.addressee) == ("Section 15(b) report", "CPSC")
    from io import BytesIO

    from pypdf import PdfReader

    with app.app_context():
        text = " ".join(p.extract_text() for p in PdfReader(BytesIO(render_pdf(doc))).pages)
    assert "重大製品事故報告書" in text and "内閣総理大臣" in text and "Consumer Affairs Agency" not in text


def test_an_older_maps_field_lists_are_brought_up_to_the_forms_items():
    new = starting_form_items()
    for code in ("JP-CPSA-35", "US-CPSC-15B", "US-FDA-803-30", "US-FDA-803-5", "US-FDA-806"):
        [earlier] = EARLIER_FORM_ITEMS[code]
        assert form_items_update(code, earlier) == new[code], code
    assert form_items_update("US-FDA-803-30", ["Form 3500A"]) == FDA_3500A_ITEMS
    assert form_items_update("EU-MDR-87-15", []) == list(EU_MIR)  # nothing listed before
    assert form_items_update("JP-CPSA-35", new["JP-CPSA-35"]) is None  # already current
    assert form_items_update("US-CPSC-15B", ["our own list"]) is None  # an administrator's list stays theirs
    assert form_items_update("XX-UNKNOWN", ["a"]) is None
