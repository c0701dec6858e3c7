"""Search over the lessons-learned library: full-text ranking, highlighted snippets, facets, similar lessons.

SQLite: an FTS5 table `lesson_fts` (one row per lesson, rowid = lesson id), ranked by BM25 with field
weights. It is derived data, rebuilt from the lesson table whenever it is missing (a fresh database, a
restore), which is why it lives here and not in the migrations.
PostgreSQL: the weighted tsvector column `lesson.search_vector` under a GIN index, ranked by ts_rank.

Both index the same text: words, and Japanese as overlapping character pairs (rules.tokens), so
two-character Japanese words such as 火災 are found on both databases.

Cost at 100,000 lessons: on SQLite, search ranks and cuts inside the FTS5 query (bm25 + LIMIT, no join
to lesson) when no facet is chosen; its total and facet counts are kept while no lesson changes (see _counts).
Similar lessons scores only the lessons that hold one of the text's rarer terms (see similar_lessons), instead
of every lesson sharing any common word.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from markupsafe import Markup

from qa_incidents.core.sequences import Counter as NamedCounter
from qa_incidents.core.sequences import marker as read_marker
from qa_incidents.reviews import rules
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


@dataclass
class LessonPage:
    hits: list[LessonHit]
    total: int
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


# --- what is indexed ----------------------------------------------------------------------


def fields_of(lesson: Lesson) -> tuple[str, str, str, str]:
    """The four weighted fields of a lesson, as index text."""
    return (
        rules.index_text(lesson.title, lesson.product),
        rules.index_text(lesson.failure_mode, lesson.mechanism, lesson.product_category),
        rules.index_text(lesson.technical_cause, lesson.process_cause, lesson.framework_cause, lesson.motivating_cause),
        rules.index_text(lesson.summary, lesson.countermeasures, " ".join(lesson.design_review_checks or [])),
    )


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
    if _is_sqlite(session):
        ensure_index(session)
        ids = [{"id": lesson.id} for lesson in lessons]
        session.execute(sa.text("DELETE FROM lesson_fts WHERE rowid = :id"), ids)
        session.execute(
            sa.text("INSERT INTO lesson_fts(rowid, title, failure, causes, body) VALUES (:id, :t, :f, :c, :b)"),
            [dict(zip(("id", "t", "f", "c", "b"), (lesson.id, *fields_of(lesson)), strict=True)) for lesson in lessons])
        _touch_library(session)  # lesson_fts is a virtual table: no trigger can do this (PostgreSQL's does)
        return
    weighted = " || ".join(f"setweight(to_tsvector('{PG_CONFIG}', :{k}), '{w}')" for k, w in zip("tfcb", "ABCD", strict=True))
    session.execute(
        sa.text("UPDATE lesson SET search_vector = " + weighted + " WHERE id = :id"),  # nosec B608: constants only
        [dict(zip(("id", "t", "f", "c", "b"), (lesson.id, *fields_of(lesson)), strict=True)) for lesson in lessons])


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


def _hits(session: so.Session, rows: Sequence[Any], terms: list[str]) -> list[LessonHit]:
    lessons = {lesson.id: lesson for lesson in session.scalars(sa.select(Lesson).where(Lesson.id.in_([r.id for r in rows])))}
    out = []
    for row in rows:
        lesson = lessons[row.id]
        text = " ".join(p for p in (lesson.summary, lesson.mechanism, lesson.technical_cause) if p)
        out.append(LessonHit(lesson=lesson, score=round(float(row.score), 4), snippet=Markup(rules.highlight(text, terms))))  # nosec B704: highlight() escapes
    return out


def _facets(session: so.Session, where: list[sa.ColumnElement[bool]]) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Counts per facet value over the matching lessons, in one grouped query."""
    columns = [getattr(Lesson, name) for name in FACETS]
    rows = session.execute(sa.select(*columns, sa.func.count()).where(*where).group_by(*columns)).all()
    counters: dict[str, Counter[Any]] = {name: Counter() for name in FACETS}
    total = 0
    for row in rows:
        n = row[-1]
        total += n
        for name, value in zip(FACETS, row[:-1], strict=False):
            counters[name][value] += n
    facets = {name: sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[:30] for name, c in counters.items()}
    facets["year"] = sorted(counters["year"].items(), reverse=True)
    return total, facets


# --- counts, kept while the library stands still ------------------------------------------
# The total and the facet counts of a broad search read every matching lesson (up to 20,000 rows: 100-300 ms),
# and they change only when a lesson does. Triggers (migration 0013) give the counter row `lesson-library` a fresh
# random value in every transaction that writes a lesson (any column but times_opened), and index_lessons does
# the same for lesson_fts. Counts are kept in this process under (database, marker, query, filters), so a kept
# count is one counted from exactly the library the marker stands for. Why that is never stale:
# - the marker is read first, in the reader's own transaction; the counts that follow see that library or a
#   newer one (read committed), never an older one;
# - counts are kept only if, after counting, the committed marker is still the reader's: no write committed in
#   between, and the reader's own uncommitted writes (which gave it a marker no one else has) are not kept;
# - a marker value is drawn at random from 4e18, so a later library never meets an earlier one's value, even
#   after the counter row was deleted (tests empty every table) and made again. No marker row: nothing is kept.
# Only counts are kept: the ranked hits of every search are read from the index each time.

