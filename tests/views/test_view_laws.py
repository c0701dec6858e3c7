"""The laws map's pages through the test client: the matrix, a law's page, upcoming changes,
"What applied?", and the editors' forms (refused to every other role)."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
import sqlalchemy as sa
from view_helpers import csrf_token, flashes, form_with, text
from werkzeug.datastructures import MultiDict

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.incidents.models import Incident
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, Obligation
from qa_incidents.notifications.deadlines import RULES

EMAILS = {
    "reporter": "reporter@example.com",
    "division_qa": "division.qa@example.com",
    "cable_reporter": "cable.reporter@example.com",
    "head_office_qa": "hq.qa@example.com",
    "executive": "executive@example.com",
    "engineer": "engineer@example.com",
    "admin": "admin@example.com",
}


def cell_html(response, category_code: str, jurisdiction_code: str) -> str | None:
    """The inner HTML of one cell of the matrix, or None when the row or column is not shown."""
    match = re.search(rf'<td data-cell="{re.escape(category_code)}/{jurisdiction_code}">(.*?)</td>',
                      response.get_data(as_text=True), flags=re.S)
    return match.group(1) if match else None


def in_force(response, category_code: str, jurisdiction_code: str) -> list[str]:
    """The laws a cell lists as in force (not those only coming)."""
    cell = cell_html(response, category_code, jurisdiction_code) or ""
    return re.findall(r'<li><a class="law-link"[^>]*>([^<]+)</a>', cell)


def changes(response, category_code: str, jurisdiction_code: str) -> list[str]:
    """The "changes on …" badges of a cell."""
    cell = cell_html(response, category_code, jurisdiction_code) or ""
    return [html.unescape(t) for t in re.findall(r'<a class="badge law-change"[^>]*>([^<]+)</a>', cell)]


def rows(response) -> set[str]:
    """The category codes of the matrix's rows."""
    return {code for code, _j in re.findall(r'<td data-cell="([^"/]+)/(\w+)">', response.get_data(as_text=True))}


def post(client, path, data):
    """Post as a browser would (multi-selects as repeated keys), with a valid CSRF token."""
    body = MultiDict(data)
    body["csrf_token"] = csrf_token(client, "/account")
    return client.post(path, data=body)


def law_id(fresh, short_name: str) -> int:
    return fresh(sa.select(Law.id).where(Law.short_name == short_name))


def category_id(fresh, code: str) -> int:
    return fresh(sa.select(ProductCategory.id).where(ProductCategory.code == code))


# --- the map -----------------------------------------------------------------------------


def test_reporter_sees_the_matrix_for_today(browser_as):
    page = browser_as(EMAILS["reporter"]).get("/laws/")
    assert page.status_code == 200
    assert in_force(page, "home.refrigerators", "JP") == ["JP-CPSA", "JP-PSE"]
    assert "EU-GPSR" in in_force(page, "home.refrigerators", "EU")
    assert "EU-GPSD" not in in_force(page, "home.refrigerators", "EU")
    body = page.get_data(as_text=True)
    assert 'title="Home appliances › Refrigerators"' in body
    # Columns: countries first, blocs such as the EU last.
    columns = re.findall(r'<span class="j-code">(\w+)</span>', body)
    assert columns[-1] == "EU" and "JP" in columns
    shown = text(page)
    assert "Laws in force on 2026-11-20 for the product categories of Home Appliances" in shown
    assert "is enforced within 365 days" in shown  # the legend explains the marks


def test_before_the_gpsr_the_eu_cell_shows_the_gpsd(browser_as):
    page = browser_as(EMAILS["reporter"]).get("/laws/?on=2024-12-12")
    assert page.status_code == 200
    assert in_force(page, "home.refrigerators", "EU") == ["EU-ENERGY-LABEL", "EU-GPSD", "EU-LVD", "EU-REACH-33", "EU-RoHS"]
    # The GPSR is not in force yet: it is shown only as coming.
    assert "changes on 2024-12-13" in changes(page, "home.refrigerators", "EU")
    assert form_with(page, "on").values["on"] == "2024-12-12"


def test_demo_amendment_is_marked_as_an_upcoming_change_on_refrigerators(browser_as):
    page = browser_as(EMAILS["reporter"]).get("/laws/")
    assert changes(page, "home.refrigerators", "JP") == ["changes on 2027-01-03"]
    assert re.search(r'href="/laws/\d+#amendment-\d+" title="JP-PSE: Demo: training amendment',
                     cell_html(page, "home.refrigerators", "JP"))
    assert changes(page, "home.washers", "JP") == []


