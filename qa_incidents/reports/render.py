"""A status report's content as HTML (page and e-mail share one template) and as PDF, in the reader's language.

The content is data, fixed at issue (and hashed); only the labels and the dates are written for the reader: in the
language gettext answers in when rendering (the viewer's on a page, the recipients' in e-mail), in the given zone.
What people wrote (titles, narrative, descriptions, names) stays as written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from qa_incidents.core.i18n import DEFAULT_LANGUAGE, data_text, written_date, written_datetime
from qa_incidents.core.pdf import document_environment, html_to_pdf
from qa_incidents.reports.content import REPORTED_FIELDS
from qa_incidents.risk.service import report_words


def when(value: str | None, zone: str = "Asia/Tokyo", language: str = DEFAULT_LANGUAGE, era: bool = False) -> str:
    """An ISO instant from the content, in the report's zone, as the language writes it: "2026-03-02 18:00 JST",
    "2026年3月2日 18:00 JST" (or "令和8年3月2日 18:00 JST" for a reader who chose era dates)."""
    if not value:
        return "—"
    return written_datetime(datetime.fromisoformat(value), zone, language, era=era)


def _title(titles: dict[Any, Any], value: str | None, fallback: str = "") -> str:
    """The title of a stored code in the current language (the code itself, readable, if it is unknown)."""
    for key, title in titles.items():
        if str(getattr(key, "value", key)) == value:
            return str(title)
    return fallback or (value or "").replace("_", " ")


#: What the audit events of an incident's timeline are called in a report (others are shown by their stored name).
EVENT_TITLES = {
    "created": _l("filed the incident"),
    "updated": _l("changed the facts"),
    "commented": _l("commented"),
    "attached": _l("attached a file"),
    "signed": _l("signed electronically"),
    "status_report_narrative": _l("wrote the narrative for the status report"),
    "status_report_issued": _l("issued a status report"),
    "status_report_acknowledged": _l("acknowledged a status report"),
    "notification_required": _l("regulator notification required"),
    "notification_not_required": _l("regulator notification not required"),
    "notification_drafted": _l("regulator notification drafted"),
    "notification_approved": _l("regulator notification approved"),
    "notification_submitted": _l("regulator notification submitted"),
    "notification_acknowledged": _l("regulator notification acknowledged"),
    "review started": _l("review started"),
    "review submitted": _l("review submitted"),
    "review approved": _l("review approved"),
}


#: The incident's fields as its form names them, for the "changed since the last report" list.
FIELD_TITLES = {
    "title": _l("Short title"), "lot_numbers": _l("Lot numbers"), "serial_numbers": _l("Serial numbers"),
    "country": _l("Country of occurrence"), "place": _l("Place of occurrence"), "occurred_at": _l("Occurred at"),
    "aware_at": _l("Company became aware at"), "source": _l("Source"), "hazard": _l("Hazard type"),
    "deaths": _l("Deaths"), "serious_injuries": _l("Serious injuries"), "minor_injuries": _l("Minor injuries"),
    "fire": _l("Fire"), "smoke": _l("Smoke"), "co_poisoning": _l("CO poisoning"), "property_damage": _l("Property damage"),
    "no_harm": _l("No harm"), "units_in_field": _l("Units in the field"), "description": _l("Description"),
    "product_id": _l("Product"), "division_id": _l("Division"), "severity": _l("Severity"), "status": _l("Status"),
    "comment": _l("Comment"), "meaning": _l("Meaning"), "signature": _l("Signature"),
}


def harm_text(facts: dict[str, Any] | None, stored: str) -> str:
    """The harm in the current language, from the stored facts (older reports: the stored English words)."""
    if not facts:
        return stored
    if facts.get("no_harm"):
        return _("no harm")
    parts = []
    if facts.get("deaths"):
        parts.append(ngettext("%(num)d death", "%(num)d deaths", facts["deaths"]))
    if facts.get("serious_injuries"):
        parts.append(ngettext("%(num)d serious injury", "%(num)d serious injuries", facts["serious_injuries"]))
    if facts.get("minor_injuries"):
        parts.append(ngettext("%(num)d minor injury", "%(num)d minor injuries", facts["minor_injuries"]))
    for key, word in (("fire", _("fire")), ("smoke", _("smoke")), ("co_poisoning", _("CO poisoning")),
                      ("property_damage", _("property damage"))):
        if facts.get(key):
            parts.append(word)
    return _(", ").join(parts) if parts else _("not stated")


def change_sentence(ch: dict[str, Any]) -> str:
    """An event of the trail as the timeline words it ("recorded the containment"), in the current language; reports
    issued before events kept their entity are worded from the action alone (never shown as a raw code)."""
    from qa_incidents.incidents.lifecycle import ACTION_TITLES
    from qa_incidents.incidents.timeline import SENTENCES, sentence

    if ch.get("entity"):
        return sentence(ch["entity"], ch.get("action") or "")
    what = str(ch.get("what") or "")
    code = what.replace(" ", "_")
    for (_entity, action), words in SENTENCES.items():
        if action in (what, code):
            return str(words)
    found = EVENT_TITLES.get(what) or EVENT_TITLES.get(code) or {a.value: t for a, t in ACTION_TITLES.items()}.get(code)
    return str(found) if found is not None else sentence("", "")


def describe(c: dict[str, Any], *, zone: str, language: str, era: bool = False) -> dict[str, Any]:
    """The labels of a report's content in the current language: what the template and the PDF print besides the data."""
    from qa_incidents.incidents.rules import STATUS_TITLES
    from qa_incidents.notifications.rules import SHOWN_STATE_TITLES as STATE_TITLES
    from qa_incidents.recalls.rules import RECALL_STATUS_TITLES, REMEDY_TITLES, percent
    from qa_incidents.reports.rules import TRIGGER_TITLES
    from qa_incidents.reviews.rules import REVIEW_STATUS_TITLES

    def at(value: str | None) -> str:
        return when(value, zone, language, era)

    review = c.get("review")
    review_text = _("No review yet.")
    if isinstance(review, dict):
        if "title" in review:
            review_text = _('Review "%(title)s" is %(status)s', title=review["title"],
                            status=_title(REVIEW_STATUS_TITLES, review.get("status")).lower())
            if review.get("mechanism"):
                review_text += _("; technical cause: %(cause)s", cause=review["mechanism"])
            review_text += _("; countermeasures verified %(done)d of %(total)d.", done=review.get("verified", 0),
                             total=review.get("total", 0))
        else:
            review_text = review.get("text") or review_text

    def step(s: dict[str, Any]) -> str:
        kind = s.get("kind")
        if kind == "submit":
            return _("Submit %(regime)s report to %(authority)s", regime=s["regime"], authority=data_text(s["authority"]))
        if kind == "decide":
            return _("Decide whether the %(regime)s report to %(authority)s is required", regime=s["regime"],
                     authority=data_text(s["authority"]))
        if kind == "countermeasure":
            return _("Countermeasure: %(what)s", what=s["description"])
        if kind == "containment":
            return _("Record containment")
        if kind == "group_alert":
            return _("Answer the group-wide alert: %(subject)s", subject=s.get("subject", ""))
        return str(s.get("what", ""))

    def recall(r: dict[str, Any]) -> str:
        if "units_affected" not in r:
            return str(r.get("text") or r)
        done, units = format(r["remedied"], ","), format(r["units_affected"], ",")
        line = _("%(ref)s %(title)s: %(status)s, %(remedy)s; %(done)s of %(units)s units remedied (%(rate)s, "
                 "target %(target)s %%)", ref=r["reference"], title=r["title"],
                 status=_title(RECALL_STATUS_TITLES, r.get("status")), remedy=_title(REMEDY_TITLES, r.get("remedy")),
                 done=done, units=units, rate=percent(r.get("rate") or 0), target=r["target_percent"])
        if r.get("stalled_since"):
            line += _("; no progress since %(day)s",
                      day=written_date(date.fromisoformat(r["stalled_since"]), language, era=era))
        return line

    return {
        "at": at,
        "severity_why": severity_why(c),
        "authorities": [data_text(n.get("authority")) for n in c.get("notifications") or []],
        "status": _title(STATUS_TITLES, c.get("status")),
        "harm": harm_text(c.get("harm_facts"), c.get("harm", "")),
        "triggers": [(_title(TRIGGER_TITLES, t.get("kind"), t.get("title") or ""), t.get("detail") or "")
                     for t in c.get("triggers") or []],
        "states": [_title(STATE_TITLES, n.get("state")) for n in c.get("notifications") or []],
        "review": review_text,
        "steps": [step(s) for s in c.get("next_steps") or []],
        "recalls": [recall(r) for r in c.get("recalls") or []],
        "changes": [change_sentence(ch) for ch in c.get("changes_since_last") or []],
        "fields": [[str(FIELD_TITLES[f]) for f in ch.get("fields") or [] if f in FIELD_TITLES and f in REPORTED_FIELDS]
                   for ch in c.get("changes_since_last") or []],
        "decided": [change_sentence(ch) for ch in c.get("decided") or []],
        "units": f"{c['units_in_field']:,}" if isinstance(c.get("units_in_field"), int) else str(c.get("units_in_field")),
        "risks": [report_words(a) for a in c.get("risk_assessments") or []],
    }


