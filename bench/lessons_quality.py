"""Precision@5 of similar lessons on either half of the bilingual evaluation, and on the 300 held-back recalls.

The settings of the ranking (search.NEIGHBOURS, AGREEMENT, RARE_AT_MOST, POSTINGS_AT_MOST, TERM_POSTINGS_AT_MOST)
are chosen on the tuning half (even recall event ids) and the 300 held-back recalls; the held-out half (odd ids) is
what README and tests/services/test_lessons_quality.py report. Settings can be tried without editing the code:

    python -m bench.lessons_quality --half tuning --with-300
    python -m bench.lessons_quality --half tuning --set NEIGHBOURS=20 --set AGREEMENT=1
    python -m bench.lessons_quality --half tuning --leave-one-out

--leave-one-out also asks with 1,200 recalls of the library itself (not the 300, drawn with a fixed seed), each with
its own recall event excluded, against the 4,000 lessons: more queries than either half, so a difference of 0.02
there is more than noise (on a half of 62-68 queries one standard error is about 0.05).

The three libraries (the 4,000 FDA lessons; the same less the 300; the 130 Japanese translations) are built in a
temporary directory (about two minutes), or kept in --dir to be reused.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _eval_rows(half: str) -> list[dict[str, str]]:
    from qa_incidents.reviews import lessons

    with (lessons.SAMPLE_PATH.parent / "bilingual_eval.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if half == "all":
        return rows
    parity = 1 if half == "held-out" else 0
    return [r for r in rows if int(r["Recall Event ID"]) % 2 == parity]


def _held_back() -> list[dict[str, str]]:
    from qa_incidents.reviews import lessons

    rows = lessons.read_sample()
    valid = [r for r in rows if r["Year Posted"].strip().isdigit() and int(r["Year Posted"]) > 1990]
    return random.Random(7).sample(valid, 300)  # as tests/services/test_lessons_quality.py


def _leave_one_out() -> list[tuple[str, str, str]]:
    """1,200 recalls of the library (not the 300), as (text, cause, own event to exclude)."""
    from qa_incidents.reviews import lessons, rules

    held = {r["Recall Event ID"] for r in _held_back()}
    rows = [r for r in lessons.read_sample() if r["Recall Event ID"] not in held and r["Year Posted"].strip().isdigit()]
    random.Random(28).shuffle(rows)
    return [(rules.clean_source_text(r["Trade Name/Product"])[:200] + " " + rules.clean_source_text(r["Reason for Recall"]),
             rules.clean_source_text(r["FDA Determined Cause"]), f"FDA-{r['Recall Event ID']}") for r in rows[:1200]]


def _build(folder: Path) -> dict[str, str]:
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.core.migrate import upgrade
    from qa_incidents.reviews import lessons
    from qa_incidents.reviews.models import Lesson

    urls = {name: f"sqlite:///{folder / (name + '.sqlite3')}" for name in ("english", "held_back", "japanese")}
    if all((folder / (name + ".sqlite3")).exists() for name in urls):
        return urls
    now = datetime.now(UTC)
    for url in urls.values():
        upgrade(url)
    with make_session_factory(make_engine(urls["english"]))() as s:
        lessons.import_rows(s, lessons.read_sample(), now=now)
        s.commit()
    with make_session_factory(make_engine(urls["held_back"]))() as s:
        lessons.import_rows(s, lessons.read_sample(), now=now, skip_refs={f"FDA-{r['Recall Event ID']}" for r in _held_back()})
        s.commit()
    with make_session_factory(make_engine(urls["japanese"]))() as s:
        lessons.add_indexed(s, [Lesson(
            source="eval", source_ref=f"JA-{r['Recall Event ID']}", review_id=None, title=r["回収理由"][:300],
            summary=r["回収理由"], product=r["製品"], product_category="医療機器", failure_mode="",
            cause_category=r["FDA Determined Cause"], cause_dimension="", process_stage="", countermeasures="",
            design_review_checks=[], division="", year=int(r["Year Posted"]), published_at=now, times_opened=0)
            for r in _eval_rows("all")])
        s.commit()
    return urls


def _precision(url: str, queries: list[tuple[str, str, str]]) -> float:
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.reviews import search

    hit = 0
    with make_session_factory(make_engine(url))() as s:
        for text, cause, exclude in queries:
            hit += sum(h.lesson.cause_category == cause
                       for h in search.similar_lessons(s, text=text, limit=5, exclude_refs=[exclude]))
    return round(hit / (5 * len(queries)), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "held-out"), default="tuning")
    parser.add_argument("--with-300", action="store_true", help="also the 300 held-back recalls (English)")
    parser.add_argument("--leave-one-out", action="store_true", help="also 1,200 library recalls, each its own excluded")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting of search")
    parser.add_argument("--dir", help="keep the libraries here and reuse them")
    args = parser.parse_args(argv)
    from qa_incidents.core.migrate import all_models
    from qa_incidents.reviews import rules, search

    all_models()
    for item in args.set:
        name, _, value = item.partition("=")
        setattr(search, name, type(getattr(search, name))(value))
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="lessons-quality-"))
    folder.mkdir(parents=True, exist_ok=True)
    urls = _build(folder)
    rows = _eval_rows(args.half)
    english = [r["Trade Name/Product"][:200] + " " + r["Reason for Recall"] for r in rows]
    out: dict[str, Any] = {"half": args.half, "queries": len(rows), "settings": args.set}
    out["english_to_english"] = _precision(urls["english"], [(t, r["FDA Determined Cause"], "") for t, r in zip(english, rows, strict=True)])
    out["japanese_to_english"] = _precision(urls["english"], [(r["製品"] + " " + r["回収理由"], r["FDA Determined Cause"], "") for r in rows])
    out["english_to_japanese"] = _precision(urls["japanese"], [(t, r["FDA Determined Cause"], f"JA-{r['Recall Event ID']}")
                                                               for t, r in zip(english, rows, strict=True)])
    if args.with_300:
        out["held_back_300"] = _precision(urls["held_back"], [
            (rules.clean_source_text(r["Trade Name/Product"])[:200] + " " + rules.clean_source_text(r["Reason for Recall"]),
             rules.clean_source_text(r["FDA Determined Cause"]), "") for r in _held_back()])
    if args.leave_one_out:
        out["leave_one_out_1200"] = _precision(urls["english"], _leave_one_out())
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