@pytest.mark.parametrize("value, message", [
    ("2024-13-45", "Enter a real date, e.g. 2024-12-13."),
    ("yesterday", "Enter a real date, e.g. 2024-12-13."),
    ("9999-12-31", "This date is out of range."),
])
def test_a_bad_date_is_refused_with_a_message(browser_as, value, message):
    page = browser_as(EMAILS["reporter"]).get(f"/laws/?on={value}")
    assert page.status_code == 422
    assert form_with(page, "on").errors["on"] == message
    assert form_with(page, "on").values["on"] == value
    assert 'id="laws-map"' not in page.get_data(as_text=True)


def test_an_unknown_division_is_refused(browser_as):
    page = browser_as(EMAILS["reporter"]).get("/laws/?division=99999")
    assert page.status_code == 422
    assert "Choose a product line from the list." in text(page)


def test_division_filter_narrows_the_rows(browser_as, fresh):
    cables = browser_as(EMAILS["cable_reporter"]).get("/laws/")
    assert rows(cables) == {"cables", "cables.rolling-stock", "cables.power"}
    assert "Wires &amp; cables" in cables.get_data(as_text=True)
    assert "JP-CPSA" in in_force(cables, "cables.power", "JP")

    ha = fresh(sa.select(Division.id).where(Division.code == "HA"))
    chosen = browser_as(EMAILS["cable_reporter"]).get(f"/laws/?division={ha}")
    assert "home.refrigerators" in rows(chosen) and "cables" not in rows(chosen)

    everything = browser_as(EMAILS["cable_reporter"]).get("/laws/?division=all")
    assert {"home.refrigerators", "cables.power", "medical", "steel"} <= rows(everything)
    options = form_with(everything, "division").selects["division"]
    assert options[0].label == "All product lines" and options[0].selected


def test_head_office_sees_every_product_line_by_default(browser_as):
    page = browser_as(EMAILS["head_office_qa"]).get("/laws/")
    assert {"home.refrigerators", "cables.power", "medical", "vehicle"} <= rows(page)
    assert "US-FDA-MDR" in in_force(page, "medical", "US")


@pytest.mark.parametrize("who", list(EMAILS))
def test_every_role_reads_the_map_and_finds_it_in_the_menu(browser_as, who):
    client = browser_as(EMAILS[who])
    page = client.get("/account")
    assert re.search(r'<a href="/laws/"[^>]*>Laws map</a>', page.get_data(as_text=True))
    for path in ("/laws/", "/laws/upcoming", "/laws/applicable", "/laws/jurisdictions"):
        assert client.get(path).status_code == 200, path


