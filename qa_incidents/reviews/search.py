"""Search over the lessons-learned library: full-text ranking, highlighted snippets, facets, similar lessons.

SQLite: an FTS5 table `lesson_fts` (one row per lesson, rowid = lesson id), ranked by BM25 with field
weights. It is derived data, rebuilt from the lesson table whenever it is missing (a fresh database, a
restore), which is why it lives here and not in the migrations.
PostgreSQL: the weighted tsvector column `lesson.search_vector` under a GIN index, ranked by ts_rank.

Both index the same text: words, and Japanese as overlapping character pairs (rules.tokens), so
two-character Japanese words such as 火災 are found on both databases.

Cost at 100,000 lessons: on SQLite, search ranks and cuts inside the FTS5 query (bm25 + LIMIT, no join
to lesson) when no facet is chosen. On PostgreSQL ts_rank must read every matching row, so a search ranks and
counts in one pass over the matches (see _facets). A search matching more than BROAD_AT_MOST lessons ranks and
counts only the newest that many, with estimated counts (_broad). On both, the ranked rows of a page and the total
and facet counts are kept while no lesson changes (see "kept while the library stands still").
Similar lessons scores only the lessons that hold one of the text's rarest terms, instead of every lesson sharing
any common word: the rarest terms whose postings add up to at most POSTINGS_AT_MOST (similar_plan), counted by FTS5
on SQLite and read from the kept per-term counts (table lesson_term) on PostgreSQL. The best NEIGHBOURS are then re-ranked by the agreement of
their cause categories (_by_cause_agreement) and by how likely each cause is given the text's words, counted on the
library's newest lessons (cause_prior).
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from markupsafe import Markup

from qa_incidents.core import freshness
from qa_incidents.reviews import rules, vocabulary
from qa_incidents.reviews.models import Lesson

#: Field weights, chosen by the search-quality measurement (see README): title, failure, causes, body.
WEIGHTS = (2.0, 1.0, 1.0, 3.0)
PG_CONFIG = "english"
FACETS = ("product_category", "failure_mode", "cause_dimension", "division", "year")


@dataclass
class LessonFilters:
    """Facet values chosen by the user; None means any."""

    product_category: str | None = None
    failure_mode: str | None = None
    cause_dimension: str | None = None
    division: str | None = None
    year: int | None = None

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) or None for name in FACETS)

    def where(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        for name in FACETS:
            value = getattr(self, name)
            if value is not None and value != "":
                out.append(getattr(Lesson, name) == value)
        return out


@dataclass
class LessonHit:
    lesson: Lesson
    score: float  # higher is better
    snippet: Markup
    across: list[str] = field(default_factory=list)  # "過熱 → overheating": words that matched across languages


@dataclass
class LessonPage:
    hits: list[LessonHit]
    total: int
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    across: list[vocabulary.Match] = field(default_factory=list)  # the query's terms and their other-language terms
    #: True when the query matched more than BROAD_AT_MOST lessons: total and facet counts are estimates ("about").
    estimated: bool = False
    ranked_among: int = 0  # then: how many of the newest matches were ranked


# --- what is indexed ----------------------------------------------------------------------


def fields_of(lesson: Lesson, vocab: vocabulary.Vocabulary | None = None) -> tuple[str, str, str, str]:
    """The four weighted fields of a lesson, as index text. Given the vocabulary, each field also holds the other
    language's terms for the terms found in it (a lesson in English is found by 過熱, one in Japanese by overheating)."""
    parts = (
        (lesson.title, lesson.product),
        (lesson.failure_mode, lesson.mechanism, lesson.product_category),
        (lesson.technical_cause, lesson.process_cause, lesson.framework_cause, lesson.motivating_cause),
        (lesson.summary, lesson.countermeasures, " ".join(lesson.design_review_checks or [])),
    )
    if vocab is None:
        return tuple(rules.index_text(*p) for p in parts)  # type: ignore[return-value]
    return tuple(rules.index_text(*p, " ".join(vocab.other_terms(" ".join(x or "" for x in p)))) for p in parts)  # type: ignore[return-value]


