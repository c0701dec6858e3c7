"""The register at scale (migration 0038): the text filter goes through a full-text index and finds what it always
found; the per-status counts come from a tally the database keeps, equal to counting the incidents after every
kind of write. On SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sql_helpers import statements_sent

from qa_incidents.catalogue.models import Product
from qa_incidents.catalogue.service import CategoryTree
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident, IncidentTally
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.incidents.service import RegisterFilter

# --- text -------------------------------------------------------------------------------------------------------


def old_matches(session, user, text: str) -> set[int]:  # type: ignore[no-untyped-def]
    """What the text filter found before the index: each term a case-insensitive substring of a text column or of
    the product's model or name, computed here in Python over every incident the user may read."""
    terms = text.split()[:8]
    products = {p.id: f"{p.model}\n{p.name}".casefold() for p in session.scalars(sa.select(Product))}
    found = set()
    readable = set(session.scalars(service.visible(sa.select(Incident.id), user)))
    for incident in session.scalars(sa.select(Incident)):
        if incident.id not in readable:
            continue
        fields = "\n".join(getattr(incident, c.key) or "" for c in service.TEXT_COLUMNS).casefold()
        if all(t.casefold() in fields or t.casefold() in products[incident.product_id] for t in terms):
            found.add(incident.id)
    return found


def found_by_register(session, user, text: str, sort: str = "aware_desc", **filters) -> set[int]:  # type: ignore[no-untyped-def]
    ids: set[int] = set()
    after = None
    while True:
        page = service.register(session, user=user, filters=RegisterFilter(text=text, **filters), after=after,
                                limit=50, count_cap=service.COUNT_CAP, sort=sort)
        ids |= {i.id for i in page.items}
        if not page.next_cursor:
            return ids
        after = page.next_cursor


@pytest.fixture
def searchable(demo, demo_user, make_facts, clock):  # type: ignore[no-untyped-def]
    """The demo incidents and three more: one in Japanese, one with serial numbers, one with odd characters."""
    reporter = demo_user("reporter@example.com")
    service.file_incident(demo, user=reporter, now=clock(), facts=make_facts(
        title="電源コードが発熱し発煙した", description="使用中に電源プラグ付近から煙が出た。火災には至らず。",
        serial_numbers="SN-77A1402, SN-77A1403", lot_numbers="LOT-2611-B"))
    service.file_incident(demo, user=reporter, now=clock(), facts=make_facts(
        title="Display flickers", serial_numbers="XR9-000451", place="Kobe warehouse"))
    service.file_incident(demo, user=reporter, now=clock(), facts=make_facts(
        title="Door at 100% open angle snapped_off", description='Said "it just broke" twice.'))
    demo.commit()
    return demo


WORDS = ("heater", "HEATER", "smoke", "overheat", "cable", "burn", "power cord", "INC-2026-000001",
         "2026-000003", "sn-77a14", "XR9-000451", "LOT-2611", "L26", "kobe", "Osaka", "発熱", "電源プラグ", "火災",
         "煙", "100%", "snapped_", '"it', "R-HW540", "no-such-word-anywhere")


@pytest.mark.parametrize("text", WORDS)
def test_the_text_filter_finds_what_it_always_found(searchable, demo_user, text):  # type: ignore[no-untyped-def]
    for email in ("hq.qa@example.com", "reporter@example.com", "cable.reporter@example.com"):
        user = demo_user(email)
        expected = old_matches(searchable, user, text)
        assert found_by_register(searchable, user, text) == expected, (email, text)
        searchable.rollback()


def test_typical_lookups_find_the_incident_users_mean(searchable, demo_user):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    japanese = searchable.scalar(sa.select(Incident.id).where(Incident.title == "電源コードが発熱し発煙した"))
    display = searchable.scalar(sa.select(Incident.id).where(Incident.title == "Display flickers"))
    assert found_by_register(searchable, hq, "発熱") == {japanese}
    assert found_by_register(searchable, hq, "プラグ付近") == {japanese}  # inside a longer run of Japanese text
    assert found_by_register(searchable, hq, "77a1403") == {japanese}  # part of a serial number
    assert found_by_register(searchable, hq, "xr9-000451") == {display}
    assert found_by_register(searchable, hq, "display kobe") == {display}  # every term must match
    assert found_by_register(searchable, hq, "display osaka") == set()
    reference = searchable.scalar(sa.select(Incident.reference).where(Incident.id == display))
    assert found_by_register(searchable, hq, reference.lower()) == {display}
    # Scoped: the cable division's reporter does not find home appliances' incidents.
    assert found_by_register(searchable, demo_user("cable.reporter@example.com"), "発熱") == set()


