"""Search quality on real data: held-back FDA recalls find lessons with the same FDA determined cause.

300 recall events are held back from the library; each is used as an incident would be (product and
reason for recall as the text). A top-5 similar lesson is a hit when its cause category equals the
held-back event's. Chance is the hit rate of five lessons drawn at random (the sum of the squared
cause shares); the baseline is plain keyword matching (most shared words, no weights, no rarity).
"""

from __future__ import annotations

import csv
import random
from collections import Counter

import sqlalchemy as sa

from qa_incidents.reviews import lessons, rules, search
from qa_incidents.reviews.models import Lesson


def test_similar_lessons_share_the_cause_far_more_often_than_chance_and_keyword_matching(session, clock):
    rows = lessons.read_sample()
    valid = [r for r in rows if r["Year Posted"].strip().isdigit() and int(r["Year Posted"]) > 1990]
    held = random.Random(7).sample(valid, 300)
    lessons.import_rows(session, rows, now=clock(), skip_refs={f"FDA-{r['Recall Event ID']}" for r in held})
    session.commit()
    library = list(session.scalars(sa.select(Lesson)))
    shares = Counter(lesson.cause_category for lesson in library)
    chance = sum((n / len(library)) ** 2 for n in shares.values())
    documents = [(lesson, set(rules.tokens(" ".join(search.fields_of(lesson))))) for lesson in library]

    def keyword_top5(text: str) -> list[Lesson]:
        terms = rules.query_terms(text, limit=200)
        scored = sorted(documents, key=lambda d: (sum(t in d[1] for t in terms), -d[0].id), reverse=True)
        return [lesson for lesson, _words in scored[:5]]

    ranked = keyword = 0
    for row in held:
        cause = rules.clean_source_text(row["FDA Determined Cause"])
        text = rules.clean_source_text(row["Trade Name/Product"])[:200] + " " + rules.clean_source_text(row["Reason for Recall"])
        hits = search.similar_lessons(session, text=text, limit=5)
        assert len(hits) == 5
        ranked += sum(h.lesson.cause_category == cause for h in hits)
        keyword += sum(lesson.cause_category == cause for lesson in keyword_top5(text))
    ranked_rate, keyword_rate = ranked / 1500, keyword / 1500
    print(f"\nprecision@5: full-text ranking {ranked_rate:.3f}, keyword matching {keyword_rate:.3f}, chance {chance:.3f}")
    assert ranked_rate > 2 * chance
    assert ranked_rate > keyword_rate


# --- across languages ---------------------------------------------------------------------
# 130 FDA recall events that are not in the library (data/lessons/bilingual_eval.csv, each with its own Japanese
# translation) are used as incidents would be: in Japanese against the English library, in English against a
# library of their Japanese translations (the query's own translation excluded), and in English against the English
# library for comparison. Relevant = the same FDA determined cause. The texts are split in two halves by their
# recall event id: even ids are the tuning half (any choice of weights or vocabulary is tried on these, together with
# the 300 held-back recalls of the test above), odd ids the held-out half, which no choice looks at; the figures
# reported (README) and the floors are the held-out half's.
# The floors sit a little under the measured figures: they keep the precision from falling.


