"""In the page: sandboxed previews of images and PDFs, the bell with what changed for me, watching an incident,
@mentions; and the public recall page in each language the campaign publishes, with a switch."""

from __future__ import annotations

import io

import sqlalchemy as sa
from test_view_recall_public import check, public_recall  # noqa: F401 (fixture)
from test_view_recalls import publish_notice
from view_helpers import csrf_token, form_with, png_bytes, text

from qa_incidents.incidents.models import Attachment

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _upload(client, name: str, content: bytes, incident_id: int = 1):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/incidents/{incident_id}")
    return client.post(f"/incidents/{incident_id}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_images_and_pdfs_preview_inline_and_sandboxed(login_as, fresh):
    client = login_as("reporter@example.com")
    assert _upload(client, "burn-mark.png", png_bytes()).status_code == 302
    assert _upload(client, "service-report.pdf", PDF).status_code == 302
    png_id = fresh(sa.select(Attachment.id).where(Attachment.filename == "burn-mark.png"))
    pdf_id = fresh(sa.select(Attachment.id).where(Attachment.filename == "service-report.pdf"))
    html = client.get("/incidents/1").get_data(as_text=True)
    assert f'<img class="attachment-preview" src="/incidents/1/attachments/{png_id}/preview"' in html
    assert f'src="/incidents/1/attachments/{pdf_id}/preview" sandbox="allow-scripts"' in html
    image = client.get(f"/incidents/1/attachments/{png_id}/preview")
    assert image.status_code == 200 and image.data == png_bytes()
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert image.headers["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'self'"
    image.close()
    document = client.get(f"/incidents/1/attachments/{pdf_id}/preview")
    assert document.status_code == 200 and document.headers["Content-Type"] == "application/pdf"
    assert "sandbox allow-scripts" in document.headers["Content-Security-Policy"]
    assert "allow-same-origin" not in document.headers["Content-Security-Policy"]
    assert document.headers["X-Frame-Options"] == "SAMEORIGIN"
    document.close()
    # The download stays a download.
    download = client.get(f"/incidents/1/attachments/{png_id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()


def test_html_and_svg_are_never_previewed(login_as, fresh):
    client = login_as("reporter@example.com")
    _upload(client, "report.html", b"<!doctype html><html><body><script>alert(1)</script></body></html>")
    _upload(client, "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    for name in ("report.html", "logo.svg"):
        attachment_id = fresh(sa.select(Attachment.id).where(Attachment.filename == name))
        refused = client.get(f"/incidents/1/attachments/{attachment_id}/preview")
        assert refused.status_code == 415 and "download this file instead" in text(refused), name
        assert "alert(1)" not in refused.get_data(as_text=True)
        assert f"/attachments/{attachment_id}/preview" not in client.get("/incidents/1").get_data(as_text=True)


def test_a_preview_is_refused_to_another_division(login_as, browser_as, fresh):
    _upload(login_as("reporter@example.com"), "burn-mark.png", png_bytes())
    png_id = fresh(sa.select(Attachment.id).where(Attachment.filename == "burn-mark.png"))
    other = browser_as("cable.qa@example.com")
    assert other.get(f"/incidents/1/attachments/{png_id}/preview").status_code == 404


def _watch(client, incident_id: int = 1, watching: bool = True):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/notifications/inbox")
    return client.post(f"/incidents/{incident_id}/watch", data={"csrf_token": token, "watching": "1" if watching else "0"})


def test_the_bell_is_drawn_as_an_inline_svg_not_a_font_glyph(browser_as):
    """An emoji bell needs a font with the glyph: without one it showed as an empty box."""
    page = browser_as("hq.qa@example.com").get("/my-work").get_data(as_text=True)
    bell = page.split('class="bell"', 1)[1].split("</a>", 1)[0]
    assert "<svg" in bell and 'aria-hidden="true"' in bell
    assert "&#128276;" not in bell and "\U0001F514" not in bell


def test_the_bell_tells_a_watcher_what_changed_and_marks_it_read(browser_as):
    hq, qa = browser_as("hq.qa@example.com"), browser_as("division.qa@example.com")
    assert _watch(hq).status_code == 302
    page = text(hq.get("/incidents/1"))
    assert "Stop watching" in page and "Watching: Yuki Nakamura" in page
    form = form_with(qa.get("/incidents/1"), "body")
    qa.post(form.action, data=form.data(body="Supplier asked for batch records."))
    header = hq.get("/incidents/2").get_data(as_text=True)
    assert 'aria-label="Notifications: 1 unread"' in header and '<span class="bell-count">1</span>' in header
    inbox = hq.get("/notifications/inbox")
    assert "Kenji Sato commented" in text(inbox) and "1 unread" in text(inbox)
    token = csrf_token(hq, "/notifications/inbox")
    assert hq.post("/notifications/inbox/read", data={"csrf_token": token}).status_code == 302
    assert "0 unread" in text(hq.get("/notifications/inbox"))
    assert "bell-count" not in hq.get("/incidents/2").get_data(as_text=True)
    # The one who acted is not told of their own change.
    assert "bell-count" not in qa.get("/incidents/2").get_data(as_text=True)


def test_another_division_may_not_watch(browser_as):
    assert _watch(browser_as("cable.qa@example.com")).status_code == 404


def test_a_mention_reaches_the_mentioned_if_they_may_see_the_incident(browser_as):
    qa = browser_as("division.qa@example.com")
    page = qa.get("/incidents/1")
    assert "Mention someone with @ and their e-mail name (e.g. @division.qa)" in text(page)
    form = form_with(page, "body")
    qa.post(form.action, data=form.data(body="@hq.qa please decide; cc @cable.qa"))
    assert "Kenji Sato mentioned you in a comment: @hq.qa please decide" in text(
        browser_as("hq.qa@example.com").get("/notifications/inbox"))
    assert "mentioned you" not in text(browser_as("cable.qa@example.com").get("/notifications/inbox"))


def test_the_public_page_reads_in_each_language_the_campaign_publishes(public_recall, app):  # noqa: F811
    qa = public_recall
    assert publish_notice(qa, language="ja", heading="製品安全に関するリコール", product_name="冷蔵庫 R-HW540",
                          what_to_do="直ちに使用を中止し、電源プラグを抜いてください。").status_code == 302
    anonymous = app.test_client()
    english = anonymous.get("/recall/RC-2026-0001?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Is my product affected?" in text(english) and "冷蔵庫 R-HW540" not in text(english)
    assert 'href="/recall/RC-2026-0001?lang=ja"' in english.get_data(as_text=True)
    japanese = anonymous.get("/recall/RC-2026-0001?lang=ja")
    body = text(japanese)
    assert '<html lang="ja">' in japanese.get_data(as_text=True)
    assert "冷蔵庫 R-HW540" in body and "直ちに使用を中止し" in body
    assert "Is my product affected?" not in body and "Stop using the refrigerator" not in body
    form = form_with(japanese, "serial")
    assert form.action == "/recall/RC-2026-0001/check?lang=ja"
    hinted = text(anonymous.post(form.action, data=form.data(model="R-HW540", serial="AB-1234")))
    assert "英字2文字、数字6桁" in hinted and "then" not in hinted
    assert "2 letters, then 6 digits" in text(check(anonymous, "AB-1234"))


def test_the_customer_notice_prints_in_its_language(public_recall, app):  # noqa: F811
    import io as _io

    from pypdf import PdfReader

    qa = public_recall
    publish_notice(qa, language="ja", heading="製品安全に関するリコール", product_name="冷蔵庫 R-HW540",
                   what_to_do="直ちに使用を中止し、電源プラグを抜いてください。")
    anonymous = app.test_client()
    page = anonymous.get("/recall/RC-2026-0001?lang=ja")
    assert 'href="/recall/RC-2026-0001/notice.pdf?lang=ja"' in page.get_data(as_text=True)
    printed = anonymous.get("/recall/RC-2026-0001/notice.pdf?lang=ja")
    assert printed.status_code == 200 and printed.headers["Content-Type"] == "application/pdf"
    words = " ".join(p.extract_text() for p in PdfReader(_io.BytesIO(printed.data)).pages)
    assert "冷蔵庫 R-HW540" in words and "直ちに使用を中止し" in words
    assert "What to do" not in words and "Is my product affected?" not in words
    english = anonymous.get("/recall/RC-2026-0001/notice.pdf?lang=en")
    words = " ".join(p.extract_text() for p in PdfReader(_io.BytesIO(english.data)).pages)
    assert "What to do" in words and "Stop using the refrigerator and unplug it." in words and "冷蔵庫" not in words
