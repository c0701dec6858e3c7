"""Rules of public product safety notices: which incidents may have one, and when a language version is complete.

Pure Python (no Flask app, no database): the service and the tests call these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles

#: Only a severe incident is disclosed to customers this way (the group's disclosure practice: "in case of a
#: severe incident, we … disclose the incident information to customers on our website").
SEVERE = frozenset({"S1", "S2"})


class NoticeStatus(TitledEnum):
    DRAFT = "draft", _l("Being drafted (not public)")  # never published yet
    PUBLISHED = "published", _l("Published")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class VersionKind(TitledEnum):
    INITIAL = "initial", _l("First notice")
    UPDATE = "update", _l("Update")  # the case moved: new facts, a recall follows, the advice changes
    CORRECTION = "correction", _l("Correction")  # something published was wrong


class CustomerAction(TitledEnum):
    STOP_USING = "stop_using", _l("Stop using")
    UNPLUG = "unplug", _l("Unplug")
    CONTACT = "contact", _l("Contact us")


STATUS_TITLES = titles(NoticeStatus)
KIND_TITLES = titles(VersionKind)
#: What customers read for each action, in the page's language.
ACTION_TEXTS = {CustomerAction.STOP_USING: _l("Stop using the product now."),
                CustomerAction.UNPLUG: _l("Unplug it from the mains (switch it off at the wall first)."),
                CustomerAction.CONTACT: _l("Contact us using the details below.")}
ACTION_TITLES = titles(CustomerAction)

#: The texts written in each language the notice is published in.
TEXT_FIELDS = ("heading", "product_name", "what_happened", "what_to_do", "contact_hours", "change_note")
REQUIRED_TEXTS = ("heading", "product_name", "what_happened")
#: Texts that are sentences in the language (model numbers, phone numbers and hours may be in Latin letters in any).
PROSE_FIELDS = ("heading", "what_happened", "what_to_do", "change_note")
TEXT_LIMITS = {"heading": 200, "product_name": 300, "what_happened": 5000, "what_to_do": 3000, "contact_hours": 500,
               "change_note": 2000}

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def has_japanese(text: str) -> bool:
    """Whether the text holds kana or kanji."""
    return bool(_JAPANESE.search(text or ""))


def severity_refusal(severity: str | None) -> str | None:
    """Why an incident of this severity may not have a public safety notice (None: it may)."""
    if severity not in SEVERE:
        return str(_l("Only S1 and S2 (severe) incidents have a public safety notice."))
    return None


def content_problems(*, languages: Iterable[str], texts: Mapping[str, Mapping[str, str]], actions: Iterable[str],
                     models: str, contact_phone: str, contact_email: str, contact_url: str,
                     kind: str) -> dict[str, str]:
    """Why a version cannot be published, by form field (`en_heading`, `ja_what_happened`, `languages`, …).

    Each chosen language must be complete in that language: the heading, the product and what happened; what to do
    (the actions ticked, or words); for a version after the first, what changed. A Japanese version's sentences are
    written in Japanese; an English version's sentences hold no Japanese."""
    errors: dict[str, str] = {}
    chosen = [lang for lang in languages if lang in ("en", "ja")]
    if not chosen:
        errors["languages"] = str(_l("Choose at least one language to publish in."))
    if not models.strip():
        errors["models"] = str(_l("Name the models concerned, as the company writes them."))
    if not (contact_phone.strip() or contact_email.strip() or contact_url.strip()):
        errors["contact_phone"] = str(_l("Give customers at least one way to contact us: phone, e-mail or web page."))
    if contact_email.strip() and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact_email.strip()):
        errors["contact_email"] = str(_l("This is not an e-mail address."))
    if contact_url.strip() and not re.match(r"https?://\S+$", contact_url.strip()):
        errors["contact_url"] = str(_l("Give the full address of the web page (https://…)."))
    acting = [a for a in actions if a in {c.value for c in CustomerAction}]
    for lang in chosen:
        text = {name: (texts.get(lang, {}).get(name) or "").strip() for name in TEXT_FIELDS}
        for name in REQUIRED_TEXTS:
            if not text[name]:
                errors[f"{lang}_{name}"] = str(_l("Required in this language."))
        if not acting and not text["what_to_do"]:
            errors[f"{lang}_what_to_do"] = str(_l("Tick what customers should do, or say it in this language."))
        if kind != VersionKind.INITIAL.value and not text["change_note"]:
            errors[f"{lang}_change_note"] = str(_l("Say in this language what changed since the last version."))
        for name in PROSE_FIELDS:
            if not text[name] or f"{lang}_{name}" in errors:
                continue
            if lang == "ja" and not has_japanese(text[name]):
                errors[f"{lang}_{name}"] = str(_l("Write the Japanese version in Japanese."))
            elif lang == "en" and has_japanese(text[name]):
                errors[f"{lang}_{name}"] = str(_l("The English version holds Japanese text: write it in English."))
    for lang in ("en", "ja"):
        for name, limit in TEXT_LIMITS.items():
            if len((texts.get(lang, {}).get(name) or "").strip()) > limit:
                errors[f"{lang}_{name}"] = str(_l("At most %(n)d characters.", n=limit))
    return errors