def test_text_counts_match_the_rows_found(searchable, demo_user):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    page = service.register(searchable, user=hq, filters=RegisterFilter(text="heater"), count_cap=service.COUNT_CAP)
    assert page.total == len(old_matches(searchable, hq, "heater")) and not page.total_capped
    capped = service.register(searchable, user=hq, filters=RegisterFilter(text="o"), count_cap=2)
    assert (capped.total, capped.total_capped) == (2, True)


@pytest.mark.parametrize("row_by_row", [False, True], ids=["listed", "row-by-row"])
@pytest.mark.parametrize("sort", sorted(service.SORTS))
def test_words_in_many_incidents_are_read_in_the_sorts_order_and_find_the_same(searchable, demo_user, monkeypatch,  # type: ignore[no-untyped-def]
                                                                                 sort, row_by_row):
    """At scale a broad word's page is read in the sort's order (SQLite), its matches listed first, or a very broad
    one's tested on each row read; every word is broad (or very broad) here."""
    monkeypatch.setattr(service, "DENSE_TERM", 0)
    if row_by_row:
        monkeypatch.setattr(service, "VERY_DENSE_TERM", 0)
    hq = demo_user("hq.qa@example.com")
    for text in ("heat", "HEAT", "smoke", "INC-2026", "oven cord", "Cord 発熱", "100%", "snapped_"):
        assert found_by_register(searchable, hq, text, sort=sort) == old_matches(searchable, hq, text), text
        assert (found_by_register(searchable, hq, text, sort=sort, status=Status.REPORTED)
                == {i for i in old_matches(searchable, hq, text) if searchable.get(Incident, i).status == Status.REPORTED})
        searchable.rollback()


def test_a_text_search_counts_up_to_its_cap_and_says_more(searchable, demo_user, monkeypatch):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    everything = len(old_matches(searchable, hq, "the"))
    assert everything > 3
    monkeypatch.setattr(service, "TEXT_COUNT_CAP", 2)
    page = service.register(searchable, user=hq, filters=RegisterFilter(text="the"), count_cap=service.COUNT_CAP)
    assert page.total_capped and 0 < page.total <= everything
    assert all(n <= everything for n in page.by_status.values()) and set(page.capped) == set(page.by_status)


def _plan(session, stmt) -> str:  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a demo-sized table is read whole otherwise
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        return "\n".join(r[0] for r in session.connection().exec_driver_sql("EXPLAIN " + str(compiled),
                                                                            compiled.params).all())
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return "\n".join(str(r[-1]) for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))


def _filtered_with_reads(session, user, f: RegisterFilter) -> tuple[sa.Select, list[str]]:  # type: ignore[no-untyped-def]
    """The register's filtered statement, and the statements run to build it (SQLite reads a term's matches from its
    text index first, then hands them to the statement as a list)."""
    with statements_sent(session.get_bind()) as statements:
        stmt = service._filtered(session, service.visible(sa.select(Incident.id), user), f)
    return stmt, statements


def test_the_text_filter_goes_through_the_index(searchable, demo_user):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    stmt, reads = _filtered_with_reads(searchable, hq, RegisterFilter(text="heater"))
    plan = _plan(searchable, stmt)
    if searchable.get_bind().dialect.name == "postgresql":
        assert "ix_incident_text_trgm" in plan, plan
    else:
        assert any("incident_fts MATCH" in s for s in reads), reads  # the matches come from the text index
        assert "rowid=?" in plan, plan
        assert "SCAN incident\n" not in plan + "\n", plan  # the incidents are fetched by id, not read whole
    searchable.rollback()


# --- counts -----------------------------------------------------------------------------------------------------

_GRAINS = range(8)


