"""The deadline calculator in Japanese: each regime's rule, trigger, reading of the law and open questions come from
the catalogue, in the computation as in the rule; a text without a translation fails here."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.i18n import page_translations
from qa_incidents.notifications.deadlines import RULES

PAGE = "/deadlines/calculator"


def _result(client, code: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(PAGE, query_string={"regime": code, "aware_at": "2026-11-25T14:00", "timezone": "Asia/Tokyo"})
    assert response.status_code == 200
    section = re.search(r'<section class="panel deadline-result".*?</section>', response.get_data(as_text=True), re.S)
    assert section, code
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section.group(0))).split())


@pytest.fixture
def japanese(browser_as, demo):  # type: ignore[no-untyped-def]
    demo.execute(sa.update(User).where(User.email == "reporter@example.com").values(locale="ja"))
    demo.commit()
    return browser_as("reporter@example.com")


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_text_is_shown_in_japanese(app, japanese, code: str):  # type: ignore[no-untyped-def]
    rule = RULES[code]
    page = _result(japanese, code)
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        catalogue = page_translations()
        for text in (rule.trigger, rule.reading, *rule.unconfirmed):
            translated = catalogue.ugettext(text)
            assert translated != text, f"{code}: no Japanese for {text!r}"
    for text in (rule.reading, *rule.unconfirmed):
        assert " ".join(text.split()) not in page, f"{code} shows English: {text!r}"
    assert f"{rule.trigger}から" not in page and f"{rule.trigger}の日" not in page, f"{code}: English trigger"


def test_the_rule_and_the_computation_name_the_trigger_in_japanese(japanese):  # type: ignore[no-untyped-def]
    page = _result(japanese, "US-CPSC-15B")
    assert "ルール 結論を合理的に裏付ける情報の入手から24時間、非営業日を除く" in page
    assert "計算方法 結論を合理的に裏付ける情報の入手から24時間" in page
    assert "「直ちに」、すなわち週末と連邦の祝日を除いて24時間以内" in page
    fda = _result(japanese, "US-FDA-803-30")
    assert "ルール 認知の日の翌日から起算して30暦日" in fda and "awareness" not in fda
    target = _result(japanese, "EU-GPSR-20")
    assert "knowledge of the accident" not in target and "24時間の社内目標" in target
