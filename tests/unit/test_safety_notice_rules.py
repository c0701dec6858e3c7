"""The rules of public safety notices, without a database: severity, language completeness, contact."""

from __future__ import annotations

import pytest

from qa_incidents.safety_notices import rules

EN = {"heading": "Stop using FH-1200", "product_name": "Fan heater", "what_happened": "Carbon monoxide was reported."}
JA = {"heading": "使用中止のお願い", "product_name": "ファンヒーター", "what_happened": "一酸化炭素の発生が報告されました。"}


def problems(**changes):  # type: ignore[no-untyped-def]
    values = {"languages": ["en"], "texts": {"en": EN, "ja": JA}, "actions": ["stop_using"], "models": "FH-1200",
              "contact_phone": "0120-000-111", "contact_email": "", "contact_url": "", "kind": "initial", **changes}
    return rules.content_problems(**values)


@pytest.mark.parametrize("severity, allowed", [("S1", True), ("S2", True), ("S3", False), ("S4", False),
                                               (None, False)])
def test_only_severe_incidents(severity, allowed):
    assert (rules.severity_refusal(severity) is None) is allowed


def test_a_complete_notice_has_no_problems():
    assert problems() == {}
    assert problems(languages=["en", "ja"]) == {}


@pytest.mark.parametrize("text, japanese", [("使用中止", True), ("カタカナ", True), ("ｶﾀｶﾅ", True),
                                            ("FH-1200 0120-000-111", False), ("Café déjà vu", False)])
def test_japanese_script_is_recognised(text, japanese):
    assert rules.has_japanese(text) is japanese


def test_each_language_chosen_is_complete_in_that_language():
    assert problems(languages=[]) == {"languages": "Choose at least one language to publish in."}
    found = problems(languages=["ja"], texts={"ja": {**JA, "what_happened": "Carbon monoxide."}})
    assert found == {"ja_what_happened": "Write the Japanese version in Japanese."}
    found = problems(texts={"en": {**EN, "heading": "使用中止"}})
    assert found == {"en_heading": "The English version holds Japanese text: write it in English."}
    found = problems(languages=["en", "ja"], texts={"en": EN})
    assert set(found) == {"ja_heading", "ja_product_name", "ja_what_happened"}


def test_what_to_do_and_a_contact_channel_are_required():
    found = problems(actions=[], contact_phone="")
    assert set(found) == {"en_what_to_do", "contact_phone"}
    assert problems(actions=[], texts={"en": {**EN, "what_to_do": "Unplug it."}}) == {}
    assert set(problems(contact_phone="", contact_email="not-an-address")) == {"contact_email"}
    assert set(problems(contact_url="javascript:alert(1)")) == {"contact_url"}
    assert problems(contact_phone="", contact_url="https://example.com/notice") == {}


def test_a_later_version_says_what_changed_in_each_language():
    found = problems(kind="correction", languages=["en", "ja"])
    assert set(found) == {"en_change_note", "ja_change_note"}
    assert problems(kind="update", texts={"en": {**EN, "change_note": "A second report."}}) == {}