LIBRARY_MARKER = "lesson-library"
_KEPT_MAX = 256  # about 16 kB each: a few MB at most
_kept: OrderedDict[tuple[Any, ...], tuple[int, dict[str, list[tuple[Any, int]]]]] = OrderedDict()
_kept_lock = threading.Lock()


def _touch_library(session: so.Session) -> None:
    """Give the marker a fresh value in the caller's transaction (SQLite; on PostgreSQL a trigger on lesson does it)."""
    session.execute(sa.text(
        "INSERT INTO counter (name, value) VALUES (:name, 1 + abs(random() % 4000000000000000000)) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value"), {"name": LIBRARY_MARKER})


def _counts(session: so.Session, *, key: tuple[Any, ...],
            where: list[sa.ColumnElement[bool]]) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """The total and facet counts of a search: kept ones if counted from this very library, else counted now."""
    marker = read_marker(session, LIBRARY_MARKER)
    if marker is None:
        return _facets(session, where)
    bind = session.get_bind()
    kept_key = (bind.url.render_as_string(hide_password=True), marker, *key)
    with _kept_lock:
        kept = _kept.get(kept_key)
        if kept is not None:
            _kept.move_to_end(kept_key)
    if kept is not None:
        return kept[0], {name: list(values) for name, values in kept[1].items()}
    total, facets = _facets(session, where)
    with bind.connect() as other:  # type: ignore[union-attr]
        committed = other.scalar(sa.select(NamedCounter.value).where(NamedCounter.name == LIBRARY_MARKER))
    if committed == marker:
        with _kept_lock:
            _kept[kept_key] = (total, {name: list(values) for name, values in facets.items()})
            while len(_kept) > _KEPT_MAX:
                _kept.popitem(last=False)
    return total, facets


def search_lessons(session: so.Session, query: str, *, limit: int = 20, offset: int = 0,
                   filters: LessonFilters | None = None) -> LessonPage:
    """Lessons matching every word of the query (prefixes too), best first, with snippets and facet counts.

    An empty query lists the newest lessons.
    """
    filters = filters or LessonFilters()
    groups = _groups(query)
    terms = [t for g in groups for t in g]
    if not groups:
        where = filters.where()
        total, facets = _counts(session, key=("", *filters.key()), where=where)
        lessons = session.scalars(sa.select(Lesson).where(*where)
                                  .order_by(Lesson.published_at.desc(), Lesson.id.desc()).limit(limit).offset(offset))
        hits = [LessonHit(lesson=lesson, score=0.0, snippet=Markup(rules.highlight(lesson.summary, [])))  # nosec B704: highlight() escapes
                for lesson in lessons]
        return LessonPage(hits=hits, total=total, facets=facets, terms=[])
    match = _fts5_all(groups) if _is_sqlite(session) else _pg_all(groups)
    base, matched = _ranked(session, match=match, any_terms=False, filters=filters)
    if _is_sqlite(session) and not filters.where():
        rows = _fts5_top(session, match, limit=limit, offset=offset)
    else:
        rows = session.execute(base.order_by(sa.literal_column("score").desc(), sa.literal_column("id"))
                               .limit(limit).offset(offset)).all()
    total, facets = _counts(session, key=(match, *filters.key()), where=[matched, *filters.where()])
    return LessonPage(hits=_hits(session, rows, terms), total=total, facets=facets, terms=terms)


def similar_lessons(session: so.Session, *, text: str, limit: int = 5,
                    exclude_refs: Iterable[str] = ()) -> list[LessonHit]:
    """Lessons most like a free text (an incident's title and description), best first.

    Any of the text's meaningful terms may match; BM25 (SQLite) or ts_rank (PostgreSQL) with field
    weights puts the lessons sharing the rarer, more telling words first.

    Only lessons holding at least one of the text's rarer terms (see split_terms) are scored, but each
    with every term of the text, so their scores are those of the plain any-term ranking. A lesson sharing
    only common words could not outrank them unless few lessons share a rare one: then (fewer hits than
    asked for) the plain ranking over every lesson is run instead.
    """
    terms = rules.query_terms(text)
    if not terms:
        return []
    excluded = [r for r in exclude_refs if r]
    skip: set[int] = set(session.scalars(sa.select(Lesson.id).where(Lesson.source_ref.in_(excluded)))) if excluded else set()
    rare, common = split_terms(session, terms)
    rows: list[Any] = []
    if rare:
        rows = _similar_rows(session, rare, common, limit=limit + len(skip), skip=skip)
    if len(rows) < limit and (rare or common):
        rows = _similar_rows(session, [*rare, *common], [], limit=limit + len(skip), skip=skip)
    return _hits(session, rows[:limit], terms)


# --- bounded ranking ----------------------------------------------------------------------

#: A term found in more than this share of the lessons is common: lessons holding only common terms are not scored.
COMMON_SHARE = 0.02


