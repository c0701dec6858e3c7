"""`make bench` draws its requests as people make them (bench/mix.py), never one fixed address."""

from __future__ import annotations

import random
import urllib.parse

from bench import mix

UNIVERSE = mix.Universe(division_ids=[1, 2, 3, 4, 5], category_ids=list(range(1, 14)),
                        countries=["JP", "US", "DE", "GB", "CA", "AU", "FR"], years=list(range(2015, 2027)),
                        title_words=["overheating", "battery", "connector"], lesson_words=["sterile", "seal", "crack"],
                        texts=["The power cord became hot and smoke came out of the plug at the wall socket."],
                        authorities=["CPSC", "Consumer Affairs Agency"])


def test_the_register_mix_holds_over_a_thousand_combinations_for_head_office_and_for_a_division():
    assert mix.distinct(lambda rng: mix.register_request(rng, UNIVERSE, all_divisions=True)) > 1_000
    assert mix.distinct(lambda rng: mix.register_request(rng, UNIVERSE, all_divisions=False)) > 1_000


def test_register_requests_use_every_filter_and_sort_and_a_division_reader_never_picks_a_division():
    rng = random.Random(3)
    seen: set[str] = set()
    sorts: set[str] = set()
    for _ in range(2_000):
        _m, path, _b = mix.register_request(rng, UNIVERSE, all_divisions=True)
        args = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        seen |= set(args)
        sorts.add(args["sort"])
        if "aware_from" in args:
            assert args["aware_from"] <= args["aware_to"]
    assert seen == {"status", "severity", "division", "category", "country", "aware_from", "aware_to", "sort"}
    assert sorts == set(mix.SORTS)
    for _ in range(500):
        assert "division=" not in mix.register_request(rng, UNIVERSE, all_divisions=False)[1]


def test_words_are_real_words_of_the_texts_found_in_more_than_one():
    words = mix.words_of(["Battery overheated in the charger", "battery swelled", "the charger cable frayed",
                          "a one-off word: zyzzogeton"], limit=10)
    assert words[:2] == ["battery", "charger"] and "zyzzogeton" not in words and "the" not in words


def test_searches_draw_from_the_real_words():
    rng = random.Random(5)
    queries = {urllib.parse.unquote(mix.lessons_request(rng, UNIVERSE)[1].split("q=")[1]) for _ in range(200)}
    assert all(set(q.split()) <= set(UNIVERSE.lesson_words) for q in queries) and len(queries) > 3
