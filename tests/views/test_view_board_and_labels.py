"""Draft labels as words, what is missing only before approval, how late an overdue item is, the board's CSV."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from test_view_notifications import HQ, QA, draft_post, record_url, sign_approval  # noqa: F401  (fixture)
from view_helpers import text

from qa_incidents.incidents.models import Incident
from qa_incidents.notifications.models import NotificationRecord


def test_draft_field_names_become_labels(app):
    from qa_incidents.core.i18n import label_text

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert label_text("product identification") == "Product identification"
        assert label_text("(3) product identification: name") == "(3) Product identification: name"
        assert label_text("商標") == "商標" and label_text("Form 3500A") == "Form 3500A"


def test_missing_fields_are_shown_only_before_approval(browser_as, record_url):  # noqa: F811
    qa, hq = browser_as(QA), browser_as(HQ)
    assert "Missing before approval:" in text(qa.get(record_url))
    draft_post(qa, record_url, missing_explanation="Brand and origin follow with the written report.")
    assert sign_approval(hq, record_url).status_code == 302
    shown = text(qa.get(record_url))
    assert "Missing before approval:" not in shown and "Every field the authority asks for is filled." not in shown


def test_an_overdue_record_says_by_how_much(browser_as, record_url, fresh, clock):  # noqa: F811
    due = fresh(sa.select(NotificationRecord.due_at).where(NotificationRecord.regime_code == "JP-CPSA-35"))
    clock.now = due
    clock.advance(hours=3, minutes=10)
    hq = browser_as(HQ)
    assert "overdue by 3 h" in text(hq.get("/notifications/board"))
    assert "overdue by 3 h" in text(hq.get(record_url))
    clock.advance(days=2)
    assert "overdue by 2 d 3 h" in text(hq.get("/notifications/board"))


def test_the_board_exports_what_it_shows_as_csv_with_formulas_neutralised(browser_as, record_url, demo):  # noqa: F811
    demo.execute(sa.update(Incident).where(Incident.id == 1).values(title="=HYPERLINK(\"http://x\")"))
    demo.commit()
    hq = browser_as(HQ)
    page = hq.get("/notifications/board").get_data(as_text=True)
    assert 'id="board-export"' in page and "/export/board.csv" in page
    link = page.split('id="board-export" href="')[1].split('"')[0].replace("&amp;", "&")
    response = hq.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    jp = [r for r in rows if r["regime_code"] == "JP-CPSA-35"]
    assert len(jp) == 1 and jp[0]["reference"] == "INC-2026-000001"
    assert jp[0]["title"].startswith("'=HYPERLINK")
    assert hq.get("/imports/export/board.csv?division=abc").status_code == 400
