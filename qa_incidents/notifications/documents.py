"""The regulator report as a document: a PDF built from the draft, the one kept when nothing else is uploaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from qa_incidents.core.pdf import html_to_pdf, new_pdf


@dataclass(frozen=True)
class ReportDocument:
    title: str
    authority: str
    regime_code: str
    incident_reference: str
    due: str
    fields: Mapping[str, str]
    missing: Sequence[str]
    missing_explanation: str
    prepared: str  # who and when, in words
    status_line: str  # e.g. "DRAFT: not approved" or "Approved by … on …"
    language: str = "en"  # the authority's: a Japanese authority gets its document in Japanese

    @property
    def heading(self) -> str:
        """The title in the authority's language: its form's own where it has one (e.g. Form 1 in Japanese)."""
        from qa_incidents.notifications.drafts import HEADERS

        return HEADERS.get((self.regime_code, self.language), (self.title, self.authority))[0]

    @property
    def addressee(self) -> str:
        from qa_incidents.notifications.drafts import HEADERS

        return HEADERS.get((self.regime_code, self.language), (self.title, self.authority))[1]


def render_html(doc: ReportDocument, *, for_pdf: bool = False) -> str:
    """The document as HTML, every label in the authority's language (the print page and the PDF are this)."""
    from qa_incidents.core.pdf import document_environment

    with force_locale(doc.language):
        return str(document_environment().get_template("notifications/print.html").render(doc=doc, for_pdf=for_pdf))


def render_pdf(doc: ReportDocument) -> bytes:
    """The document as PDF: its print page printed by WeasyPrint, in the authority's language."""
    return html_to_pdf(render_html(doc, for_pdf=True), extra_css="dl.head dt { font-weight: bold; } h2 { font-size: 10.5pt; }")


def stamp(moment: datetime, zone_name: str) -> str:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(zone_name or "UTC"))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def render_decision_file(*, reference: str, title: str, generated: str, rows: list[tuple[str, list[str]]]) -> bytes:
    """The incident's reportability decision file (the event file of 21 CFR 803.18 and its equivalents): each
    candidate obligation, its verdict, who decided and when, the reasons and what was signed."""
    pdf = new_pdf()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(f"{reference} reportability decisions")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(width, 8, _("Reportability decisions: %(ref)s", ref=reference))
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(width, 5.5, title)
    pdf.multi_cell(width, 5.5, generated)
    for heading, lines in rows:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.multi_cell(width, 6, heading)
        pdf.set_font("DejaVu", "", 10)
        for line in lines:
            pdf.multi_cell(width, 5.5, line)
    return bytes(pdf.output())
