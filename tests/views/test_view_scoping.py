"""Who may see and touch which incident: division scoping and role capabilities, as seen over HTTP."""

from __future__ import annotations

import io

import sqlalchemy as sa
from view_helpers import csrf_token, location_path, text

from qa_incidents.incidents.models import Attachment, Comment, Incident


def _token(client, path: str = "/account") -> str:  # type: ignore[no-untyped-def]
    return csrf_token(client, path)


def test_division_reporter_cannot_reach_another_divisions_incident(login_as, browser_as, fresh):
    # The cable reporter attaches a file to their own incident #5 first.
    cable = browser_as("cable.reporter@example.com")
    upload = cable.post("/incidents/5/attachments", data={
        "csrf_token": _token(cable, "/incidents/5"), "file": (io.BytesIO(b"depot test log\n"), "log.txt")},
        content_type="multipart/form-data")
    assert upload.status_code == 302
    attachment_id = fresh(sa.select(Attachment.id).where(Attachment.incident_id == 5))
    with cable.get(f"/incidents/5/attachments/{attachment_id}") as own:
        assert own.status_code == 200 and own.data == b"depot test log\n"

    client = login_as("reporter@example.com")
    token = _token(client)
    checks = [
        client.get("/incidents/5"),
        client.get("/incidents/5/edit"),
        client.post("/incidents/5/edit", data={"csrf_token": token, "title": "Hijacked"}),
        client.post("/incidents/5/comments", data={"csrf_token": token, "body": "Not my division"}),
        client.post("/incidents/5/attachments", data={
            "csrf_token": token, "file": (io.BytesIO(b"x"), "x.txt")}, content_type="multipart/form-data"),
        client.get(f"/incidents/5/attachments/{attachment_id}"),
        # Nor through an incident of one's own division.
        client.get(f"/incidents/1/attachments/{attachment_id}"),
        client.get("/incidents/999"),
    ]
    for response in checks:
        assert response.status_code == 404, response.request.path
        assert "Not found" in text(response)
        assert b"depot test log" not in response.data
        assert "Overheated rolling-stock cable" not in text(response)  # not even the title leaks
    assert fresh(sa.select(sa.func.count(Comment.id))) == 0
    assert fresh(sa.select(sa.func.count(Attachment.id))) == 1
    assert fresh(sa.select(Incident.title).where(Incident.id == 5)) == "Overheated rolling-stock cable in depot test"
    # Their own division's incidents are fine.
    assert client.get("/incidents/1").status_code == 200
    assert client.get("/incidents/1/edit").status_code == 200


def test_engineer_and_admin_may_not_read_incidents(app, demo, browser_as):
    for email in ("engineer@example.com", "admin@example.com"):
        client = browser_as(email)
        home = client.get("/", follow_redirects=True)
        assert home.status_code == 200 and home.request.path == "/my-work"  # My work, not the register
        assert "Incident register" not in text(home)
        for path in ("/incidents/", "/incidents/1", "/incidents/5", "/incidents/new", "/incidents/1/edit"):
            response = client.get(path)
            assert response.status_code in (403, 404), (email, path)
            assert "Refrigerator caught fire" not in text(response)
        assert client.get("/incidents/").status_code == 403
        assert "Not allowed" in text(client.get("/incidents/"))
        token = _token(client)
        response = client.post("/incidents/1/comments", data={"csrf_token": token, "body": "Hello"})
        assert response.status_code in (403, 404)


def test_executive_reads_everything_and_changes_nothing(login_as, fresh):
    client = login_as("executive@example.com")
    for incident_id in (1, 5):
        page = client.get(f"/incidents/{incident_id}")
        assert page.status_code == 200
        body = text(page)
        assert "Edit facts" not in body and "Add comment" not in body and "Upload" not in body
    assert "Overheated rolling-stock cable in depot test" in text(client.get("/incidents/5"))
    assert client.get("/incidents/new").status_code == 403
    assert client.get("/incidents/1/edit").status_code == 403
    token = _token(client)
    assert client.post("/incidents/new", data={"csrf_token": token, "title": "x"}).status_code == 403
    assert client.post("/incidents/1/comments", data={"csrf_token": token, "body": "Looks bad"}).status_code == 403
    response = client.post("/incidents/1/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(b"x"), "x.txt")}, content_type="multipart/form-data")
    assert response.status_code == 403
    assert "Not allowed" in text(client.get("/incidents/new"))
    assert fresh(sa.select(sa.func.count(Comment.id))) == 0
    assert fresh(sa.select(sa.func.count(Attachment.id))) == 0


def test_head_office_works_on_any_division(login_as):
    client = login_as("hq.qa@example.com")
    page = client.get("/incidents/5")
    assert page.status_code == 200 and "Edit facts" in text(page)
    assert client.get("/incidents/5/edit").status_code == 200
    response = client.post("/incidents/5/comments", data={"csrf_token": _token(client), "body": "HQ is looking."})
    assert response.status_code == 302 and location_path(response) == "/incidents/5#comments"
