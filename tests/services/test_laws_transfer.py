"""Import/export of the laws map: lossless round trips, upserts by natural key, bad rows reported and skipped."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.catalogue import service as catalogue
from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.core.audit import AuditEvent
from qa_incidents.laws import service, transfer
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, LawCategory, Obligation
from qa_incidents.laws.seed import load_laws
from qa_incidents.laws.transfer import CSV_COLUMNS, ImportReport, Rejection, TransferFileError
from qa_incidents.seed import CATEGORIES


def load_categories(session: so.Session, now: Any) -> None:
    """The demo's product categories only (no divisions, users, incidents or laws)."""
    for code, name, parent in CATEGORIES:
        parent_id = session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == parent)) if parent else None
        catalogue.save_category(session, data=catalogue.CategoryInput(code=code, name=name, parent_id=parent_id),
                                category_id=None, actor_id=None, now=now)


def enrich(session: so.Session, now: Any) -> None:
    """Make the seeded map harder to carry: closed and re-opened coverage, awkward list items and texts."""
    law = session.scalar(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    home = session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == "home"))
    power = session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == "cables.power"))
    fridges = session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == "home.refrigerators"))
    # Ended, then covered again from the start: two intervals with the same (empty) start.
    service.set_coverage(session, law=law, category_ids=[home], actor_id=None, now=now - timedelta(days=30))
    service.set_coverage(session, law=law, category_ids=[home, power], actor_id=None, now=now)
    service.set_coverage(session, law=law, category_ids=[home, power, fridges], actor_id=None, now=now,
                         valid_from=date(2027, 4, 1))
    data = {k: getattr(law, k) for k in service.LAW_FIELDS}
    data["notes"] = "First line\r\nsecond line\nthird, with \"quotes\" and a tab\t."
    service.save_law(session, data=data, category_ids=None, law_id=law.id, actor_id=None, now=now)
    ob = session.scalar(sa.select(Obligation).where(Obligation.regime_code == "US-CPSC-MPR"))
    data = {k: getattr(ob, k) for k in service.OBLIGATION_FIELDS}
    data.update(applies_to_markets=True, valid_to=date(2030, 1, 1),
                required_fields=["a | b", "pipe|inside", "back\\slash\\|", "日本語の項目"])
    service.save_obligation(session, data=data, obligation_id=ob.id, actor_id=None, now=now)
    gb = session.scalar(sa.select(Jurisdiction).where(Jurisdiction.code == "GB"))
    data = {k: getattr(gb, k) for k in service.JURISDICTION_FIELDS}
    data["active"] = False
    service.save_jurisdiction(session, data=data, jurisdiction_id=gb.id, actor_id=None, now=now)
    mdr = session.scalar(sa.select(Law).where(Law.short_name == "EU-MDR"))
    service.save_amendment(session, data={"law_id": mdr.id, "title": "No promulgation date known", "promulgated_on": None,
                                          "enforced_on": date(2028, 5, 26), "summary": "", "affected_categories": []},
                           amendment_id=None, actor_id=None, now=now)
    session.flush()


@pytest.fixture
def categories(session: so.Session, clock) -> so.Session:  # type: ignore[no-untyped-def]
    """An empty laws map: only the product categories exist."""
    load_categories(session, clock())
    session.commit()
    return session


