"""Helpers shared by the single sign-on tests."""

from __future__ import annotations

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.testing import FlaskClient

from qa_incidents.accounts.models import Division, User

APP_BASE = "http://localhost"


def division_id(session: so.Session, code: str) -> int:
    return session.scalar(sa.select(Division.id).where(Division.code == code))  # type: ignore[return-value]


def admin_id(session: so.Session) -> int:
    return session.scalar(sa.select(User.id).where(User.email == "admin@example.com"))  # type: ignore[return-value]


def follow_to_provider(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def provider_login(url: str, username: str, password: str) -> str:
    """Sign in on the provider's own page (a real HTTP round trip); the address it sends the browser back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Test identity provider" in page.text, page.text[:300]
    answer = requests.post(url, data={"username": username, "password": password}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def local_path(url: str) -> str:
    assert url.startswith(APP_BASE + "/"), url
    return url.removeprefix(APP_BASE)


DEMO_PASSWORD = "demo-password-2026"


def csrf_token(client: FlaskClient, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
