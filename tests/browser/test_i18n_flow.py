"""The core flow in Japanese and in English: switch language, log in, file an incident, triage it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from qa_incidents.accounts.models import User
from qa_incidents.core import i18n

pytestmark = pytest.mark.browser
PASSWORD = "demo-password-2026"

# What each user sees, in their own language.
WORDS = {
    "ja": {
        "browser": "en-GB", "switch": "日本語", "email": "メールアドレス", "password": "パスワード", "log_in": "ログイン",
        "welcome": "ようこそ、", "nav": "メイン", "file": "インシデントを登録", "title": "件名", "lots": "ロット番号",
        "country": "発生国", "country_name": "日本", "place": "発生場所", "occurred": "発生日時",
        "aware": "社内認知日時", "source": "情報源", "source_name": "サービス報告", "hazard": "危害の種類",
        "hazard_name": "過熱", "smoke": "発煙", "units": "市場流通台数", "description": "内容",
        "filed": "インシデント INC-2026-000007 を登録しました。", "reported": "報告済み", "triage": "トリアージ",
        "confirm": "重大度を確定", "triaged": "INC-2026-000007 を S", "timeline": "インシデントを登録",
        "incident_title": "ショールームで暖房機の制御基板から発煙", "text": "担当者が焦げ臭いにおいと制御盤からの薄い煙に気付いた。",
    },
    "en": {
        "browser": "ja-JP", "switch": "English", "email": "E-mail", "password": "Password", "log_in": "Log in",
        "welcome": "Welcome, ", "nav": "Main", "file": "File an incident", "title": "Short title", "lots": "Lot numbers",
        "country": "Country of occurrence", "country_name": "Japan", "place": "Place of occurrence",
        "occurred": "Occurred at", "aware": "Company became aware at", "source": "Source",
        "source_name": "Service report", "hazard": "Hazard type", "hazard_name": "Overheating", "smoke": "Smoke",
        "units": "Units in the field", "description": "Description",
        "filed": "Incident INC-2026-000007 filed.", "reported": "Reported", "triage": "Triage",
        "confirm": "Confirm severity", "triaged": "INC-2026-000007 triaged as S", "timeline": "filed the incident",
        "incident_title": "Heater control board smouldering in showroom", "text": "Staff noticed a burning smell.",
    },
}
FILE_BUTTON = {"ja": "インシデントを登録", "en": "File incident"}


@pytest.fixture
def app(app: Flask) -> Flask:
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    return app


@pytest.fixture
def contexts(browser: Browser, live_server: str) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _page(browser: Browser, live_server: str, contexts: list[BrowserContext], browser_locale: str) -> Page:
    context = browser.new_context(base_url=live_server, locale=browser_locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    contexts.append(context)
    return context.new_page()


def _log_in(page: Page, page_words: dict[str, str], email: str, user_words: dict[str, str]) -> None:
    """Log in on a page in one language; the welcome comes in the user's own."""
    page.goto("/login")
    page.get_by_label(page_words["email"]).fill(email)
    page.get_by_label(page_words["password"]).fill(PASSWORD)
    page.get_by_role("button", name=page_words["log_in"]).click()
    expect(page.locator(".flash-success")).to_contain_text(user_words["welcome"])


@pytest.mark.parametrize("language", ["ja", "en"])
def test_core_flow_in_each_language(language: str, browser: Browser, live_server: str, demo,  # type: ignore[no-untyped-def]
                                    contexts: list[BrowserContext]) -> None:
    w = WORDS[language]
    demo.execute(sa.update(User).where(User.email.in_(["reporter@example.com", "division.qa@example.com"]))
                 .values(locale=language))
    demo.commit()

    # The browser speaks the other language; the switch in the header changes the page before log-in.
    reporter = _page(browser, live_server, contexts, w["browser"])
    reporter.goto("/login")
    other = "ja" if language == "en" else "en"
    expect(reporter.locator("html")).to_have_attribute("lang", other)
    reporter.get_by_role("button", name=w["switch"]).click()
    expect(reporter.locator("html")).to_have_attribute("lang", language)
    expect(reporter.get_by_label(w["email"])).to_be_visible()

    _log_in(reporter, w, "reporter@example.com", w)
    reporter.get_by_role("navigation", name=w["nav"]).get_by_role("link", name=w["file"]).click()
    expect(reporter.get_by_role("heading", level=1)).to_have_text(w["file"])
    product = reporter.locator("#product_id option[value]:not([value=\"\"]):not([hidden]):not([disabled])").first
    reporter.locator("#product_id").select_option(product.get_attribute("value"))
    reporter.get_by_label(w["title"]).fill(w["incident_title"])
    reporter.get_by_label(w["lots"]).fill("L2611-03")
    reporter.get_by_label(w["country"]).select_option(label=w["country_name"])
    reporter.get_by_label(w["place"]).fill("名古屋ショールーム" if language == "ja" else "Nagoya showroom")
    reporter.get_by_label(w["occurred"]).fill("2026-11-18T09:30")
    reporter.get_by_label(w["aware"]).fill("2026-11-18T14:00")
    reporter.get_by_label(w["source"], exact=True).select_option(label=w["source_name"])
    reporter.get_by_label(w["hazard"]).select_option(label=w["hazard_name"])
    reporter.get_by_label(w["smoke"], exact=True).check()
    reporter.get_by_label(w["units"]).fill("1250")
    reporter.get_by_label(w["description"], exact=True).fill(w["text"])
    reporter.get_by_role("button", name=FILE_BUTTON[language]).click()

    expect(reporter).to_have_url(re.compile(r"/incidents/7$"))
    expect(reporter.locator(".flash-success")).to_have_text(w["filed"])
    expect(reporter.locator(".heading-row .badge").first).to_have_text(w["reported"])
    # What the user wrote stays as written; the numbers and times are shown the same in both languages.
    expect(reporter.get_by_role("heading", level=1)).to_have_text(w["incident_title"])
    expect(reporter.locator(".description")).to_have_text(w["text"])
    expect(reporter.locator("dl.facts")).to_contain_text("2026-11-18 14:00 JST")
    expect(reporter.locator("#timeline")).to_contain_text(w["timeline"])

    # The division's QA manager logs in on a page in the browser's language, then works in their own.
    division = _page(browser, live_server, contexts, w["browser"])
    _log_in(division, WORDS[other], "division.qa@example.com", w)
    division.goto("/incidents/7")
    division.get_by_role("link", name=w["triage"], exact=True).click()
    division.get_by_role("button", name=w["confirm"]).click()
    expect(division.locator(".flash-success")).to_contain_text(w["triaged"])
    expect(division.locator("html")).to_have_attribute("lang", language)


def test_japanese_era_dates_chosen_on_the_account_page(browser: Browser, live_server: str, demo,  # type: ignore[no-untyped-def]
                                                       contexts: list[BrowserContext]) -> None:
    demo.execute(sa.update(User).where(User.email == "division.qa@example.com").values(locale="ja"))
    demo.commit()
    page = _page(browser, live_server, contexts, "ja-JP")
    _log_in(page, WORDS["ja"], "division.qa@example.com", WORDS["ja"])
    page.goto("/account")
    expect(page.locator("#date-example")).to_contain_text("2026-11-20")
    page.get_by_label("和暦で日付を表示").check()
    page.get_by_role("button", name="設定を保存").click()
    expect(page.locator(".flash-success")).to_have_text("設定を保存しました。")
    expect(page.locator("#date-example")).to_contain_text("令和8年11月20日")
    page.goto("/reports/portfolio?days=7")
    expect(page.locator("p.lead")).to_contain_text("令和8年11月20日")
