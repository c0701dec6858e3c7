"""Every kind of event an incident's timeline can show has a sentence, in English and in Japanese.

The events are found in the code itself: each call that records an audit event about an incident (audit.record with
an incident_id, or a package's own _audit helper that adds it), with its entity type and action; a lifecycle action is
recorded under its own name. A new event type without a sentence fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from qa_incidents.incidents.lifecycle import Action
from qa_incidents.incidents.timeline import SENTENCES, sentence

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "qa_incidents"
#: Helpers that record an event about the incident(s) of a record, and the entity type they use when none is given.
HELPERS = {"_audit": {"notifications/records.py": "notification_record"}}
CALL = re.compile(r"\b(audit\.record|record|_audit)\(")


def _calls(text: str):
    for match in CALL.finditer(text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield match.group(1), text[match.end():i - 1]


def recorded_events() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        for name, args in _calls(text):
            if args.lstrip().startswith("session: so.Session"):
                continue  # the helper's own definition
            about_incident = "incident_id=" in args or name == "_audit"
            if not about_incident:
                continue
            action = re.search(r"\baction=\"([^\"]+)\"", args)
            entity = re.search(r"\bentity_type=\"([^\"]+)\"", args)
            entity_name = entity.group(1) if entity else HELPERS.get(name, {}).get(relative)
            if action and entity_name:
                found.add((entity_name, action.group(1)))
    found |= {("incident", a.value) for a in Action}  # workflow._move records each action under its value
    return found


def test_the_scan_finds_the_events_it_should():
    events = recorded_events()
    for expected in [("incident", "created"), ("recall", "effectiveness_checked"), ("recall_progress", "created"),
                     ("notification_record", "notification_submitted"), ("status_report", "status_report_issued"),
                     ("recall_population", "created"), ("review", "review approved"), ("signature", "signed")]:
        assert expected in events
    assert len(events) > 50


def test_every_recorded_event_has_a_sentence():
    missing = sorted(e for e in recorded_events() if e not in SENTENCES)
    assert missing == [], f"events without a timeline sentence in qa_incidents/incidents/timeline.py: {missing}"


def test_recall_events_are_not_told_as_filing_the_incident():
    assert sentence("recall_progress", "created") == "recorded the recall's progress"
    assert sentence("recall", "created") != sentence("incident", "created")
    assert sentence("notification_record", "notification_submitted") != "notification_submitted"


@pytest.fixture(scope="module")
def japanese() -> dict[str, str]:
    with (ROOT / "translations/ja/LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = read_po(f)
    return {m.id: m.string for m in catalogue if m.id and m.string}


def test_every_sentence_has_a_japanese_translation(japanese):
    untranslated = sorted({s._args[0] for s in SENTENCES.values()} - set(japanese))  # type: ignore[attr-defined]
    assert untranslated == []
