"""The incident register: counts, scoping, filters, keyset pagination and bad input."""

from __future__ import annotations

import base64
import json
import re

from view_helpers import form_with, text

ALL = [f"INC-2026-{n:06d}" for n in range(1, 7)]
HA = ALL[:4]
CM = ALL[4:]


def refs(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The references listed in the register table, in order."""
    return re.findall(r'<a href="/incidents/\d+">(INC-\d{4}-\d{6})</a>', response.get_data(as_text=True))


def count_text(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<p class="counts" id="count">\s*<strong>([^<]+)</strong>', response.get_data(as_text=True))
    assert match, "no count on the page"
    return match.group(1)


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_head_office_and_executive_see_every_incident(login_as, browser_as):
    client = login_as("hq.qa@example.com")
    response = client.get("/incidents/")
    assert response.status_code == 200
    assert count_text(response) == "6 incidents"
    # Became aware (demo): #4 16 Nov, #1 13 Nov, #5 9 Nov, #2 6 Nov, #3 31 Oct, #6 23 Oct.
    assert refs(response) == ["INC-2026-000004", "INC-2026-000001", "INC-2026-000005", "INC-2026-000002",
                              "INC-2026-000003", "INC-2026-000006"]
    body = text(response)
    assert "Reported: 6" in body
    assert "Refrigerator caught fire in kitchen" in body
    assert "Cable Materials" in body and "Home Appliances" in body
    executive = browser_as("executive@example.com").get("/incidents/")
    assert count_text(executive) == "6 incidents"
    assert "File an incident" not in text(executive)


def test_division_reporters_see_only_own_division(login_as, browser_as):
    client = login_as("reporter@example.com")
    response = client.get("/incidents/")
    assert count_text(response) == "4 incidents"
    assert sorted(refs(response)) == HA
    body = response.get_data(as_text=True)
    for reference in CM:
        assert reference not in body
    assert "Overheated rolling-stock cable" not in body
    # The division filter offers nothing but "My division", and a forged one cannot widen the view.
    assert [o.label for o in form_with(response, "q").selects["division"]] == ["My division"]
    forged = client.get("/incidents/?division=5")
    assert forged.status_code == 422
    assert not set(refs(forged)) & set(CM)
    cable = browser_as("cable.reporter@example.com")
    response = cable.get("/incidents/")
    assert count_text(response) == "2 incidents"
    assert sorted(refs(response)) == CM


def test_filters_narrow_the_register(login_as):
    client = login_as("hq.qa@example.com")
    form = form_with(client.get("/incidents/"), "q")
    cm = form.option_value("division", "Cable Materials")
    cables = form.option_value("category", "Wires & cables")
    fridges = form.option_value("category", "Refrigerators")

    cases = {
        "status=reported": ALL,
        "status=closed": [],
        "severity=S1": [],
        f"division={cm}": CM,
        f"category={cables}": CM,  # a category includes its sub-categories
        f"category={fridges}": ["INC-2026-000001"],
        "country=US": ["INC-2026-000003"],
        "q=glass": ["INC-2026-000003"],
        "q=r-hw540": ["INC-2026-000001"],  # product model, any case
        "q=INC-2026-000005": ["INC-2026-000005"],
        "q=fire+kitchen": ["INC-2026-000001"],  # every word must match
        "q=100%25": [],  # % is a literal, not a wildcard
        # Aware dates are read in the viewer's zone (Tokyo): #2 6 Nov 18:00, #5 9 Nov 14:00.
        "aware_from=2026-11-06&aware_to=2026-11-09": ["INC-2026-000002", "INC-2026-000005"],
        "aware_from=2026-11-14": ["INC-2026-000001", "INC-2026-000004"],
        f"aware_to=2026-11-01&division={cm}": ["INC-2026-000006"],
    }
    for query, expected in cases.items():
        response = client.get(f"/incidents/?{query}")
        assert response.status_code == 200, query
        assert sorted(refs(response)) == sorted(expected), query
        n = len(expected)
        assert count_text(response) == (f"{n} incident" if n == 1 else f"{n} incidents"), query
        if not expected:
            assert "No incidents match these filters." in text(response), query


def test_filters_are_kept_in_the_form(login_as):
    response = login_as("hq.qa@example.com").get("/incidents/?q=glass&country=US&aware_from=2026-10-01&sort=occurred_asc")
    form = form_with(response, "q")
    assert form.values["q"] == "glass"
    assert form.values["country"] == "US"
    assert form.values["aware_from"] == "2026-10-01"
    assert form.values["sort"] == "occurred_asc"


def test_sort_orders(login_as):
    client = login_as("hq.qa@example.com")
    assert refs(client.get("/incidents/?sort=reference_asc")) == ALL
    assert refs(client.get("/incidents/?sort=reference_desc")) == ALL[::-1]
    # Occurred (demo): #6 20 Oct, #3 29 Oct, #2 5 Nov, #5 9 Nov, #1 13 Nov, #4 16 Nov.
    assert refs(client.get("/incidents/?sort=occurred_asc")) == [
        "INC-2026-000006", "INC-2026-000003", "INC-2026-000002", "INC-2026-000005", "INC-2026-000001",
        "INC-2026-000004"]


def _walk(client, url: str, rel: str = "next") -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Follow rel=next (or prev) links from url until there are none; the references on each page."""
    pages = []
    for _ in range(20):
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(refs(response))
        match = re.search(rf'<a rel="{rel}" href="([^"]+)"', response.get_data(as_text=True))
        if not match:
            return pages
        url = match.group(1).replace("&amp;", "&")
    raise AssertionError("the pager never ended")


def test_pagination_visits_every_incident_once(app, login_as):
    app.config["REGISTER_PAGE_SIZE"] = 2
    client = login_as("hq.qa@example.com")
    first = client.get("/incidents/")
    assert count_text(first) == "6 incidents"  # the count is of all matches, not of the page
    assert "Previous" not in text(first)
    pages = _walk(client, "/incidents/")
    assert [len(p) for p in pages] == [2, 2, 2]
    seen = [r for page in pages for r in page]
    assert sorted(seen) == ALL and len(set(seen)) == 6


def test_pagination_keeps_filters_and_sort(app, login_as):
    app.config["REGISTER_PAGE_SIZE"] = 1
    client = login_as("reporter@example.com")
    pages = _walk(client, "/incidents/?sort=reference_asc&country=JP")
    assert pages == [["INC-2026-000001"], ["INC-2026-000002"]]
    pages = _walk(client, "/incidents/?sort=occurred_desc")
    assert [r for page in pages for r in page] == ["INC-2026-000004", "INC-2026-000001", "INC-2026-000002",
                                                    "INC-2026-000003"]


def test_previous_link_goes_back(app, login_as):
    app.config["REGISTER_PAGE_SIZE"] = 2
    client = login_as("hq.qa@example.com")
    first = refs(client.get("/incidents/?sort=reference_asc"))
    second = client.get("/incidents/?sort=reference_asc&after=" + _cursor([2, 2]))
    assert refs(second) == ["INC-2026-000003", "INC-2026-000004"]
    prev = re.search(r'<a rel="prev" href="([^"]+)"', second.get_data(as_text=True))
    assert prev, "no Previous link on page 2"
    assert refs(client.get(prev.group(1).replace("&amp;", "&"))) == first == ["INC-2026-000001", "INC-2026-000002"]


def test_tampered_cursor_is_a_bad_request(login_as):
    client = login_as("hq.qa@example.com")
    tampered = [
        "after=not-a-cursor!!",
        "after=" + _cursor(["yesterday", 3]),
        "after=" + _cursor(["2026-11-10T00:00:00", 3]),  # no zone
        "after=" + _cursor(["2026-11-10T00:00:00+00:00", "3"]),
        "after=" + _cursor({"a": 1}),
        "after=" + _cursor(5),
        "before=" + _cursor([None, None]),
        "sort=reference_asc&after=" + _cursor(["x", 1]),
        "sort=reference_asc&after=" + _cursor([True, 1]),
        "sort=reference_asc&after=" + _cursor([10**30, 1]),
        "after=" + _cursor(["2026-11-10T00:00:00+00:00", 10**30]),
    ]
    for query in tampered:
        response = client.get(f"/incidents/?{query}")
        assert response.status_code == 400, query
        assert "Bad request" in text(response), query


def test_bad_filter_values_give_a_message_not_an_error(login_as):
    client = login_as("hq.qa@example.com")
    response = client.get("/incidents/?aware_from=2026-13-45")
    assert response.status_code == 422
    assert "Aware from: use the form YYYY-MM-DD." in text(response)
    assert count_text(response) == "6 incidents"  # the bad filter is ignored, the rest still works
    response = client.get("/incidents/?aware_to=yesterday&country=US")
    assert response.status_code == 422
    assert "Aware to: use the form YYYY-MM-DD." in text(response)
    assert refs(response) == ["INC-2026-000003"]
    for query in ("aware_from=0001-01-01", "aware_to=9999-12-31"):  # real dates, but out of range in Tokyo
        response = client.get(f"/incidents/?{query}")
        assert response.status_code == 422, query
        assert "use the form YYYY-MM-DD." in text(response), query
    response = client.get("/incidents/?status=bogus")
    assert response.status_code == 422
    assert "Status:" in text(response)
    assert count_text(response) == "6 incidents"
    response = client.get("/incidents/?category=abc")
    assert response.status_code == 422
