"""Search quality on real data: held-back FDA recalls find lessons with the same FDA determined cause.

300 recall events are held back from the library; each is used as an incident would be (product and
reason for recall as the text). A top-5 similar lesson is a hit when its cause category equals the
held-back event's. Chance is the hit rate of five lessons drawn at random (the sum of the squared
cause shares); the baseline is plain keyword matching (most shared words, no weights, no rarity).
"""

from __future__ import annotations

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