def _fts5_top(session: so.Session, match: str, *, limit: int, offset: int) -> list[Any]:
    """The best (id, score) rows of an FTS5 match, ranked and cut inside the FTS query (no join to lesson)."""
    weights = ", ".join(str(w) for w in WEIGHTS)
    return list(session.execute(sa.text(
        f"SELECT rowid AS id, -bm25(lesson_fts, {weights}) AS score FROM lesson_fts "  # nosec B608: constants only
        "WHERE lesson_fts MATCH :match ORDER BY score DESC, rowid LIMIT :limit OFFSET :offset"),
        {"match": match, "limit": limit, "offset": offset}).all())


def _similar_rows(session: so.Session, rare: list[str], common: list[str], *, limit: int, skip: set[int]) -> list[Any]:
    """The best (id, score) rows among lessons holding a rare term, scored with the rare and the common terms."""
    if _is_sqlite(session):
        any_rare = " OR ".join(f'"{t}"' for t in rare)
        if not common:
            rows = _fts5_top(session, any_rare, limit=limit, offset=0)
        else:
            # Every term appears once in each query, so BM25 sums over all of them (a term a lesson lacks adds 0):
            # the lessons with a rare and a common term, then those with rare terms only.
            any_common = " OR ".join(f'"{t}"' for t in common)
            rows = [*_fts5_top(session, f"({any_rare}) AND ({any_common})", limit=limit, offset=0),
                    *_fts5_top(session, f"({any_rare}) NOT ({any_common})", limit=limit, offset=0)]
            rows.sort(key=lambda r: (-r.score, r.id))
        return [r for r in rows if r.id not in skip]
    weights = sa.literal_column("'{" + ",".join(str(w / 3.0) for w in reversed(WEIGHTS)) + "}'::float4[]")
    candidates = sa.func.to_tsquery(sa.literal_column(f"'{PG_CONFIG}'"), " | ".join(f"'{t}'" for t in rare))
    scored = sa.func.to_tsquery(sa.literal_column(f"'{PG_CONFIG}'"), " | ".join(f"'{t}'" for t in [*rare, *common]))
    score = sa.func.ts_rank(weights, Lesson.search_vector, scored, 1)
    query = (sa.select(Lesson.id.label("id"), score.label("score"))
             .where(Lesson.search_vector.op("@@")(candidates))
             .order_by(sa.literal_column("score").desc(), Lesson.id).limit(limit))
    if skip:
        query = query.where(Lesson.id.not_in(skip))
    return list(session.execute(query).all())


def split_terms(session: so.Session, terms: list[str]) -> tuple[list[str], list[str]]:
    """The terms as (rare, common): common ones are in more than COMMON_SHARE of the lessons; terms in no lesson are dropped.

    SQLite counts each term's lessons, stopping past the threshold (a common word costs no more than a rare one).
    PostgreSQL reads the most common lexemes from the column statistics that ANALYZE keeps; without statistics
    every term counts as rare, which is the plain ranking.
    """
    if _is_sqlite(session):
        ensure_index(session)
        size = session.scalar(sa.select(sa.func.max(Lesson.id))) or 0
        cap = max(1, int(size * COMMON_SHARE))
        counts = _fts5_counts(session, terms, cap=cap + 1)
        return [t for t in terms if 0 < counts[t] <= cap], [t for t in terms if counts[t] > cap]
    shares = _pg_common_shares(session, terms)
    return [t for t in terms if shares.get(t, 0.0) <= COMMON_SHARE], [t for t in terms if shares.get(t, 0.0) > COMMON_SHARE]


def _fts5_counts(session: so.Session, terms: list[str], *, cap: int) -> dict[str, int]:
    """How many lessons hold each term, counting no further than cap, in one statement."""
    count = "(SELECT count(*) FROM (SELECT 1 FROM lesson_fts WHERE lesson_fts MATCH :t{i} LIMIT :cap))"
    parts = [count.format(i=i) for i in range(len(terms))]  # nosec B608: numbered placeholders only
    row = session.execute(sa.text("SELECT " + ", ".join(parts)),
                          {"cap": cap, **{f"t{i}": f'"{t}"' for i, t in enumerate(terms)}}).one()
    return dict(zip(terms, (int(n) for n in row), strict=True))


def _pg_common_shares(session: so.Session, terms: list[str]) -> dict[str, float]:
    """For each term whose lexeme is among the column statistics' most common elements, the share of lessons holding it."""
    rows = session.execute(sa.text(
        "WITH q AS (SELECT t, (SELECT string_agg(lexeme, ' ') FROM unnest(to_tsvector(CAST(:config AS regconfig), t))) AS lexeme "
        "           FROM unnest(CAST(:terms AS text[])) AS t), "
        "     s AS (SELECT e.elem, e.freq FROM pg_stats, "
        "           unnest(most_common_elems::text::text[], most_common_elem_freqs) AS e(elem, freq) "
        "           WHERE schemaname = current_schema() AND tablename = 'lesson' AND attname = 'search_vector') "
        "SELECT q.t, s.freq FROM q JOIN s ON s.elem = q.lexeme"),
        {"config": PG_CONFIG, "terms": terms}).all()
    return {t: float(freq) for t, freq in rows}
