"""Pages in Japanese: plurals, report tables and era dates where the reader chose them."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import User


def _reads_japanese(demo, email: str, *, era: bool = False) -> None:  # type: ignore[no-untyped-def]
    demo.execute(sa.update(User).where(User.email == email).values(locale="ja", era_dates=era))
    demo.commit()


def test_japanese_plurals_hold_for_zero_too(browser_as, demo):
    """Japanese has one plural form: "0 requests" must not fall back to English's rule."""
    _reads_japanese(demo, "hq.qa@example.com")
    page = text(browser_as("hq.qa@example.com").get("/escalations/"))
    assert "0件の申請が待機中です（古い順）。" in page and "requests waiting" not in page


def test_portfolio_table_headings_in_japanese(browser_as, demo):
    _reads_japanese(demo, "division.qa@example.com")
    page = text(browser_as("division.qa@example.com").get("/reports/portfolio?days=30"))
    assert "事業部別・重大度別の未完了インシデント" in page
    assert "事業部 S1 S2 S3 S4 未トリアージ 合計" in page and "untriaged" not in page


def test_era_dates_on_pages_for_those_who_chose_them(browser_as, demo):
    _reads_japanese(demo, "division.qa@example.com", era=True)
    _reads_japanese(demo, "hq.qa@example.com")
    era = text(browser_as("division.qa@example.com").get("/reports/portfolio?days=30"))
    assert "令和8年10月21日 12:00 JST – 令和8年11月20日 12:00 JST" in era
    plain = text(browser_as("hq.qa@example.com").get("/reports/portfolio?days=30"))
    assert "2026-10-21 12:00 JST – 2026-11-20 12:00 JST" in plain and "令和" not in plain


def test_recall_form_choices_and_role_names_in_japanese(browser_as, demo):
    """Choice lists and role names are translated when shown, not frozen in English when the module loads."""
    _reads_japanese(demo, "division.qa@example.com")
    page = text(browser_as("division.qa@example.com").get("/recalls/new?incident=1"))
    assert "修理" in page and "交換" in page and "Replacement" not in page
    assert "事業部品質保証責任者" in page  # the header names the user's role


def test_blank_comment_fields_kept_per_language(browser_as, demo):
    """The incident page's blank comment and attachment fields are rendered once per process and language: a reader
    of Japanese after a reader of English gets Japanese labels, and the English reader still English ones."""
    english = browser_as("division.qa@example.com")
    assert '<label for="body">Comment</label>' in english.get("/incidents/1").get_data(as_text=True)
    _reads_japanese(demo, "hq.qa@example.com")
    html = browser_as("hq.qa@example.com").get("/incidents/1").get_data(as_text=True)
    assert '<label for="body">コメント</label>' in html and '<label for="file">ファイル</label>' in html
    assert '<label for="body">Comment</label>' in english.get("/incidents/1").get_data(as_text=True)


def test_template_translation_escapes_values_and_keeps_percent_signs(app):
    """`_()` in templates: translated in the request's language, values escaped, "%%" one percent sign, and a value
    may be called `string` (the function's own arguments cannot clash with it)."""
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        page = app.jinja_env.from_string(
            '{{ _("Comment") }}|{{ _("%(string)s", string="<b>x</b>") }}|{{ _("100%%") }}').render()
    assert page == "コメント|&lt;b&gt;x&lt;/b&gt;|100%"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert app.jinja_env.from_string('{{ _("Comment") }}').render() == "Comment"
