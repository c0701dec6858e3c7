"""The bilingual QA vocabulary: English and Japanese terms for failure modes, hazards, components, processes and causes.

It lets a lesson written in one language be found by words of the other. Each lesson's index text gains the
other language's terms found in it (search.fields_of), and a query gains the other language's terms found in the
query (search.search_lessons, search.similar_lessons); a hit shows which words matched across languages.

English terms are found as whole words, with light stemming (overheated, overheating → overheat); Japanese
has no spaces between words, so a Japanese term is found as a substring of the text (NFKC, as the index
normalises it). The vocabulary ships as `data/lessons/qa_vocabulary.csv` (each pair with its source), is
loaded into the table `qa_term` by migration 0027, and is edited by administrators (VOCABULARY page): every
change is audited and raises the vocabulary's edition (counter row `qa-vocabulary`), which is what the
in-process copy is kept under. An edit re-indexes the lessons holding the changed terms.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from config import BASE_DIR
from qa_incidents.core import freshness
from qa_incidents.core.db import Base

VOCABULARY_PATH = BASE_DIR / "data" / "lessons" / "qa_vocabulary.csv"
EDITION_MARKER = "qa-vocabulary"
KINDS = ("failure_mode", "hazard", "component", "process", "cause", "quality")


class QaTerm(Base):
    """One English–Japanese term pair of the vocabulary. Never deleted: a withdrawn pair is inactive."""

    __tablename__ = "qa_term"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    en: so.Mapped[str] = so.mapped_column(sa.String(120))
    ja: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    source: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    version: so.Mapped[int] = so.mapped_column(default=1)
    updated_at: so.Mapped[datetime | None] = so.mapped_column()
    updated_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (sa.UniqueConstraint("en", "ja", name="uq_qa_term_pair"),)


# --- matching -----------------------------------------------------------------------------

_WORD = re.compile(r"[0-9a-z]+")
_DOUBLE = re.compile(r"([b-df-hj-np-tv-z])\1$")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light English stem, enough to meet inflections of one term (crack, cracks, cracked, cracking). Kept per
    word: a search page stems its hits' texts, some eight hundred words, most of them seen before."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w != word and _DOUBLE.search(w) and not w.endswith(("ll", "ss", "zz")):
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _WORD.findall(_normal(text)))


@dataclass(frozen=True)
class Match:
    """A term found in a text and the other language's terms it brings."""

    found: str
    other: tuple[str, ...]


@dataclass
class Vocabulary:
    """The active pairs, ready for matching: English phrases by their stems, Japanese terms as they are written."""

    english: dict[tuple[str, ...], tuple[str, list[str]]] = field(default_factory=dict)  # stems → (term, ja terms)
    japanese: dict[str, list[str]] = field(default_factory=dict)  # ja term → en terms
    longest: int = 1
    size: int = 0

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Vocabulary:
        vocab = cls()
        for en, ja in pairs:
            en, ja = en.strip(), _normal(ja).strip()
            key = _stems(en)
            if not key or len(ja) < 2:
                continue
            term, others = vocab.english.setdefault(key, (en.lower(), []))
            if ja not in others:
                others.append(ja)
            ens = vocab.japanese.setdefault(ja, [])
            if all(_stems(e) != key for e in ens):
                ens.append(en.lower())
            vocab.longest = max(vocab.longest, len(key))
            vocab.size += 1
        return vocab

    def matches(self, text: str) -> list[Match]:
        """The terms of either language in the text, in order of first appearance, each once."""
        normal = _normal(text)
        out: dict[str, Match] = {}
        words = _stems(normal)
        for i in range(len(words)):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                hit = self.english.get(words[i:i + n])
                if hit is not None and hit[0] not in out:
                    out[hit[0]] = Match(hit[0], tuple(hit[1]))
        if any(ord(ch) > 0x3000 for ch in normal):
            for ja, ens in self.japanese.items():
                if ja in normal and ja not in out:
                    out[ja] = Match(ja, tuple(ens))
        return list(out.values())

    def other_terms(self, text: str) -> list[str]:
        """The other language's terms for the terms found in the text, each once (to add to index or query text)."""
        seen: dict[str, None] = {}
        for m in self.matches(text):
            for t in m.other:
                seen.setdefault(t, None)
        return list(seen)


def read_file(path: Path = VOCABULARY_PATH) -> list[dict[str, str]]:
    """The shipped vocabulary's rows: en, ja, kind, source."""
    with path.open(encoding="utf-8", newline="") as f:
        return [row for row in csv.DictReader(f) if (row.get("en") or "").strip() and (row.get("ja") or "").strip()]


_from_file: list[Vocabulary] = []
_kept = freshness.Kept(EDITION_MARKER, size=8)


def current(session: so.Session) -> Vocabulary:
    """The vocabulary in force: the table's active pairs (kept in this process per edition), or the shipped file
    while the table has none (a database emptied by tests, before the migration's load)."""
    edition = _kept.read(session)
    if edition is not None:
        found = _kept.peek(edition, "in force")
        if found is None:
            found = Vocabulary.of(session.execute(
                sa.select(QaTerm.en, QaTerm.ja).where(QaTerm.active.is_(True)).order_by(QaTerm.id)).all())
            _kept.keep(session, edition, "in force", found)
        return found  # type: ignore[no-any-return]
    if not _from_file:
        _from_file.append(Vocabulary.of((r["en"], r["ja"]) for r in read_file()))
    return _from_file[0]


