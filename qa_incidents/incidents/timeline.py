"""The incident timeline in words: one sentence for each kind of audit event an incident's trail can hold.

Keyed by (entity type, action) as the services record them; `tests/unit/test_timeline_sentences.py` finds every
event the code records and fails when one has no sentence here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from qa_incidents.incidents.lifecycle import Action

#: What the actor did, as the timeline says it ("<time> · <who> · <sentence>").
SENTENCES: dict[tuple[str, str], object] = {
    ("incident", "created"): _l("filed the incident"),
    ("incident", "updated"): _l("changed the facts"),
    ("incident", Action.TRIAGE.value): _l("triaged the incident"),
    ("incident", Action.RETRIAGE.value): _l("changed the severity"),
    ("incident", Action.REQUEST_ESCALATION.value): _l("requested escalation to head office"),
    ("incident", Action.APPROVE_ESCALATION.value): _l("approved the escalation"),
    ("incident", Action.REJECT_ESCALATION.value): _l("rejected the escalation"),
    ("incident", Action.CONTAIN.value): _l("recorded the containment"),
    ("incident", Action.START_REVIEW.value): _l("started the OCHIBO-HIROI review"),
    ("incident", Action.CLOSE.value): _l("closed the incident"),
    ("incident", Action.REOPEN.value): _l("reopened the closed incident"),
    ("incident", Action.REOPEN_AS_LIVE.value): _l("reopened the imported record as live work"),
    ("incident", "imported_history"): _l("imported the incident as history (public data)"),
    ("incident", "history_reverted"): _l("returned the imported record to the reports to triage"),
    ("incident", "assigned"): _l("assigned the incident"),
    ("incident", "complaints_linked"): _l("linked customer complaints to the incident"),
    ("complaint_signal", "promoted"): _l("raised the incident from a signal in customer complaints"),
    ("comment", "commented"): _l("commented"),
    ("attachment", "attached"): _l("attached a file"),
    ("signature", "signed"): _l("signed electronically"),
    ("notification_record", "notification_required"): _l("found a regulator notification required"),
    ("notification_record", "notification_rederived"): _l("updated a regulator notification after the facts changed"),
    ("notification_record", "notification_assigned"): _l("assigned a regulator notification to its owner"),
    ("notification_record", "notification_added"): _l("added a regulator notification"),
    ("notification_record", "notification_scheduled"): _l("scheduled a follow-up report to the authority"),
    ("notification_record", "notification_drafted"): _l("drafted a regulator notification"),
    ("notification_record", "notification_approved"): _l("approved a regulator notification for submission"),
    ("notification_record", "notification_submitted"): _l("recorded the submission of a regulator notification"),
    ("notification_record", "notification_acknowledged"): _l("recorded the authority's acknowledgement"),
    ("notification_record", "notification_not_required"): _l("recorded a notification as not required"),
    ("notification_record", "notification_reopened"): _l("reopened a regulator notification"),
    ("notification_record", "notification_decision_requested"): _l("asked for the decision that starts a legal clock"),
    ("notification_record", "notification_clock_started"): _l("signed the decision that starts a legal clock"),
    ("notification_record", "notification_recomputed"): _l("recomputed a deadline under corrected rules"),
    ("notification_record", "notification_decision_due"): _l("asked for a reportability decision"),
    ("notification_record", "notification_decided_reportable"): _l("signed a regulator notification as reportable"),
    ("recall", "created"): _l("prepared a recall campaign"),
    ("recall", "updated"): _l("changed the recall campaign"),
    ("recall", "launched"): _l("launched the recall"),
    ("recall", "withdrawn"): _l("withdrew the recall"),
    ("recall", "effectiveness_checked"): _l("checked the recall's effectiveness"),
    ("recall", "closed"): _l("closed the recall"),
    ("recall", "incident_linked"): _l("linked the incident to a recall"),
    ("recall", "imported_history"): _l("imported the recall's history from the public source"),
    ("recall", "unsigned_launch_reverted"): _l("put the recall back to draft: an import had launched it without a "
                                               "signature"),
    ("recall_population", "created"): _l("added a line to the recall's affected population"),
    ("recall_population", "retired"): _l("retired a line of the recall's affected population"),
    ("recall_advert", "created"): _l("recorded a recall advertisement"),
    ("recall_web_notice", "created"): _l("drafted the recall's public notice"),
    ("recall_web_notice", "published"): _l("published the recall's public notice"),
    ("recall_mailing", "created"): _l("recorded a recall mailing"),
    ("recall_progress", "created"): _l("recorded the recall's progress"),
    ("safety_notice", "created"): _l("started the public safety notice"),
    ("safety_notice_version", "drafted"): _l("drafted a version of the public safety notice"),
    ("safety_notice_version", "draft_changed"): _l("changed the draft of the public safety notice"),
    ("safety_notice_version", "published"): _l("signed and published the public safety notice"),
    ("safety_notice", "recall_linked"): _l("linked the public safety notice to a recall"),
    ("safety_notice", "withdrawn"): _l("withdrew the public safety notice"),
    ("status_report", "status_report_issued"): _l("issued a status report to top management"),
    ("status_report", "status_report_acknowledged"): _l("acknowledged a status report"),
    ("status_report_narrative", "status_report_narrative"): _l("wrote the division's narrative for the status report"),
    ("review", "review started"): _l("started an OCHIBO-HIROI review"),
    ("review", "incident linked"): _l("linked the incident to a review"),
    ("review", "review updated"): _l("updated the review"),
    ("review", "review deepened"): _l("made the review a full four-dimension review (an S1/S2 incident)"),
    ("review", "review submitted"): _l("submitted the review for approval"),
    ("review", "review returned"): _l("returned the review for rework"),
    ("review", "review approved"): _l("approved the review"),
    ("why_step", "why added"): _l("added a 'why' to the review"),
    ("countermeasure", "countermeasure added"): _l("added a countermeasure"),
    ("countermeasure", "implemented"): _l("implemented a countermeasure"),
    ("countermeasure", "tier corrected"): _l("corrected a countermeasure's safety tier"),
    ("countermeasure", "effectiveness checked"): _l("checked a countermeasure's effectiveness"),
    ("countermeasure", "effectiveness check deferred"): _l("signed the deferral of a countermeasure's effectiveness check"),
    ("deployment", "deployment sent"): _l("sent a horizontal deployment"),
    ("deployment", "deployment answered"): _l("answered a horizontal deployment"),
    ("deployment", "deployment assigned"): _l("assigned a horizontal deployment"),
    ("group_alert", "group alert sent"): _l("sent a group-wide alert to other divisions"),
    ("group_alert", "group alert answered"): _l("answered the group-wide alert"),
    ("lesson", "lesson published"): _l("published a lesson learned"),
    ("risk_assessment", "recorded"): _l("recorded a risk assessment"),
    ("watcher", "watched"): _l("started watching the incident"),
    ("watcher", "unwatched"): _l("stopped watching the incident"),
}


def sentence(entity_type: str, action: str) -> str:
    """The timeline's words for an event (an event of a kind not listed: a recorded change, never a raw code)."""
    found = SENTENCES.get((entity_type, action))
    return str(found) if found is not None else str(_l("recorded a change"))


