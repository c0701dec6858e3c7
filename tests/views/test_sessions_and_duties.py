"""Revocable sessions, expiring API tokens, one lock-out for every password check, and separation of duties on
the web: what a user (or someone holding a copied cookie) sees."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import DEMO_PASSWORD, csrf_token, form_with, forms_of, logged_in, login, text

from qa_incidents.accounts.models import User
from qa_incidents.api import tokens
from qa_incidents.core.signatures import Signature
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity


def _copy_of(client, app):  # type: ignore[no-untyped-def]
    """Another browser holding a copy of the client's session cookie (as an attacker who captured it would)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def _works(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/incidents/").status_code == 200


def test_a_cookie_captured_before_log_out_no_longer_works(app, demo):  # type: ignore[no-untyped-def]
    browser = logged_in(app, "reporter@example.com")
    thief = _copy_of(browser, app)
    assert _works(thief)  # the copy works while the session lives
    elsewhere = logged_in(app, "reporter@example.com")  # the same person on another computer
    token = csrf_token(browser, "/account")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _works(thief)
    assert not _works(browser)
    assert not _works(elsewhere)  # log-out ends every session of the user at once
    assert _works(logged_in(app, "reporter@example.com"))  # logging in again works


def test_a_password_change_ends_every_other_session_and_may_revoke_tokens(app, demo, clock):  # type: ignore[no-untyped-def]
    browser = logged_in(app, "reporter@example.com")
    thief = _copy_of(logged_in(app, "reporter@example.com"), app)
    reporter = demo.scalar(sa.select(User).where(User.email == "reporter@example.com"))
    _, token = tokens.create_token(demo, user=reporter, name="bridge", now=clock())
    demo.commit()
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/incidents", headers=bearer).status_code == 200
    page = browser.get("/account")
    form = form_with(page, "pw-new_password")
    changed = browser.post("/account", data=form.data(**{"pw-current_password": DEMO_PASSWORD,
                                                         "pw-new_password": "a-new-long-passphrase-77",
                                                         "pw-revoke_tokens": "y"}))
    assert changed.status_code == 302
    assert _works(browser)  # the session that changed the password goes on
    assert not _works(thief)
    assert api.get("/api/v1/incidents", headers=bearer).status_code == 401
    assert login(app.test_client(), "reporter@example.com", "a-new-long-passphrase-77").status_code == 302


def test_deactivation_and_sign_out_everywhere_end_sessions_at_once(app, demo):  # type: ignore[no-untyped-def]
    reporter = logged_in(app, "reporter@example.com")
    admin = logged_in(app, "admin@example.com")
    user_id = demo.scalar(sa.select(User.id).where(User.email == "reporter@example.com"))
    page = admin.get(f"/admin/users/{user_id}")
    assert "Sign out everywhere" in text(page)
    token = next(f for f in forms_of(page) if f.action.endswith("/sign-out"))
    done = admin.post(token.action, data=token.data())
    assert done.status_code == 302
    assert not _works(reporter)
    reporter = logged_in(app, "reporter@example.com")
    assert _works(reporter)
    form = form_with(admin.get(f"/admin/users/{user_id}"), "role")
    data = form.data()
    data.pop("active", None)  # unticked: deactivated
    assert admin.post(f"/admin/users/{user_id}", data=data).status_code == 302
    assert not _works(reporter)


def test_api_tokens_expire(app, demo, clock):  # type: ignore[no-untyped-def]
    reporter = demo.scalar(sa.select(User).where(User.email == "reporter@example.com"))
    _, short = tokens.create_token(demo, user=reporter, name="short", now=clock(), days=1)
    _, usual = tokens.create_token(demo, user=reporter, name="usual", now=clock())
    demo.commit()
    api = app.test_client()
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {short}"}).status_code == 200
    clock.advance(days=2)
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {short}"}).status_code == 401
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {usual}"}).status_code == 200
    clock.advance(days=app.config["API_TOKEN_DAYS"])
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {usual}"}).status_code == 401
    # Longer than the configured maximum is refused, with the reason, on the form.
    browser = logged_in(app, "reporter@example.com")
    form = form_with(browser.get("/account/tokens/"), "name")
    refused = browser.post(form.action, data=form.data(name="forever", days=str(app.config["API_TOKEN_MAX_DAYS"] + 1)))
    assert refused.status_code == 422
    assert f"Choose from 1 to {app.config['API_TOKEN_MAX_DAYS']} days" in text(refused)


def test_every_password_check_counts_towards_one_lock_out(app, demo):  # type: ignore[no-untyped-def]
    """A session cannot go on testing passwords through the password-change form once the address is locked."""
    browser = logged_in(app, "reporter@example.com")
    for _ in range(5):
        form = form_with(browser.get("/account"), "pw-new_password")
        wrong = browser.post("/account", data=form.data(**{"pw-current_password": "guess-number-one-1",
                                                          "pw-new_password": "a-new-long-passphrase-77"}))
        assert wrong.status_code == 422
    form = form_with(browser.get("/account"), "pw-new_password")
    right = browser.post("/account", data=form.data(**{"pw-current_password": DEMO_PASSWORD,
                                                      "pw-new_password": "a-new-long-passphrase-77"}))
    assert right.status_code == 422 and "Too many wrong passwords" in text(right)  # not even the right one
    assert login(app.test_client(), "reporter@example.com").status_code == 429  # log-in is locked as well


