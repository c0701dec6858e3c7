"""The main pages in Japanese on demo data: no English sentence and no raw code shown to the reader."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import User

#: Pages each role opens most, with the demo data behind them.
PAGES = {
    "hq.qa@example.com": ["/", "/my-work", "/incidents/", "/incidents/1", "/incidents/2", "/incidents/3", "/incidents/4",
                          "/notifications/board", "/recalls/", "/reviews/", "/reports/portfolio",
                          "/laws/", "/escalations/"],
    "division.qa@example.com": ["/", "/my-work", "/incidents/1", "/notifications/board", "/reviews/",
                                "/incidents/bulk-triage?incident_id=1&incident_id=3"],
    "engineer@example.com": ["/", "/reviews/lessons"],
    "reporter@example.com": ["/", "/incidents/new"],
}

#: English words and raw codes the Japanese pages leaked (each once seen on a page).
LEAKS = ("knowledge", "open", "Open", "pending", "required", "approved escalation", "Consumer Product Safety",
         "Ministry", "Authority", "notification_", "effectiveness_checked", "status_report_", "manufacturing)",
         "Pseudo", "due", "overdue", "days", "Day 0", "to be confirmed", "Fast Track", "is under way",
         "Serious product accident report", "Consumer Affairs Agency", "Whether a due date", "follow up", "progress_report")


def _japanese(demo) -> None:
    demo.execute(sa.update(User).values(locale="ja"))
    demo.commit()


def _english_runs(page: str) -> list[str]:
    """Runs of three or more English words (a sentence left untranslated)."""
    return re.findall(r"[A-Za-z][a-z]+(?:[ ,'-]+[A-Za-z][a-z]+){2,}", page)


@pytest.mark.parametrize("email", sorted(PAGES))
def test_main_pages_in_japanese_show_no_english_leak(browser_as, demo, email):
    _japanese(demo)
    client = browser_as(email)
    found = {}
    for path in PAGES[email]:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        page = text(response)
        leaks = [w for w in LEAKS if re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z])", page)]
        if leaks:
            found[path] = leaks
        if os.environ.get("SHOW_LEAKS"):
            print(path, leaks, _english_runs(page)[:60])
    assert found == {}


def test_every_signature_meaning_has_words_in_japanese(app):
    """Each meaning the workflow signs with is shown in the reader's language (stored in English, as signed)."""
    from qa_incidents.core.signatures import MEANING_TITLES, meaning_title
    from qa_incidents.incidents.lifecycle import TRANSITIONS
    from qa_incidents.notifications import rules as notification_rules
    from qa_incidents.recalls import service as recalls
    from qa_incidents.reviews import service as reviews

    meanings = {t.signature for t in TRANSITIONS.values() if t.signature}
    meanings |= {m.signature for m in notification_rules.MOVES.values() if m.signature}
    meanings |= {recalls.LAUNCH_MEANING, recalls.CLOSURE_MEANING, reviews.APPROVAL_MEANING, reviews.DEFERRAL_MEANING}
    assert meanings - set(MEANING_TITLES) == set()
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        for meaning in meanings:
            words = meaning_title(meaning)
            assert words != meaning and not re.search(r"[a-z]{3}", words.replace("OCHIBO-HIROI", "")), meaning


def test_values_composed_into_the_trail_read_in_japanese(app):
    """The trail keeps what the code recorded (English); a Japanese reader reads the meaning, the authentication and
    the matrix suggestion in Japanese."""
    from qa_incidents.incidents.timeline import trail_value

    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert trail_value("meaning", "approved escalation") == "エスカレーションを承認"
        assert trail_value("signature", "approved escalation · fd0486a1177d87a1…") == "エスカレーションを承認 · fd0486a1177d87a1…"
        assert trail_value("authentication", "password") == "パスワード"
        assert trail_value("suggested", "S1 (F1, matrix v1)") == "S1（ルール F1、マトリクス第1版）"
        assert trail_value("reason", "Fire at a customer's home") == "Fire at a customer's home"  # as typed
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert trail_value("suggested", "S4 (fallback, matrix v2)") == "S4 (rule fallback, matrix version 2)"


def test_a_stored_assessment_reads_in_japanese_with_its_citation_as_written(app):
    from qa_incidents.core.i18n import data_text

    stored = ("Applies: a death, an injury needing 30 days' treatment or more or a lasting disability, CO poisoning or "
              "a fire is a serious product accident (消費生活用製品安全法 第2条第6項, 施行令 第5条, 第35条)")
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        shown = data_text(stored)
        assert shown.startswith("該当：死亡、") and shown.endswith("(消費生活用製品安全法 第2条第6項, 施行令 第5条, 第35条)")
        assert data_text("Applies: our own words (note)") == "Applies: our own words (note)"  # not in the catalogue
        assert data_text("Consumer Affairs Agency (reports); METI (recalls)") == "消費者庁（報告）、経済産業省（リコール）"


def test_the_status_report_says_why_the_severity_in_the_readers_language(app):
    from qa_incidents.incidents.severity import DEFAULT_MATRIX
    from qa_incidents.reports.render import severity_why

    f1 = next(r for r in DEFAULT_MATRIX.rules if r.id == "F1")
    content = {"severity_why": "Rule F1: harm is Fire … (as issued)",
               "severity_basis": {"rule": f1.to_dict(), "suggested": "S1", "severity": "S1", "override_reason": ""}}
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        why = severity_why(content)
        assert why.startswith("ルール F1：") and "火災" in why and "Fire" not in why
        assert severity_why({"severity_why": "Rule F1: as issued"}) == "Rule F1: as issued"  # an older report


def test_a_lessons_composed_labels_read_in_japanese(app):
    from qa_incidents.reviews.lessons import composed_in_reader_language

    stored = ("Introduced in: Manufacturing\nCrimp height not checked.\nNot detected because: End-of-line test.\n"
              "- [Eliminate the cause · 1. Design (fundamental safety design)] Crimp replaced by a welded joint")
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        shown = composed_in_reader_language(stored)
    assert shown.splitlines() == ["混入した工程：製造", "Crimp height not checked.", "検出されなかった理由：End-of-line test.",
                                  "- [原因の除去 · 1. 設計（本質安全設計）] Crimp replaced by a welded joint"]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert composed_in_reader_language(stored) == stored


def test_holiday_names_in_the_readers_language_where_the_library_has_it(app):
    from datetime import date

    from qa_incidents.notifications.deadlines import holiday_name

    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert holiday_name("JP", None, date(2026, 1, 1), "New Year's Day") == "元日"
        assert holiday_name("US", None, date(2026, 7, 4), "Independence Day") == "Independence Day"  # no Japanese
        assert holiday_name("JP", None, date(2026, 1, 2), "Company day off") == "Company day off"  # not the library's
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert holiday_name("JP", None, date(2026, 1, 1), "New Year's Day") == "New Year's Day"


def test_the_holiday_calendars_in_japanese_name_the_days_in_japanese(browser_as, demo):
    _japanese(demo)
    page = text(browser_as("hq.qa@example.com").get("/deadlines/calendars?year=2026"))
    page = page.split("日本：行政機関の休日", 1)[1].split("カナダ", 1)[0]  # Japan's calendar
    assert page and "2026-01-01 元日" in page and "2026-01-12 成人の日" in page
    assert "2026-12-29 行政機関の休日（12月29日～1月3日" in page
    assert "New Year's Day" not in page and "Administrative holiday" not in page