def _is_sqlite(session: so.Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def ensure_index(session: so.Session) -> None:
    """On SQLite, create and fill the FTS5 table if this database has none yet (no effect on PostgreSQL)."""
    if not _is_sqlite(session):
        return
    # Checked every time (a tiny query): a cache could outlive a rolled-back CREATE.
    exists = session.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'lesson_fts'")).first()
    if not exists:
        session.execute(sa.text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS lesson_fts USING fts5("
            "title, failure, causes, body, tokenize = 'porter unicode61 remove_diacritics 2')"))
        ids = list(session.scalars(sa.select(Lesson.id).order_by(Lesson.id)))
        for start in range(0, len(ids), 500):
            index_lessons(session, session.scalars(sa.select(Lesson).where(Lesson.id.in_(ids[start:start + 500]))))


def index_lessons(session: so.Session, lessons: Iterable[Lesson]) -> None:
    """(Re)index the given lessons, in the caller's transaction."""
    lessons = list(lessons)
    if not lessons:
        return
    session.flush()
    vocab = vocabulary.current(session)
    if _is_sqlite(session):
        ensure_index(session)
        ids = [{"id": lesson.id} for lesson in lessons]
        session.execute(sa.text("DELETE FROM lesson_fts WHERE rowid = :id"), ids)
        session.execute(
            sa.text("INSERT INTO lesson_fts(rowid, title, failure, causes, body) VALUES (:id, :t, :f, :c, :b)"),
            [dict(zip(("id", "t", "f", "c", "b"), (lesson.id, *fields_of(lesson, vocab)), strict=True)) for lesson in lessons])
        _touch_library(session)  # lesson_fts is a virtual table: no trigger can do this (PostgreSQL's does)
        return
    weighted = " || ".join(f"setweight(to_tsvector('{PG_CONFIG}', :{k}), '{w}')" for k, w in zip("tfcb", "ABCD", strict=True))
    ids = sorted({lesson.id for lesson in lessons})
    _count_terms(session, ids, -1)  # the lessons' old lexemes no longer count ...
    session.execute(
        sa.text("UPDATE lesson SET search_vector = " + weighted + " WHERE id = :id"),  # nosec B608: constants only
        [dict(zip(("id", "t", "f", "c", "b"), (lesson.id, *fields_of(lesson, vocab)), strict=True)) for lesson in lessons])
    _count_terms(session, ids, +1)  # ... their new ones do


# --- how many lessons hold each term (PostgreSQL) -----------------------------------------
# lesson_term keeps, for every lexeme of the index, the number of lessons holding it (unnest(tsvector) gives each
# lexeme of a lesson once). It is changed in the transaction that changes the vectors, so a rollback undoes both;
# lexemes are locked in sorted order, so two transactions indexing at once wait for each other instead of deadlocking.

def _count_terms(session: so.Session, ids: list[int], sign: int) -> None:
    """Add sign × (the lessons among ids holding it) to each lexeme's count, as their vectors are now."""
    if sign < 0:
        session.execute(sa.text(
            "UPDATE lesson_term AS t SET lessons = t.lessons - d.n FROM ("
            " SELECT v.lexeme, count(*) AS n FROM lesson AS l, unnest(l.search_vector) AS v"
            " WHERE l.id = ANY(CAST(:ids AS integer[])) GROUP BY v.lexeme ORDER BY v.lexeme) AS d "
            "WHERE t.term = d.lexeme"), {"ids": ids})
    else:
        session.execute(sa.text(
            "INSERT INTO lesson_term (term, lessons)"
            " SELECT v.lexeme, count(*) FROM lesson AS l, unnest(l.search_vector) AS v"
            " WHERE l.id = ANY(CAST(:ids AS integer[])) GROUP BY v.lexeme ORDER BY v.lexeme "
            "ON CONFLICT (term) DO UPDATE SET lessons = lesson_term.lessons + EXCLUDED.lessons"), {"ids": ids})


def count_all_terms(session: so.Session) -> None:
    """Count every lexeme's lessons afresh (PostgreSQL; after a bulk load that wrote vectors directly)."""
    if _is_sqlite(session):
        return
    session.execute(sa.text("DELETE FROM lesson_term"))
    session.execute(sa.text("INSERT INTO lesson_term (term, lessons) "
                            "SELECT lexeme, count(*) FROM lesson, unnest(search_vector) GROUP BY lexeme"))


def _pg_counts(session: so.Session, terms: list[str]) -> dict[str, int]:
    """How many lessons hold each term (the most held of its lexemes; 0 for a term the index drops), from lesson_term."""
    rows = session.execute(sa.text(
        "SELECT q.t, coalesce(max(c.lessons), 0) FROM unnest(CAST(:terms AS text[])) AS q(t)"
        " LEFT JOIN LATERAL unnest(to_tsvector(CAST(:config AS regconfig), q.t)) AS v ON true"
        " LEFT JOIN lesson_term AS c ON c.term = v.lexeme GROUP BY q.t"),
        {"terms": terms, "config": PG_CONFIG}).all()
    found = {t: int(n) for t, n in rows}
    return {t: found.get(t, 0) for t in terms}


# --- queries ------------------------------------------------------------------------------

_CJK_RUN = re.compile(rf"[{rules._CJK}]+")


def _groups(query: str) -> list[list[str]]:
    """The query as groups of index tokens: one per word, one per run of Japanese (its character pairs)."""
    normal = unicodedata.normalize("NFKC", query or "").lower()
    out: list[list[str]] = []
    for match in rules._TOKEN.finditer(normal):
        word = match.group(0)
        if word.isascii() and (word in rules.STOPWORDS and len(normal.split()) > 1):
            continue
        out.append(rules.tokens(word))
    return out


def _alternative(group: list[str], sqlite: bool) -> str:
    """One group of index tokens as a query: a prefix for a single token, a phrase for Japanese pairs or words."""
    if sqlite:
        return f'"{group[0]}"*' if len(group) == 1 else '"' + " ".join(group) + '"'
    return f"'{group[0]}':*" if len(group) == 1 else "(" + " <-> ".join(f"'{t}'" for t in group) + ")"


def _across(query: str, groups: list[list[str]], matches: list[vocabulary.Match], sqlite: bool) -> str | None:
    """The query with each vocabulary term it holds allowed in either language: (term OR its translations) for
    every term found, and every word or Japanese run that no term covers, as it is. None if no term is found."""
    if not matches:
        return None
    english = [vocabulary._stems(m.found) for m in matches if m.found.isascii()]
    covered = {w for key in english for w in key}
    japanese = [m.found for m in matches if not m.found.isascii()]
    required = []
    normal = unicodedata.normalize("NFKC", query or "").lower()
    words = [m.group(0) for m in rules._TOKEN.finditer(normal)]
    kept = {tuple(g) for g in groups}
    for word in words:
        group = rules.tokens(word)
        if tuple(group) not in kept:  # a stop word the query drops
            continue
        if word.isascii() and vocabulary.stem(word) in covered:
            continue
        if not word.isascii() and any(j in word for j in japanese):
            continue
        required.append(_alternative(group, sqlite))
    join_or, join_and = (" OR ", " AND ") if sqlite else (" | ", " & ")
    for m in matches:
        options = dict.fromkeys(_alternative(rules.tokens(t), sqlite) for t in (m.found, *m.other) if rules.tokens(t))
        required.append("(" + join_or.join(options) + ")")
    return join_and.join(required)


def _fts5_all(groups: list[list[str]]) -> str:
    parts = []
    for g in groups:
        parts.append(f'"{g[0]}"*' if len(g) == 1 else '"' + " ".join(g) + '"')
    return " AND ".join(parts)


def _pg_all(groups: list[list[str]]) -> str:
    parts = []
    for g in groups:
        parts.append(f"'{g[0]}':*" if len(g) == 1 else "(" + " <-> ".join(f"'{t}'" for t in g) + ")")
    return " & ".join(parts)


def _ranked(session: so.Session, *, match: str, any_terms: bool, filters: LessonFilters | None) -> tuple[Any, Any]:
    """A (lesson id, score) selectable for the match expression, and its FROM/WHERE for facets."""
    conditions = (filters or LessonFilters()).where()
    if _is_sqlite(session):
        ensure_index(session)
        fts = sa.table("lesson_fts", sa.column("rowid"))
        score = -sa.func.bm25(sa.literal_column("lesson_fts"), *WEIGHTS)
        base = (sa.select(Lesson.id.label("id"), score.label("score"))
                .select_from(fts).join(Lesson, Lesson.id == fts.c.rowid)
                .where(sa.text("lesson_fts MATCH :match").bindparams(match=match), *conditions))
        return base, Lesson.id.in_(sa.select(fts.c.rowid).where(
            sa.text("lesson_fts MATCH :match2").bindparams(match2=match)))
    tsq = sa.func.to_tsquery(sa.literal_column(f"'{PG_CONFIG}'"), match)
    weights = sa.literal_column("'{" + ",".join(str(w / 3.0) for w in reversed(WEIGHTS)) + "}'::float4[]")
    score = sa.func.ts_rank(weights, Lesson.search_vector, tsq, 1)  # 1: divide by 1 + log(length)
    base = sa.select(Lesson.id.label("id"), score.label("score")).where(Lesson.search_vector.op("@@")(tsq), *conditions)
    return base, Lesson.search_vector.op("@@")(tsq)


def _hits(session: so.Session, rows: Sequence[Any], terms: list[str],
          matches: Sequence[vocabulary.Match] = ()) -> list[LessonHit]:
    """The lessons of ranked (id, score) rows, in that order, with snippets and the words that matched across
    languages. The vector is not loaded: it is only searched in the database, and it is the largest value of the row."""
    lessons = {lesson.id: lesson for lesson in session.scalars(
        sa.select(Lesson).where(Lesson.id.in_([r.id for r in rows])).options(so.defer(Lesson.search_vector)))}
    out = []
    for row in rows:
        lesson = lessons[row.id]
        text = " ".join(p for p in (lesson.summary, lesson.mechanism, lesson.technical_cause) if p)
        across = _matched_across(lesson, matches) if matches else []
        lowered = text.lower()
        # Only the terms the text holds: the highlighter compiles one pattern of them per snippet.
        shown = [t for t in dict.fromkeys([*terms, *(pair.split(" → ", 1)[1] for pair in across)]) if t in lowered]
        out.append(LessonHit(lesson=lesson, score=round(float(row.score), 4), across=across,
                             snippet=Markup(rules.highlight(text, shown))))  # nosec B704: highlight() escapes
    return out


def _matched_across(lesson: Lesson, matches: Sequence[vocabulary.Match]) -> list[str]:
    """"query term → lesson's word" for each of the query's terms whose translation the lesson holds."""
    text = " ".join(x or "" for x in (lesson.title, lesson.summary, lesson.product, lesson.failure_mode, lesson.mechanism,
                                      lesson.technical_cause, lesson.process_cause, lesson.countermeasures))
    normal = unicodedata.normalize("NFKC", text).lower()
    stems = " " + " ".join(vocabulary._stems(normal)) + " "
    out: list[str] = []
    for m in matches:
        for other in m.other:
            if other == m.found:
                continue
            found = (" " + " ".join(vocabulary._stems(other)) + " " in stems) if other.isascii() else other in normal
            if found:
                out.append(f"{m.found} → {other}")
                break
    return out[:6]


@dataclass(frozen=True)
class _Ranked:
    """One ranked row of a page: a lesson id and its score."""

    id: int
    score: float


@dataclass
class _Top:
    """A page of ranked rows wanted from the same pass over the matches as their counts (PostgreSQL, see _facets)."""

    ranked: sa.Select[Any]  # (id, score) of every match, as _ranked gives it
    limit: int
    offset: int
    rows: list[_Ranked] = field(default_factory=list)


def _facets(session: so.Session, where: list[sa.ColumnElement[bool]], *,
            top: _Top | None = None) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Counts per facet value over the matching lessons, in one grouped query.

    PostgreSQL counts each facet on its own (GROUPING SETS): some 60 rows come back instead of one per
    combination of the five values (7,000 for a broad word at 100,000 lessons). Given `top` (the ranked matches,
    whose conditions must be `where`), it also ranks them in the same statement and fills top.rows: the matches are
    read once instead of twice (ranking and counting each visit every matching row: 20,000 for a broad word).
    SQLite has no grouping sets and groups by the combination. Every facet column is NOT NULL, so each lesson is
    counted once in every facet and the total is the sum over any one of them.
    """
    columns = [getattr(Lesson, name) for name in FACETS]
    counters: dict[str, Counter[Any]] = {name: Counter() for name in FACETS}
    if _is_sqlite(session):
        rows = session.execute(sa.select(*columns, sa.func.count()).where(*where).group_by(*columns)).all()
        for row in rows:
            for name, value in zip(FACETS, row[:-1], strict=False):
                counters[name][value] += row[-1]
    else:
        if top is None:
            source, keys = None, columns
        else:
            source = top.ranked.add_columns(*columns).cte("matches")
            keys = [source.c[name] for name in FACETS]
        stmt = sa.select(sa.func.grouping(*keys), *keys, sa.func.count())
        stmt = (stmt.where(*where) if source is None else stmt.select_from(source)).group_by(
            sa.func.grouping_sets(*(sa.tuple_(key) for key in keys)))
        if source is not None:
            # The page's rows ride along, marked by a grouping value no grouped row has (-1), facet columns empty.
            page = (sa.select(sa.literal(-1, sa.Integer).label("g"), source.c.id, source.c.score)
                    .order_by(source.c.score.desc(), source.c.id).limit(top.limit).offset(top.offset).subquery())
            stmt = sa.union_all(
                sa.select(page.c.g, *(sa.cast(sa.null(), key.type) for key in keys), sa.cast(sa.null(), sa.BigInteger),
                          page.c.id, page.c.score),
                stmt.add_columns(sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.REAL)))
        rows = session.execute(stmt).all()
        for row in rows:
            if row[0] == -1 and top is not None:
                top.rows.append(_Ranked(int(row[-2]), float(row[-1])))
                continue
            # grouping() sets a bit for each column the row is not grouped by, the first column's highest: the one
            # clear bit names the row's facet.
            place = len(FACETS) - (~row[0] & ((1 << len(FACETS)) - 1)).bit_length()
            counters[FACETS[place]][row[1 + place]] += row[1 + len(FACETS)]
        if top is not None:
            top.rows.sort(key=lambda r: (-r.score, r.id))  # a union keeps no order
    total = sum(counters[FACETS[0]].values())
    facets = {name: sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[:30] for name, c in counters.items()}
    facets["year"] = sorted(counters["year"].items(), reverse=True)
    return total, facets


# --- counts and pages, kept while the library stands still --------------------------------
# The total and the facet counts of a broad search read every matching lesson (up to 20,000 rows at 100,000
# lessons), and so does ranking it (ts_rank over every match on PostgreSQL: 40 ms for such a word); both change
# only when a lesson does. Counts, and the ranked (id, score) rows of a page, are kept in this process under the
# `lesson-library` marker and (query, filters[, page]), by the rule of core/freshness.py: the marker moves in every
# transaction that writes a lesson (any column but times_opened), and index_lessons moves it for lesson_fts.
# Only ids and scores of a page are kept: its lessons (titles, texts, facets) are read afresh for every page shown.

LIBRARY_MARKER = "lesson-library"


_kept = freshness.Kept(LIBRARY_MARKER, size=256)  # counts: about 16 kB each, a few MB at most
_kept_pages = freshness.Kept(LIBRARY_MARKER, size=1024)  # pages: 20 (id, score) rows, about 2 kB each, 2 MB at most


def _touch_library(session: so.Session) -> None:
    """Give the marker a fresh value in the caller's transaction (SQLite; on PostgreSQL a trigger on lesson does it)."""
    freshness.touch(session, LIBRARY_MARKER)


def _copy(counts: tuple[Any, ...]) -> tuple[int, dict[str, list[tuple[Any, int]]], bool]:
    """A copy of (total, facets[, estimated])."""
    return counts[0], {name: list(values) for name, values in counts[1].items()}, bool(counts[2:] and counts[2])


def _rank(session: so.Session, base: sa.Select[Any], *, match: str, filtered: bool, limit: int,
          offset: int) -> list[_Ranked]:
    """One page of (id, score) rows, best first."""
    if _is_sqlite(session) and not filtered:
        found = _fts5_top(session, match, limit=limit, offset=offset)
    else:
        found = session.execute(base.order_by(sa.literal_column("score").desc(), sa.literal_column("id"))
                                .limit(limit).offset(offset)).all()
    return [_Ranked(int(r.id), float(r.score)) for r in found]


def search_lessons(session: so.Session, query: str, *, limit: int = 20, offset: int = 0,
                   filters: LessonFilters | None = None) -> LessonPage:
    """Lessons matching every word of the query (prefixes too), best first, with snippets and facet counts.

    An empty query lists the newest lessons. The page's ranked rows and the counts are kept while the library
    stands still (see above); when neither is kept, PostgreSQL ranks and counts in one pass over the matches.
    """
    filters = filters or LessonFilters()
    groups = _groups(query)
    terms = [t for g in groups for t in g]
    matches = [m for m in vocabulary.current(session).matches(query) if m.other != (m.found,)] if groups else []
    if not groups:
        reading = _kept.read(session)
        where = filters.where()
        count_key = ("", *filters.key())
        kept_counts = _kept.peek(reading, count_key)
        counts = _copy(kept_counts) if kept_counts is not None else _facets(session, where)
        if kept_counts is None:
            _kept.keep(session, reading, count_key, _copy(counts))
        lessons = session.scalars(sa.select(Lesson).where(*where)
                                  .order_by(Lesson.published_at.desc(), Lesson.id.desc()).limit(limit).offset(offset))
        hits = [LessonHit(lesson=lesson, score=0.0, snippet=Markup(rules.highlight(lesson.summary, [])))  # nosec B704: highlight() escapes
                for lesson in lessons]
        return LessonPage(hits=hits, total=counts[0], facets=counts[1], terms=[])
    match = _fts5_all(groups) if _is_sqlite(session) else _pg_all(groups)
    across = _across(query, groups, matches, _is_sqlite(session))
    if across is not None and across != match:
        match = f"({match}) OR ({across})" if _is_sqlite(session) else f"({match}) | ({across})"
    base, matched = _ranked(session, match=match, any_terms=False, filters=filters)  # SQLite: may build lesson_fts
    reading = _kept.read(session)  # after that (a build touches the marker), before any lesson is ranked or counted
    where = [matched, *filters.where()]
    count_key = (match, *filters.key())
    page_key = (*count_key, limit, offset)
    kept_rows = _kept_pages.peek(reading, page_key)
    kept_counts = _kept.peek(reading, count_key)
    broad = False
    if kept_rows is None or kept_counts is None:
        broad = bool(kept_counts[2:] and kept_counts[2]) if kept_counts is not None \
            else _more_than(session, where, BROAD_AT_MOST, match=None if filters.where() else match)
    if broad:
        rows, counts = _broad(session, base, match=match, where=where, filtered=bool(filters.where()),
                              limit=limit, offset=offset)
        rows = list(kept_rows) if kept_rows is not None else rows
        counts = _copy(kept_counts) if kept_counts is not None else counts
    elif kept_rows is None and kept_counts is None and not _is_sqlite(session):
        top = _Top(base, limit, offset)
        counts = _facets(session, where, top=top)
        rows = top.rows
    else:
        rows = list(kept_rows) if kept_rows is not None else _rank(
            session, base, match=match, filtered=bool(filters.where()), limit=limit, offset=offset)
        counts = _copy(kept_counts) if kept_counts is not None else _facets(session, where)
    if (kept_rows is None or kept_counts is None) and reading is not None \
            and freshness.still_committed(session, reading, (LIBRARY_MARKER,)):  # one look for both
        if kept_rows is None:
            _kept_pages.put(reading, page_key, tuple(rows))
        if kept_counts is None:
            _kept.put(reading, count_key, _copy(counts))
    total, estimated = counts[0], bool(counts[2:] and counts[2])
    if estimated:  # never fewer than the page shows (an export pages on while total says more may follow)
        total = max(total, offset + len(rows) + (1 if len(rows) >= limit else 0))
        if len(rows) < limit:
            total = offset + len(rows)
    return LessonPage(hits=_hits(session, rows, terms, matches), total=total, facets=counts[1], terms=terms,
                      across=matches, estimated=estimated, ranked_among=BROAD_AT_MOST if estimated else 0)


#: A search matching more lessons than this ranks and counts only the newest this many of them (see _broad).
BROAD_AT_MOST = 1000


def _more_than(session: so.Session, where: list[sa.ColumnElement[bool]], n: int, *, match: str | None = None) -> bool:
    """Whether more than n lessons match (the count stops there). SQLite without a facet: inside the FTS5 query."""
    if match is not None and _is_sqlite(session):
        return _fts5_counts(session, [match], cap=n + 1, quoted=True)[match] > n
    found = sa.select(sa.literal(1)).select_from(Lesson).where(*where).limit(n + 1).subquery()
    return (session.scalar(sa.select(sa.func.count()).select_from(found)) or 0) > n


def _broad(session: so.Session, base: sa.Select[Any], *, match: str, where: list[sa.ColumnElement[bool]],
           filtered: bool, limit: int, offset: int) -> tuple[list[_Ranked], tuple[int, dict[str, list[tuple[Any, int]]], bool]]:
    """A page and estimated counts of a search matching more than BROAD_AT_MOST lessons, reading at most that many.

    The newest BROAD_AT_MOST matches are ranked (best first); the older matches follow, newest first, unranked, so
    paging goes through every match exactly once. Facet counts are those of the newest matches scaled to the
    estimated total, which is the newest matches' count scaled by the share of the library (by id) they span.
    """
    columns = [getattr(Lesson, name) for name in FACETS]
    if _is_sqlite(session) and not filtered:
        # Ranked and cut inside the FTS5 query in rowid order (bm25 for those rows only), then their facet columns by
        # primary key, in the same statement (one bound list of a thousand ids cost more than the ranking).
        weights_ = ", ".join(str(w) for w in WEIGHTS)
        facet_columns = ", ".join(f"lesson.{name}" for name in FACETS)
        newest = session.execute(sa.text(
            f"SELECT found.id AS id, found.score AS score, {facet_columns} FROM "  # nosec B608: constants only
            f"(SELECT rowid AS id, -bm25(lesson_fts, {weights_}) AS score FROM lesson_fts "
            "WHERE lesson_fts MATCH :match ORDER BY rowid DESC LIMIT :cap) AS found "
            "JOIN lesson ON lesson.id = found.id"), {"match": match, "cap": BROAD_AT_MOST}).all()
    elif _is_sqlite(session):
        newest = session.execute(base.add_columns(*columns).order_by(sa.literal_column("id").desc())
                                 .limit(BROAD_AT_MOST)).all()
    else:
        # The newest matches first (ids from the GIN bitmap, a top-N sort), then ts_rank over those only.
        inner = sa.select(Lesson.id, Lesson.search_vector, *columns).where(*where).order_by(Lesson.id.desc()) \
            .limit(BROAD_AT_MOST).subquery()
        tsq = sa.func.to_tsquery(sa.literal_column(f"'{PG_CONFIG}'"), match)
        weights = sa.literal_column("'{" + ",".join(str(w / 3.0) for w in reversed(WEIGHTS)) + "}'::float4[]")
        newest = session.execute(sa.select(inner.c.id.label("id"),
                                           sa.func.ts_rank(weights, inner.c.search_vector, tsq, 1).label("score"),
                                           *(inner.c[name] for name in FACETS))).all()
    ranked = sorted((_Ranked(int(r.id), float(r.score)) for r in newest), key=lambda r: (-r.score, r.id))
    rows = ranked[offset:offset + limit]
    if len(rows) < limit and len(ranked) >= BROAD_AT_MOST:
        oldest = min(r.id for r in ranked)
        older = session.scalars(sa.select(Lesson.id).where(*where, Lesson.id < oldest).order_by(Lesson.id.desc())
                                .limit(limit - len(rows)).offset(max(0, offset - len(ranked))))
        rows += [_Ranked(int(i), 0.0) for i in older]
    if not ranked:
        return rows, (0, {name: [] for name in FACETS}, False)
    # Two statements: SQLite answers min() and max() from the primary key only when each is alone.
    low, high = session.scalar(sa.select(sa.func.min(Lesson.id))), session.scalar(sa.select(sa.func.max(Lesson.id)))
    span = max(1, high - min(r.id for r in ranked) + 1)
    estimate = max(len(ranked), round(len(ranked) * (high - low + 1) / span))
    scale = estimate / len(ranked)
    counters: dict[str, Counter[Any]] = {name: Counter(map(operator.attrgetter(name), newest)) for name in FACETS}
    facets = {name: [(value, max(1, round(n * scale))) for value, n in
                     sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[:30]] for name, c in counters.items()}
    facets["year"] = [(value, max(1, round(n * scale))) for value, n in sorted(counters["year"].items(), reverse=True)]
    return rows, (estimate, facets, True)


def similar_lessons(session: so.Session, *, text: str, limit: int = 5,
                    exclude_refs: Iterable[str] = ()) -> list[LessonHit]:
    """Lessons most like a free text (an incident's title and description), best first.

    Any of the text's meaningful terms may match; BM25 (SQLite) or ts_rank (PostgreSQL) with field
    weights puts the lessons sharing the rarer, more telling words first.

    Only the text's rarest terms are used (similar_plan: at most RARE_AT_MOST, held by at most POSTINGS_AT_MOST
    lessons in all; counted by FTS5 on SQLite, read from lesson_term on PostgreSQL), so the cost is bounded whatever
    the library's size; fewer hits than asked for are filled from a capped scan (_similar_rows_bounded). The best
    NEIGHBOURS rows are re-ranked by cause agreement and the cause prior (cause_prior) before the first `limit` are
    returned.
    """
    # Japanese text gives one term per character pair, most of them no word: it may have more terms.
    terms = rules.query_terms(text, limit=48 if _CJK_RUN.search(text or "") else 24)
    matches = [m for m in vocabulary.current(session).matches(text) if m.other != (m.found,)]
    terms.extend(dict.fromkeys(t for m in matches for o in m.other for t in rules.query_terms(o) if t not in terms))
    del terms[TERMS_AT_MOST:]
    if not terms:
        return []
    excluded = [r for r in exclude_refs if r]
    skip: set[int] = set(session.scalars(sa.select(Lesson.id).where(Lesson.source_ref.in_(excluded)))) if excluded else set()
    depth = max(limit, NEIGHBOURS) + len(skip)
    rows = _similar_rows_bounded(session, similar_plan(session, terms), limit=depth, wanted=limit, skip=skip)
    prior = cause_prior(session, text, matches, skip=skip) if PRIOR > 0 else None
    return _hits(session, _by_cause_agreement(session, rows, prior)[:limit], terms, matches)


#: Similar lessons re-ranks this many of the best-scored lessons by how far their cause category agrees with the others.
NEIGHBOURS = 40
#: The weight of that agreement beside the lesson's own (normalised) score.
AGREEMENT = 2.0
_NO_CAUSE = ("", "Unclassified")


def _by_cause_agreement(session: so.Session, rows: list[Any], prior: dict[str, float] | None = None) -> list[Any]:
    """The rows re-ranked by score plus the agreement of their cause category among the best rows.

    Each of the best NEIGHBOURS rows votes for its lesson's cause category with its score (as a share of the best
    score); a lesson's new score is its own share plus AGREEMENT times its category's share of the votes, plus
    PRIOR times the probability of its category given the text (cause_prior), if given. Lessons whose causes the
    best matches share, and the text's words suggest, come first: a text most like lessons of one cause is likely
    of that cause.
    """
    rows = sorted(rows, key=lambda r: (-r.score, r.id))
    rows, below = rows[:max(NEIGHBOURS, 1)], rows[max(NEIGHBOURS, 1):]  # more than asked for: the rest follow
    if len(rows) < 2 or AGREEMENT <= 0 or rows[0].score <= 0:
        return [*rows, *below]
    causes = dict(session.execute(sa.select(Lesson.id, Lesson.cause_category).where(Lesson.id.in_([r.id for r in rows]))).all())
    best = rows[0].score
    votes: Counter[str] = Counter()
    for r in rows:
        if causes.get(r.id, "") not in _NO_CAUSE:
            votes[causes[r.id]] += r.score / best
    total = sum(votes.values()) or 1.0
    prior = prior or {}
    rescored = [_Ranked(int(r.id), r.score / best + AGREEMENT * votes.get(causes.get(r.id, ""), 0.0) / total
                        + PRIOR * prior.get(causes.get(r.id, ""), 0.0)) for r in rows]
    floor = min(r.score for r in rescored)
    return [*sorted(rescored, key=lambda r: (-r.score, r.id)),
            *(_Ranked(int(r.id), min(r.score / best, floor)) for r in below)]


# --- the cause prior -----------------------------------------------------------------------
# A multinomial naive Bayes model of the cause category given a text's words, counted on the library's own lessons:
# for each cause category, how many of its lessons hold each word of their title and summary (not the product: a
# maker's or model's name says little about the cause). It is kept in
# this process under the `lesson-library` marker (see "kept while the library stands still") and counted afresh
# after any lesson changes, from the newest PRIOR_LESSONS lessons that have a cause category only, so that counting
# costs the same whatever the library's size (at 100,000 lessons: 400-700 ms the first time in a process, 25-110 ms
# after a change, as the words of a text already split are kept; see _lesson_words). Chosen on the tuning half, the
# 300 held-back recalls and 1,200 recalls of the library (bench/lessons_quality.py --leave-one-out; see README).

#: The weight of the cause prior beside the lesson's own score share and the agreement (0: not used).
PRIOR = 1.0
#: The prior's log-likelihoods are multiplied by this before they become probabilities (below 1: less sure).
PRIOR_SCALE = 0.5
#: Additive (Laplace) smoothing of the word counts.
PRIOR_ALPHA = 0.5
#: The prior is counted on at most this many lessons, the newest.
PRIOR_LESSONS = 4000
_PRIOR_COLUMNS = ("title", "summary")


@dataclass
class CauseModel:
    """Word counts per cause category: lessons[c] lessons counted, words[c] their words in all (each word once per
    lesson), holding[c][w] those of them holding w, size the distinct words; lessons with id >= since were counted."""

    lessons: Counter[str] = field(default_factory=Counter)
    words: Counter[str] = field(default_factory=Counter)
    holding: dict[str, Counter[str]] = field(default_factory=dict)
    size: int = 0
    since: int = 0


@functools.lru_cache(maxsize=65536)
def _prior_word(token: str) -> str:
    """A token as the prior counts it: "" for a stop word, a number or a single letter; English stemmed."""
    if token in rules.STOPWORDS or (token.isascii() and (len(token) < 2 or token.isdigit())):
        return ""
    return vocabulary.stem(token) if token.isascii() else token


def _prior_words(text: str) -> frozenset[str]:
    """The distinct words of a text as the prior counts them (index tokens, see _prior_word)."""
    out = {_prior_word(t) for t in set(rules.tokens(text))}
    out.discard("")
    return frozenset(out)


@functools.lru_cache(maxsize=PRIOR_LESSONS + 1024)
def _lesson_words(text: str) -> frozenset[str]:
    """A counted lesson's words (_prior_words), kept by its text: the newest PRIOR_LESSONS lessons' and a margin for
    the texts of edited ones. Counting again after a change splits only the texts that changed, so the newest 4,000
    are counted in 25-110 ms instead of 400-700 ms (100,000 lessons). The texts people search with are not kept
    here (each is another text; they pushed the lessons' out and doubled the cache, to 8,192 texts)."""
    return _prior_words(text)


def _counted(session: so.Session, *where: sa.ColumnElement[bool], newest: int | None = None) -> list[Any]:
    """(id, cause category, words) of lessons with a cause category, newest first."""
    stmt = (sa.select(Lesson.id, Lesson.cause_category, *(getattr(Lesson, c) for c in _PRIOR_COLUMNS))
            .where(Lesson.cause_category.not_in(_NO_CAUSE), *where).order_by(Lesson.id.desc()))
    if newest is not None:
        stmt = stmt.limit(newest)
    return [(int(row[0]), row[1], _lesson_words(" ".join(x or "" for x in row[2:]))) for row in session.execute(stmt)]


def cause_model(session: so.Session) -> CauseModel:
    """The word counts per cause category of the newest PRIOR_LESSONS lessons, kept while the library stands still."""
    def count() -> CauseModel:
        model = CauseModel()
        rows = _counted(session, newest=PRIOR_LESSONS)
        by_cause: dict[str, list[frozenset[str]]] = {}
        for _id, cause, words in rows:
            by_cause.setdefault(cause, []).append(words)
        for cause, held in by_cause.items():
            model.lessons[cause] = len(held)
            model.words[cause] = sum(map(len, held))
            model.holding[cause] = Counter(itertools.chain.from_iterable(held))
        model.size = len(set().union(*model.holding.values())) if model.holding else 0
        model.since = min((r[0] for r in rows), default=0)
        return model
    return _kept_model.get(session, ("cause-model", PRIOR_LESSONS), count)


_kept_model = freshness.Kept(LIBRARY_MARKER, size=2)


def cause_prior(session: so.Session, text: str, matches: Sequence[vocabulary.Match] = (),
                skip: Iterable[int] = ()) -> dict[str, float]:
    """The probability of each cause category given the text's words and their translations (multinomial naive Bayes
    over cause_model), the lessons in skip not counted. Words no counted lesson holds are left out."""
    model = cause_model(session)
    found = set(_prior_words(text)) | {w for m in matches for o in m.other for w in _prior_words(o)}
    lessons, words = Counter(model.lessons), Counter(model.words)
    less: dict[str, Counter[str]] = {}
    skipped = [i for i in skip if i >= model.since]
    if skipped:  # the excluded lessons do not count (a text is not judged by the lesson it was taken from)
        for _id, cause, held in _counted(session, Lesson.id.in_(skipped)):
            lessons[cause] -= 1
            words[cause] -= len(held)
            less.setdefault(cause, Counter()).update(held & found)
    known = [w for w in found if any(w in h for h in model.holding.values())]
    total = sum(n for n in lessons.values() if n > 0)
    if not total:
        return {}
    logs = {}
    for cause, n in lessons.items():
        if n <= 0:
            continue
        held, minus = model.holding[cause], less.get(cause, Counter())
        logs[cause] = (math.log(n / total) - len(known) * math.log(words[cause] + PRIOR_ALPHA * model.size)
                       + sum(math.log(held.get(w, 0) - minus.get(w, 0) + PRIOR_ALPHA) for w in known))
    top = max(logs.values())
    weights = {c: math.exp((v - top) * PRIOR_SCALE) for c, v in logs.items()}
    whole = sum(weights.values())
    return {c: v / whole for c, v in weights.items()}


# --- bounded ranking ----------------------------------------------------------------------

#: Similar lessons scores a text with at most this many terms, its own and their translations.
TERMS_AT_MOST = 48


#: Similar lessons scores with at most this many of the text's terms, the rarest first (highest IDF) ...
RARE_AT_MOST = 24
#: ... and adds a term only while the lessons holding the chosen terms (their postings) add up to at most this ...
POSTINGS_AT_MOST = 4000
#: ... each term held by at most this many lessons (each term's lessons are counted no further).
TERM_POSTINGS_AT_MOST = 1000
#: When too few lessons hold a chosen term, the newest lessons holding one of this many other terms follow.
FALLBACK_TERMS = 6


@dataclass
class SimilarPlan:
    """What similar lessons will read: the chosen terms, rarest first, with how many lessons hold each, and
    the next rarest terms for the fallback. Ranking reads at most sum(postings) <= POSTINGS_AT_MOST postings, the
    fallback at most POSTINGS_AT_MOST lessons."""

    rare: list[tuple[str, int]] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    #: Every other term some lesson holds: PostgreSQL scores the chosen terms' lessons with these too (see below).
    common: list[str] = field(default_factory=list)

    @property
    def postings(self) -> int:
        return sum(n for _t, n in self.rare)


def similar_plan(session: so.Session, terms: list[str]) -> SimilarPlan:
    """The terms similar lessons ranks with: the rarest first, while their postings stay within POSTINGS_AT_MOST.

    SQLite counts each term's lessons up to TERM_POSTINGS_AT_MOST + 1 (one statement, each count stops there), so the
    plan costs at most len(terms) × that many postings whatever the library's size; PostgreSQL reads the exact counts
    kept in lesson_term (one look-up per term). The ranking that follows reads only the chosen terms' postings: the
    cost has a bound that does not depend on what was asked before.
    """
    ensure_index(session)
    plan = SimilarPlan()
    if not terms:
        return plan
    sqlite = _is_sqlite(session)
    if sqlite:
        counts = _fts5_counts(session, terms, cap=TERM_POSTINGS_AT_MOST + 1)
    else:
        counts = _pg_counts(session, terms)  # exact, from lesson_term: one look-up per term
    order = sorted((t for t in terms if counts[t] > 0), key=lambda t: (counts[t], terms.index(t)))
    used = 0
    # PostgreSQL's cost is the rows ranked (POSTINGS_AT_MOST at most), not the number of terms: no RARE_AT_MOST there.
    most = RARE_AT_MOST if sqlite else len(terms)
    for t in order:
        n = counts[t]
        if n > TERM_POSTINGS_AT_MOST or len(plan.rare) >= most:
            break
        if used + n > POSTINGS_AT_MOST:
            continue  # a rarer one may still fit
        plan.rare.append((t, n))
        used += n
    chosen = {t for t, _n in plan.rare}
    rest = [t for t in order if t not in chosen]
    plan.common = rest
    # The next rarest, and the commonest (the one most sure to fill the list).
    plan.rest = list(dict.fromkeys([*rest[:FALLBACK_TERMS - 1], *rest[-1:]]))
    return plan


def _similar_rows_bounded(session: so.Session, plan: SimilarPlan, *, limit: int, wanted: int,
                          skip: set[int]) -> list[Any]:
    """The best (id, score) rows among the lessons holding a chosen term, BM25 with field weights over those terms.

    If fewer than `wanted` lessons hold one, the newest POSTINGS_AT_MOST lessons holding one of the next rarest terms
    or the commonest (FALLBACK_TERMS in all) follow: a scan in rowid order that stops there, ranked below them.
    """
    rows: list[Any] = []
    sqlite = _is_sqlite(session)
    if plan.rare:
        if sqlite:
            found = _fts5_top(session, " OR ".join(f'"{t}"' for t, _n in plan.rare), limit=limit, offset=0)
        else:
            found = _pg_top_of(session, [t for t, _n in plan.rare], limit=limit, newest=False,
                               scored_with=[t for t, _n in plan.rare] + plan.common)
        rows = [r for r in found if r.id not in skip]
    if len(rows) < wanted and plan.rest:
        seen = {r.id for r in rows} | skip
        if sqlite:
            weights = ", ".join(str(w) for w in WEIGHTS)
            newest = session.execute(sa.text(
                f"SELECT rowid AS id, -bm25(lesson_fts, {weights}) AS score FROM lesson_fts "  # nosec B608: constants only
                "WHERE lesson_fts MATCH :match ORDER BY rowid DESC LIMIT :cap"),
                {"match": " OR ".join(f'"{t}"' for t in plan.rest), "cap": POSTINGS_AT_MOST}).all()
        else:
            newest = _pg_top_of(session, plan.rest, limit=POSTINGS_AT_MOST, newest=True)
        more = sorted((r for r in newest if r.id not in seen), key=lambda r: (-r.score, r.id))
        floor = min((r.score for r in rows), default=0.0)
        rows.extend(_Ranked(int(r.id), min(float(r.score), floor)) for r in more[:limit - len(rows)])
    return rows


def _pg_top_of(session: so.Session, terms: list[str], *, limit: int, newest: bool,
               scored_with: list[str] | None = None) -> list[Any]:
    """The best (id, score) rows among at most POSTINGS_AT_MOST lessons holding one of the terms (PostgreSQL): the GIN
    index finds them, ts_rank with field weights scores only those, with the terms scored_with (default: terms).
    The chosen terms' counts keep them within the cap already; the cap holds even if lesson_term were wrong.
    newest: the newest lessons holding one (the fallback)."""
    weights = "'{" + ",".join(str(w / 3.0) for w in reversed(WEIGHTS)) + "}'::float4[]"
    order = " ORDER BY id DESC" if newest else ""
    return list(session.execute(sa.text(
        f"SELECT c.id, ts_rank({weights}, c.search_vector, to_tsquery(CAST(:config AS regconfig), :scored), 1) AS score "  # nosec B608: constants only
        f"FROM (SELECT to_tsquery(CAST(:config AS regconfig), :match) AS q) AS q, LATERAL ("
        f" SELECT id, search_vector FROM lesson WHERE search_vector @@ q.q{order} LIMIT :cap) AS c "
        "ORDER BY score DESC, c.id LIMIT :limit"),
        {"config": PG_CONFIG, "match": " | ".join(f"'{t}'" for t in terms), "cap": POSTINGS_AT_MOST,
         "scored": " | ".join(f"'{t}'" for t in (scored_with or terms)), "limit": limit}).all())


def _fts5_top(session: so.Session, match: str, *, limit: int, offset: int) -> list[Any]:
    """The best (id, score) rows of an FTS5 match, ranked and cut inside the FTS query (no join to lesson)."""
    weights = ", ".join(str(w) for w in WEIGHTS)
    return list(session.execute(sa.text(
        f"SELECT rowid AS id, -bm25(lesson_fts, {weights}) AS score FROM lesson_fts "  # nosec B608: constants only
        "WHERE lesson_fts MATCH :match ORDER BY score DESC, rowid LIMIT :limit OFFSET :offset"),
        {"match": match, "limit": limit, "offset": offset}).all())


def _fts5_counts(session: so.Session, terms: list[str], *, cap: int, quoted: bool = False) -> dict[str, int]:
    """How many lessons hold each term (or match each FTS5 expression, quoted), counting no further than cap, in one
    statement."""
    count = "(SELECT count(*) FROM (SELECT 1 FROM lesson_fts WHERE lesson_fts MATCH :t{i} LIMIT :cap))"
    parts = [count.format(i=i) for i in range(len(terms))]  # nosec B608: numbered placeholders only
    row = session.execute(sa.text("SELECT " + ", ".join(parts)),
                          {"cap": cap, **{f"t{i}": t if quoted else f'"{t}"' for i, t in enumerate(terms)}}).one()
    return dict(zip(terms, (int(n) for n in row), strict=True))


def reindex_holding(session: so.Session, words: list[str], *, batch: int = 500) -> int:
    """Index again every lesson holding one of the words (a vocabulary edit changes only their index text)."""
    groups = [g for g in (rules.tokens(w) for w in words) if g]
    if not groups:
        return 0
    sqlite = _is_sqlite(session)
    match = (" OR " if sqlite else " | ").join(_alternative(g, sqlite) for g in groups)
    if sqlite:
        ensure_index(session)
        ids = list(session.scalars(sa.text("SELECT rowid FROM lesson_fts WHERE lesson_fts MATCH :m"), {"m": match}))
    else:
        tsq = sa.func.to_tsquery(sa.literal_column(f"'{PG_CONFIG}'"), match)
        ids = list(session.scalars(sa.select(Lesson.id).where(Lesson.search_vector.op("@@")(tsq))))
    for start in range(0, len(ids), batch):
        index_lessons(session, session.scalars(sa.select(Lesson).where(Lesson.id.in_(ids[start:start + batch]))
                                               .options(so.defer(Lesson.search_vector))))
    return len(ids)