def _escalated(demo, clock, requester: str) -> Incident:  # type: ignore[no-untyped-def]
    who = demo.scalar(sa.select(User).where(User.email == requester))
    fire = demo.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    workflow.triage(demo, user=who, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(demo, user=who, incident_id=fire.id, reason="Fire at home", now=clock())
    demo.commit()
    return fire


def test_the_approval_form_refuses_to_let_the_requester_sign(app, demo, clock):  # type: ignore[no-untyped-def]
    fire = _escalated(demo, clock, "hq.qa@example.com")
    browser = logged_in(app, "hq.qa@example.com")
    form = form_with(browser.get(f"/incidents/{fire.id}/escalation"), "password")
    mine = browser.post(f"/incidents/{fire.id}/escalation", data=form.data(decision="approve", password=DEMO_PASSWORD))
    assert mine.status_code in (403, 422)
    assert "someone else must sign it" in text(mine)
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Signature.id))) == 0


def test_signature_forms_count_wrong_passwords_towards_the_lock_out(app, demo, clock):  # type: ignore[no-untyped-def]
    fire = _escalated(demo, clock, "division.qa@example.com")
    signer = logged_in(app, "hq.qa@example.com")
    for _ in range(5):
        form = form_with(signer.get(f"/incidents/{fire.id}/escalation"), "password")
        wrong = signer.post(f"/incidents/{fire.id}/escalation",
                            data=form.data(decision="reject", comment="no", password="nope-nope-nope-1"))
        assert wrong.status_code == 422
    assert login(app.test_client(), "hq.qa@example.com").status_code == 429
    form = form_with(signer.get(f"/incidents/{fire.id}/escalation"), "password")
    right = signer.post(f"/incidents/{fire.id}/escalation",
                        data=form.data(decision="approve", password=DEMO_PASSWORD))
    assert right.status_code == 422 and "Too many wrong passwords" in text(right)  # no password is tested now
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(Signature.id))) == 0


def test_a_proposed_lesson_is_published_on_its_page_only_by_someone_other_than_its_importer(app, demo, clock):  # type: ignore[no-untyped-def]
    from qa_incidents.accounts import service as accounts
    from qa_incidents.api import pending_lessons
    from qa_incidents.reviews import lessons
    from qa_incidents.reviews.models import Lesson

    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    row = {**lessons.read_sample()[0], "Recall Event ID": "990002"}
    assert pending_lessons.propose(demo, record=row, incident_id=None, user=hq, now=clock()) == "created"
    accounts.create_user(demo, data=accounts.UserInput(
        email="hq.second@example.com", name="Second Approver", role=hq.role, division_id=hq.division_id,
        timezone="Asia/Tokyo"), password=DEMO_PASSWORD, actor_id=None, now=clock())
    demo.commit()
    assert logged_in(app, "engineer@example.com").get("/lessons/proposed/").status_code == 403

    importer = logged_in(app, "hq.qa@example.com")
    page = importer.get("/lessons/proposed/")
    assert page.status_code == 200 and "Sign and publish" in text(page)
    form = next(f for f in forms_of(page) if f.action.endswith("/publish"))
    fields = {k: DEMO_PASSWORD for k in form.values if k.endswith("-password")}
    mine = importer.post(form.action, data=form.data(**fields))
    assert mine.status_code in (403, 422) and "someone else must sign it" in text(mine)
    demo.rollback()
    assert demo.scalar(sa.select(Lesson.id).where(Lesson.source_ref == "FDA-990002")) is None

    other = logged_in(app, "hq.second@example.com")
    form = next(f for f in forms_of(other.get("/lessons/proposed/")) if f.action.endswith("/publish"))
    done = other.post(form.action, data=form.data(**{k: DEMO_PASSWORD for k in form.values if k.endswith("-password")}))
    assert done.status_code == 302
    demo.rollback()
    assert demo.scalar(sa.select(Lesson.id).where(Lesson.source_ref == "FDA-990002")) is not None
    assert "No proposed lessons are waiting." in text(other.get("/lessons/proposed/"))


def test_an_anonymous_visitors_requests_do_not_rewrite_their_session_cookie(app, demo):  # type: ignore[no-untyped-def]
    """A browser sends a page's side requests (style sheet, /favicon.ico) alongside the next click and keeps the
    cookie of whichever answer comes last: an answer that rewrote the session put back an older one (a single
    sign-on just started was lost)."""
    browser = app.test_client()
    first = browser.get("/login")
    assert any(h.startswith("session=") for h in first.headers.getlist("Set-Cookie"))  # the CSRF token is kept
    for url in ("/favicon.ico", "/static/style.css", "/healthz", "/login", "/no-such-page"):
        assert browser.get(url).headers.getlist("Set-Cookie") == [], url


def test_a_signed_in_cookie_used_from_another_browser_is_still_refused(app, demo):  # type: ignore[no-untyped-def]
    browser = logged_in(app, "reporter@example.com")
    thief = _copy_of(browser, app)
    thief.environ_base["HTTP_USER_AGENT"] = "another-browser/1.0"
    assert thief.get("/incidents/").status_code == 302  # to the log-in page: "strong" session protection
    assert _works(browser)


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon(app, demo):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon is not None
    served = browser.get(icon.group(1))
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert b"<svg" in served.data