def fresh_tally(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    """The tally as a fresh GROUP BY over the incidents would make it, every grain."""
    out: dict[tuple, int] = {}
    for i in session.execute(sa.select(Incident.status, Incident.severity, Incident.division_id,
                                       Incident.category_id, Incident.country, Incident.aware_at)).all():
        aware = i.aware_at.astimezone(UTC)
        for g in _GRAINS:
            key = (g, i.category_id if g & 1 else 0, i.country if g & 2 else "",
                   aware.year * 100 + aware.month if g & 4 else 0, i.division_id,
                   i.severity.value if i.severity else "", i.status.value)
            out[key] = out.get(key, 0) + 1
    return out


def stored_tally(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    t = IncidentTally
    return {tuple(r[:-1]): r[-1] for r in session.execute(sa.select(
        t.grain, t.category_id, t.country, t.month, t.division_id, t.severity, t.status, t.n)).all() if r[-1]}


def exact(session, user, f: RegisterFilter) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = session.execute(service._filtered(session, service.visible(
        sa.select(Incident.status, sa.func.count()), user), f, with_status=False).group_by(Incident.status)).all()
    return {s.value: n for s, n in rows if n}


def filters_to_try(session) -> list[RegisterFilter]:  # type: ignore[no-untyped-def]
    tree = CategoryTree.load(session)
    roots = [c for c, parent in tree.parent.items() if parent is None][:2]
    some = session.execute(sa.select(Incident.division_id, Incident.category_id, Incident.country,
                                     Incident.aware_at).limit(3)).all()
    tokyo = ZoneInfo("Asia/Tokyo")
    out = [RegisterFilter(), RegisterFilter(severity=Severity.S2)]
    out += [RegisterFilter(category_id=c) for c in roots]
    for division, category, country, aware in some:
        local = aware.astimezone(tokyo)
        month = datetime(local.year, local.month, 1, tzinfo=tokyo)
        out += [RegisterFilter(division_id=division), RegisterFilter(category_id=category, country=country),
                RegisterFilter(country=country, aware_from=month, aware_to=(month + timedelta(days=32)).replace(day=1)),
                RegisterFilter(aware_from=aware - timedelta(days=3)), RegisterFilter(aware_to=aware),
                RegisterFilter(aware_to=aware + timedelta(seconds=1)),  # the incident just inside the range
                RegisterFilter(aware_from=aware - timedelta(days=400), aware_to=aware + timedelta(days=20)),
                RegisterFilter(aware_from=aware - timedelta(days=2), aware_to=aware + timedelta(days=2)),
                RegisterFilter(division_id=division, severity=Severity.S1, category_id=category, country=country,
                               aware_from=aware - timedelta(days=100), aware_to=aware + timedelta(days=100))]
    return out


def assert_counts_exact(session, users) -> None:  # type: ignore[no-untyped-def]
    assert stored_tally(session) == fresh_tally(session)
    for user in users:
        for f in filters_to_try(session):
            counts = service.register_counts(session, user=user, filters=f, cap=service.COUNT_CAP)
            assert counts.by_status == exact(session, user, f), (user.email, f)
            assert not counts.capped
            for status in (Status.REPORTED, Status.CLOSED):
                asked = service.register_counts(session, user=user, filters=dataclasses.replace(f, status=status),
                                                cap=service.COUNT_CAP)
                assert asked.total == exact(session, user, f).get(status.value, 0)


def test_the_tally_equals_a_fresh_count_of_the_demo_data(demo, demo_user):  # type: ignore[no-untyped-def]
    assert demo.scalar(sa.select(sa.func.count()).select_from(IncidentTally)) > 0
    assert_counts_exact(demo, [demo_user("hq.qa@example.com"), demo_user("reporter@example.com")])


def test_the_tally_follows_every_write_and_not_a_rolled_back_one(demo, demo_user, make_facts, clock):  # type: ignore[no-untyped-def]
    hq, reporter = demo_user("hq.qa@example.com"), demo_user("reporter@example.com")
    users = [hq, reporter]
    for days in (0, 40, 400):  # new incidents, one of them in a month that had none
        service.file_incident(demo, user=reporter, now=clock(), facts=make_facts(
            occurred_at=clock() - timedelta(days=days, hours=30), aware_at=clock() - timedelta(days=days, hours=6)))
    demo.commit()
    assert_counts_exact(demo, users)
    first, second = demo.scalars(sa.select(Incident.id).order_by(Incident.id).limit(2)).all()
    other_category = demo.scalar(sa.select(Product.category_id).where(Product.category_id != demo.get(
        Incident, first).category_id))
    other_division = demo.scalar(sa.select(Incident.division_id).where(Incident.division_id != demo.get(
        Incident, first).division_id))
    changes = [{"status": Status.TRIAGED.value}, {"severity": Severity.S1.value}, {"severity": None},
               {"country": "DE"}, {"category_id": other_category}, {"division_id": other_division},
               {"occurred_at": datetime(2024, 2, 29, 20, 0, tzinfo=UTC), "aware_at": datetime(2024, 2, 29, 23, 30, tzinfo=UTC)}, {"status": Status.CLOSED.value},
               {"title": "Only the title changed"}]
    for change in changes:  # Core, as a bulk writer or hand-written SQL would write
        demo.execute(sa.update(Incident).where(Incident.id.in_((first, second))).values(**change))
        demo.commit()
        assert_counts_exact(demo, users)
    before = stored_tally(demo)
    demo.execute(sa.update(Incident).where(Incident.id == first).values(status=Status.ESCALATED.value, country="US"))
    service.file_incident(demo, user=reporter, facts=make_facts(), now=clock())
    assert stored_tally(demo) == fresh_tally(demo)  # inside the writer's transaction, already
    demo.rollback()
    assert stored_tally(demo) == before


def test_a_month_asked_in_local_time_is_counted_exactly(demo, demo_user, make_facts, clock):  # type: ignore[no-untyped-def]
    """The tally's months are UTC; a month in Tokyo starts nine hours earlier. Incidents just either side of both
    boundaries are counted as the reader's range says."""
    reporter = demo_user("reporter@example.com")
    tokyo = ZoneInfo("Asia/Tokyo")
    start, end = datetime(2025, 3, 1, tzinfo=tokyo), datetime(2025, 4, 1, tzinfo=tokyo)
    for moment in (start - timedelta(minutes=1), start, start + timedelta(hours=5), end - timedelta(minutes=1), end,
                   end + timedelta(hours=3)):
        service.file_incident(demo, user=reporter, now=clock(), facts=make_facts(
            occurred_at=moment - timedelta(hours=1), aware_at=moment))
    demo.commit()
    f = RegisterFilter(aware_from=start, aware_to=end)
    counts = service.register_counts(demo, user=reporter, filters=f, cap=service.COUNT_CAP)
    assert counts.total == 3 and counts.by_status == exact(demo, reporter, f)


# --- which index SQLite reads a page by (its planner has no statistics: the tally's counts choose) ---------------


def _choose(session, user, f: RegisterFilter, sort: str, counts: dict[tuple, int], monkeypatch) -> str | None:  # type: ignore[no-untyped-def]
    """The hint _sqlite_index writes for `f`, given how many incidents match each single filter (the `counts` table,
    keyed by the filters' sorted names; every other combination is counted as 1,000,000)."""
    def fake_counts(_session, *, user, filters, cap=None, reading=None):  # type: ignore[no-untyped-def]
        asked = tuple(sorted(k for k, v in dataclasses.asdict(filters).items() if v not in (None, "", False)))
        n = counts.get(asked, 1_000_000)
        return service.RegisterCounts(n, {"reported": n})

    monkeypatch.setattr(service, "register_counts", fake_counts)
    found = service.RegisterCounts(counts[tuple(sorted(k for k, v in dataclasses.asdict(f).items()
                                                       if v not in (None, "", False)))], {})
    return service._sqlite_index(session, user, f, sort, found, 50)


def test_a_country_page_is_read_in_order_from_the_countrys_own_index(demo, demo_user, monkeypatch):  # type: ignore[no-untyped-def]
    if demo.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's index choice (PostgreSQL's planner keeps statistics)")
    hq = demo_user("hq.qa@example.com")
    f = RegisterFilter(severity=Severity.S2, division_id=6, country="IN")
    counts = {("country",): 50_000, ("severity",): 95_000, ("division_id",): 200_000,
              ("country", "division_id", "severity"): 934}
    # Read in aware order from 50,000 rows of India, the page is full after about 51 × 50,000 / 934 = 2,730 of them;
    # the whole-table order (1,000,000) or the division's rows read whole would cost far more.
    assert _choose(demo, hq, f, "aware_desc", counts, monkeypatch) == "INDEXED BY ix_incident_country_aware_id"
    assert _choose(demo, hq, f, "occurred_asc", counts, monkeypatch) == "INDEXED BY ix_incident_country_occurred_id"


def test_a_date_range_with_a_reference_sort_reads_the_rows_within_the_range(demo, demo_user, monkeypatch):  # type: ignore[no-untyped-def]
    if demo.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's index choice (PostgreSQL's planner keeps statistics)")
    hq = demo_user("hq.qa@example.com")
    july = datetime(2026, 7, 1, tzinfo=UTC)
    f = RegisterFilter(category_id=next(iter(_leaf_categories(demo))), aware_from=july, aware_to=july + timedelta(days=92))
    counts = {("category_id",): 166_800, ("aware_from", "aware_to"): 50_400,
              ("aware_from", "aware_to", "category_id"): 8_380}
    # Incidents are numbered in about the order the company learns of them, so the category's rows within July to
    # September are the newest ids, not spread through the category: reading the category in id order would meet
    # them only after ~150,000 older rows. The category's rows within the dates (8,380) are read and sorted instead.
    assert _choose(demo, hq, f, "reference_asc", counts, monkeypatch) == "INDEXED BY ix_incident_category_aware_id"


