"""Remembered register pages (core/pagecache.py): served from memory, never stale, never another reader's."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from test_view_filing import _filled
from test_view_register import refs
from view_helpers import statements_of, text

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product
from qa_incidents.incidents.models import Incident

REGISTER = "/incidents/?sort=aware_desc"


def settled(client):  # type: ignore[no-untyped-def]
    """The client after its first page (which shows the log-in's welcome message and so is never kept)."""
    assert "Welcome" in text(client.get("/incidents/?status=closed"))
    return client


def cached_pages(app) -> int:  # type: ignore[no-untyped-def]
    return sum(len(kept) for kept in app.extensions.get("qa_page_cache", {}).values())


def test_a_second_view_is_served_from_memory_and_reads_the_same(app, login_as, demo):
    client = settled(login_as("hq.qa@example.com"))
    first = client.get(REGISTER)
    assert first.status_code == 200 and cached_pages(app) == 1
    with statements_of(app) as queries:
        second = client.get(REGISTER)
    assert second.status_code == 200
    assert text(second) == text(first)
    assert refs(second) == refs(first) and len(refs(second)) == 6
    # The user and the marker only: no incident, count or division was read again.
    assert not any("FROM incident" in q for q in queries), queries


def test_a_kept_page_takes_the_memory_its_weight_says(app, login_as, demo):  # type: ignore[no-untyped-def]
    """PAGE_CACHE_BYTES bounds the memory pages take: a page is kept as its UTF-8 bytes, which is what it weighs (a
    str with the language menu's 日本語 in it took two bytes for every character of the page, twice its weight)."""
    import sys

    client = settled(login_as("hq.qa@example.com"))
    page = client.get(REGISTER)
    assert page.status_code == 200 and "日本語" in text(page)
    [store] = app.extensions["qa_page_cache"].values()
    [(body, _mimetype)] = [value for value, _weight in store._values.values()]
    assert store.weight == len(body) and sys.getsizeof(body) < len(body) * 1.01 + 100
    served = client.get(REGISTER)  # from memory: the same page, with the reader's own CSRF token put back
    assert text(served) == text(page)


@pytest.mark.parametrize("write", ["orm_title", "sql_title", "division_name", "product_model"])
def test_any_write_to_what_the_page_shows_is_seen_at_once(app, login_as, demo, write):
    client = settled(login_as("hq.qa@example.com"))
    assert "Refrigerator caught fire in kitchen" in text(client.get(REGISTER))
    assert cached_pages(app) == 1
    if write == "orm_title":
        incident = demo.scalar(sa.select(Incident).where(Incident.reference == "INC-2026-000001"))
        incident.title = "Refrigerator compressor caught fire"
        expected = "Refrigerator compressor caught fire"
    elif write == "sql_title":  # not through the ORM: the triggers still see it
        demo.execute(sa.text("UPDATE incident SET title = 'Edited by hand' WHERE reference = 'INC-2026-000001'"))
        expected = "Edited by hand"
    elif write == "division_name":
        division = demo.scalar(sa.select(Division).where(Division.name == "Home Appliances"))
        division.name = "Home Appliance Division"
        expected = "Home Appliance Division"
    else:
        incident = demo.scalar(sa.select(Incident).where(Incident.reference == "INC-2026-000001"))
        product = demo.get(Product, incident.product_id)
        product.model = "FR-NEW-999"
        expected = "FR-NEW-999"
    demo.commit()
    assert expected in text(client.get(REGISTER))


def test_a_filed_incident_appears_on_the_next_view(app, login_as, browser_as, demo):
    client = settled(login_as("hq.qa@example.com"))
    before = refs(client.get(REGISTER))
    reporter = settled(browser_as("reporter@example.com"))
    response = reporter.post("/incidents/new", data=_filled(reporter))
    assert response.status_code == 302, text(response)[:500]
    after = refs(client.get(REGISTER))
    assert len(after) == len(before) + 1


def test_readers_never_share_a_page(app, login_as, browser_as, demo):
    hq = settled(login_as("hq.qa@example.com"))
    assert len(refs(hq.get("/incidents/"))) == 6
    # A reporter of one division sees only that division's incidents, at the same address.
    reporter = settled(browser_as("reporter@example.com"))
    assert len(refs(reporter.get("/incidents/"))) == 4
    # A change to the reader (their language) is a different page.
    user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    user.locale = "ja"
    demo.commit()
    assert "インシデント" in text(hq.get("/incidents/"))


def test_the_csrf_token_is_the_readers_own(app, login_as, browser_as, demo):
    first = settled(login_as("hq.qa@example.com"))
    first.get(REGISTER)  # kept
    second = settled(browser_as("hq.qa@example.com"))  # the same person in another browser: another session
    page = second.get(REGISTER)
    assert cached_pages(app) == 1
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert "\x00" not in page.get_data(as_text=True)
    # The token served from memory is valid for this browser's session: logging out works.
    response = second.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert second.get(REGISTER).status_code == 302  # logged out: sent to the login page


def test_pages_with_messages_are_not_kept(app, login_as, demo):
    client = login_as("hq.qa@example.com")  # the login left a "Welcome" message for the next page
    assert "Welcome" in text(client.get(REGISTER))
    assert cached_pages(app) == 0
    assert "Welcome" not in text(client.get(REGISTER))  # shown once, and the plain page is now kept
    assert cached_pages(app) == 1


def test_bad_filters_are_not_kept(app, login_as, demo):
    client = settled(login_as("hq.qa@example.com"))
    client.get(REGISTER)
    kept = cached_pages(app)
    response = client.get("/incidents/?aware_from=not-a-date")
    assert response.status_code == 422
    assert cached_pages(app) == kept


def test_without_the_marker_nothing_is_remembered(app, login_as, demo):
    demo.execute(sa.text("DELETE FROM counter WHERE name = 'register-page'"))
    demo.commit()
    client = settled(login_as("hq.qa@example.com"))
    client.get(REGISTER)
    client.get(REGISTER)
    assert cached_pages(app) == 0
