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
    "division.qa@example.com": ["/", "/my-work", "/incidents/1", "/notifications/board", "/reviews/"],
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
