"""Lessons search and similar lessons at scale, in-process: N lessons with varied texts, queries in both languages.

The library is built from the bundled FDA sample and the Japanese texts of the bilingual evaluation, recombined so
that no two lessons share their text: each lesson takes its title and first sentence from one recall, a second
sentence from another, its product from a third and its action from a fourth; about one in seven is written in
Japanese (two reasons for recall of the evaluation, its product). Lessons are indexed as the application indexes
them (search.fields_of with the vocabulary). Then each query runs once, timed from the call to the result:

- lessons search: single words and two-word phrases, English and Japanese, drawn from the vocabulary and the texts;
- similar lessons: incident-like texts (a product and a reason for recall), English and Japanese.

    python -m bench.lessons --db sqlite --lessons 100000
    python -m bench.lessons --db postgresql --lessons 100000   # PG_URL, default postgres@127.0.0.1:5432

Each query runs on a fresh session, one at a time; every query runs once (nothing kept yet), then all of them again
(what the kept ranked rows and counts answer). p50 and p95 are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PG_URL = os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _eval_rows() -> list[dict[str, str]]:
    import csv

    from qa_incidents.reviews import lessons

    with (lessons.SAMPLE_PATH.parent / "bilingual_eval.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _varied(n: int, rng: random.Random, now: datetime) -> Any:
    """n lessons (transient Lesson objects) with recombined texts, English and Japanese."""
    from qa_incidents.reviews import lessons, rules
    from qa_incidents.reviews.models import Lesson

    base = []
    for row in lessons.read_sample():
        try:
            base.append(lessons.lesson_from_fda(row, now=now))
        except ValueError:
            continue
    japanese = _eval_rows()
    divisions = ("", "Home Appliances", "Specialty Steel", "Cable & Materials", "Industrial Machinery")
    for i in range(n):
        a, b, c, d = (rng.choice(base) for _ in range(4))
        if i % 7 == 3:
            j1, j2 = rng.choice(japanese), rng.choice(japanese)
            text = j1["回収理由"] + " " + j2["回収理由"]
            yield Lesson(source="synthetic", source_ref=f"BENCH-{i:07d}", review_id=None, title=j1["回収理由"][:160],
                         summary=text, product=j1["製品"], product_category=a.product_category,
                         failure_mode=rules.failure_mode_of(text), mechanism="", technical_cause="", process_cause="",
                         framework_cause="", motivating_cause="", cause_category=j1["FDA Determined Cause"],
                         cause_dimension=a.cause_dimension, process_stage=a.process_stage, countermeasures="",
                         design_review_checks=[], division=rng.choice(divisions), year=rng.randint(2007, now.year),
                         published_at=now, times_opened=0)
            continue
        second = b.summary.split(". ")[-1]
        summary = a.summary + " " + second
        yield Lesson(source="synthetic", source_ref=f"BENCH-{i:07d}", review_id=None, title=a.title, summary=summary,
                     product=c.product, product_category=a.product_category, failure_mode=rules.failure_mode_of(summary),
                     mechanism="", technical_cause="", process_cause="", framework_cause="", motivating_cause="",
                     cause_category=a.cause_category, cause_dimension=a.cause_dimension, process_stage=a.process_stage,
                     countermeasures=d.countermeasures, design_review_checks=a.design_review_checks,
                     division=rng.choice(divisions), year=rng.randint(2007, now.year), published_at=now, times_opened=0)


COLUMNS = ("source", "source_ref", "review_id", "title", "summary", "product", "product_category", "failure_mode",
           "mechanism", "technical_cause", "process_cause", "framework_cause", "motivating_cause", "cause_category",
           "cause_dimension", "process_stage", "countermeasures", "design_review_checks", "division", "year",
           "published_at", "times_opened")


def load(url: str, n: int, seed: int) -> None:
    """Fill the (migrated, empty) database at url with n varied lessons, indexed with the vocabulary."""
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.reviews import search, vocabulary
    from qa_incidents.reviews.models import Lesson

    engine = make_engine(url)
    session = make_session_factory(engine)()
    sqlite = engine.dialect.name == "sqlite"
    vocab = vocabulary.current(session)
    search.ensure_index(session)
    table = Lesson.__table__
    if sqlite:
        fts = sa.text("INSERT INTO lesson_fts(rowid, title, failure, causes, body) VALUES (:id, :t, :f, :c, :b)")
    else:
        cfg = f"'{search.PG_CONFIG}'"
        vector = " || ".join(f"setweight(to_tsvector({cfg}, :{k}), '{w}')" for k, w in zip("tfcb", "ABCD", strict=True))
        update = sa.text(f"UPDATE lesson SET search_vector = {vector} WHERE id = :id")  # nosec B608: constants only
    rng = random.Random(seed)
    now = datetime.now(UTC)
    batch: list[Any] = []
    started = time.perf_counter()

    def flush() -> None:
        conn = session.connection()
        ids = conn.execute(sa.insert(table).returning(table.c.id), [{c: getattr(x, c) for c in COLUMNS} for x in batch]).scalars().all()
        rows = [dict(zip(("id", "t", "f", "c", "b"), (i, *search.fields_of(x, vocab)), strict=True)) for i, x in zip(ids, batch, strict=True)]
        conn.execute(fts if sqlite else update, rows)
        session.commit()
        batch.clear()

    for k, lesson in enumerate(_varied(n, rng, now), start=1):
        batch.append(lesson)
        if len(batch) >= 1000:
            flush()
            print(f"  {k:,} lessons, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if batch:
        flush()
    if sqlite:
        search._touch_library(session)  # lesson_fts was written directly: a new library for kept values
    else:
        search.count_all_terms(session)  # the vectors were written directly: the per-term counts similar lessons reads
        session.execute(sa.text("ANALYZE lesson"))
    session.commit()
    session.close()
    engine.dispose()


def queries(seed: int) -> tuple[list[str], list[str]]:
    """(search queries, similar-lesson texts), English and Japanese, varied."""
    from qa_incidents.reviews import lessons, vocabulary

    rng = random.Random(seed + 1)
    pairs = vocabulary.read_file()
    words = [p["en"] for p in rng.sample(pairs, 60)] + [p["ja"] for p in rng.sample(pairs, 60)]
    rows = lessons.read_sample()
    for row in rng.sample(rows, 40):  # two words of a real reason for recall
        tokens = [w for w in row["Reason for Recall"].split() if w.isalpha() and len(w) > 4]
        if len(tokens) >= 2:
            i = rng.randrange(len(tokens) - 1)
            words.append(f"{tokens[i]} {tokens[i + 1]}")
    evaluation = _eval_rows()
    texts = [r["Trade Name/Product"][:200] + " " + r["Reason for Recall"] for r in rng.sample(evaluation, 60)]
    texts += [r["製品"] + " " + r["回収理由"] for r in rng.sample(evaluation, 60)]
    texts += [rows[i]["Trade Name/Product"][:200] + " " + rows[i]["Reason for Recall"] for i in rng.sample(range(len(rows)), 40)]
    rng.shuffle(words)
    rng.shuffle(texts)
    return words, texts


def measure(url: str, seed: int) -> dict[str, Any]:
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.reviews import search

    engine = make_engine(url)
    factory = make_session_factory(engine)
    words, texts = queries(seed)
    with factory() as warm:  # the vocabulary and the index once, as a running worker has them
        search.similar_lessons(warm, text="battery overheating", limit=5)
        search.search_lessons(warm, "pump", limit=20)
    out: dict[str, Any] = {}
    # "first": each query the first time (nothing kept); "again": the same queries once more, as a worker answers a
    # search it has answered before while no lesson changed (kept ranked rows and counts; similar lessons keeps none).
    for name, items, run in (
            ("lessons_search", words, lambda s, q: search.search_lessons(s, q, limit=20)),
            ("similar_lessons", texts, lambda s, q: search.similar_lessons(s, text=q, limit=5))):
        for run_name in ("first", "again"):
            times = []
            for q in items:
                with factory() as session:
                    t0 = time.perf_counter()
                    run(session, q)
                    times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[f"{name}_{run_name}"] = {"queries": len(times), "p50_ms": round(statistics.median(times), 1),
                                         "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                                         "max_ms": round(times[-1], 1)}
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--lessons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", metavar="URL", help="measure an existing database built by an earlier run")
    args = parser.parse_args(argv)
    from qa_incidents.core.migrate import all_models, upgrade

    all_models()
    dropped = None
    if args.keep:
        url = args.keep
    elif args.db == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='lessons-bench-')) / 'bench.sqlite3'}"
    else:
        name = f"lessons_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_URL + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url, dropped = f"{PG_URL}/{name}", name
    print(f"database: {url}", file=sys.stderr)
    if not args.keep:
        upgrade(url)
        load(url, args.lessons, args.seed)
    result = {"db": args.db, "lessons": args.lessons, **measure(url, args.seed)}
    print(json.dumps(result))
    if dropped and not os.environ.get("KEEP_BENCH_DB"):
        admin = sa.create_engine(PG_URL + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{dropped}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