def _eval_rows(half: str = "held-out") -> list[dict[str, str]]:
    with (lessons.SAMPLE_PATH.parent / "bilingual_eval.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if half == "all":
        return rows
    parity = 1 if half == "held-out" else 0
    return [r for r in rows if int(r["Recall Event ID"]) % 2 == parity]


def _japanese_lesson(row: dict[str, str], now) -> Lesson:  # type: ignore[no-untyped-def]
    return Lesson(source="eval", source_ref=f"JA-{row['Recall Event ID']}", review_id=None, title=row["回収理由"][:300],
                  summary=row["回収理由"], product=row["製品"], product_category="医療機器", failure_mode="",
                  cause_category=row["FDA Determined Cause"], cause_dimension="", process_stage="", countermeasures="",
                  design_review_checks=[], division="", year=int(row["Year Posted"]), published_at=now, times_opened=0)


def _precision(session, queries: list[tuple[str, str, str]]) -> float:  # type: ignore[no-untyped-def]
    hit = 0
    for text, cause, exclude in queries:
        hits = search.similar_lessons(session, text=text, limit=5, exclude_refs=[exclude])
        hit += sum(h.lesson.cause_category == cause for h in hits)
    return hit / (5 * len(queries))


def test_japanese_queries_find_english_lessons_with_the_same_cause(session, clock):
    rows = _eval_rows()
    assert len(rows) >= 60
    lessons.import_rows(session, lessons.read_sample(), now=clock())
    session.commit()
    english = _precision(session, [(r["Trade Name/Product"][:200] + " " + r["Reason for Recall"], r["FDA Determined Cause"], "")
                                   for r in rows])
    japanese = _precision(session, [(r["製品"] + " " + r["回収理由"], r["FDA Determined Cause"], "") for r in rows])
    print(f"\nprecision@5 against the English library: English queries {english:.3f}, Japanese queries {japanese:.3f}")
    # Held-out half, with the cause agreement of the best matches and the cause prior: measured 0.326 on SQLite and
    # PostgreSQL (before the prior: 0.309, 0.297; before the agreement: 0.235; 0.062 on all 130 without the
    # vocabulary) and 0.338 SQLite, 0.347 PostgreSQL (before the prior: 0.306, 0.324; before the agreement: 0.232).
    assert japanese >= 0.30
    assert english >= 0.32


def test_english_queries_find_japanese_lessons_with_the_same_cause(session, clock):
    library = _eval_rows("all")  # the translations of both halves; each query's own translation is excluded
    lessons.add_indexed(session, [_japanese_lesson(r, clock()) for r in library])
    session.commit()
    shares = Counter(r["FDA Determined Cause"] for r in library)
    chance = sum((n / len(library)) ** 2 for n in shares.values())
    english = _precision(session, [(r["Trade Name/Product"][:200] + " " + r["Reason for Recall"], r["FDA Determined Cause"],
                                    f"JA-{r['Recall Event ID']}") for r in _eval_rows()])
    print(f"\nprecision@5 of English queries against the Japanese library: {english:.3f} (chance {chance:.3f})")
    # Held-out half: measured 0.306 SQLite, 0.324 PostgreSQL (before the cause prior: 0.282, 0.309; before the cause
    # agreement: 0.215); chance 0.104.
    assert english >= 0.28


# --- the cause prior, on many queries -----------------------------------------------------
# Either half has 62-68 queries (one standard error of precision@5 about 0.05): too few to tell a gain of a few
# points. Recalls of the library itself, each with its own recall event excluded (from the hits and from the prior's
# counts), give many more; the prior was chosen on the tuning half, the 300 and 1,200 such recalls
# (bench/lessons_quality.py --leave-one-out), of which these 600 are half.


def test_the_cause_prior_raises_precision_on_recalls_of_the_library(session, clock, monkeypatch):  # type: ignore[no-untyped-def]
    rows = lessons.read_sample()
    lessons.import_rows(session, rows, now=clock())
    session.commit()
    valid = [r for r in rows if r["Year Posted"].strip().isdigit()]
    queries = [(rules.clean_source_text(r["Trade Name/Product"])[:200] + " " + rules.clean_source_text(r["Reason for Recall"]),
                rules.clean_source_text(r["FDA Determined Cause"]), f"FDA-{r['Recall Event ID']}")
               for r in random.Random(2028).sample(valid, 600)]
    with_prior = _precision(session, queries)
    monkeypatch.setattr(search, "PRIOR", 0.0)
    without = _precision(session, queries)
    print(f"\nprecision@5 of 600 library recalls, own recall excluded: {with_prior:.3f} with the cause prior, {without:.3f} without")
    assert with_prior >= without + 0.015  # measured 0.358 and 0.331 on SQLite, 0.360 and 0.335 on PostgreSQL
