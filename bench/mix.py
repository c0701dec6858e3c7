"""What `make bench` asks for: requests drawn as people make them, from the data set itself.

People do not repeat one address. Each varied scenario draws every request from a distribution built from the
database being measured: register filters over the divisions, categories, countries and months that hold
incidents, with every sort; real words of the incidents' titles and of the lessons for the searches; real
incident descriptions (many of them public recall texts) for similar lessons; random incidents for the page.
The fixed addresses that earlier runs used are kept as `*_fixed` scenarios and printed beside the varied ones,
never in their place.
"""

from __future__ import annotations

import random
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

STATUSES = ("", "reported", "triaged", "escalation_requested", "escalated", "contained", "under_review", "closed")
SEVERITIES = ("", "S1", "S2", "S3", "S4")
SORTS = ("aware_desc", "aware_asc", "occurred_desc", "occurred_asc", "reference_desc", "reference_asc")
#: Words too common to be what anyone searches for.
STOP = frozenset("""
about above after again against also among and any are because been before being below between both but can
could did does doing down during each few for from further had has have having here how into its itself may
might more most much must near not now off once only other our out over own same should some such than that
the their them then there these they this those through too under until upon very was were what when where
which while who whom why will with within without would your unit units device devices product products
""".split())
WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")

Request = tuple[str, str, dict[str, str] | None]


@dataclass
class Universe:
    """What the data set holds, read once before the run."""

    division_ids: list[int]
    category_ids: list[int]
    countries: list[str]
    years: list[int]
    title_words: list[str]
    lesson_words: list[str]
    texts: list[str]
    authorities: list[str] = field(default_factory=list)


def words_of(texts: Sequence[str], limit: int, min_docs: int = 2) -> list[str]:
    """Real words of the texts, each found in at least `min_docs` of them, most widespread first (at most `limit`)."""
    docs: Counter[str] = Counter()
    for text in texts:
        docs.update({w.lower() for w in WORD.findall(text or "")} - STOP)
    ranked = sorted(docs.items(), key=lambda wn: (-wn[1], wn[0]))  # the same list on every run
    return [w for w, n in ranked if n >= min_docs][:limit]


