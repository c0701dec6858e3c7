"""The technical-law compliance register through the test client: the matrix as head office and as a division,
its CSV, recording evidence (422 with the input kept), closing a re-assessment, My work and the dashboard."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, text

from qa_incidents.accounts.models import User
from qa_incidents.catalogue.models import Product
from qa_incidents.laws.models import ComplianceEvidence, ReassessmentTask

HQ, HA_QA, CM_QA = "hq.qa@example.com", "division.qa@example.com", "cable.qa@example.com"


def cell(response, model: str, law: str) -> str | None:
    """The text of one cell of the matrix, or None when the row or column is not shown."""
    match = re.search(rf'<td class="cell[^"]*" data-cell="{re.escape(model)}/{re.escape(law)}"[^>]*>(.*?)</td>',
                      response.get_data(as_text=True), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else None


def rows(response) -> set[str]:
    return set(re.findall(r'<tr data-model="([^"]+)">', response.get_data(as_text=True)))


def product_id(fresh, model: str) -> int:
    return fresh(sa.select(Product.id).where(Product.model == model))


def post(client, path, data, **kw):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/account")}, **kw)


def test_head_office_sees_every_division_with_states_labelled(browser_as):
    page = browser_as(HQ).get("/laws/compliance/")
    assert page.status_code == 200
    assert {"R-HW540", "R-S38", "RAS-X40", "EX-15A3", "RS-FR95"} <= rows(page)
    assert cell(page, "R-HW540", "JP-PSE") == "Compliant re-assess"  # the demo PSE amendment reaches it
    assert cell(page, "R-HW540", "CN-CCC").startswith("Evidence expiring 2027-01-03")
    assert cell(page, "RAS-X40", "EU-RoHS").startswith("Evidence expired")
    assert cell(page, "R-S38", "JP-PSE") == "Gap: no evidence re-assess"  # the demo PSE amendment waits
    assert cell(page, "R-S38", "CN-CCC") == "—"  # not sold in China
    assert 'class="badge compliance-gap"' in page.get_data(as_text=True)


def test_a_division_sees_only_its_own_products(browser_as):
    page = browser_as(CM_QA).get("/laws/compliance/")
    assert page.status_code == 200
    assert rows(page) == {"EX-15A3", "RS-FR95"}
    assert "R-HW540" not in text(page)
    assert cell(page, "EX-15A3", "CA-CSA") == "Compliant 2028-01-23"


def test_filters_and_the_csv_export(browser_as):
    browser = browser_as(HQ)
    page = browser.get("/laws/compliance/?state=gap")
    assert {"R-S38", "RAS-X40", "EX-15A3"} <= rows(page) and "R-HW540" not in rows(page)  # R-HW540 has no gap
    assert rows(browser.get("/laws/compliance/?state=gap&q=R-S3")) == {"R-S38"}
    assert cell(page, "RAS-X40", "EU-RoHS") == "—"  # expired, not a gap: only the chosen state is shown
    export = browser.get("/laws/compliance/export.csv?state=expiring")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    found = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert found[0][:3] == ["Division", "Model", "Name"]
    assert [(r[1], r[5], r[7], r[8]) for r in found[1:]] == [("R-HW540", "CN-CCC", "Evidence expiring", "2027-01-03")]
    bad = browser.get("/laws/compliance/?state=pending&warn_days=-3")
    assert bad.status_code == 422
    assert "Choose a state from the list." in text(bad)


def test_recording_evidence_refused_with_input_kept_then_saved(browser_as, fresh, fresh_all):
    qa = browser_as(HA_QA)
    pid = product_id(fresh, "R-S38")
    page = qa.get(f"/laws/compliance/products/{pid}")
    form = form_with(page, "issuer")
    pse = next(o.value for o in form.selects["law_id"] if o.label.startswith("JP-PSE"))
    data = form.data(law_id=pse, kind="certificate", issuer="JET", number="", issued_on="2026-11-01",
                     expires_on="2026-10-01")
    refused = post(qa, f"/laws/compliance/products/{pid}/evidence",
                   {**data, "file": (io.BytesIO(b"%PDF-1.4 demo"), "cert.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    kept = form_with(refused, "issuer")
    assert kept.values["issuer"] == "JET" and kept.values["issued_on"] == "2026-11-01"
    assert "number" in str(kept.errors)
    saved = post(qa, f"/laws/compliance/products/{pid}/evidence",
                 {**data, "number": "JET-2026-1", "expires_on": "2029-10-31",
                  "file": (io.BytesIO(b"%PDF-1.4 demo"), "cert.pdf")}, content_type="multipart/form-data")
    assert saved.status_code == 302
    page = qa.get(saved.headers["Location"])
    assert "Evidence recorded: JET-2026-1" in flashes(page)
    evidence_id = fresh(sa.select(ComplianceEvidence.id).where(ComplianceEvidence.number == "JET-2026-1"))
    download = qa.get(f"/laws/compliance/evidence/{evidence_id}/file")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 demo"
    assert browser_as(CM_QA).get(f"/laws/compliance/evidence/{evidence_id}/file").status_code == 404


def test_closing_a_reassessment_needs_evidence_or_a_conclusion(browser_as, fresh):
    qa = browser_as(HA_QA)
    my_work = qa.get("/")
    my_work = qa.get(my_work.headers["Location"]) if my_work.status_code == 302 else my_work
    shown = text(my_work)
    assert "Technical-law re-assessments (2)" in shown and "R-S38: JP-PSE" in shown
    task_id = fresh(sa.select(ReassessmentTask.id).join(Product).where(Product.model == "R-S38"))
    refused = post(qa, f"/laws/compliance/tasks/{task_id}", {"evidence_id": "", "conclusion": "  "})
    assert refused.status_code == 422
    assert "Attach evidence or record the conclusion" in text(refused)
    assert browser_as("reporter@example.com").post(f"/laws/compliance/tasks/{task_id}").status_code in (400, 403)
    closed = post(qa, f"/laws/compliance/tasks/{task_id}",
                  {"evidence_id": "", "conclusion": "Not affected because R-S38 has no ice maker."})
    assert closed.status_code == 302
    page = qa.get(f"/laws/compliance/tasks/{task_id}")
    assert "Not affected because R-S38 has no ice maker." in text(page) and "Re-assessment closed." in flashes(page)
    assert "Technical-law re-assessments (1)" in text(qa.get("/my-work"))


def test_the_dashboard_counts_open_reassessments(browser_as):
    page = browser_as(HQ).get("/dashboard")
    assert page.status_code == 200
    assert "Technical-law re-assessments 2 open · none overdue" in text(page)
    # The cable division reads none of the home-appliance division's re-assessments.
    assert "Technical-law re-assessments 0 open" in text(browser_as(CM_QA).get("/dashboard"))


def test_technical_laws_list_their_sources_and_unconfirmed_points(browser_as):
    page = browser_as("reporter@example.com").get("/laws/compliance/technical")
    assert page.status_code == 200
    shown = text(page)
    assert "Regulation (EC) No 1907/2006, Art. 33" in shown and "Directive 2014/53/EU" in shown
    assert "To be confirmed by the legal department" in shown


def test_marking_a_law_technical_is_refused_with_input_kept(browser_as):
    hq = browser_as(HQ)
    form = form_with(hq.get("/laws/compliance/technical/new"), "evidence_expected")
    refused = post(hq, "/laws/compliance/technical/new", form.data(law_id="", evidence_expected="Test report"))
    assert refused.status_code == 422
    assert form_with(refused, "evidence_expected").values["evidence_expected"] == "Test report"
    assert browser_as(HA_QA).get("/laws/compliance/technical/new").status_code == 403


def test_the_register_in_japanese(browser_as, demo):
    demo.execute(sa.update(User).where(User.email == HQ).values(locale="ja"))
    demo.commit()
    page = browser_as(HQ).get("/laws/compliance/")
    assert page.status_code == 200
    assert cell(page, "R-HW540", "CN-CCC").startswith("証拠の期限切れ間近")
    assert cell(page, "R-S38", "JP-PSE") == "未対応：証拠なし 再評価"
    shown = text(page)
    assert "技術法規への適合" in shown and "Gap: no evidence" not in shown and "Evidence expiring" not in shown
