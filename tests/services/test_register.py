"""The incident register: what each user sees, every filter, counts, and keyset pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.incidents.service import SORTS, RegisterFilter

HA = ["INC-2026-000001", "INC-2026-000002", "INC-2026-000003", "INC-2026-000004"]
CM = ["INC-2026-000005", "INC-2026-000006"]


def refs(page: service.RegisterPage) -> set[str]:
    return {i.reference for i in page.items}


def find(session, user, **filters) -> set[str]:
    page = service.register(session, user=user, filters=RegisterFilter(**filters), limit=100)
    assert page.total == len(page.items)
    return refs(page)


def incident(session, reference: str) -> Incident:
    return session.scalar(sa.select(Incident).where(Incident.reference == reference))


def category_id(session, code: str) -> int:
    return session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == code))


@pytest.mark.parametrize(
    "email, expected",
    [
        ("reporter@example.com", HA),
        ("division.qa@example.com", HA),
        ("cable.reporter@example.com", CM),
        ("hq.qa@example.com", HA + CM),
        ("executive@example.com", HA + CM),
        ("engineer@example.com", []),
        ("admin@example.com", []),
    ],
)
def test_register_shows_only_what_the_user_may_read(demo, demo_user, email, expected):
    page = service.register(demo, user=demo_user(email), filters=RegisterFilter())
    assert refs(page) == set(expected)
    assert page.total == len(expected)
    assert sum(page.by_status.values()) == len(expected)


def test_a_division_filter_cannot_widen_the_scope(demo, demo_user, demo_division):
    reporter = demo_user("reporter@example.com")
    assert find(demo, reporter, division_id=demo_division("CM").id) == set()


def test_filter_by_status_and_counts_by_status(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    incident(demo, HA[0]).status = Status.TRIAGED
    incident(demo, CM[0]).status = Status.CLOSED
    demo.commit()
    page = service.register(demo, user=hq, filters=RegisterFilter(status=Status.TRIAGED))
    assert refs(page) == {HA[0]}
    assert page.total == 1
    # The status counts ignore the status filter, so the tabs can show every status.
    assert page.by_status == {"reported": 4, "triaged": 1, "closed": 1}
    reporter_page = service.register(demo, user=demo_user("reporter@example.com"), filters=RegisterFilter())
    assert reporter_page.by_status == {"reported": 3, "triaged": 1}


def test_filter_by_severity(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    incident(demo, HA[1]).severity = Severity.S1
    incident(demo, CM[1]).severity = Severity.S1
    incident(demo, HA[2]).severity = Severity.S3
    demo.commit()
    assert find(demo, hq, severity=Severity.S1) == {HA[1], CM[1]}
    assert find(demo, hq, severity=Severity.S3) == {HA[2]}
    assert find(demo, hq, severity=Severity.S2) == set()
    assert find(demo, demo_user("reporter@example.com"), severity=Severity.S1) == {HA[1]}


def test_filter_by_division(demo, demo_user, demo_division):
    hq = demo_user("hq.qa@example.com")
    assert find(demo, hq, division_id=demo_division("CM").id) == set(CM)
    assert find(demo, hq, division_id=demo_division("HA").id) == set(HA)
    assert find(demo, hq, division_id=demo_division("SS").id) == set()


def test_filter_by_category_includes_sub_categories(demo, demo_user):
    executive = demo_user("executive@example.com")
    cases = {
        "home": set(HA),  # the parent takes in all its sub-categories
        "home.refrigerators": {HA[0]},
        "home.heaters": {HA[1]},
        "cables": set(CM),
        "cables.power": {CM[1]},
        "magnets": set(),
    }
    found = {code: find(demo, executive, category_id=category_id(demo, code)) for code in cases}
    assert found == cases


def test_filter_by_category_reaches_grandchildren(demo, demo_user, make_facts, clock):
    from qa_incidents.catalogue import service as catalogue

    parent = category_id(demo, "home.refrigerators")
    grandchild = catalogue.save_category(demo, data=catalogue.CategoryInput(code="home.refrigerators.mini",
                                                                          name="Mini fridges", parent_id=parent),
                                         category_id=None, actor_id=None, now=clock())
    ha = incident(demo, HA[0]).division_id
    mini = catalogue.save_product(demo, data=catalogue.ProductInput(division_id=ha, category_id=grandchild.id,
                                                                   model="MF-10", name="Mini fridge"),
                                  product_id=None, actor_id=None, now=clock())
    filed = service.file_incident(demo, user=demo_user("reporter@example.com"), facts=make_facts(product_id=mini.id),
                                  now=clock())
    demo.commit()
    hq = demo_user("hq.qa@example.com")
    assert find(demo, hq, category_id=category_id(demo, "home")) == {*HA, filed.reference}
    assert find(demo, hq, category_id=parent) == {HA[0], filed.reference}


def test_filter_by_country(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    assert find(demo, hq, country="JP") == {HA[0], HA[1]}
    assert find(demo, hq, country="GB") == {CM[0]}
    assert find(demo, hq, country="FR") == set()


def test_filter_by_aware_date_range_from_inclusive_to_exclusive(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    target = incident(demo, HA[3])  # the most recent one
    aware = target.aware_at
    assert find(demo, hq, aware_from=aware) == {HA[3]}
    assert find(demo, hq, aware_from=aware + timedelta(microseconds=1)) == set()
    assert HA[3] not in find(demo, hq, aware_to=aware)
    assert HA[3] in find(demo, hq, aware_to=aware + timedelta(microseconds=1))
    everything = {i.reference: i.aware_at for i in demo.scalars(sa.select(Incident))}
    start, end = aware - timedelta(days=12), aware
    expected = {r for r, a in everything.items() if start <= a < end}
    assert expected and expected != set(everything)
    assert find(demo, hq, aware_from=start, aware_to=end) == expected


def test_text_search(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    cases = {
        "refrigerator": {HA[0]},
        "REFRIGERATOR": {HA[0]},  # case does not matter
        "ras-x40": {HA[3]},  # the product model (not in any text of the incident itself)
        "Washer-Dryer": {HA[2]},  # the product name
        "inc-2026-000005": {CM[0]},  # the reference
        "derby": {CM[0]},  # the place
        "smoke tokyo": {HA[0]},  # every word must match
        "nothing-matches-this": set(),
    }
    assert {text: find(demo, hq, text=text) for text in cases} == cases


def test_text_search_searches_lots_and_serials(demo, demo_user, make_facts, clock):
    filed = service.file_incident(demo, user=demo_user("reporter@example.com"),
                                  facts=make_facts(lot_numbers="LOT-77Q", serial_numbers="SN-ZX-123"), now=clock())
    demo.commit()
    hq = demo_user("hq.qa@example.com")
    assert find(demo, hq, text="lot-77q") == {filed.reference}
    assert find(demo, hq, text="zx-123") == {filed.reference}


def test_like_wildcards_in_the_search_are_taken_literally(demo, demo_user, make_facts, clock):
    reporter = demo_user("reporter@example.com")
    titles = ["Label says 100% cotton", "Label says 1000 cotton", "Part A_B cracked", "Part AxB cracked"]
    filed = {t: service.file_incident(demo, user=reporter, facts=make_facts(title=t), now=clock()).reference
             for t in titles}
    demo.commit()
    assert find(demo, reporter, text="100%") == {filed["Label says 100% cotton"]}
    assert find(demo, reporter, text="%") == {filed["Label says 100% cotton"]}
    assert find(demo, reporter, text="A_B") == {filed["Part A_B cracked"]}
    assert find(demo, reporter, text="a_b") == {filed["Part A_B cracked"]}
    assert find(demo, reporter, text="_") == {filed["Part A_B cracked"]}


def test_filters_combine(demo, demo_user, demo_division):
    hq = demo_user("hq.qa@example.com")
    assert find(demo, hq, division_id=demo_division("HA").id, country="JP", text="heater") == {HA[1]}
    assert find(demo, hq, division_id=demo_division("CM").id, country="JP") == set()


# --- keyset pagination -----------------------------------------------------------------


@pytest.fixture
def many(demo, demo_user, make_facts, clock) -> list[Incident]:
    """Eleven incidents for head office, several sharing the same awareness instant (ties broken by id)."""
    hq = demo_user("hq.qa@example.com")
    shared = clock() - timedelta(days=2)
    for n, model in enumerate(["R-HW540", "RS-FR95", "BD-SX120", "EX-15A3", "OH-F33"]):
        service.file_incident(demo, user=hq, facts=make_facts(model, title=f"Tie {n}", occurred_at=shared,
                                                              aware_at=shared), now=clock())
    demo.commit()
    return list(demo.scalars(sa.select(Incident)))


def expected_order(incidents: list[Incident], sort: str) -> list[str]:
    column, descending = SORTS[sort]
    ordered = sorted(incidents, key=lambda i: (getattr(i, column.key), i.id), reverse=descending)
    return [i.reference for i in ordered]


@pytest.mark.parametrize("sort", list(SORTS))
def test_walk_every_page_forwards_then_backwards(demo, demo_user, many, sort):
    hq = demo_user("hq.qa@example.com")
    expected = expected_order(many, sort)
    assert len(expected) == 11

    forward: list[list[str]] = []
    page = service.register(demo, user=hq, filters=RegisterFilter(), sort=sort, limit=2)
    assert page.prev_cursor is None
    while True:
        assert page.total == 11 and len(page.items) <= 2
        forward.append([i.reference for i in page.items])
        if page.next_cursor is None:
            break
        page = service.register(demo, user=hq, filters=RegisterFilter(), sort=sort, limit=2, after=page.next_cursor)
        assert page.prev_cursor is not None
    assert [r for p in forward for r in p] == expected  # each once, in order
    assert len(forward) == 6 and forward[-1] == expected[-1:]

    backward: list[list[str]] = []
    while page.prev_cursor is not None:
        page = service.register(demo, user=hq, filters=RegisterFilter(), sort=sort, limit=2, before=page.prev_cursor)
        assert page.next_cursor is not None
        backward.append([i.reference for i in page.items])
    assert backward == forward[-2::-1]  # the same pages, met in reverse


def test_pagination_respects_filters_and_scope(demo, demo_user, many):
    reporter = demo_user("reporter@example.com")
    visible = [i for i in many if i.division.code == "HA"]
    expected = expected_order(visible, "aware_desc")
    seen: list[str] = []
    cursor = None
    while True:
        page = service.register(demo, user=reporter, filters=RegisterFilter(), limit=3, after=cursor)
        seen += [i.reference for i in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == expected


def test_an_unknown_sort_falls_back_to_newest_awareness_first(demo, demo_user):
    page = service.register(demo, user=demo_user("hq.qa@example.com"), filters=RegisterFilter(), sort="drop table")
    assert page.sort == "aware_desc"
    assert [i.aware_at for i in page.items] == sorted((i.aware_at for i in page.items), reverse=True)


def test_a_tampered_cursor_is_refused(demo, demo_user):
    with pytest.raises(ValueError):
        service.register(demo, user=demo_user("hq.qa@example.com"), filters=RegisterFilter(), after="bm9wZQ")


def test_an_empty_register(demo, demo_user):
    page = service.register(demo, user=demo_user("engineer@example.com"), filters=RegisterFilter())
    assert (page.items, page.total, page.by_status, page.next_cursor, page.prev_cursor) == ([], 0, {}, None, None)