# --- values the services compose into the trail, in the reader's language -------------------------------------
# The trail keeps what was recorded (append-only, in the words of the code that recorded it); these patterns are the
# values the code composes (a signature's meaning, how the signer authenticated, the matrix suggestion), re-worded for
# the reader when shown. Anything else is shown as recorded.

_SUGGESTION = re.compile(r"^(S[1-4]) \(([^,()]+), matrix v(\d+)\)$")
_SIGNED = re.compile(r"^(.+) · ([0-9a-f]{8,})…$")
_REAUTHENTICATED = re.compile(r"^(\w+) at (\S+)$")


def trail_value(name: str, value: str) -> str:
    """A composed value of a trail entry in the reader's language (a value of another shape: as recorded)."""
    from qa_incidents.core.signatures import meaning_title
    from qa_incidents.core.web import localtime

    if name == "meaning":
        return meaning_title(value)
    if name == "signature" and (m := _SIGNED.match(value)):
        return f"{meaning_title(m[1])} · {m[2]}…"
    if name == "suggested" and (m := _SUGGESTION.match(value)):
        rule = str(_l("fallback")) if m[2] == "fallback" else m[2]
        return str(_l("%(severity)s (rule %(rule)s, matrix version %(version)s)", severity=m[1], rule=rule,
                      version=m[3]))
    if name == "authentication":
        if value == "password":
            return str(_l("password"))
        if m := _REAUTHENTICATED.match(value):
            try:
                at = localtime(datetime.fromisoformat(m[2]))
            except ValueError:
                return value
            return str(_l("re-authenticated at the identity provider (%(method)s) at %(when)s", method=m[1].upper(),
                          when=at))
    return value


_ANSWER_WORDS = {"affected": _l("Affected"), "not_affected": _l("Not affected"), "investigating": _l("Investigating")}


def _after(changes: dict[str, Any], name: str) -> Any:
    value = changes.get(name)
    return value[1] if isinstance(value, list | tuple) and len(value) == 2 else None


def detail(entity_type: str, action: str, changes: dict[str, Any]) -> str:
    """What the sentence alone leaves out, for the events a reader of the timeline looks for (which division answered
    what, which report, which version, which risk); "" for the others."""
    if (entity_type, action) == ("group_alert", "group alert answered"):
        answer = _after(changes, "answer")
        return f"{_after(changes, 'division') or ''}: {_ANSWER_WORDS.get(answer, answer)}"
    if (entity_type, action) == ("group_alert", "group alert sent"):
        text = str(_after(changes, "divisions") or "")
        if unreceived := _after(changes, "no_qa_manager"):
            text += " — " + str(_l("no QA manager to receive it: %(divisions)s", divisions=unreceived))
        return text
    if (entity_type, action) == ("notification_record", "notification_submitted"):
        parts = [str(v) for v in (_after(changes, "authority_reference"), _after(changes, "channel")) if v]
        on_time = _after(changes, "on_time")
        if on_time:
            parts.append(str(_l("late") if on_time == "late" else _l("on time")))
        return ", ".join(parts)
    if (entity_type, action) == ("status_report", "status_report_issued"):
        return str(_l("no. %(n)s", n=_after(changes, "number")))
    if (entity_type, action) == ("safety_notice_version", "published"):
        return str(_l("version %(n)s", n=_after(changes, "number")))
    if (entity_type, action) == ("risk_assessment", "recorded"):
        from qa_incidents.risk.rules import result_title

        method, result = _after(changes, "method") or "", _after(changes, "result") or ""
        return f"{_after(changes, 'subject') or ''}: {result_title(method, result)}"
    if (entity_type, action) == ("countermeasure", "tier corrected"):
        return str(_after(changes, "reason") or "")
    return ""