def read_universe(engine: sa.Engine, *, seed: int = 7, sample: int = 20_000) -> Universe:
    """The values requests are drawn from, read from the database (a sample of rows where the table is large)."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        divisions = list(conn.scalars(sa.text("SELECT id FROM division WHERE active ORDER BY id")))
        categories = list(conn.scalars(sa.text(
            "SELECT category_id FROM incident GROUP BY category_id ORDER BY COUNT(*) DESC LIMIT 60")))
        countries = list(conn.scalars(sa.text(
            "SELECT country FROM incident GROUP BY country ORDER BY COUNT(*) DESC LIMIT 40")))
        top = conn.scalar(sa.text("SELECT MAX(id) FROM incident")) or 0
        ids = sorted({rng.randint(1, top) for _ in range(sample)}) if top else []
        titles: list[str] = []
        texts: list[str] = []
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            rows = conn.execute(sa.text("SELECT title, description FROM incident WHERE id IN :ids")
                                .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk}).all()
            titles.extend(r[0] for r in rows)
            texts.extend(r[1] for r in rows if r[1] and len(r[1]) >= 40)
        lesson_top = conn.scalar(sa.text("SELECT MAX(id) FROM lesson")) or 0
        lesson_ids = sorted({rng.randint(1, lesson_top) for _ in range(min(sample, 5_000))}) if lesson_top else []
        lesson_texts: list[str] = []
        for start in range(0, len(lesson_ids), 900):
            rows = conn.execute(sa.text("SELECT title, summary, technical_cause FROM lesson WHERE id IN :ids")
                                .bindparams(sa.bindparam("ids", expanding=True)),
                                {"ids": lesson_ids[start:start + 900]}).all()
            lesson_texts.extend(" ".join(filter(None, r)) for r in rows)
        years = [d.year if isinstance(d, date) else int(str(d)[:4]) for d in conn.scalars(sa.text(
            "SELECT MIN(aware_at) FROM incident UNION ALL SELECT MAX(aware_at) FROM incident")) if d is not None]
        authorities = list(conn.scalars(sa.text(
            "SELECT DISTINCT authority FROM notification_record ORDER BY authority LIMIT 50")))
    first, last = (min(years), max(years)) if years else (2020, 2026)
    rng.shuffle(texts)
    return Universe(division_ids=divisions, category_ids=categories, countries=countries,
                    years=list(range(first, last + 1)), title_words=words_of(titles, 2_000),
                    lesson_words=words_of(lesson_texts, 2_000), texts=texts[:1_000], authorities=authorities)


def register_request(rng: random.Random, u: Universe, *, all_divisions: bool) -> Request:
    """One register page as a reader asks for it: a few filters (often none), a sort, sometimes a date range."""
    args: dict[str, str] = {}
    if rng.random() < 0.6:
        args["status"] = rng.choice(STATUSES[1:])
    if rng.random() < 0.4:
        args["severity"] = rng.choice(SEVERITIES[1:])
    if all_divisions and u.division_ids and rng.random() < 0.5:
        args["division"] = str(rng.choice(u.division_ids))
    if u.category_ids and rng.random() < 0.3:
        args["category"] = str(rng.choice(u.category_ids))
    if u.countries and rng.random() < 0.3:
        args["country"] = rng.choice(u.countries)
    if rng.random() < 0.3:
        year = rng.choice(u.years)
        span = rng.choice(("month", "quarter", "year"))
        month = rng.randint(1, 12) if span == "month" else (rng.randint(0, 3) * 3 + 1 if span == "quarter" else 1)
        start = date(year, month, 1)
        months = {"month": 1, "quarter": 3, "year": 12}[span]
        end_month = month + months
        end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
        args["aware_from"] = start.isoformat()
        args["aware_to"] = date.fromordinal(end.toordinal() - 1).isoformat()
    args["sort"] = rng.choice(SORTS)
    return "GET", "/incidents/?" + urllib.parse.urlencode(args), None


def register_text_request(rng: random.Random, u: Universe) -> Request:
    """The register's text filter with one real word of the incidents' titles (sometimes with a status)."""
    args = {"q": rng.choice(u.title_words or ["fire"])}
    if rng.random() < 0.3:
        args["status"] = rng.choice(STATUSES[1:])
    return "GET", "/incidents/?" + urllib.parse.urlencode(args), None


def lessons_request(rng: random.Random, u: Universe) -> Request:
    """Lessons search with one or two real words of the lessons."""
    words = u.lesson_words or ["overheating"]
    q = " ".join(rng.sample(words, k=min(len(words), rng.choice((1, 1, 2)))))
    return "GET", "/reviews/lessons?q=" + urllib.parse.quote(q), None


def similar_request(rng: random.Random, u: Universe) -> Request:
    """Similar lessons for a real incident description."""
    text = rng.choice(u.texts or ["The power cord connector became hot and smoke came out of the plug"])
    return "GET", "/reviews/lessons/similar.json?text=" + urllib.parse.quote(text[:1500]), None


def board_request(rng: random.Random, u: Universe, *, all_divisions: bool) -> Request:
    """The deadline board, unfiltered or by authority or division."""
    args: dict[str, str] = {}
    choice = rng.random()
    if choice < 0.4 and u.authorities:
        args["authority"] = rng.choice(u.authorities)
    elif choice < 0.7 and all_divisions and u.division_ids:
        args["division"] = str(rng.choice(u.division_ids))
    return "GET", "/notifications/board" + ("?" + urllib.parse.urlencode(args) if args else ""), None


def distinct(make: Callable[[random.Random], Request], n: int = 5_000, seed: int = 1) -> int:
    """How many different addresses `n` draws give (printed, so a reader sees the mix is not one URL)."""
    rng = random.Random(seed)
    return len({make(rng)[1] for _ in range(n)})
