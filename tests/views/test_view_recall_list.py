"""The recall list pages by keyset cursors (as the register does) and filters by text, status, remedy, division."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from view_helpers import text

from qa_incidents.accounts.models import User
from qa_incidents.recalls.models import RecallCampaign


@pytest.fixture
def many(demo, clock):
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    division = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com")).division_id
    for n in range(1, 121):
        demo.add(RecallCampaign(reference=f"RC-LIST-{n:04d}", division_id=division, title=f"Listed campaign {n}",
                                remedy="refund" if n % 4 == 0 else "repair", owner_id=hq.id, created_by_id=hq.id,
                                updated_by_id=hq.id, created_at=clock(), updated_at=clock()))
    demo.commit()
    return division


def _refs(response) -> list[str]:
    return re.findall(r"RC-LIST-\d{4}", response.get_data(as_text=True))


def test_the_list_shows_fifty_a_page_and_pages_on(many, login_as):
    client = login_as("hq.qa@example.com")
    first = client.get("/recalls/")
    assert first.status_code == 200
    refs = _refs(first)
    assert len(set(refs)) == 50 and refs[0] == "RC-LIST-0120"
    nxt = re.search(r'rel="next" href="([^"]+)"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
    second = client.get(nxt)
    refs2 = _refs(second)
    assert len(set(refs2)) == 50 and refs2[0] == "RC-LIST-0070" and not set(refs) & set(refs2)
    assert 'rel="prev"' in second.get_data(as_text=True)
    assert "recalls" in text(first)


def test_filters_narrow_the_list_and_keep_the_values(many, login_as):
    client = login_as("hq.qa@example.com")
    found = client.get("/recalls/?q=RC-LIST-0042")
    assert _refs(found) and set(_refs(found)) == {"RC-LIST-0042"}
    assert 'value="RC-LIST-0042"' in found.get_data(as_text=True)
    refunds = client.get("/recalls/?remedy=refund")
    assert len(set(_refs(refunds))) == 30
    assert all(int(r[-4:]) % 4 == 0 for r in _refs(refunds))
    assert _refs(client.get("/recalls/?status=closed")) == []


def test_a_tampered_page_link_is_refused_not_a_500(many, login_as):
    client = login_as("hq.qa@example.com")
    assert client.get("/recalls/?after=not-a-cursor").status_code == 400
