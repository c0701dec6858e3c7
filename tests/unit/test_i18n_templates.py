"""Every user-visible word in a template goes through the translation catalogue.

The templates are read as text: Jinja comments, tags, expressions and {% trans %} blocks are removed, then the
markup; what is left (text between tags, and the attributes people see or hear: title, placeholder, alt,
aria-label, and the value of buttons) must hold no letters except brand names and codes on a short list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# Names and codes that are the same in every language.
ALLOWED_WORDS = {
    "qa-incidents", "OCHIBO-HIROI", "SHA-256", "S1", "S2", "S3", "S4", "CSV", "JSON", "PDF", "API", "UTC", "ISO",
    "SLA", "EU", "ID", "OK", "S/N", "cm", "MB", "KB", "%",
    "JP-CPSA",  # the example law code in the laws map's legend
}

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?%\}.*?\{%-?\s*endtrans\s*-?%\}", re.S)
JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
JINJA_TAG = re.compile(r"\{%.*?%\}", re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
RAW_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.S | re.I)
TAG = re.compile(r"<[^<>]*>", re.S)
VISIBLE_ATTR = re.compile(r"""\b(title|placeholder|alt|aria-label|aria-description)\s*=\s*("([^"]*)"|'([^']*)')""", re.I)
BUTTON_VALUE = re.compile(r"""<input\b[^>]*\btype\s*=\s*["'](?:submit|button|reset)["'][^>]*\bvalue\s*=\s*["']([^"']*)["']""", re.I)
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;|&#x[0-9a-fA-F]+;")
LETTER = re.compile(r"[^\W\d_]")


def untranslated(source: str) -> list[str]:
    """The words of a template that a reader would see without translation."""
    text = JINJA_COMMENT.sub(" ", source)
    text = TRANS_BLOCK.sub(" ", text)
    text = JINJA_EXPR.sub(" ", text)
    text = JINJA_TAG.sub(" ", text)
    text = HTML_COMMENT.sub(" ", text)
    text = RAW_BLOCKS.sub(" ", text)
    found: list[str] = []
    for tag in TAG.findall(text):
        for match in VISIBLE_ATTR.finditer(tag):
            found.extend(_words(match.group(3) if match.group(3) is not None else match.group(4)))
        for match in BUTTON_VALUE.finditer(tag):
            found.extend(_words(match.group(1)))
    found.extend(_words(TAG.sub(" ", text)))
    return found


def _words(text: str) -> list[str]:
    text = ENTITY.sub(" ", text)
    words = []
    for word in text.split():
        word = word.strip(".,:;()[]·—–-→×/|*\"'“”‘’!?")
        if word and LETTER.search(word) and word not in ALLOWED_WORDS:
            words.append(word)
    return words


def test_the_check_finds_an_unwrapped_label_and_attribute() -> None:
    assert untranslated('<label>Serial number</label>') == ["Serial", "number"]
    assert untranslated('<input placeholder="e.g. INC-1">') == ["e.g", "INC-1"]
    assert untranslated('<input type="submit" value="Save">') == ["Save"]
    assert untranslated('<p>未翻訳</p>') == ["未翻訳"]


def test_the_check_accepts_wrapped_text_expressions_and_codes() -> None:
    source = """{# a note #}<h1>{{ _("Recalls") }}</h1>
    <p title="{{ _('Your account') }}">{% trans %}Free text{% endtrans %} {{ incident.ref }} · S1 · qa-incidents</p>
    <script>const x = "not shown";</script><!-- a comment -->
    {% if a %}<b class="badge big" data-x="raw">{{ n }}</b>{% endif %}"""
    assert untranslated(source) == []


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_template_has_no_untranslated_text(template: str) -> None:
    words = untranslated((TEMPLATES / template).read_text(encoding="utf-8"))
    assert not words, f"{template}: wrap these in {{{{ _(\"…\") }}}}: {' '.join(words)}"
