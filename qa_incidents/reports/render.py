"""A status report's content as HTML (page and e-mail share one template) and as PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape

from qa_incidents.notifications.documents import FONTS

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


def when(value: str | None, zone: str = "Asia/Tokyo") -> str:
    """An ISO instant from the content, in the report's zone, e.g. "2026-03-02 18:00 JST"."""
    if not value:
        return "—"
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    try:
        from flask_babel import gettext, ngettext

        env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - no Flask-Babel: untranslated
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = when
    return env


def render_html(content: dict[str, Any], *, number: int, issued_at: datetime | None, zone: str, link: str = "") -> str:
    """The report as one self-contained HTML document (the e-mail body; the page embeds the same part)."""
    template = _environment().get_template("reports/status_email.html")
    return template.render(c=content, number=number, issued_at=issued_at.isoformat() if issued_at else None,
                           zone=zone, link=link)


def render_pdf(content: dict[str, Any], *, number: int, issued_at: datetime | None, zone: str) -> bytes:
    c = content
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Status report {number}: {c['reference']}")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: float = 11.5) -> None:
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(width, 6.5, text)
        pdf.set_font("DejaVu", "", 9.5)

    def line(text: str) -> None:
        pdf.multi_cell(width, 5, text)

    heading(f"Status report no. {number} — {c['reference']} [{c['severity'] or '—'}]", 14)
    line(f"{c['title']}")
    line(f"Issued {when(issued_at.isoformat(), zone) if issued_at else 'DRAFT (not issued)'} · "
         f"as of {when(c['as_of'], zone)} · status {c['status'].replace('_', ' ')}")
    if c["triggers"]:
        line("Why now: " + "; ".join(t.get("title", t.get("kind", "")) for t in c["triggers"]))
    heading("What happened")
    line(f"{c['division']} · {c['product']['name']} ({c['product']['model']}), {c['product']['category']}")
    line(f"Where: {c['place']}, {c['country']} · occurred {when(c['occurred_at'], zone)} · "
         f"company aware {when(c['aware_at'], zone)}")
    line(f"Harm: {c['harm']} · units in the field: {c['units_in_field']:,}")
    line(c["description"])
    heading(f"Severity {c['severity'] or '—'} and why")
    line(c["severity_why"] or "—")
    heading("Regulator notifications")
    for n in c["notifications"] or [{"regime": "—", "authority": "none required", "state": "", "due_at": None}]:
        flag = " OVERDUE" if n.get("overdue") else (" (late)" if n.get("late") else "")
        line(f"{n['regime']} to {n['authority']}: {n['state'].replace('_', ' ')}{flag}; due {when(n.get('due_at'), zone)}"
             + (f"; submitted {when(n['submitted_at'], zone)}" if n.get("submitted_at") else ""))
    heading("Containment")
    for item in c["containment"] or [{"at": None, "what": "none recorded yet", "by": ""}]:
        line(f"{when(item['at'], zone) if item['at'] else ''} {item['what']} {('— ' + item['by']) if item['by'] else ''}")
    heading("Recall progress")
    for r in c["recalls"] or [{"text": "no recall"}]:
        line(r.get("text") or str(r))
    heading("Root cause (OCHIBO-HIROI review)")
    review = c.get("review")
    line((review.get("text") if isinstance(review, dict) else None) or "no review yet")
    heading("Next steps")
    for s in c["next_steps"] or [{"what": "none open", "owner": "", "due": None}]:
        line(f"{s['what']}" + (f" — {s['owner']}" if s.get("owner") else "") + (f", by {when(s['due'], zone)}" if s.get("due") else ""))
    heading("Changed since the last report")
    for ch in c["changes_since_last"] or [{"at": None, "by": "", "what": "nothing"}]:
        line(f"{when(ch['at'], zone) if ch['at'] else ''} {ch['what']} {('— ' + ch['by']) if ch['by'] else ''}")
    if c["narrative"]:
        heading("From the division")
        line(c["narrative"])
    return bytes(pdf.output())
