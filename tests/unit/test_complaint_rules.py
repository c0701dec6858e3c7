"""Complaint rules without Flask or a database: safety words, file layouts, the detection method and its evaluation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qa_incidents.complaints import evaluate, rules


@pytest.mark.parametrize("text, expected", [
    ("The fridge gave off smoke and a burning smell", ["smoke", "burning smell"]),
    ("Customer got an electric shock from the door handle", ["electric shock"]),
    ("CO alarm went off near the heater", ["CO"]),
    ("冷蔵庫の裏から焦げ臭いにおいがして発煙した", ["発煙", "焦げ臭い"]),
    ("ヒーターで感電しました", ["感電"]),
])
def test_safety_words_are_found(text, expected):
    assert set(rules.matcher().find(text)) == set(expected)


@pytest.mark.parametrize("text", ["The compressor is noisy at night", "The co-owner called about the door",
                                  "Firefly sticker peeled off", "Smoked glass panel scratched"])
def test_ordinary_complaints_are_not_flagged(text):
    assert rules.matcher().find(text) == []


def test_safety_words_are_data_in_both_languages():
    terms = rules.load_terms()
    assert {t.language for t in terms} == {"en", "ja"}
    assert {"fire", "smoke", "burning smell", "sparks", "electric shock", "injury", "burn", "CO", "carbon monoxide",
            "発火", "発煙", "焦げ臭い", "感電", "やけど", "火花", "一酸化炭素"} <= {t.term for t in terms}


def test_nhtsa_row_and_its_fire_flag():
    row = {"CMPLID": "1965917", "ODINO": "1", "MAKETXT": "FORD", "MODELTXT": "F-150", "YEARTXT": "2019",
           "FAILDATE": "20240211", "FIRE": "Y", "INJURED": "0", "COMPDESC": "POWER TRAIN", "CITY": "fort smith",
           "STATE": "AR", "VIN": "1FTEW1E40KK", "DATEA": "20240213", "CDESCR": "Loses power."}
    c = rules.from_nhtsa(row)
    assert (c.model, c.symptom, c.country, c.place, c.occurred_on) == ("FORD F-150", "POWER TRAIN", "US",
                                                                       "Fort Smith, AR", date(2024, 2, 11))
    assert c.received_at == datetime(2024, 2, 13, tzinfo=UTC) and c.extra_terms == ["fire"]
    with pytest.raises(rules.RowError, match="DATEA"):
        rules.from_nhtsa({**row, "DATEA": "2024-02-13"})


def test_a_steady_series_raises_nothing_and_a_jump_does():
    steady = [1, 0, 2, 1, 1, 0, 1, 2, 1, 0, 1, 1, 2, 1, 0, 1]
    assert not any(w.alarm for w in rules.assess(steady))
    jump = steady + [9]
    last = rules.assess(jump)[-1]
    assert last.poisson and last.p_value is not None and last.p_value < 0.001


def test_a_sustained_moderate_rise_is_caught_by_the_cusum():
    series = [2] * 16 + [5, 5, 5, 5]  # no single week is extreme (P(X≥5 | 2) ≈ 0.05)
    verdicts = rules.assess(series)
    assert not any(w.poisson for w in verdicts)
    assert any(w.cusum_alarm for w in verdicts[16:])


def test_a_dismissed_signal_comes_back_only_if_it_grows():
    assert not rules.grew(6, 6) and not rules.grew(6, 4) and rules.grew(6, 7)


def test_the_method_keeps_its_evaluated_figures():
    """The figures in the README: the method must keep detecting most planted rises quickly with few false alarms,
    far fewer than the naive threshold."""
    figures = evaluate.evaluate(runs=10, seed=7)
    method, naive = figures["method"], figures["naive"]
    assert method.planted == naive.planted == 10 * evaluate.PLANTED
    assert method.detection_rate >= 0.75
    assert method.median_delay <= 2
    assert method.false_per_1000 <= 6
    assert naive.false_per_1000 >= 10 * method.false_per_1000