def test_the_map_needs_a_login(client, demo):
    response = client.get("/laws/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- a law's page -------------------------------------------------------------------------


def test_law_page_shows_obligations_deadline_rule_and_the_unconfirmed_box(browser_as, fresh):
    page = browser_as(EMAILS["reporter"]).get(f"/laws/{law_id(fresh, 'JP-CPSA')}")
    assert page.status_code == 200
    shown = text(page)
    for expected in ("消費生活用製品安全法", "Consumer Product Safety Act", "Act No. 31 of 1973, Art. 35",
                     "Consumer Affairs Agency (reports); METI (recalls)", "In force", "Japan (JP)",
                     "Home appliances", "Power cords and extension cables",
                     "JP-CPSA-35 Serious product accident report (重大製品事故報告)",
                     "Death", "Serious injury", "CO poisoning", "Fire",
                     "The clock starts when any department first knows.",
                     # the deadline rule in words, from the deadline engine
                     "Days counting the day of knowledge (Asia/Tokyo): 10 days counting the day any department "
                     "first learns of the accident",
                     # day 10 is Sunday 29 November: an administrative holiday, so Monday (Act No. 91 of 1988)
                     "10 days counting the day of knowledge, Asia/Tokyo: 2026-11-20 12:00 JST → 2026-11-30 23:59:59 JST",
                     "被害の状況（死亡・重傷（治療期間30日以上）・軽傷（30日未満）・後遺障害・被害なし）",
                     "Consumer Affairs Agency web form, or Form 1 by e-mail or fax",
                     "Recall reports go to METI.", "Cabinet Office Ordinance Art. 3 Form 1"):
        assert expected in shown, expected
    body = page.get_data(as_text=True)
    assert '<a href="https://www.meti.go.jp/product_safety/" rel="noopener noreferrer" class="url">' \
           'https://www.meti.go.jp/product_safety/</a>' in body
    box = re.search(r'<aside class="tbc" id="obligation-\d+-unconfirmed".*?</aside>', body, flags=re.S).group(0)
    assert "To be confirmed by the legal department" in box
    assert "Whether a due date on a weekend or holiday moves." in box  # the law map's own note
    assert "recall progress reports" in box  # and the engine's


def test_law_wide_unconfirmed_points_are_boxed(browser_as, fresh):
    page = browser_as(EMAILS["engineer"]).get(f"/laws/{law_id(fresh, 'JP-PSE')}")
    box = re.search(r'<aside class="tbc" id="law-unconfirmed".*?</aside>', page.get_data(as_text=True), flags=re.S)
    assert box and "Item counts (116 specified, 341 others) come from secondary sources." in box.group(0)
    assert "To be confirmed by the legal department" in box.group(0)


def test_law_page_shows_amendments_as_a_timeline_with_upcoming_marked(browser_as, fresh):
    page = browser_as(EMAILS["reporter"]).get(f"/laws/{law_id(fresh, 'JP-PSE')}")
    shown = text(page)
    assert "upcoming: in 44 days Enforced on 2027-01-03 · promulgated on 2026-11-19" in shown
    assert "Demo: training amendment (not a real legal change)" in shown
    assert "Affects: Home appliances › Refrigerators" in shown
    gpsr = text(browser_as(EMAILS["reporter"]).get(f"/laws/{law_id(fresh, 'EU-GPSR')}"))
    assert "Enforced on 2024-12-13 · promulgated on 2023-05-10" in gpsr
    assert "upcoming" not in gpsr


def test_unknown_law_is_not_found(browser_as):
    assert browser_as(EMAILS["reporter"]).get("/laws/99999").status_code == 404


def refs(fresh, *ids):
    return {fresh(sa.select(Incident.reference).where(Incident.id == i)) for i in ids}


def test_past_incidents_respect_division_scoping(browser_as, fresh):
    jp_cpsa, ca_ccpsa = law_id(fresh, "JP-CPSA"), law_id(fresh, "CA-CCPSA")
    ha_fire, ha_co, cable_cord = refs(fresh, 1), refs(fresh, 2), refs(fresh, 6)
    other = refs(fresh, 3, 4, 5)

    ha = text(browser_as(EMAILS["reporter"]).get(f"/laws/{jp_cpsa}"))
    assert all(r in ha for r in ha_fire | ha_co)
    assert not any(r in ha for r in other | cable_cord)
    # Newest first: the fire (6 days ago) before the CO release (14 days ago).
    assert ha.index(next(iter(ha_fire))) < ha.index(next(iter(ha_co)))
    # The Canadian extension cord belongs to Cable Materials: not shown to Home Appliances.
    assert not any(r in text(browser_as(EMAILS["reporter"]).get(f"/laws/{ca_ccpsa}")) for r in cable_cord)
    assert all(r in text(browser_as(EMAILS["cable_reporter"]).get(f"/laws/{ca_ccpsa}")) for r in cable_cord)
    assert all(r in text(browser_as(EMAILS["head_office_qa"]).get(f"/laws/{ca_ccpsa}")) for r in cable_cord)

    for who in ("engineer", "admin"):
        page = text(browser_as(EMAILS[who]).get(f"/laws/{jp_cpsa}"))
        assert "Your role does not read incidents, so none are listed here." in page
        assert not any(r in page for r in ha_fire | ha_co)


# --- upcoming and "What applied?" ----------------------------------------------------------


def test_upcoming_lists_the_demo_amendment_with_days_left(browser_as):
    page = browser_as(EMAILS["cable_reporter"]).get("/laws/upcoming")
    assert page.status_code == 200
    row = re.search(r"<tr[^>]*>\s*<td>2027-01-03</td>.*?</tr>", page.get_data(as_text=True), flags=re.S).group(0)
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    for expected in ("44 days", "JP-PSE", "Japan (JP)", "Demo: training amendment (not a real legal change)",
                     "Home appliances › Refrigerators"):
        assert expected in shown, expected


@pytest.mark.parametrize("on, laws, missing", [
    # With the technical laws of the compliance register (energy labelling, LVD, REACH) that cover refrigerators too.
    ("2024-12-12", ["EU-ENERGY-LABEL", "EU-GPSD", "EU-LVD", "EU-REACH-33", "EU-RoHS"], "EU-GPSR"),
    ("2024-12-13", ["EU-ENERGY-LABEL", "EU-GPSR", "EU-LVD", "EU-REACH-33", "EU-RoHS"], "EU-GPSD"),
])
def test_what_applied_to_refrigerators_in_germany(browser_as, fresh, on, laws, missing):
    fridge = category_id(fresh, "home.refrigerators")
    page = browser_as(EMAILS["reporter"]).get(f"/laws/applicable?category={fridge}&country=DE&on={on}")
    assert page.status_code == 200
    shown = text(page)
    assert f"Home appliances › Refrigerators in Germany on {on}" in shown
    found = re.findall(r'<h3 id="law-\d+-h"><a href="/laws/\d+">([^<]+)</a>', page.get_data(as_text=True))
    assert found == laws and missing not in found
    assert "Applies through European Union (EU) because it covers Home appliances." in shown
    if on == "2024-12-13":
        assert "EU-GPSR-20 Accident notification (Art. 20) Death, Serious injury No fixed deadline" in shown
        assert "'Without undue delay': no legal day count" in shown
    else:
        assert "EU-GPSR-20" not in shown


def test_what_applied_keeps_bad_input(browser_as, fresh):
    fridge = category_id(fresh, "home.refrigerators")
    page = browser_as(EMAILS["reporter"]).get(f"/laws/applicable?category={fridge}&country=XX&on=2024-02-30")
    assert page.status_code == 422
    form = form_with(page, "country")
    assert form.errors == {"country": "Choose a country from the list.", "on": "Enter a real date, e.g. 2024-12-13."}
    assert form.values["on"] == "2024-02-30" and form.values["category"] == str(fridge)
    assert 'id="results"' not in page.get_data(as_text=True)


def test_what_applied_starts_with_an_empty_form(browser_as):
    page = browser_as(EMAILS["engineer"]).get("/laws/applicable")
    assert page.status_code == 200
    assert form_with(page, "on").values["on"] == "2026-11-20"
    assert "Germany (DE)" in [o.label for o in form_with(page, "country").selects["country"]]


# --- editing -------------------------------------------------------------------------------


EDIT_PAGES = ["/laws/new", "/laws/{law}/edit", "/laws/{law}/obligations/new", "/laws/obligations/{obligation}/edit",
              "/laws/{law}/amendments/new", "/laws/amendments/{amendment}/edit", "/laws/jurisdictions/new",
              "/laws/jurisdictions/{jurisdiction}/edit"]


def edit_paths(fresh):
    ids = {"law": law_id(fresh, "JP-PSE"),
           "obligation": fresh(sa.select(Obligation.id).where(Obligation.regime_code == "JP-CPSA-35")),
           "amendment": fresh(sa.select(Amendment.id).where(Amendment.title.like("Demo:%"))),
           "jurisdiction": fresh(sa.select(Jurisdiction.id).where(Jurisdiction.code == "JP"))}
    return [p.format(**ids) for p in EDIT_PAGES]


@pytest.mark.parametrize("who", ["reporter", "division_qa", "executive", "engineer"])
def test_other_roles_may_not_edit_the_map(browser_as, fresh, who):
    client = browser_as(EMAILS[who])
    before = fresh(sa.select(sa.func.count(Law.id)))
    for path in edit_paths(fresh):
        assert client.get(path).status_code == 403, path
        assert post(client, path, {"short_name": "X", "title": "X", "code": "XX"}).status_code == 403, path
    assert fresh(sa.select(sa.func.count(Law.id))) == before
    law_page = client.get(f"/laws/{law_id(fresh, 'JP-PSE')}").get_data(as_text=True)
    assert "Edit law" not in law_page and "/edit" not in law_page


@pytest.mark.parametrize("who", ["head_office_qa", "admin"])
def test_editors_open_every_edit_page(browser_as, fresh, who):
    client = browser_as(EMAILS[who])
    for path in edit_paths(fresh):
        assert client.get(path).status_code == 200, path


def new_law_data(page, fresh, **changes):
    form = form_with(page, "short_name")
    data = MultiDict(form.data(**{"short_name": "JP-TEST", "name_original": "テスト法", "name_en": "Test Act",
                                  "citation": "Act No. 1 of 2026", "url": "https://example.com/test-act", **changes}))
    data["jurisdiction_id"] = form.option_value("jurisdiction_id", "JP — Japan")
    data.setlist("category_ids", [str(category_id(fresh, "home.refrigerators"))])
    return data


def test_head_office_creates_a_law_and_it_appears_in_the_matrix(browser_as, fresh):
    hq = browser_as(EMAILS["head_office_qa"])
    response = post(hq, "/laws/new", new_law_data(hq.get("/laws/new"), fresh))
    assert response.status_code == 302, text(response)
    new_id = law_id(fresh, "JP-TEST")
    assert response.headers["Location"].endswith(f"/laws/{new_id}")
    assert "Law JP-TEST saved." in flashes(hq.get(f"/laws/{new_id}"))

    page = hq.get("/laws/")
    assert "JP-TEST" in in_force(page, "home.refrigerators", "JP")
    assert "JP-TEST" not in in_force(page, "home.washers", "JP")
    # The reporter of Home Appliances sees it too.
    assert "JP-TEST" in in_force(browser_as(EMAILS["reporter"]).get("/laws/"), "home.refrigerators", "JP")

    history = text(hq.get(f"/laws/{new_id}"))
    assert "Yuki Nakamura · Law JP-TEST created" in history
    assert "Categories added — Home appliances › Refrigerators" in history


def test_a_law_with_bad_input_is_refused_and_the_input_kept(browser_as, fresh):
    hq = browser_as(EMAILS["head_office_qa"])
    data = new_law_data(hq.get("/laws/new"), fresh, short_name="JP-CPSA", url="javascript:alert(1)",
                        status="repealed", in_force_from="2026-01-01", repealed_on="")
    response = post(hq, "/laws/new", data)
    assert response.status_code == 422
    form = form_with(response, "short_name")
    assert form.errors == {"url": "Enter a web address starting with https://.",
                           "repealed_on": "Give the day from which a repealed law no longer applies.",
                           "short_name": "Another law already has this short name."}
    assert form.values["name_en"] == "Test Act" and form.values["in_force_from"] == "2026-01-01"
    assert [o.label for o in form.selects["category_ids"] if o.selected] == ["Home appliances › Refrigerators"]

    # The domain's own rules come back next to their fields too.
    data = new_law_data(hq.get("/laws/new"), fresh, short_name="JP-CPSA", in_force_from="2026-01-01",
                        repealed_on="2025-01-01", status="repealed")
    response = post(hq, "/laws/new", data)
    assert response.status_code == 422
    form = form_with(response, "short_name")
    assert form.errors == {"short_name": "Another law already has this short name.",
                           "repealed_on": "A law is repealed after it comes into force."}
    assert fresh(sa.select(sa.func.count(Law.id)).where(Law.name_en == "Test Act")) == 0


def test_amendment_enforced_before_promulgation_is_refused_with_input_kept(browser_as, fresh):
    hq = browser_as(EMAILS["head_office_qa"])
    pse = law_id(fresh, "JP-PSE")
    form = form_with(hq.get(f"/laws/{pse}/amendments/new"), "title")
    data = MultiDict(form.data(title="Revised technical standards", promulgated_on="2027-03-01",
                               enforced_on="2027-02-01", summary="New creepage distances."))
    data.setlist("affected_categories", ["home.refrigerators", "cables.power"])
    response = post(hq, f"/laws/{pse}/amendments/new", data)
    assert response.status_code == 422
    kept = form_with(response, "title")
    # PSE is a technical law: its amendments name their source (they open re-assessments in the divisions).
    assert kept.errors == {"promulgated_on": "Promulgation comes before enforcement.",
                           "source": "Give the source: an amendment of a technical law opens re-assessments in the "
                                     "divisions."}
    assert kept.values["title"] == "Revised technical standards"
    assert kept.values["promulgated_on"] == "2027-03-01" and kept.values["enforced_on"] == "2027-02-01"
    assert kept.values["summary"] == "New creepage distances."
    assert sorted(o.value for o in kept.selects["affected_categories"] if o.selected) == ["cables.power",
                                                                                          "home.refrigerators"]
    assert fresh(sa.select(sa.func.count(Amendment.id)).where(Amendment.title == "Revised technical standards")) == 0


@pytest.fixture
def new_regime(monkeypatch):
    """A regime code no obligation uses yet: every code the engine knows is taken by the starting map."""
    rule = dataclasses.replace(RULES["US-CPSC-MPR"], code="XX-TEST-1", regime="Test regime, monthly")
    monkeypatch.setitem(RULES, rule.code, rule)
    return rule.code


def test_each_edit_appears_in_the_law_history(browser_as, fresh, new_regime):
    hq = browser_as(EMAILS["head_office_qa"])
    pse = law_id(fresh, "JP-PSE")

    form = form_with(hq.get(f"/laws/{pse}/edit"), "short_name")
    data = MultiDict(form.data(citation="Act No. 234 of 1961 (as amended)"))
    data.setlist("category_ids", [o.value for o in form.selects["category_ids"] if o.selected][:1])
    assert post(hq, f"/laws/{pse}/edit", data).status_code == 302

    form = form_with(hq.get(f"/laws/{pse}/obligations/new"), "regime_code")
    data = MultiDict(form.data(regime_code=new_regime, title="Test monthly report", trigger_text="Test only",
                               required_fields="units corrected\nnotices sent", valid_from="2026-01-01"))
    data.setlist("trigger_harms", ["fire", "smoke"])
    response = post(hq, f"/laws/{pse}/obligations/new", data)
    assert response.status_code == 302, text(response)
    obligation = fresh(sa.select(Obligation.id).where(Obligation.regime_code == new_regime))

    form = form_with(hq.get(f"/laws/obligations/{obligation}/edit"), "regime_code")
    assert form.values["required_fields"] == "units corrected\nnotices sent"
    assert sorted(o.value for o in form.selects["trigger_harms"] if o.selected) == ["fire", "smoke"]
    data = MultiDict(form.data(valid_to="2026-11-30"))
    data.setlist("trigger_harms", ["fire", "smoke"])
    assert post(hq, f"/laws/obligations/{obligation}/edit", data).status_code == 302

    demo_amendment = fresh(sa.select(Amendment.id).where(Amendment.title.like("Demo:%")))
    form = form_with(hq.get(f"/laws/amendments/{demo_amendment}/edit"), "title")
    data = MultiDict(form.data(enforced_on="2027-02-01", source="METI notice (demo)"))
    data.setlist("affected_categories", ["home.refrigerators"])
    assert post(hq, f"/laws/amendments/{demo_amendment}/edit", data).status_code == 302

    page = hq.get(f"/laws/{pse}")
    history = text(page)
    for expected in (
        "Yuki Nakamura · Law JP-PSE changed Item Before After Citation Act No. 234 of 1961 Act No. 234 of 1961 (as amended)",
        "Yuki Nakamura · Law JP-PSE coverage changed Item Before After Categories removed Wires & cables › Power cords",
        "Yuki Nakamura · Obligation XX-TEST-1 created",
        "Harm classes that trigger it — Fire, Smoke",
        "Required report fields — units corrected, notices sent",
        "Yuki Nakamura · Obligation XX-TEST-1 changed Item Before After No longer applies from — 2026-11-30",
        "Yuki Nakamura · Amendment “Demo: training amendment (not a real legal change)” changed "
        "Item Before After Enforced on 2027-01-03 2027-02-01",
        "Amendment “Demo: training amendment (not a real legal change)” created Item Before After Title",
        "Affected categories — Home appliances › Refrigerators",
    ):
        assert expected in history, expected
    # The obligation is kept, marked as ended; coverage ended today is kept too.
    assert "No longer applies since 2026-11-30" not in history  # still applies today (2026-11-20)
    assert "from 2026-01-01 until 2026-11-30 (not included)" in history
    assert "Wires & cables › Power cords and extension cables no longer covered" in history


def test_a_law_is_repealed_not_deleted(browser_as, fresh):
    hq = browser_as(EMAILS["head_office_qa"])
    cpsa = law_id(fresh, "JP-CPSA")
    form = form_with(hq.get(f"/laws/{cpsa}/edit"), "short_name")
    data = MultiDict(form.data(status="repealed", repealed_on="2026-11-01"))
    data.setlist("category_ids", [o.value for o in form.selects["category_ids"] if o.selected])
    assert post(hq, f"/laws/{cpsa}/edit", data).status_code == 302
    assert "JP-CPSA" not in in_force(hq.get("/laws/"), "home.refrigerators", "JP")
    assert "JP-CPSA" in in_force(hq.get("/laws/?on=2026-10-31"), "home.refrigerators", "JP")
    assert "Repealed on 2026-11-01" in text(hq.get(f"/laws/{cpsa}"))


def test_obligation_with_an_unknown_harm_class_or_code_is_refused(browser_as, fresh):
    admin = browser_as(EMAILS["admin"])
    pse = law_id(fresh, "JP-PSE")
    form = form_with(admin.get(f"/laws/{pse}/obligations/new"), "regime_code")
    used = [o for o in form.selects["regime_code"] if o.value == "JP-CPSA-35"][0]
    assert used.disabled and used.label.endswith("(used under JP-CPSA)")
    data = MultiDict(form.data(regime_code="JP-CPSA-35", title="Duplicate"))
    data.setlist("trigger_harms", ["fire", "earthquake"])
    response = post(admin, f"/laws/{pse}/obligations/new", data)
    assert response.status_code == 422
    kept = form_with(response, "regime_code")
    assert kept.errors == {"trigger_harms": "Choose harm classes from the list."}
    assert kept.values["title"] == "Duplicate"

    data = MultiDict(form.data(regime_code="JP-CPSA-35", title="Duplicate", valid_from="2026-05-01",
                               valid_to="2026-04-01"))
    response = post(admin, f"/laws/{pse}/obligations/new", data)
    assert response.status_code == 422
    assert form_with(response, "regime_code").errors == {
        "regime_code": "Another obligation already has this regime code.",
        "valid_to": "The end comes after the start."}

    data = MultiDict(form.data(regime_code="JP-CPSA-35", title="Duplicate"))
    response = post(admin, f"/laws/{pse}/obligations/new", data)
    assert response.status_code == 422
    assert form_with(response, "regime_code").errors == {
        "regime_code": "Another obligation already has this regime code."}


def test_jurisdictions_are_listed_and_edited(browser_as, fresh):
    hq = browser_as(EMAILS["head_office_qa"])
    form = form_with(hq.get("/laws/jurisdictions/new"), "code")
    bad = post(hq, "/laws/jurisdictions/new", MultiDict(form.data(
        code="asean", name="ASEAN", is_bloc=True, members="SG MY XX", timezone="Asia/Singapore")))
    assert bad.status_code == 422
    assert form_with(bad, "code").errors == {"members": "Not ISO country codes: XX."}
    assert form_with(bad, "code").values["members"] == "SG MY XX"

    clash = post(hq, "/laws/jurisdictions/new", MultiDict(form.data(code="jp", name="Japan again",
                                                                    timezone="Asia/Tokyo")))
    assert clash.status_code == 422
    assert form_with(clash, "code").errors == {"code": "Another jurisdiction already has this code."}

    good = post(hq, "/laws/jurisdictions/new", MultiDict(form.data(
        code="kr", name="South Korea", timezone="Asia/Seoul", holiday_country="kr")))
    assert good.status_code == 302
    listed = text(hq.get("/laws/jurisdictions"))
    assert "KR South Korea — Asia/Seoul KR 0" in listed
    assert "EU European Union bloc AT BE BG" in listed
    # A new country becomes a column of the map.
    assert cell_html(hq.get("/laws/"), "home.refrigerators", "KR") is not None


def test_map_and_what_applied_agree_on_a_law_repealed_without_a_date(browser_as, demo, clock, fresh):
    """The service refuses such a law; data from before that rule never applies, on the map as in "What applied?"."""
    from qa_incidents.core.errors import ValidationFailed
    from qa_incidents.laws import service

    pse = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    data = {name: getattr(pse, name) for name in service.LAW_FIELDS} | {"status": "repealed", "repealed_on": None}
    with pytest.raises(ValidationFailed) as refused:
        service.save_law(demo, data=data, category_ids=None, law_id=pse.id, actor_id=None, now=clock())
    assert "repealed_on" in refused.value.errors
    demo.rollback()
    pse = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    pse.status = "repealed"  # as older data could hold it
    demo.commit()
    client = browser_as(EMAILS["head_office_qa"])
    fridge = category_id(fresh, "home.refrigerators")
    applied = client.get(f"/laws/applicable?category={fridge}&country=JP&on=2026-11-20")
    assert "JP-PSE" not in text(applied)
    assert in_force(client.get("/laws/"), "home.refrigerators", "JP") == ["JP-CPSA"]
