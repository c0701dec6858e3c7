"""The public recall page and serial check: no login, typo hints, rate limit, and nothing internal leaks."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from test_view_recalls import add_line, assess, publish_notice, sign, start_recall
from view_helpers import form_with, png_bytes, text

from qa_incidents.recalls.models import LookupDay

#: Internal facts that must never reach the public pages.
INTERNAL = ["INC-2026", "Refrigerator caught fire in kitchen", "Setagaya", "Kenji Sato", "Yuki Nakamura", "Aiko Tanaka",
            "division.qa@example.com", "Home Appliances", "Reworked at the factory", "AB-120000", "AB120000",
            "Decision memo: supplier relay lot", "R-HW540 relay: replace", "1,000", "demo-password"]


@pytest.fixture
def public_recall(browser_as):  # type: ignore[no-untyped-def]
    qa = browser_as("division.qa@example.com")
    start_recall(qa, description="Decision memo: supplier relay lot")
    add_line(qa, 1, model="R-HW540", serial_first="AB-100000", serial_last="AB-199999", units="1000")
    add_line(qa, 1, model="R-HW540", serial_first="AB-120000", serial_last="AB-120999", exclude=True,
             note="Reworked at the factory")
    add_line(qa, 1, model="R-S38", lot="L2611")
    assert assess(qa).status_code == 303
    hq = browser_as("hq.qa@example.com")
    assert sign(hq, "/recalls/1/launch").status_code == 302
    assert publish_notice(qa).status_code == 302
    return qa


def check(client, serial: str, model: str = "R-HW540", lot: str = ""):  # type: ignore[no-untyped-def]
    form = form_with(client.get("/recall/RC-2026-0001"), "serial")
    return client.post("/recall/RC-2026-0001/check", data=form.data(model=model, serial=serial, lot=lot))


def test_the_notice_and_check_work_without_login_and_show_nothing_internal(public_recall, app):
    anonymous = app.test_client()
    page = anonymous.get("/recall/RC-2026-0001")
    assert page.status_code == 200
    body = text(page)
    assert "Product safety recall" in body and "Stop using the refrigerator and unplug it." in body
    assert "Is my product affected?" in body
    html = page.get_data(as_text=True)
    for secret in INTERNAL:
        assert secret not in html, secret
    form = form_with(page, "serial")
    assert [o.value for o in form.selects["model"]] == ["", "R-HW540", "R-S38"]

    for serial, answer in [("AB-150000", "Yes: your product is affected"), ("ab 150 000", "Yes: your product is affected"),
                           ("AB-120500", "No: this serial number is not affected"),
                           ("AB-200000", "No: this serial number is not affected")]:
        response = check(anonymous, serial)
        assert response.status_code == 200
        assert answer in text(response), serial
        for secret in INTERNAL:
            assert secret not in response.get_data(as_text=True), (serial, secret)
    affected = text(check(anonymous, "AB-150000"))
    assert "We replace the relay at your home free of charge." in affected
    assert "L2611" not in text(anonymous.get("/recall/RC-2026-0001"))


def test_the_check_hints_at_the_format_and_look_alike_characters(public_recall, app):
    anonymous = app.test_client()
    response = check(anonymous, "AB-15OOOO")
    assert response.status_code == 422
    body = text(response)
    assert "Please check the serial number." in body
    assert "letter O and digit 0" in body and "Did you mean AB-150000?" in body
    short = text(check(anonymous, "AB-1500"))
    assert "Serial numbers on this product look like 2 letters, then 6 digits." in short
    assert "AB-100000" not in short and "AB100000" not in short and "AB-120000" not in short
    assert "You typed 6 letters and digits; these serial numbers have 8." in short
    assert "That is the model number" in text(check(anonymous, "R-HW540"))
    lot = text(check(anonymous, "X1", model="R-S38"))
    assert "We need the lot or date code too." in lot
    assert "Yes: your product is affected" in text(check(anonymous, "X1", model="R-S38", lot="l-2611"))
    assert "Type the serial number from the label." in text(check(anonymous, ""))


def test_the_check_counts_only_numbers(public_recall, app, demo):
    anonymous = app.test_client()
    check(anonymous, "AB-150000")
    check(anonymous, "AB-200000")
    demo.rollback()
    day = demo.scalar(sa.select(LookupDay))
    assert (day.checks, day.affected) == (2, 1)


def test_the_check_is_rate_limited_per_client(public_recall, app):
    app.config["RECALL_CHECK_LIMIT"] = 3
    anonymous = app.test_client()
    form = form_with(anonymous.get("/recall/RC-2026-0001"), "serial")
    codes = [anonymous.post("/recall/RC-2026-0001/check", data=form.data(model="R-HW540", serial="AB-150000")).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = anonymous.post("/recall/RC-2026-0001/check", data=form.data(model="R-HW540", serial="AB-150000"))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "600"
    assert "Too many checks from your connection" in text(limited)
    other = app.test_client()  # another address
    assert other.post("/recall/RC-2026-0001/check", data=form_with(other.get("/recall/RC-2026-0001"), "serial")
                      .data(model="R-HW540", serial="AB-150000"), environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


def test_the_rate_limit_holds_across_workers(public_recall, app, database_url, clock, tmp_path):
    """Two application instances with their own engines (as two worker processes or hosts) share one count."""
    from config import TestConfig
    from qa_incidents import create_app
    from qa_incidents.core.db import make_engine

    engine = make_engine(database_url)
    other_worker = create_app(TestConfig(), ENGINE=engine, CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "attachments"),
                              INSTANCE_DIR=str(tmp_path), SECRET_KEY=app.secret_key)
    for worker in (app, other_worker):
        worker.config["RECALL_CHECK_LIMIT"] = 4
    clients = [app.test_client(), other_worker.test_client()]
    codes = []
    for n in range(8):
        client = clients[n % 2]
        form = form_with(client.get("/recall/RC-2026-0001"), "serial")
        codes.append(client.post("/recall/RC-2026-0001/check",
                                 data=form.data(model="R-HW540", serial="AB-150000")).status_code)
    clock.advance(seconds=1200)  # two windows later the client may check again
    form = form_with(clients[1].get("/recall/RC-2026-0001"), "serial")
    later = clients[1].post("/recall/RC-2026-0001/check", data=form.data(model="R-HW540", serial="AB-150000")).status_code
    engine.dispose()
    assert codes == [200, 200, 200, 200, 429, 429, 429, 429]
    assert later == 200


def test_the_rate_limit_window_slides(session, clock):
    """Checks just before a window's edge still count just after it: the limit is not doubled at the edge."""
    from datetime import timedelta

    from qa_incidents.recalls.public import allow_check

    start = clock()
    edge = start.replace(minute=(start.minute // 10) * 10, second=0, microsecond=0) + timedelta(minutes=10)

    def allowed(at):  # type: ignore[no-untyped-def]
        result = allow_check(session, "10.0.0.1", limit=5, window=600, now=at, secret="s")
        session.commit()
        return result

    assert [allowed(edge - timedelta(seconds=5)) for _ in range(5)] == [True] * 5
    assert allowed(edge + timedelta(seconds=5)) is False
    assert allowed(edge + timedelta(seconds=590)) is True  # the earlier window has nearly slid out


def test_only_launched_recalls_with_a_published_notice_are_public(browser_as, app):
    qa = browser_as("division.qa@example.com")
    start_recall(qa)
    add_line(qa, 1, model="R-HW540")
    assess(qa)
    anonymous = app.test_client()
    assert anonymous.get("/recall/RC-2026-0001").status_code == 404  # being prepared
    assert anonymous.get("/recall/RC-2026-0001/check").status_code == 404
    assert anonymous.get("/recall/RC-2026-9999").status_code == 404
    assert "There are no product safety recalls at the moment." in text(anonymous.get("/recall/"))
    hq = browser_as("hq.qa@example.com")
    sign(hq, "/recalls/1/launch")
    assert anonymous.get("/recall/RC-2026-0001").status_code == 404  # launched, no notice published yet


def test_only_the_published_picture_is_served(public_recall, app):
    anonymous = app.test_client()
    sha = hashlib.sha256(png_bytes()).hexdigest()
    picture = anonymous.get(f"/recall/RC-2026-0001/picture/{sha}")
    assert picture.status_code == 200 and picture.mimetype == "image/png" and picture.data == png_bytes()
    picture.close()
    assert anonymous.get(f"/recall/RC-2026-0001/picture/{'0' * 64}").status_code == 404
    # internal files need a login
    assert anonymous.get(f"/recalls/1/files/{sha}").status_code == 302