def severity_why(c: dict[str, Any]) -> str:
    """Why the incident has its severity, in the reader's language: from the decision's data when the report holds it
    (reports issued before it did: the words as composed at issue)."""
    from qa_incidents.incidents.severity import MatrixRule, rule_reason

    basis = c.get("severity_basis")
    if not isinstance(basis, dict):
        return str(c.get("severity_why") or "")
    rule = MatrixRule.from_dict(basis["rule"]) if basis.get("rule") else None
    why = rule_reason(rule)
    if basis.get("override_reason"):
        why += " " + _("Decided %(severity)s: %(reason)s", severity=basis.get("severity"),
                       reason=basis["override_reason"])
    return why


def _environment() -> Any:
    return document_environment(filters=(("when", when),))


def render_html(content: dict[str, Any], *, number: int, issued_at: datetime | None, zone: str, link: str = "",
                language: str = DEFAULT_LANGUAGE, era: bool = False) -> str:
    """The report as one self-contained HTML document (the e-mail body; the page embeds the same part), with its
    labels in the current gettext language (pass that language, for the dates and the document's lang)."""
    template = _environment().get_template("reports/status_email.html")
    return template.render(c=content, d=describe(content, zone=zone, language=language, era=era), number=number,
                           issued_at=issued_at.isoformat() if issued_at else None, zone=zone, link=link,
                           lang=language, era=era)


def render_pdf(content: dict[str, Any], *, number: int, issued_at: datetime | None, zone: str,
               language: str = DEFAULT_LANGUAGE, era: bool = False) -> bytes:
    """The report as PDF: the very document the page and the e-mail show (one template), printed by WeasyPrint."""
    return html_to_pdf(render_html(content, number=number, issued_at=issued_at, zone=zone, language=language, era=era))