def _leaf_categories(session) -> list[int]:  # type: ignore[no-untyped-def]
    tree = CategoryTree.load(session)
    return [c for c in tree.parent if len(tree.descendants(c)) == 1]


def test_one_count_of_a_terms_matches_answers_both_the_cap_and_the_density():  # type: ignore[no-untyped-def]
    # _fts_matches counts a term's matches once, up to VERY_DENSE_TERM + 1, for every question a page asks of it.
    assert service.TEXT_COUNT_CAP < service.DENSE_TERM + 1 <= service.VERY_DENSE_TERM + 1


def test_a_very_broad_word_is_tested_on_each_row_read_in_the_sorts_order(searchable, demo_user, monkeypatch):  # type: ignore[no-untyped-def]
    if searchable.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL's planner chooses between the trigram index and the sort's)")
    monkeypatch.setattr(service, "DENSE_TERM", 0)
    monkeypatch.setattr(service, "VERY_DENSE_TERM", 0)
    hq = demo_user("hq.qa@example.com")
    with statements_sent(searchable.get_bind()) as statements:
        service.register(searchable, user=hq, filters=RegisterFilter(text="heat"), count_cap=service.COUNT_CAP)
        service.register(searchable, user=hq, filters=RegisterFilter(text="電源プラグ"), count_cap=service.COUNT_CAP)
    [english, japanese] = [s for s in statements if "INDEXED BY ix_incident_aware_id" in s]
    # An ASCII word: LIKE on each row of the sort's index, no list of every match first.
    assert "LIKE" in english and "incident_fts" not in english, english
    # Japanese: the trigram index folds more than SQLite's LIKE would, so its matches are still listed.
    assert "incident_fts" in japanese, japanese
    searchable.rollback()


