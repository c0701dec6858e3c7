"""Japanese text survives into the generated PDFs (regulator drafts, status reports)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from qa_incidents.core import pdf as pdf_fonts
from qa_incidents.core.pdf import has_cjk_font, new_pdf
from qa_incidents.notifications.documents import ReportDocument, render_pdf

JAPANESE = "冷蔵庫の圧縮機リレー付近から発煙し発火した。令和8年11月20日"


def _text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _compact(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def cjk() -> None:
    assert has_cjk_font(), ("no Japanese font for PDFs: install Debian's fonts-ipaexfont-gothic (or fonts-noto-cjk), "
                            "or set PDF_CJK_FONT to a TrueType/OpenType file")


def test_a_regulator_draft_carries_japanese_text(cjk: None) -> None:
    doc = ReportDocument(
        title="消費生活用製品安全法 第35条 重大製品事故報告", authority="消費者庁", regime_code="JP-CPSA-35",
        incident_reference="INC-2026-000001", due="2026-11-30 23:59 JST",
        fields={"事故の内容": JAPANESE, "Product": "Refrigerator HW-540"}, missing=["被害者の状況"],
        missing_explanation="追って報告します。", prepared="Prepared by 品質 太郎", status_line="DRAFT")
    text = _compact(_text(render_pdf(doc)))
    for expected in ("重大製品事故報告", "消費者庁", _compact(JAPANESE), "被害者の状況", "追って報告します。", "Refrigerator"):
        assert expected in text, expected


def test_latin_text_keeps_dejavu_and_japanese_falls_back(cjk: None) -> None:
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6, "Status report 1 — 状況報告 第1報 — Ünïcödé")
    data = bytes(pdf.output())
    assert "状況報告第1報" in _compact(_text(data)) and "Ünïcödé" in _text(data)
    assert b"DejaVuSans" in data and (b"IPAexGothic" in data or b"Noto" in data or b"IPA" in data)


def test_without_a_japanese_font_documents_still_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_fonts, "cjk_font_path", lambda: None)
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 6, "Refrigerator caught fire")
    assert "Refrigerator caught fire" in _text(bytes(pdf.output()))


def test_a_status_report_in_japanese(cjk: None) -> None:
    from datetime import UTC, datetime

    from flask import Flask

    from qa_incidents.core import i18n
    from qa_incidents.reports.render import render_pdf as status_pdf

    app = Flask("status-report-language")
    from flask_babel import Babel

    Babel(app)
    i18n.init_app(app)
    content = {
        "reference": "INC-2026-000001", "severity": "S1", "title": "冷蔵庫の発火", "as_of": "2026-11-20T03:00:00+00:00",
        "status": "escalated", "triggers": [], "division": "Home Appliances",
        "product": {"name": "Refrigerator", "model": "R-HW540", "category": "Refrigerators"},
        "place": "名古屋", "country": "日本", "occurred_at": "2026-11-18T00:30:00+00:00",
        "aware_at": "2026-11-18T05:00:00+00:00", "harm": "火災", "units_in_field": 48200,
        "description": "圧縮機リレー付近から発煙し発火した。", "severity_why": "", "notifications": [], "containment": [],
        "recalls": [], "review": None, "next_steps": [], "changes_since_last": [], "narrative": "",
    }
    with app.test_request_context(), i18n.in_language("ja"):
        data = status_pdf(content, number=1, issued_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC), zone="Asia/Tokyo")
    text = _compact(_text(data))
    for expected in ("状況報告第1報", "発生した事象", "当局報告は不要です。", "圧縮機リレー付近から発煙し発火した。", "48,200"):
        assert expected in text, expected
