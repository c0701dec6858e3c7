"""A status report's content as HTML (page and e-mail share one template) and as PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from jinja2 import Environment, FileSystemLoader, select_autoescape

from qa_incidents.core.pdf import new_pdf

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
    pdf = new_pdf()  # DejaVu Sans, with a Japanese font for what DejaVu cannot draw
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_title(f"{_('Status report no. %(n)d', n=number)}: {c['reference']}")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: float = 11.5) -> None:
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(width, 6.5, text)
        pdf.set_font("DejaVu", "", 9.5)

    def line(text: str) -> None:
        pdf.multi_cell(width, 5, text)

    heading(f"{_('Status report no. %(n)d', n=number)} — {c['reference']} [{c['severity'] or '—'}]", 14)
    line(f"{c['title']}")
    line(f"{_('Issued') + ' ' + when(issued_at.isoformat(), zone) if issued_at else _('Preview: not issued')} · "
         f"{_('as of')} {when(c['as_of'], zone)} · {_('status')} {c['status'].replace('_', ' ')}")
    if c["triggers"]:
        line(_("Why now:") + " " + "; ".join(t.get("title", t.get("kind", "")) for t in c["triggers"]))
    heading(_("What happened"))
    line(f"{c['division']} · {c['product']['name']} ({c['product']['model']}), {c['product']['category']}")
    line(f"{_('Where:')} {c['place']}, {c['country']} · {_('occurred')} {when(c['occurred_at'], zone)} · "
         f"{_('company aware')} {when(c['aware_at'], zone)}")
    line(f"{_('Harm:')} {c['harm']} · {_('units in the field:')} {c['units_in_field']:,}")
    line(c["description"])
    heading(_("Severity %(s)s and why", s=c["severity"] or "—"))
    line(c["severity_why"] or "—")
    heading(_("Regulator notifications"))
    if not c["notifications"]:
        line(_("No regulator notification required."))
    for n in c["notifications"]:
        flag = f" {_('OVERDUE')}" if n.get("overdue") else (f" ({_('late')})" if n.get("late") else "")
        line(f"{n['regime']} → {n['authority']}: {n['state'].replace('_', ' ')}{flag}; {_('Due')} {when(n.get('due_at'), zone)}"
             + (f"; {_('Submitted')} {when(n['submitted_at'], zone)}" if n.get("submitted_at") else ""))
    heading(_("Containment"))
    for item in c["containment"] or [{"at": None, "what": _("None recorded yet."), "by": ""}]:
        line(f"{when(item['at'], zone) if item['at'] else ''} {item['what']} {('— ' + item['by']) if item['by'] else ''}")
    heading(_("Recall progress"))
    for r in c["recalls"] or [{"text": _("No recall.")}]:
        line(r.get("text") or str(r))
    heading(_("Root cause (OCHIBO-HIROI review)"))
    review = c.get("review")
    line((review.get("text") if isinstance(review, dict) else None) or _("No review yet."))
    heading(_("Next steps"))
    for s in c["next_steps"] or [{"what": _("None open."), "owner": "", "due": None}]:
        line(f"{s['what']}" + (f" — {s['owner']}" if s.get("owner") else "") + (f", {_('by')} {when(s['due'], zone)}" if s.get("due") else ""))
    heading(_("Changed since the last report"))
    for ch in c["changes_since_last"] or [{"at": None, "by": "", "what": _("Nothing.")}]:
        line(f"{when(ch['at'], zone) if ch['at'] else ''} {ch['what']} {('— ' + ch['by']) if ch['by'] else ''}")
    if c["narrative"]:
        heading(_("From the division"))
        line(c["narrative"])
    return bytes(pdf.output())
