"""Status report, dashboard and portfolio pages: who sees what, acknowledgement, PDF and CSV."""

from __future__ import annotations

import io

import sqlalchemy as sa
from pypdf import PdfReader
from view_helpers import csrf_token, flashes, form_with, text

from qa_incidents.reports.models import StatusReport, StatusReportRecipient

QA, HQ, EXEC, OTHER, ENGINEER = ("division.qa@example.com", "hq.qa@example.com", "executive@example.com",
                                 "cable.reporter@example.com", "engineer@example.com")


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})


def escalate_and_issue(browser_as):
    """Report 1 goes out at triage (JP-CPSA-35 found reportable); report 2 after the escalation, with a narrative."""
    qa, hq = browser_as(QA), browser_as(HQ)
    assert post(qa, "/incidents/1/triage", severity="S1", override_reason="").status_code == 302
    assert post(qa, "/incidents/1/actions/request_escalation", reason="Fire").status_code == 302
    form = form_with(hq.get("/incidents/1/escalation"), "password")
    assert hq.post("/incidents/1/escalation", data=dict(form.values) | {"decision": "approve",
                                                                         "password": "demo-password-2026"}).status_code == 302
    page = qa.get("/incidents/1/status-reports/next")
    assert "Escalation approved" in text(page)
    form = form_with(page, "narrative")
    response = qa.post("/incidents/1/status-reports/next", data=dict(form.values) | {
        "narrative": "Stop-ship on lot L2405.", "issue": "1"})
    assert response.status_code == 302
    return qa


def test_issue_acknowledge_and_pdf(browser_as, fresh):
    escalate_and_issue(browser_as)
    executive = browser_as(EXEC)
    page = executive.get("/incidents/1/status-reports/2")
    shown = text(page)
    assert "Status report no. 2" in shown and "Stop-ship on lot L2405." in shown and "not acknowledged" in shown
    response = post(executive, "/incidents/1/status-reports/2/acknowledge")
    assert response.status_code == 302
    assert "Acknowledged: status report 2" in " ".join(flashes(executive.get("/incidents/1/status-reports/2")))
    assert fresh(sa.select(StatusReportRecipient.acknowledged_at).join(StatusReport)
                 .where(StatusReport.number == 2)) is not None
    pdf = executive.get("/incidents/1/status-reports/2.pdf")
    assert pdf.mimetype == "application/pdf"
    content = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "INC-2026-000001" in content and "[S1]" in content


def test_executive_cannot_issue_and_others_cannot_read(browser_as):
    escalate_and_issue(browser_as)
    executive = browser_as(EXEC)
    assert post(executive, "/incidents/1/status-reports/next", narrative="x", issue="1").status_code == 403
    assert browser_as(OTHER).get("/incidents/1/status-reports/2").status_code == 404
    assert browser_as(ENGINEER).get("/incidents/1/status-reports/2").status_code in (403, 404)
    assert browser_as(ENGINEER).get("/dashboard").status_code == 403


def test_dashboard_charts_have_tables_and_csv(browser_as):
    hq = browser_as(HQ)
    page = hq.get("/dashboard")
    assert page.status_code == 200
    shown = text(page)
    for title in ("Incidents by month and severity", "Open incidents by division and state", "Time to triage",
                  "Regulator deadline compliance", "Pareto of hazards"):
        assert title in shown
    assert page.get_data(as_text=True).count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 5
    csv = hq.get("/dashboard/open_by_division.csv")
    assert csv.mimetype == "text/csv" and csv.get_data(as_text=True).startswith("division,")
    assert hq.get("/dashboard/nope.csv").status_code == 404


def test_portfolio_page_and_pdf(browser_as):
    qa = browser_as(QA)
    page = qa.get("/reports/portfolio?days=30")
    assert page.status_code == 200 and "Open incidents by division and severity" in text(page)
    assert "Cable" not in text(page)  # a division sees only its own numbers
    pdf = qa.get("/reports/portfolio.pdf?days=30")
    assert pdf.data.startswith(b"%PDF")
    assert browser_as("reporter@example.com").get("/reports/portfolio").status_code == 403


def test_distribution_list_admin(browser_as, fresh):
    admin = browser_as("admin@example.com")
    form = form_with(admin.get("/admin/report-distribution"), "email")
    bad = admin.post("/admin/report-distribution", data=dict(form.values) | {"email": "not-an-address"})
    assert bad.status_code == 422 and "Enter a valid e-mail address." in text(bad)
    assert form_with(bad, "email").values["email"] == "not-an-address"
    ok = admin.post("/admin/report-distribution", data=dict(form.values) | {"email": "plant@example.com",
                                                                             "severities": "S1"})
    assert ok.status_code == 302
    assert "plant@example.com" in text(admin.get("/admin/report-distribution"))
    assert browser_as(HQ).get("/admin/report-distribution").status_code == 403


def test_a_report_reads_in_each_viewers_language(browser_as, demo):
    import sqlalchemy as sa

    from qa_incidents.accounts.models import User

    escalate_and_issue(browser_as)
    demo.execute(sa.update(User).where(User.email == EXEC).values(locale="ja", era_dates=True))
    demo.commit()
    executive, hq = browser_as(EXEC), browser_as(HQ)
    ja = text(executive.get("/incidents/1/status-reports/2"))
    assert "状況報告 第2報" in ja and "当局への報告" in ja and "次の手順" in ja
    assert "Authorities" not in ja
    assert "Stop-ship on lot L2405." in ja  # what the division wrote, as written
    assert "令和8年11月" in ja  # the executive chose era dates
    incident_page = text(executive.get("/incidents/1"))  # the incident's list of reports names the triggers in Japanese
    assert "エスカレーション承認" in incident_page and "Escalation approved" not in incident_page
    en = text(hq.get("/incidents/1/status-reports/2"))
    assert "Status report no. 2" in en and "Authorities" in en and "当局への報告" not in en
    assert "2026-11-20" in en

    def pdf_text(response):  # type: ignore[no-untyped-def]
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)

    japanese = executive.get("/incidents/1/status-reports/2.pdf")
    assert "-ja.pdf" in japanese.headers["Content-Disposition"] and "状況報告" in pdf_text(japanese)
    as_issued = executive.get("/incidents/1/status-reports/2.pdf?as_issued=1")
    assert as_issued.data == hq.get("/incidents/1/status-reports/2.pdf").data  # the English copy kept at issue
    assert "Status report no. 2" in pdf_text(as_issued)
