"""The regulator report as a document: a PDF built from the draft, the one kept when nothing else is uploaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _

from qa_incidents.core.pdf import new_pdf

FONTS = Path(__file__).resolve().parent.parent / "fonts"


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


def render_pdf(doc: ReportDocument) -> bytes:
    with force_locale(doc.language):
        heads = (_("To: %(authority)s", authority=doc.addressee), _("Regime: %(code)s", code=doc.regime_code),
                 _("Incident: %(ref)s", ref=doc.incident_reference), _("Due: %(due)s", due=doc.due))
        missing_value, to_follow = _("[missing]"), _("Information to follow")
    pdf = new_pdf()  # DejaVu Sans, with a Japanese font for what DejaVu cannot draw
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(f"{doc.regime_code} {doc.incident_reference}")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(width, 8, doc.heading)
    pdf.set_font("DejaVu", "", 10)
    for line in (*heads, doc.prepared, doc.status_line):
        pdf.multi_cell(width, 5.5, line)
    pdf.ln(3)
    for name, value in doc.fields.items():
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.multi_cell(width, 6, name)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(width, 5.5, value.strip() or missing_value)
        pdf.ln(1.5)
    if doc.missing:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.multi_cell(width, 6, to_follow)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(width, 5.5, ", ".join(doc.missing))
        if doc.missing_explanation:
            pdf.multi_cell(width, 5.5, doc.missing_explanation)
    return bytes(pdf.output())


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
