"""Comments and attachments on the incident page: adding, refusing, downloading safely."""

from __future__ import annotations

import hashlib
import io

import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, location_path, png_bytes, text

from qa_incidents.incidents.models import Attachment, Comment


def _upload(client, name: str, content: bytes, incident_id: int = 1):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/incidents/{incident_id}")
    return client.post(f"/incidents/{incident_id}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_comment_is_shown_with_a_timeline_entry(login_as, fresh):
    client = login_as("division.qa@example.com")
    page = client.get("/incidents/1")
    assert "No comments yet." in text(page)
    form = form_with(page, "body")
    response = client.post(form.action, data=form.data(body="Relay supplier asked for batch records.\nDue Friday."))
    assert response.status_code == 302 and location_path(response) == "/incidents/1#comments"
    page = client.get("/incidents/1")
    assert "Comment added." in flashes(page)
    body = text(page)
    assert "Kenji Sato · 2026-11-20 12:00 JST Relay supplier asked for batch records." in body
    assert "Kenji Sato · commented" in body
    assert "No comments yet." not in body
    assert fresh(sa.select(sa.func.count(Comment.id))) == 1
    # Markup in a comment is shown as typed, never run.
    client.post(form.action, data=form.data(body="<script>alert(1)</script> & <b>bold</b>"))
    html = client.get("/incidents/1").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_empty_comment_is_refused_and_adds_nothing(login_as, fresh):
    client = login_as("reporter@example.com")
    form = form_with(client.get("/incidents/1"), "body")
    for body in ("", "   \n  "):
        response = client.post(form.action, data=form.data(body=body))
        assert response.status_code == 422, repr(body)
        assert "The comment was not added: Write something before posting." in flashes(response)
        assert form_with(response, "body").errors["body"] == "Write something before posting."
        assert "No comments yet." in text(response)
    assert fresh(sa.select(sa.func.count(Comment.id))) == 0
    assert "commented" not in text(client.get("/incidents/1"))


def test_png_upload_is_listed_and_downloads_as_the_same_bytes(login_as, fresh):
    client = login_as("reporter@example.com")
    png = png_bytes()
    response = _upload(client, "burn-mark.png", png)
    assert response.status_code == 302 and location_path(response) == "/incidents/1#attachments"
    page = client.get("/incidents/1")
    assert "Attached burn-mark.png." in flashes(page)
    body = text(page)
    assert "burn-mark.png image/png" in body
    assert hashlib.sha256(png).hexdigest() in body
    assert "Aiko Tanaka · attached a file burn-mark.png" in body
    attachment_id = fresh(sa.select(Attachment.id).where(Attachment.filename == "burn-mark.png"))
    assert f'href="/incidents/1/attachments/{attachment_id}"' in page.get_data(as_text=True)

    with client.get(f"/incidents/1/attachments/{attachment_id}") as download:
        assert download.status_code == 200
        assert download.data == png
        assert download.mimetype == "image/png"
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert "burn-mark.png" in download.headers["Content-Disposition"]
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]


def test_html_upload_is_never_served_as_html(login_as, fresh):
    client = login_as("reporter@example.com")
    evil = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    assert _upload(client, "report.html", evil).status_code == 302
    content_type = fresh(sa.select(Attachment.content_type))
    assert content_type in ("text/plain", "application/octet-stream")
    attachment_id = fresh(sa.select(Attachment.id))
    with client.get(f"/incidents/1/attachments/{attachment_id}") as download:
        assert download.status_code == 200
        assert download.mimetype in ("text/plain", "application/octet-stream")
        assert "html" not in download.headers["Content-Type"]
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.data == evil  # stored as given: evidence is not altered


def test_upload_over_the_limit_attaches_nothing(app, login_as, fresh):
    limit = 64 * 1024
    app.config["ATTACHMENT_MAX_BYTES"] = limit
    storage = app.extensions["qa_storage"]
    storage.max_bytes = limit
    client = login_as("reporter@example.com")
    response = _upload(client, "video.bin", b"\x00" * (limit + 1))
    assert response.status_code == 302
    page = client.get("/incidents/1")
    assert "Nothing attached: the file is larger than 64 KB." in flashes(page)
    assert "No attachments yet." in text(page)
    assert fresh(sa.select(sa.func.count(Attachment.id))) == 0
    leftovers = [p for p in storage.root.rglob("*") if p.is_file()] if storage.root.exists() else []
    assert leftovers == []
    # Exactly at the limit is fine.
    assert _upload(client, "video.bin", b"\x00" * limit).status_code == 302
    assert fresh(sa.select(Attachment.size)) == limit


def test_upload_without_a_file_says_so(login_as, fresh):
    client = login_as("reporter@example.com")
    token = csrf_token(client, "/incidents/1")
    response = client.post("/incidents/1/attachments", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Nothing attached: Choose a file to upload." in flashes(client.get("/incidents/1"))
    assert fresh(sa.select(sa.func.count(Attachment.id))) == 0


def test_same_file_twice_is_stored_once_and_listed_twice(app, login_as):
    client = login_as("reporter@example.com")
    png = png_bytes()
    assert _upload(client, "a.png", png).status_code == 302
    assert _upload(client, "b.jpg", png).status_code == 302  # the type comes from the bytes, not the name
    body = text(client.get("/incidents/1"))
    assert "a.png image/png" in body and "b.jpg image/png" in body
    stored = [p for p in app.extensions["qa_storage"].root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].name == hashlib.sha256(png).hexdigest()


def test_uploaded_file_name_loses_its_path_and_keeps_non_ascii(login_as, fresh):
    client = login_as("reporter@example.com")
    assert _upload(client, "../../Users/aiko/写真 1.png", png_bytes()).status_code == 302
    assert fresh(sa.select(Attachment.filename)) == "写真 1.png"
    assert "写真 1.png image/png" in text(client.get("/incidents/1"))
    with client.get(f"/incidents/1/attachments/{fresh(sa.select(Attachment.id))}") as download:
        assert download.status_code == 200
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert "filename*=UTF-8''%E5%86%99%E7%9C%9F%201.png" in disposition
        assert "Users" not in disposition and ".." not in disposition
