"""The Japanese catalogue covers every message in the code and templates, faithfully.

English is the source language: msgids are the English text, so English needs no catalogue of its own and
cannot lack an entry. Japanese must have a translation for every message, none fuzzy or empty, with the
same %(placeholders)s; and the compiled .mo the application reads must match the .po under version control.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdrf]|%%")


def source_messages() -> dict[str | tuple[str, ...], str]:
    """Every message the code and templates pass to gettext, with where it is (as `make messages` extracts)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[str | tuple[str, ...], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def japanese() -> Catalog:
    with open(PO, "rb") as f:
        return read_po(f, locale="ja")


def _placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text)))


def test_every_message_has_a_japanese_translation(japanese: Catalog) -> None:
    missing = []
    for message, where in source_messages().items():
        entry = japanese.get(message)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        if entry is None or not all(strings):
            missing.append(f"{where}: {message!r}")
    assert not missing, "Not translated into Japanese (run `make messages`, translate, `make translations`):\n" + "\n".join(missing)


def test_no_japanese_translation_is_fuzzy(japanese: Catalog) -> None:
    fuzzy = [m.id for m in japanese if m.id and m.fuzzy]
    assert not fuzzy, f"Fuzzy (guessed) translations to check: {fuzzy}"


def test_translations_keep_the_placeholders(japanese: Catalog) -> None:
    wrong = []
    for m in japanese:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = _placeholders(" ".join(ids))
        for s in strings:
            if s and _placeholders(s) != expected:
                wrong.append(f"{m.id!r} → {s!r}")
    assert not wrong, "Placeholders differ:\n" + "\n".join(wrong)


def test_japanese_plural_has_one_form(japanese: Catalog) -> None:
    assert japanese.num_plurals == 1
    assert all(len(m.string) == 1 for m in japanese if m.id and isinstance(m.id, tuple))


def test_compiled_catalogue_matches_the_source(japanese: Catalog) -> None:
    assert MO.exists(), f"{MO.relative_to(ROOT)} is missing: run `make translations`"
    with open(MO, "rb") as f:
        compiled = read_mo(f)
    def key(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    source = {key(m.id): key(m.string) for m in japanese if m.id and not m.fuzzy}
    built = {key(m.id): key(m.string) for m in compiled if m.id}
    assert built == source, f"{MO.relative_to(ROOT)} is out of date: run `make translations`"


def test_the_check_notices_a_missing_translation() -> None:
    catalogue = Catalog(locale="ja")
    catalogue.add("Recalls", "回収")
    assert catalogue.get("Recalls").string == "回収"
    assert catalogue.get("Close the incident") is None
    assert _placeholders("%(ref)s を %(sev)s として") == ["ref", "sev"]
    assert _placeholders("%(ref)s として") != _placeholders("%(ref)s triaged as %(sev)s.")
