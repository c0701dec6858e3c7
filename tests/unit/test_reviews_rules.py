"""Pure OCHIBO-HIROI rules: effectiveness checks, deployment answers, personal-data scrubbing, search text."""

from __future__ import annotations

from datetime import date

import pytest

from qa_incidents.reviews import rules
from qa_incidents.reviews.rules import CountermeasureStatus as S
from qa_incidents.reviews.rules import DeploymentAnswer as A


def test_overdue_until_verified():
    today = date(2026, 11, 20)
    assert rules.is_overdue(status=S.OPEN, due_on=date(2026, 11, 19), today=today)
    assert rules.is_overdue(status=S.IMPLEMENTED, due_on=date(2026, 11, 19), today=today)
    assert not rules.is_overdue(status=S.VERIFIED, due_on=date(2026, 11, 19), today=today)
    assert not rules.is_overdue(status=S.OPEN, due_on=today, today=today)


def test_a_countermeasure_counts_as_done_only_after_an_effective_check():
    assert "check_result" in rules.check_effectiveness(status=S.OPEN, method="audit", result="ok", effective=True)
    assert rules.check_effectiveness(status=S.IMPLEMENTED, method="audit", result="no recurrence", effective=True) == {}
    assert set(rules.check_effectiveness(status=S.IMPLEMENTED, method="", result="", effective=None)) == {
        "check_method", "check_result", "check_effective"}
    assert rules.status_after_check(True) == S.VERIFIED
    assert rules.status_after_check(False) == S.OPEN


@pytest.mark.parametrize("answer, reason, errors", [
    (A.NOT_APPLICABLE, "", {"reason"}), (A.NOT_APPLICABLE, "Different relay", set()), (A.DONE, "", set()),
    (A.PENDING, "", {"answer"})])
def test_not_applicable_needs_a_reason(answer, reason, errors):
    assert set(rules.deployment_answer_errors(answer, reason)) == errors


@pytest.mark.parametrize("text, secret", [
    ("Call John at 03-1234-5678 please", "03-1234-5678"),
    ("Customer jane.doe@example.org reported it", "jane.doe@example.org"),
    ("Lives at 42 Maple Street, Suite 5", "42 Maple Street"),
    ("Reported by Mrs. Sarah Connor yesterday", "Sarah Connor"),
    ("連絡先 〒160-0023 新宿区", "160-0023"),
    ("田中様から連絡", "田中様"),
    ("toll free 1-800-555-0199", "800-555-0199"),
    ("Please contact: Robert Smith for details", "Robert Smith"),
])
def test_personal_data_is_removed(text, secret):
    scrubbed = rules.scrub_personal_data(text)
    assert secret not in scrubbed
    assert rules.REDACTED in scrubbed


@pytest.mark.parametrize("text, secret", [
    ("お客様の佐藤 花子さんが発見", "佐藤 花子"),
    ("ヤマダ氏より報告", "ヤマダ"),
    ("東京都世田谷区桜丘3丁目12番地5号で発生", "桜丘3丁目"),
    ("住所は世田谷区桜丘2-3-15", "2-3-15"),
    ("港区の店舗", "港区"),
    ("customer in Setagaya-ku, 3-chome", "Setagaya"),
    ("Tanaka-san called", "Tanaka"),
    ("call 09012345678 today", "09012345678"),
    ("phone ０３１２３４５６７８", "０３１２３４５６７８"),
    ("write to hanako at example dot com", "hanako at example"),
    ("hanako [at] example [dot] co [dot] jp", "example [dot]"),
    ("hanako(at)example(dot)com", "example(dot)com"),
    ("メール hanako＠example.jp", "example.jp"),
])
def test_japanese_and_obfuscated_personal_data_is_removed_and_reported(text, secret):
    scrubbed = rules.scrub_personal_data(text)
    assert secret not in scrubbed and rules.REDACTED in scrubbed
    assert any(secret in f.text for f in rules.find_personal_data(text))


@pytest.mark.parametrize("text", [
    "The relay failed at 85 C after 2000 cycles; voltage 230 V; part 12345678.",
    "Failure at high temperature dot matrix display", "Lot L2611 serial AB-150000, FDA recall Z-1234-2020",
    "電源リレーの接点が溶着した。", "お客様から連絡", "区分け工程の問題; 市場で3件",
])
def test_technical_text_is_kept(text):
    assert rules.scrub_personal_data(text) == text and not rules.find_personal_data(text)


def test_known_customer_strings_are_removed_and_technical_text_kept():
    text = "Unit SN-0001 at Setagaya, Tokyo: relay contact resistance 20x nominal at 85 C."
    out = rules.scrub_personal_data(text, also=["SN-0001", "Setagaya, Tokyo"])
    assert "SN-0001" not in out and "Setagaya" not in out
    assert "relay contact resistance 20x nominal at 85 C." in out


def test_japanese_is_indexed_as_character_pairs():
    assert rules.tokens("冷蔵庫の発火事故") == ["冷蔵", "蔵庫", "庫の", "の発", "発火", "火事", "事故"]
    assert rules.tokens("Relay FIRE") == ["relay", "fire"]
    assert "発火" in rules.index_text("冷蔵庫の発火")


def test_query_terms_drop_stop_words_and_repeat():
    assert rules.query_terms("The relay of the relay overheated") == ["relay", "overheated"]


def test_highlight_escapes_and_marks():
    html = rules.highlight("<b>Relay</b> fires at relay joint", ["relay"])
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count("<mark>") == 2


def test_failure_mode_and_fda_cause_mapping():
    assert rules.failure_mode_of("Software anomaly may stop the pump") == "Software fault"
    assert rules.failure_mode_of("冷蔵庫から発煙") == "Fire / overheating"
    assert rules.FDA_CAUSES["Device Design"] == (rules.Dimension.PROCESS, "design")