def test_a_products_incidents_count_towards_the_cap(searchable, demo_user, monkeypatch):  # type: ignore[no-untyped-def]
    """A word in a product's name matches all of that product's incidents: the count stops at the cap and says more,
    reading no more than the cap of them."""
    hq = demo_user("hq.qa@example.com")
    product = searchable.scalar(sa.select(Product).join(Incident, Incident.product_id == Product.id)
                                .group_by(Product.id).having(sa.func.count(Incident.id) >= 3).limit(1))
    word = product.model
    everything = len(old_matches(searchable, hq, word))
    assert everything >= 3
    monkeypatch.setattr(service, "TEXT_COUNT_CAP", 2)
    page = service.register(searchable, user=hq, filters=RegisterFilter(text=word), count_cap=service.COUNT_CAP)
    assert page.total_capped and 0 < page.total <= everything
    searchable.rollback()


def test_a_text_search_with_a_status_counts_through_the_matches_not_the_status(searchable, demo_user):  # type: ignore[no-untyped-def]
    if searchable.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL ORs the two indexes itself)")
    hq = demo_user("hq.qa@example.com")
    stmt, reads = _filtered_with_reads(searchable, hq, RegisterFilter(text="heater", status=Status.REPORTED))
    plan = _plan(searchable, stmt)
    # The matches (the text index's and the products') are one list of ids, each looked up: not every reported
    # incident read and tested against the list.
    assert any("incident_fts MATCH" in s for s in reads), reads
    assert "VIRTUAL TABLE INDEX" in plan and "rowid=?" in plan, plan
    assert "SCAN incident\n" not in plan + "\n", plan
    searchable.rollback()
