"""Pages in the reader's language: the browser's before log-in, the switch, then the user's own setting."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from view_helpers import csrf_token, login

import config
from qa_incidents import create_app
from qa_incidents.accounts.models import User
from qa_incidents.core import i18n
from qa_incidents.core.audit import AuditEvent

JA = {"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def app(app: Flask) -> Flask:
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    return app


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _set_language(session, email: str, language: str) -> None:  # type: ignore[no-untyped-def]
    session.execute(sa.update(User).where(User.email == email).values(locale=language))
    session.commit()


def test_the_application_is_created_with_its_languages(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, INSTANCE_DIR=str(tmp_path))
    assert app.extensions.get("qa_i18n"), "create_app must call qa_incidents.core.i18n.init_app(app)"
    assert str(i18n.TRANSLATIONS_DIR) in app.extensions["babel"].translation_directories


def test_before_log_in_the_browser_language_is_used(client: FlaskClient) -> None:
    ja = client.get("/login", headers=JA).get_data(as_text=True)
    assert '<html lang="ja">' in ja and "メールアドレス" in ja and "ログイン" in ja
    en = client.get("/login", headers=EN).get_data(as_text=True)
    assert '<html lang="en">' in en and ">E-mail<" in en and "メールアドレス" not in en
    # A language the application does not speak falls back to English.
    assert "Password" in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_the_switch_before_log_in_overrides_the_browser(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/language", data={"language": "ja", "next": "/login", "language-csrf_token": token}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    html = client.get("/login", headers=EN).get_data(as_text=True)
    assert "パスワード" in html and '<button type="submit" class="link" name="language" value="ja" lang="ja" aria-pressed="true" disabled>' in html


def test_the_switch_refuses_unknown_languages_and_foreign_redirects(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    assert client.post("/language", data={"language": "xx", "language-csrf_token": token}).status_code == 400
    assert client.post("/language", data={"language": "ja"}).status_code == 400  # no CSRF token
    response = client.post("/language", data={"language": "ja", "next": "https://evil.example/", "language-csrf_token": token})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_a_japanese_user_works_in_japanese_whatever_the_browser(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    _set_language(demo, "division.qa@example.com", "ja")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "division.qa@example.com", "password": "demo-password-2026",
                                           "csrf_token": token}, headers=EN, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "ようこそ、" in html  # the welcome message is in the user's language, not the browser's
    assert "インシデント台帳" in html and "ログアウト" in html and "Incident register" not in html
    register = _text(client.get("/incidents/", headers=EN).get_data(as_text=True))
    assert "絞り込みを解除" in register and "管理番号" in register and "未トリアージ" in register


def test_validation_messages_are_in_the_users_language(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    _set_language(demo, "reporter@example.com", "ja")
    login(client, "reporter@example.com")
    token = csrf_token(client, "/incidents/new")
    response = client.post("/incidents/new", data={"csrf_token": token, "title": ""})
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422)
    assert "インシデントの短い件名を入力してください。" in html
    assert "Give the incident a short title." not in html


def test_an_english_user_keeps_english(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "division.qa@example.com", "password": "demo-password-2026",
                                           "csrf_token": token}, headers=JA, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Welcome, " in html and "Incident register" in html and "インシデント台帳" not in html


def test_the_switch_after_log_in_is_stored_on_the_user_and_audited(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    login(client, "hq.qa@example.com")
    token = csrf_token(client, "/account")
    response = client.post("/language", data={"language": "ja", "next": "/account", "language-csrf_token": token})
    assert response.status_code == 302
    demo.expire_all()
    user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    assert user.locale == "ja"
    event = demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)
                         .order_by(AuditEvent.id.desc())).first()
    assert event is not None and "locale" in (event.changes or {})
    assert "設定" in client.get("/account").get_data(as_text=True)
    # The setting follows the user to a new browser.
    other = client.application.test_client()
    login(other, "hq.qa@example.com")
    assert "ログアウト" in other.get("/", headers=EN, follow_redirects=True).get_data(as_text=True)