# --- editing (administrators) -------------------------------------------------------------

EDITED_FIELDS = ("en", "ja", "kind", "source", "active")


def _new_edition(session: so.Session) -> None:
    """Give the edition marker a fresh random value in the caller's transaction: a value never met before, so a
    vocabulary kept under an edition that was rolled back is never taken for a later one."""
    freshness.touch(session, EDITION_MARKER)


def ensure_loaded(session: so.Session) -> None:
    """Load the shipped file into an empty table (a database emptied since its migration), as the first edition."""
    if session.scalar(sa.select(sa.func.count()).select_from(QaTerm)):
        return
    seen: set[tuple[str, str]] = set()
    for row in read_file():
        pair = (row["en"].strip()[:120], row["ja"].strip()[:120])
        if pair not in seen:
            seen.add(pair)
            session.add(QaTerm(en=pair[0], ja=pair[1], kind=row.get("kind", "")[:20], source=row.get("source", "")[:200],
                               active=True, version=1))
    session.flush()
    _new_edition(session)


def list_terms(session: so.Session, *, query: str = "", limit: int = 100, offset: int = 0) -> tuple[list[QaTerm], int]:
    """Pairs whose English or Japanese holds the query (all if none), English order; and how many there are."""
    where = []
    if query.strip():
        like = f"%{query.strip()}%"
        where.append(sa.or_(QaTerm.en.ilike(like), QaTerm.ja.like(like)))
    total = session.scalar(sa.select(sa.func.count()).select_from(QaTerm).where(*where)) or 0
    terms = list(session.scalars(sa.select(QaTerm).where(*where).order_by(sa.func.lower(QaTerm.en), QaTerm.id)
                                 .limit(limit).offset(offset)))
    return terms, total


def save_term(session: so.Session, *, actor_id: int, now: datetime, term_id: int | None, en: str, ja: str, kind: str,
              source: str, active: bool = True, expected_version: int | None = None) -> QaTerm:
    """Add or change one pair (audited, versioned); the lessons holding its old or new words are indexed again."""
    from qa_incidents.core import audit
    from qa_incidents.core.errors import NotFound, ValidationFailed
    from qa_incidents.reviews import search

    en, ja, kind, source = " ".join(en.split()), "".join(ja.split()), kind.strip(), " ".join(source.split())
    errors = {}
    if not en or len(en) > 120 or not _stems(en):
        errors["en"] = str(_l("Enter the English term (at most 120 characters)."))
    if len(ja) < 2 or len(ja) > 120 or ja.isascii():
        errors["ja"] = str(_l("Enter the Japanese term (2 to 120 characters)."))
    if kind not in KINDS:
        errors["kind"] = str(_l("Choose a kind."))
    if not source or len(source) > 200:
        errors["source"] = str(_l("Give the source (a standard, a glossary, or “own translation”)."))
    if errors:
        raise ValidationFailed(errors)
    ensure_loaded(session)
    clash = session.scalar(sa.select(QaTerm.id).where(QaTerm.en == en, QaTerm.ja == ja))
    if clash is not None and clash != term_id:
        raise ValidationFailed({"en": str(_l("This pair is already in the vocabulary."))})
    if term_id is None:
        term = QaTerm(en=en, ja=ja, kind=kind, source=source, active=active, version=1, updated_at=now,
                      updated_by_id=actor_id)
        session.add(term)
        session.flush()
        before: dict[str, object] = {}
        action = "create"
    else:
        found = session.get(QaTerm, term_id)
        if found is None:
            raise NotFound(str(_l("No such term.")))
        term = found
        if expected_version is not None and expected_version != term.version:
            raise ValidationFailed({"en": str(_l("Someone else changed this term meanwhile; reload and try again."))})
        before = {f: getattr(term, f) for f in EDITED_FIELDS}
        term.en, term.ja, term.kind, term.source, term.active = en, ja, kind, source, active
        term.version += 1
        term.updated_at, term.updated_by_id = now, actor_id
        session.flush()
        action = "update"
    after = {f: getattr(term, f) for f in EDITED_FIELDS}
    changes = {f: [before.get(f), after[f]] for f in EDITED_FIELDS if before.get(f) != after[f]}
    if changes:
        audit.record(session, actor_id=actor_id, entity_type="qa_term", entity_id=term.id, action=action, now=now,
                     changes=changes)
        _new_edition(session)
        words = {str(w) for w in (before.get("en"), before.get("ja"), en, ja) if w}
        search.reindex_holding(session, sorted(words))
    return term


def history(session: so.Session, term_id: int) -> list[object]:
    from qa_incidents.core.audit import AuditEvent

    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "qa_term",
                                                            AuditEvent.entity_id == term_id)
                                .order_by(AuditEvent.id.desc())))
