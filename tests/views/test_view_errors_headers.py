"""Error pages in the site's own layout, security headers and the session cookie."""

from __future__ import annotations

from view_helpers import DEMO_PASSWORD, csrf_token, text


def _directives(csp: str) -> dict[str, list[str]]:
    parts = [d.split() for d in csp.split(";") if d.strip()]
    return {p[0]: p[1:] for p in parts}


def test_404_page_is_styled_for_anonymous_visitors(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in text(response)
    assert '<a class="brand" href="/">qa-incidents</a>' in html
    assert 'rel="stylesheet"' in html
    assert "Go to the start page" in text(response)


def test_404_and_403_pages_keep_the_nav_for_logged_in_users(login_as):
    client = login_as("reporter@example.com")
    response = client.get("/incidents/999")
    assert response.status_code == 404
    body = text(response)
    assert "Not found" in body and "qa-incidents" in body
    assert "Incident register" in body and "File an incident" in body and "Aiko Tanaka" in body
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403
    assert "Not allowed" in text(forbidden) and "Incident register" in text(forbidden)
    assert client.get("/logout").status_code == 405


def test_security_headers_on_pages(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = _directives(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    # The pages obey their own policy: no inline scripts or handlers.
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "onclick=" not in html
    error = client.get("/nowhere")
    assert error.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in error.headers["Content-Security-Policy"]


def test_session_cookie_is_httponly_and_samesite(client, demo):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "reporter@example.com", "password": DEMO_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set on log-in"
    attributes = [a.strip().lower() for a in cookies[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