@pytest.fixture
def seeded(categories: so.Session, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The exports of the seeded (and enriched) map; the database is left with the categories only."""
    load_laws(categories, now=clock() - timedelta(days=1))
    enrich(categories, clock())
    exports = {"json": transfer.dumps_json(transfer.export_json(categories)), "csv": transfer.export_csv(categories),
               "data": transfer.export_json(categories)}
    categories.rollback()
    assert categories.scalar(sa.select(sa.func.count(Law.id))) == 0
    return exports


def count(session: so.Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def run_import(session: so.Session, fmt: str, text: str, clock, actor_id: int | None = None) -> ImportReport:  # type: ignore[no-untyped-def]
    if fmt == "json":
        report = transfer.import_json(session, json.loads(text), actor_id=actor_id, now=clock())
    else:
        report = transfer.import_csv(session, text, actor_id=actor_id, now=clock())
    session.commit()
    return report


def csv_text(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


JP = {"record": "jurisdiction", "jurisdiction": "JP", "name": "Japan", "is_bloc": "false", "timezone": "Asia/Tokyo",
      "holiday_country": "JP", "active": "true"}
LAW = {"record": "law", "law": "JP-TEST", "jurisdiction": "JP", "name_original": "試験法", "name_en": "Test Act",
       "status": "in_force"}


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip_into_an_empty_database_is_lossless(seeded: dict[str, Any], categories: so.Session, clock, fmt: str):
    report = run_import(categories, fmt, seeded[fmt], clock)
    assert report.rejected == []
    assert report.created == report.rows > 50
    assert (report.updated, report.unchanged) == (0, 0)
    assert transfer.dumps_json(transfer.export_json(categories)) == seeded["json"]
    assert transfer.export_csv(categories) == seeded["csv"]


def test_the_export_carries_every_awkward_value(seeded: dict[str, Any]):
    data = seeded["data"]
    assert data["format"] == "qa-incidents-laws-map" and data["version"] == 1
    cpsa = next(law for law in data["laws"] if law["short_name"] == "JP-CPSA")
    assert cpsa["categories"] == [
        {"category": "cables.power", "valid_from": None, "valid_to": "2026-10-21"},
        {"category": "cables.power", "valid_from": "2026-11-20", "valid_to": None},  # re-added: the gap stays
        {"category": "home", "valid_from": None, "valid_to": None},
        {"category": "home.refrigerators", "valid_from": "2027-04-01", "valid_to": None},
    ]
    assert cpsa["notes"] == "First line\r\nsecond line\nthird, with \"quotes\" and a tab\t."
    mpr = next(o for law in data["laws"] for o in law["obligations"] if o["regime_code"] == "US-CPSC-MPR")
    assert mpr["required_fields"] == ["a | b", "pipe|inside", "back\\slash\\|", "日本語の項目"]
    assert mpr["applies_to_markets"] is True and mpr["valid_to"] == "2030-01-01"
    eu = next(j for j in data["jurisdictions"] if j["code"] == "EU")
    assert eu["is_bloc"] is True and "DE" in eu["members"]
    assert [j["code"] for j in data["jurisdictions"]] == sorted(j["code"] for j in data["jurisdictions"])
    assert "消費生活用製品安全法" in seeded["json"]  # not \u-escaped
    rows = list(csv.DictReader(io.StringIO(seeded["csv"], newline="")))
    assert {r["record"] for r in rows} == {"jurisdiction", "law", "coverage", "obligation", "amendment"}
    mpr_row = next(r for r in rows if r["regime_code"] == "US-CPSC-MPR")
    assert mpr_row["required_fields"] == "a \\| b | pipe\\|inside | back\\\\slash\\\\\\| | 日本語の項目"
    assert mpr_row["applies_to_markets"] == "true" and mpr_row["law"] == "US-CPSA"
    assert next(r for r in rows if r["record"] == "jurisdiction" and r["jurisdiction"] == "GB")["active"] == "false"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_importing_the_same_file_twice_creates_nothing_new(seeded: dict[str, Any], categories: so.Session, clock,
                                                          fmt: str):
    first = run_import(categories, fmt, seeded[fmt], clock)
    events = count(categories, AuditEvent)
    sizes = [count(categories, m) for m in (Jurisdiction, Law, LawCategory, Obligation, Amendment)]
    second = run_import(categories, fmt, seeded[fmt], clock)
    assert second.summary() == {"rows": first.rows, "created": 0, "updated": 0, "unchanged": first.rows, "rejected": 0}
    assert [count(categories, m) for m in (Jurisdiction, Law, LawCategory, Obligation, Amendment)] == sizes
    assert count(categories, AuditEvent) == events


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_demo_map_imported_over_itself_is_unchanged(demo: so.Session, clock, fmt: str):
    text = transfer.dumps_json(transfer.export_json(demo)) if fmt == "json" else transfer.export_csv(demo)
    events = count(demo, AuditEvent)
    report = run_import(demo, fmt, text, clock)
    assert report.rejected == [] and report.unchanged == report.rows and report.rows > 50
    assert count(demo, AuditEvent) == events


def test_every_import_creation_is_audited(seeded: dict[str, Any], categories: so.Session, clock):
    run_import(categories, "json", seeded["json"], clock)
    kinds = dict(categories.execute(sa.select(AuditEvent.entity_type, sa.func.count()).where(
        AuditEvent.entity_type.in_(["jurisdiction", "law", "obligation", "amendment"])).group_by(AuditEvent.entity_type)).all())
    assert kinds["jurisdiction"] == count(categories, Jurisdiction)
    assert kinds["obligation"] == count(categories, Obligation)
    assert kinds["amendment"] == count(categories, Amendment)
    coverage_events = categories.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "law", AuditEvent.action == "coverage"))
    assert coverage_events == count(categories, LawCategory)


# --- updates -------------------------------------------------------------------------------------


def test_an_update_through_import_is_audited_with_the_actor(demo: so.Session, clock):
    admin = demo.scalar(sa.select(User).where(User.email == "admin@example.com"))
    data = transfer.export_json(demo)
    cpsa = next(law for law in data["laws"] if law["short_name"] == "JP-CPSA")
    cpsa["name_en"] = "Consumer Product Safety Act (Japan)"
    cpsa["obligations"][0]["title"] = "Serious product accident report"
    cpsa["obligations"][0]["trigger_harms"] = ["death", "fire"]
    report = transfer.import_json(demo, data, actor_id=admin.id, now=clock())
    demo.commit()
    assert (report.updated, report.created, report.rejected) == (2, 0, [])
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    ob = demo.scalar(sa.select(Obligation).where(Obligation.regime_code == "JP-CPSA-35"))
    assert law.name_en == "Consumer Product Safety Act (Japan)"
    assert ob.trigger_harms == ["death", "fire"]
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.occurred_at == clock(),
                                                           AuditEvent.action == "updated").order_by(AuditEvent.id)))
    assert [(e.entity_type, e.entity_id, e.actor_id) for e in events] == [("law", law.id, admin.id),
                                                                           ("obligation", ob.id, admin.id)]
    assert events[0].changes == {"name_en": ["Consumer Product Safety Act", "Consumer Product Safety Act (Japan)"]}
    assert set(events[1].changes) == {"title", "trigger_harms"}
    assert events[1] in service.law_history(demo, law)


def test_a_csv_row_without_some_columns_changes_only_what_it_gives(demo: so.Session, clock):
    text = "record,law,name_en\r\nlaw,JP-PSE,Electrical Appliance and Material Safety Act (PSE)\r\n"
    report = run_import(demo, "csv", text, clock)
    assert (report.updated, report.rejected) == (1, [])
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    assert law.name_en.endswith("(PSE)")
    assert law.name_original == "電気用品安全法" and law.authority == "METI" and law.jurisdiction.code == "JP"


def test_an_obligation_moves_to_another_law(demo: so.Session, clock):
    text = csv_text({"record": "obligation", "law": "JP-PSE", "regime_code": "JP-CPSA-35", "title": "Moved"})
    report = run_import(demo, "csv", text, clock)
    assert (report.updated, report.rejected) == (1, [])
    ob = demo.scalar(sa.select(Obligation).where(Obligation.regime_code == "JP-CPSA-35"))
    assert ob.law.short_name == "JP-PSE" and ob.title == "Moved"


def test_coverage_is_never_removed_by_an_import(demo: so.Session, clock):
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    before = sorted((c.category.code, c.valid_from, c.valid_to) for c in law.coverage)
    assert ("cables.power", None, None) in before
    data = transfer.export_json(demo)
    cpsa = next(x for x in data["laws"] if x["short_name"] == "JP-CPSA")
    cpsa["categories"] = [c for c in cpsa["categories"] if c["category"] == "home"]
    data["laws"] = [cpsa]
    report = transfer.import_json(demo, data, actor_id=None, now=clock())
    demo.commit()
    assert report.rejected == [] and report.created == report.updated == 0
    demo.expire_all()
    assert sorted((c.category.code, c.valid_from, c.valid_to) for c in law.coverage) == before


def test_coverage_can_be_ended_and_added_with_dates(demo: so.Session, clock):
    text = csv_text(
        {"record": "coverage", "law": "JP-CPSA", "category": "cables.power", "valid_to": "2026-12-01"},
        {"record": "coverage", "law": "JP-CPSA", "category": "medical", "valid_from": "2025-01-01", "valid_to": "2026-01-01"},
    )
    report = run_import(demo, "csv", text, clock)
    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    assert sorted((c.category.code, c.valid_from, c.valid_to) for c in law.coverage) == [
        ("cables.power", None, date(2026, 12, 1)), ("home", None, None), ("medical", date(2025, 1, 1), date(2026, 1, 1))]
    events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "law", AuditEvent.entity_id == law.id,
                                                           AuditEvent.occurred_at == clock()).order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["coverage", "coverage"]
    assert events[0].changes["categories removed"] == [["Wires & cables › Power cords and extension cables"], None]
    assert events[0].changes["coverage"] == ["Wires & cables › Power cords and extension cables: … → …",
                                             "Wires & cables › Power cords and extension cables: … → 2026-12-01"]
    assert events[1].changes["categories added"] == [None, ["Medical devices"]]
    again = run_import(demo, "csv", text, clock)
    assert again.summary() == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_rows_already_in_the_map_are_matched_before_a_changed_row_can_take_them(demo: so.Session, clock):
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-CPSA"))
    home, power = (demo.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == c)) for c in ("home", "cables.power"))
    service.set_coverage(demo, law=law, category_ids=[home], actor_id=None, now=clock())  # power ends today
    service.set_coverage(demo, law=law, category_ids=[home, power], actor_id=None, now=clock())  # and is covered again
    demo.commit()
    text = csv_text(
        {"record": "coverage", "law": "JP-CPSA", "category": "cables.power", "valid_to": "2027-06-01"},
        {"record": "coverage", "law": "JP-CPSA", "category": "cables.power", "valid_to": "2026-11-20"},
        {"record": "coverage", "law": "JP-CPSA", "category": "cables.power", "valid_from": "2026-11-20"},  # re-added today
    )
    report = run_import(demo, "csv", text, clock)
    assert report.summary() == {"rows": 3, "created": 1, "updated": 0, "unchanged": 2, "rejected": 0}
    demo.expire_all()
    assert sorted((c.valid_to or date.max) for c in law.coverage if c.category_id == power) == [
        date(2026, 11, 20), date(2027, 6, 1), date.max]


# --- bad rows ------------------------------------------------------------------------------------


def test_a_bad_csv_row_is_reported_with_its_line_and_the_good_rows_are_kept(categories: so.Session, clock):
    text = csv_text(
        JP,                                                                                         # line 2
        LAW,                                                                                        # line 3
        {"record": "coverage", "law": "JP-TEST", "category": "home"},                               # line 4
        {"record": "coverage", "law": "JP-TEST", "category": "home.toasters"},                      # line 5
        {"record": "obligation", "law": "JP-TEST", "regime_code": "JP-CPSA-35", "title": "Report"},  # line 6
        {"record": "amendment", "law": "JP-TEST", "title": "Revision", "enforced_on": "2027-01-01"},  # line 7
    )
    report = run_import(categories, "csv", text, clock)
    assert report.rejected == [Rejection(5, "unknown category code 'home.toasters'")]
    assert report.summary() == {"rows": 6, "created": 5, "updated": 0, "unchanged": 0, "rejected": 1}
    law = categories.scalar(sa.select(Law).where(Law.short_name == "JP-TEST"))
    assert [c.category.code for c in law.coverage] == ["home"]
    assert [o.regime_code for o in law.obligations] == ["JP-CPSA-35"]
    assert [a.title for a in law.amendments] == ["Revision"]


def test_rows_may_come_in_any_order_and_lines_count_multi_line_cells(categories: so.Session, clock):
    text = csv_text(
        {"record": "amendment", "law": "JP-TEST", "title": "Revision", "enforced_on": "2027-01-01",
         "summary": "Two\nlines"},                                                       # lines 2-3
        {"record": "coverage", "law": "JP-TEST", "category": "nope"},                     # line 4
        LAW,                                                                              # line 5
        JP,                                                                               # line 6
    )
    report = run_import(categories, "csv", text, clock)
    assert report.rejected == [Rejection(4, "unknown category code 'nope'")]
    assert report.created == 3
    assert categories.scalar(sa.select(Amendment.summary)) == "Two\nlines"


@pytest.mark.parametrize(("row", "reason"), [
    ({**LAW, "law": "JP-OTHER", "jurisdiction": "XX"}, "jurisdiction 'XX' not found"),
    ({"record": "amendment", "law": "JP-TEST", "title": "T", "enforced_on": "31/12/2027"},
     "enforced_on: not a date (YYYY-MM-DD): '31/12/2027'"),
    ({"record": "amendment", "law": "JP-TEST", "title": "T", "enforced_on": "2027-02-30"},
     "enforced_on: not a date (YYYY-MM-DD): '2027-02-30'"),
    ({"record": "amendment", "law": "JP-TEST", "title": "T", "enforced_on": ""}, "enforced_on: Required."),
    ({"record": "amendment", "law": "JP-TEST", "title": "T", "enforced_on": "2027-01-01", "promulgated_on": "2027-02-01"},
     "promulgated_on: Promulgation comes before enforcement."),
    ({"record": "amendment", "law": "JP-TEST", "title": "T", "enforced_on": "2027-01-01",
      "affected_categories": "home | home.toasters"}, "affected_categories: Unknown category codes: home.toasters."),
    ({"record": "obligation", "law": "JP-TEST", "regime_code": "XX-NOPE-1", "title": "T"},
     "unknown regime code 'XX-NOPE-1' (the deadline engine knows none by that code)"),
    ({"record": "obligation", "law": "JP-TEST", "regime_code": "JP-CPSA-35", "title": "T", "trigger_harms": "death | boredom"},
     "trigger_harms: Unknown harm class: boredom."),
    ({"record": "obligation", "law": "JP-TEST", "regime_code": "JP-CPSA-35", "title": "T", "applies_to_markets": "maybe"},
     "applies_to_markets: not true or false: 'maybe'"),
    ({"record": "obligation", "law": "JP-NONE", "regime_code": "JP-CPSA-35", "title": "T"}, "law 'JP-NONE' not found"),
    ({"record": "coverage", "law": "JP-TEST", "category": ""}, "category: Required."),
    ({"record": "jurisdiction", "jurisdiction": "FR", "name": "France", "timezone": "Mars/Olympus"},
     "timezone: Choose a time zone from the list."),
    ({"record": "jurisdiction", "jurisdiction": "FRANCE-METRO", "name": "France", "timezone": "Europe/Paris"},
     "jurisdiction: longer than 8 characters"),
    ({**LAW, "law": "JP-OTHER", "name_en": ""}, "name_en: Required."),
    ({**LAW, "law": "JP-OTHER", "status": "dormant"}, "status: Choose a status."),
    ({**LAW, "law": "JP-OTHER", "in_force_from": "2020-01-01", "repealed_on": "2019-01-01"},
     "repealed_on: A law is repealed after it comes into force."),
    ({"record": "statute", "law": "JP-OTHER"}, "record: unknown kind 'statute' (one of: jurisdiction, law, coverage, "
                                               "obligation, amendment)"),
    ({"record": "coverage", "law": "JP-TEST", "category": "home", "title": "stray"},
     "column 'title' does not apply to a coverage row"),
])
def test_each_bad_csv_row_says_why(categories: so.Session, clock, row: dict[str, str], reason: str):
    text = csv_text(JP, LAW, row, {"record": "coverage", "law": "JP-TEST", "category": "medical"})
    report = run_import(categories, "csv", text, clock)
    assert report.rejected == [Rejection(4, reason)]
    assert report.created == 3  # the good rows, before and after the bad one


def test_duplicate_rows_are_rejected(categories: so.Session, clock):
    text = csv_text(
        JP, LAW,                                                                                      # lines 2, 3
        {**JP, "name": "Nippon"},                                                                     # line 4
        {**LAW, "name_en": "Another"},                                                                # line 5
        {"record": "coverage", "law": "JP-TEST", "category": "home"},                                 # line 6
        {"record": "coverage", "law": "JP-TEST", "category": "home"},                                 # line 7
        {"record": "coverage", "law": "JP-TEST", "category": "home", "valid_to": "2027-01-01"},       # line 8
        {"record": "obligation", "law": "JP-TEST", "regime_code": "JP-CPSA-35", "title": "A"},        # line 9
        {"record": "obligation", "law": "JP-TEST", "regime_code": "JP-CPSA-35", "title": "B"},        # line 10
        {"record": "amendment", "law": "JP-TEST", "title": "Rev", "enforced_on": "2027-01-01"},       # line 11
        {"record": "amendment", "law": "JP-TEST", "title": "Rev", "enforced_on": "2027-01-01",
         "summary": "again"},                                                                         # line 12
    )
    report = run_import(categories, "csv", text, clock)
    assert report.rejected == [
        Rejection(4, "duplicate of line 2 (same jurisdiction 'JP')"),
        Rejection(5, "duplicate of line 3 (same law 'JP-TEST')"),
        Rejection(7, "duplicate of line 6 (same category 'home' of law 'JP-TEST' from the start until further notice)"),
        Rejection(10, "duplicate of line 9 (same regime code 'JP-CPSA-35')"),
        Rejection(12, "duplicate of line 11 (same amendment 'Rev' of law 'JP-TEST' enforced on 2027-01-01)"),
    ]
    assert report.created == 6  # JP, the law, two coverage intervals, one obligation, one amendment
    assert categories.scalar(sa.select(Jurisdiction.name)) == "Japan"


def test_json_rows_are_reported_by_their_path(categories: so.Session, clock):
    data = {
        "format": "qa-incidents-laws-map", "version": 1,
        "jurisdictions": [{"code": "JP", "name": "Japan", "timezone": "Asia/Tokyo"}, "JP"],
        "laws": [
            {"short_name": "JP-TEST", "jurisdiction": "JP", "name_original": "試験法", "name_en": "Test Act",
             "categories": [{"category": "home"}, {"category": "home.toasters"}],
             "obligations": [{"regime_code": "JP-CPSA-35", "title": "Report", "trigger_harms": "death"},
                             {"regime_code": "US-CPSC-15B", "title": "Elsewhere", "law": "US-CPSA"}],
             "amendments": [{"title": "Rev", "enforced_on": "2027-13-01"}, {"title": "Rev", "enforced_on": 20270101},
                            {"title": "Fine", "enforced_on": "2027-01-01", "promulgated_on": None}]},
            {"short_name": "XX-LAW", "jurisdiction": "XX", "name_original": "x", "name_en": "x",
             "obligations": [{"regime_code": "US-CPSC-MPR", "title": "Orphan"}]},
        ],
    }
    report = transfer.import_json(categories, data, actor_id=None, now=clock())
    categories.commit()
    assert report.rejected == [
        Rejection("jurisdictions[1]", "not a JSON object"),
        Rejection("laws[0].categories[1]", "unknown category code 'home.toasters'"),
        Rejection("laws[0].obligations[0]", "trigger_harms: must be a list of texts"),
        Rejection("laws[0].obligations[1]", "unknown fields: law"),
        Rejection("laws[0].amendments[0]", "enforced_on: not a date (YYYY-MM-DD): '2027-13-01'"),
        Rejection("laws[0].amendments[1]", "enforced_on: not a date (YYYY-MM-DD): 20270101"),
        Rejection("laws[1]", "jurisdiction 'XX' not found"),
        Rejection("laws[1].obligations[0]", "law 'XX-LAW' not found (its own row was rejected)"),
    ]
    assert report.summary() == {"rows": 12, "created": 4, "updated": 0, "unchanged": 0, "rejected": 8}
    law = categories.scalar(sa.select(Law).where(Law.short_name == "JP-TEST"))
    assert law.status == "in_force" and law.citation == ""
    assert [c.category.code for c in law.coverage] == ["home"]
    assert [a.title for a in law.amendments] == ["Fine"]


def test_a_database_refusal_rolls_back_only_that_row(categories: so.Session, clock, monkeypatch: pytest.MonkeyPatch):
    """Whatever the database refuses (here: a forced error after the law was written) undoes that row alone."""
    real = service.save_law

    def failing(session: so.Session, **kwargs: Any) -> Law:
        law = real(session, **kwargs)
        if law.short_name == "JP-BAD":
            session.execute(sa.text("INSERT INTO law (id) VALUES (NULL)"))
        return law

    monkeypatch.setattr(service, "save_law", failing)
    text = csv_text(JP, {**LAW, "law": "JP-BAD"}, LAW)
    report = run_import(categories, "csv", text, clock)
    assert [r.line for r in report.rejected] == [3]
    assert report.rejected[0].reason.startswith("the database refused the row: ")
    assert categories.scalars(sa.select(Law.short_name)).all() == ["JP-TEST"]
    assert categories.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "law")) == 1


# --- unreadable files -----------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("map.json", b"\xff\xfe{}", "not UTF-8"),
    ("map.csv", "record,law\r\nlaw,\xe9\r\n".encode("latin-1"), "not UTF-8"),
    ("map.json", b"{\"format\": ", "not valid JSON (line 1, column 12"),
    ("map.json", b"[1, 2]", "not a laws-map export"),
    ("map.json", b"{\"format\": \"qa-incidents-laws-map\", \"version\": 2}", "Unsupported laws-map version 2"),
    ("map.json", b"{\"format\": \"qa-incidents-laws-map\", \"version\": 1, \"law\": []}", "Unknown top-level keys: law"),
    ("map.json", b"{\"format\": \"qa-incidents-laws-map\", \"version\": 1, \"laws\": {}}", "\"laws\" must be a list"),
    ("map.csv", b"", "The file is empty"),
    ("map.csv", b"law,name_en\r\nJP-CPSA,x\r\n", "no \"record\" column"),
    ("map.csv", b"record,law,colour\r\nlaw,JP-CPSA,red\r\n", "Unknown columns in the header: 'colour'"),
    ("map.csv", b"record,law,law\r\n", "Columns named twice in the header: law"),
    ("map.txt", b"{}", "must end in .json or .csv"),
])
def test_an_unreadable_file_is_refused_whole(demo: so.Session, clock, filename: str, content: bytes, message: str):
    events = count(demo, AuditEvent)
    with pytest.raises(TransferFileError, match=None) as caught:
        transfer.import_file(demo, filename=filename, content=content, actor_id=None, now=clock())
    assert message in str(caught.value)
    demo.rollback()
    assert count(demo, AuditEvent) == events


def test_a_byte_order_mark_and_upper_case_header_are_accepted(categories: so.Session, clock):
    content = "\ufeffRecord,Jurisdiction,Name,Timezone\r\njurisdiction,JP,Japan,Asia/Tokyo\r\n\r\n".encode()
    report = transfer.import_file(categories, filename="MAP.CSV", content=content, actor_id=None, now=clock())
    assert report.summary() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "rejected": 0}


def test_list_cells_split_on_unescaped_bars():
    assert transfer.split_list("") == []
    assert transfer.split_list("a | b|c |  | d ") == ["a", "b", "c", "d"]
    assert transfer.split_list("a \\| b | c\\\\ | \\\\\\|") == ["a | b", "c\\", "\\|"]
    for items in (["x"], ["a | b", "c|d", "e\\", "\\|\\"], ["日本", "back\\slash"]):
        assert transfer.split_list(transfer.join_list(items)) == items


def test_rejection_labels(categories: so.Session, clock):
    report = run_import(categories, "csv", csv_text({"record": "coverage", "law": "NOPE", "category": "home"}), clock)
    assert [r.label for r in report.rejected] == ["line 2"]
    data = {"format": "qa-incidents-laws-map", "version": 1, "jurisdictions": [{"code": "JP"}]}
    report = transfer.import_json(categories, data, actor_id=None, now=clock())
    assert [r.label for r in report.rejected] == ["jurisdictions[0]"]
    assert report.rejected[0].reason == "name: Required.; timezone: Required."
