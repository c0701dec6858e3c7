"""Log-in, log-out, the log-in wall, redirects after log-in and CSRF on every POST."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from view_helpers import DEMO_PASSWORD, csrf_token, flashes, form_with, forms_of, location_path, login, text

from qa_incidents.accounts.models import User
from qa_incidents.incidents.models import Comment

WRONG = "The e-mail address or password is not correct."


def _normalised(body: str) -> str:
    """A login page with the parts that legitimately differ (token, typed e-mail) blanked out."""
    body = re.sub(r'(<input[^>]*name="csrf_token"[^>]*value=")[^"]*', r"\1", body)
    return re.sub(r'(<input[^>]*name="email"[^>]*value=")[^"]*', r"\1", body)


def test_login_page_has_form_without_nav(client):
    response = client.get("/login")
    assert response.status_code == 200
    form = form_with(response, "email")
    assert form.method == "post"
    assert form.values["csrf_token"]
    assert "password" in form.values
    assert "Incident register" not in text(response)  # no nav for anonymous visitors


def test_login_success_redirects_to_my_work_with_welcome(client, demo, fresh, clock):
    response = login(client, "  Reporter@Example.COM ")  # the e-mail in any case, with stray spaces
    assert response.status_code == 302
    assert location_path(response) == "/my-work"
    assert fresh(sa.select(User.last_login_at).where(User.email == "reporter@example.com")) == clock.now
    home = client.get("/")
    assert home.status_code == 302 and location_path(home) == "/my-work"
    work = client.get("/my-work")
    assert work.status_code == 200
    assert "Welcome, Aiko Tanaka." in flashes(work)
    assert "Aiko Tanaka" in text(work)  # the header names who is logged in
    again = client.get("/login")  # already logged in: nothing to do here
    assert again.status_code == 302 and location_path(again) == "/my-work"


def test_wrong_password_and_unknown_email_look_the_same(client, demo):
    wrong_password = login(client, "reporter@example.com", "not-the-password")
    unknown_email = login(client, "nobody@example.com", DEMO_PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert flashes(response) == [WRONG]
        assert 'class="error"' not in response.get_data(as_text=True)  # no field singled out
    assert _normalised(wrong_password.get_data(as_text=True)) == _normalised(unknown_email.get_data(as_text=True))
    assert client.get("/incidents/").status_code == 302  # still not logged in


def test_login_with_empty_fields_asks_for_them(client):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 422
    page = text(response)
    assert "Enter your e-mail address." in page
    assert "Enter your password." in page


def test_inactive_user_cannot_log_in(client, demo, fresh):
    demo.execute(sa.update(User).where(User.email == "reporter@example.com").values(active=False))
    demo.commit()
    response = login(client, "reporter@example.com")
    assert response.status_code == 401
    assert flashes(response) == [WRONG]
    assert client.get("/incidents/").status_code == 302
    assert fresh(sa.select(User.last_login_at).where(User.email == "reporter@example.com")) is None


def test_logout_is_a_post_with_csrf(login_as):
    client = login_as("reporter@example.com")
    assert client.get("/logout").status_code == 405  # a link or image cannot log anyone out
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert client.get("/incidents/").status_code == 200  # still logged in

    [logout] = [f for f in forms_of(client.get("/incidents/")) if f.action == "/logout"]
    token = logout.values["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and location_path(response) == "/login"
    assert "You have logged out." in flashes(client.get("/login"))
    after = client.get("/incidents/")
    assert after.status_code == 302 and location_path(after).startswith("/login")


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get("/incidents/")
    assert response.status_code == 302
    assert location_path(response) == "/login?next=%2Fincidents%2F"
    for path in ("/", "/incidents/1", "/incidents/new", "/account", "/admin/users"):
        r = client.get(path)
        assert r.status_code == 302 and location_path(r).startswith("/login"), path


def test_login_follows_a_same_site_next(client, demo):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/incidents/2", data={
        "email": "reporter@example.com", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert location_path(response) == "/incidents/2"


def test_login_refuses_open_redirects(app, demo):
    for target in ("https://evil.example", "//evil.example/x", "https://evil.example/incidents/",
                   "javascript:alert(1)", "https:/evil.example", "/\\evil.example"):
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post(f"/login?next={target}", data={
            "email": "reporter@example.com", "password": DEMO_PASSWORD, "csrf_token": token})
        assert response.status_code == 302, target
        # Browsers read "/\\host" as "//host": whatever the target, the redirect stays on this site.
        location = response.headers["Location"].replace("\\", "/")
        assert not location.startswith("//") and urlsplit(location).netloc in ("", "localhost"), target
        if "\\" not in target:
            assert "evil" not in location and location_path(response) == "/my-work", target


def test_login_without_csrf_token_is_refused(client, demo):
    response = client.post("/login", data={"email": "reporter@example.com", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in text(response)
    assert client.get("/incidents/").status_code == 302  # not logged in


def test_post_without_a_valid_csrf_token_changes_nothing(app, login_as, fresh):
    foreign_token = csrf_token(app.test_client(), "/login")  # minted for another browser
    client = login_as("reporter@example.com")
    for token in (None, "", "not-a-real-token", foreign_token):
        data = {"body": "Sneaky comment"} | ({} if token is None else {"csrf_token": token})
        response = client.post("/incidents/1/comments", data=data)
        assert response.status_code == 400, token
        assert "Form expired" in text(response), token
    assert fresh(sa.select(sa.func.count(Comment.id))) == 0
    assert "Sneaky comment" not in text(client.get("/incidents/1"))
