"""Bulk import of the shipped public data: every row accounted for, quirks reported, re-runs add nothing."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import Division
from qa_incidents.api import importer
from qa_incidents.api.models import ImportedRecord
from qa_incidents.catalogue.models import Product
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from tests.import_helpers import register_csv, register_row

SHIPPED = [
    ("fda-device-recalls", "fda_device_recalls.csv.gz"),
    ("canada-consumer-recalls", "canada_consumer_recalls.csv.gz"),
    ("nhtsa-complaints", "nhtsa_complaints.csv.gz"),
]


def _import(session, profile_name, source, user, clock, **kw):  # type: ignore[no-untyped-def]
    profile = importer.load_profile(session, profile_name)
    report = importer.import_rows(session, profile=profile, source=source, user=user, now=clock(), **kw)
    session.commit()
    return report


def _sample(name: str) -> importer.SourceFile:
    return importer.read_file(name, importer.sample_path(name).read_bytes())


@pytest.mark.parametrize("profile_name, sample", SHIPPED)
def test_each_shipped_source_imports_with_every_row_accounted_for(demo, demo_user, clock, profile_name, sample):  # type: ignore[no-untyped-def]
    source = _sample(sample)
    hq = demo_user("hq.qa@example.com")
    before = demo.scalar(sa.select(sa.func.count(Incident.id)))
    first = _import(demo, profile_name, source, hq, clock)
    assert first.rows == len(source.rows) > 300
    assert first.imported + len(first.rejected) + first.already_present == first.rows
    assert first.imported > 0.9 * first.rows
    assert all(r.line >= 2 and r.reason for r in first.rejected)
    created = demo.scalar(sa.select(sa.func.count(Incident.id))) - before
    assert created == first.imported

    again = _import(demo, profile_name, source, hq, clock)
    assert again.imported == 0
    assert again.already_present == first.imported + first.already_present
    assert len(again.rejected) == len(first.rejected)
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) - before == first.imported
    if profile_name == "fda-device-recalls":
        _check_fda_quirks(demo, source, first, clock)


def _check_fda_quirks(demo, source, report, clock):  # type: ignore[no-untyped-def]
    # Typo years (0012, 0013) are refused with the line and the reason, never dropped silently.
    typo = [r for r in report.rejected if "is not plausible" in r.reason]
    assert typo and all(r.key.startswith("Z-") for r in typo)
    # Shifted columns are kept and reported; duplicate recall numbers are counted once and reported.
    assert any("Device Type holds" in w.reason for w in report.warnings)
    assert any("same source key as line" in w.reason for w in report.warnings)
    descriptions = list(demo.scalars(sa.select(Incident.description).where(Incident.description.contains("FDA recall"))))
    assert descriptions and not any("&amp;" in d for d in descriptions)  # HTML entities decoded
    assert not any("N/A" in d.split("Consumer instructions:")[-1][:6] for d in descriptions)  # "N/A" read as empty
    imported_division = demo.scalar(sa.select(Division).where(Division.code == "IMP"))
    assert imported_division.name == "Imported history"
    product = demo.scalar(sa.select(Product).where(Product.model == "IMPORTED-MEDICAL"))
    assert product.division_id == imported_division.id
    # The catalogue entries were made through their services, so they are in the audit trail.
    assert demo.scalar(sa.select(AuditEvent.id).where(AuditEvent.entity_type == "product",
                                                      AuditEvent.entity_id == product.id)) is not None
    # Each row with an incident also proposes a lesson (one per recall event), held for head-office QA's signed
    # review: an import never publishes to the library engineers read.
    lessons = report.extra["lessons"]
    assert sum(lessons.values()) == report.imported + report.already_present
    from qa_incidents.api import pending_lessons
    from qa_incidents.reviews.models import Lesson

    assert demo.scalar(sa.select(sa.func.count(Lesson.id)).where(Lesson.source == "fda")) == 0
    proposed = pending_lessons.waiting(demo, limit=10_000)
    assert len(proposed) == lessons["created"] > 0
    events = {r["Recall Event ID"] for _, r in source.rows}
    assert len(proposed) <= len(events)
    assert all(pending_lessons.preview(p, clock()).cause_category for p in proposed)


def test_nhtsa_harm_is_carried_over(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    source = _sample("nhtsa_complaints.csv.gz")
    _import(demo, "nhtsa-complaints", source, demo_user("hq.qa@example.com"), clock)
    expected_fires = sum(1 for _, r in source.rows if r["FIRE"] == "Y")
    fires = demo.scalar(sa.select(sa.func.count(Incident.id)).where(Incident.fire.is_(True), Incident.country == "US"))
    assert fires == expected_fires > 0
    with_vin = demo.scalar(sa.select(Incident).where(Incident.serial_numbers == source.rows[0][1]["VIN"]))
    assert with_vin is not None and with_vin.place == f"{source.rows[0][1]['CITY']}, {source.rows[0][1]['STATE']}"


_row = register_row


def test_bad_rows_are_reported_by_line_and_good_rows_kept(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    content = register_csv([
        _row(reference="EXT-1"),
        _row(reference="EXT-2", country="XX"),
        _row(reference="EXT-3", aware_at="yesterday"),
        _row(reference="", title="no key"),
        _row(reference="EXT-5", division="CM", product="EX-15A3"),  # another division: the reporter may not file there
        _row(reference="EXT-6", product="NOPE"),
        _row(reference="EXT-7"),
    ])
    report = _import(demo, "qa-incidents-register", importer.read_file("x.csv", content),
                     demo_user("reporter@example.com"), clock)
    assert report.imported == 2
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "country" in reasons[3]
    assert "aware_at" in reasons[4] and "'yesterday'" in reasons[4]
    assert "reference is empty" in reasons[5]
    assert "own division" in reasons[6]
    assert "'NOPE'" in reasons[7]


def test_the_reportability_facts_are_imported_and_checked_row_by_row(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    content = register_csv([
        _row(reference="RF-1", minor_injuries="1", injury_care="doctor_or_nurse", recurrence_risk="yes",
             suspected_defect="true", labelling_problem="false", foreign_action="1", lawsuit="no", choking=""),
        _row(reference="RF-2", minor_injuries="1", injury_care="seen by a vet"),  # not a care class
        _row(reference="RF-3", injury_care="hospitalised"),  # care for an injury nobody had
        _row(reference="RF-4", choking="maybe"),
        _row(reference="RF-5"),  # an older export without these columns' values states nothing
    ])
    report = _import(demo, "qa-incidents-register", importer.read_file("x.csv", content),
                     demo_user("reporter@example.com"), clock)
    assert report.imported == 2
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {3, 4, 5}
    assert "injury_care" in reasons[3] and "'seen by a vet'" in reasons[3] and "doctor_or_nurse" in reasons[3]
    assert "injured" in reasons[4]
    assert "choking" in reasons[5] and "not yes or no" in reasons[5]
    one = demo.scalar(sa.select(Incident).where(Incident.title == "Door seal melted", Incident.minor_injuries == 1))
    assert (one.injury_care, one.recurrence_risk, one.suspected_defect, one.labelling_problem, one.foreign_action,
            one.lawsuit, one.choking) == ("doctor_or_nurse", True, True, False, True, False, False)
    plain = demo.scalar(sa.select(Incident).where(Incident.title == "Door seal melted", Incident.minor_injuries == 0))
    assert (plain.injury_care, plain.recurrence_risk) == ("not_stated", False)


def test_xlsx_and_json_files_are_read_too(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    rows = [_row(reference="XL-1"), _row(reference="XL-2", title="")]
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for r in rows:
        sheet.append(list(r.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    report = _import(demo, "qa-incidents-register", importer.read_file("x.xlsx", buffer.getvalue()),
                     demo_user("reporter@example.com"), clock)
    assert (report.imported, [r.line for r in report.rejected]) == (1, [3])

    items = [_row(reference="JS-1"), "not an object", {**_row(reference="JS-3"), "deaths": -1}]
    report = _import(demo, "qa-incidents-register", importer.read_file("x.json", json.dumps(items).encode()),
                     demo_user("reporter@example.com"), clock)
    assert report.imported == 1
    assert {r.line for r in report.rejected} == {2, 3}


def test_unreadable_files_are_refused_as_a_whole():  # type: ignore[no-untyped-def]
    with pytest.raises(importer.ImportFileError, match="csv, .xlsx or .json"):
        importer.read_file("x.txt", b"a,b")
    with pytest.raises(importer.ImportFileError, match="UTF-8"):
        importer.read_file("x.csv", "a,b\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(importer.ImportFileError, match="xlsx"):
        importer.read_file("x.xlsx", b"not a zip")


def test_a_reporter_cannot_create_the_imported_history_division(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    source = _sample("nhtsa_complaints.csv.gz")
    with pytest.raises(importer.ProfileError, match="no division IMP"):
        _import(demo, "nhtsa-complaints", source, demo_user("reporter@example.com"), clock)


def test_source_keys_are_remembered(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    _import(demo, "qa-incidents-register", importer.read_file("x.csv", register_csv([_row(reference="EXT-9")])),
            demo_user("reporter@example.com"), clock)
    record = demo.scalar(sa.select(ImportedRecord).where(ImportedRecord.source_key == "EXT-9"))
    assert record is not None and record.entity_type == "incident"
    assert demo.get(Incident, record.entity_id).title == "Door seal melted"


def test_demo_data_loads_each_shipped_source_once(demo, clock, monkeypatch):  # type: ignore[no-untyped-def]
    from qa_incidents.api import seed

    # Two of the three sources (the full imports are tested above): enough to see each loaded once.
    monkeypatch.setattr(seed, "SHIPPED_SOURCES", seed.SHIPPED_SOURCES[1:])
    SHIPPED_SOURCES, seed_demo = seed.SHIPPED_SOURCES, seed.seed_demo
    seed_demo(demo)
    demo.commit()
    count = demo.scalar(sa.select(sa.func.count(Incident.id)))
    sources = set(demo.scalars(sa.select(ImportedRecord.source).distinct()))
    assert sources == {name for name, _ in SHIPPED_SOURCES}
    seed_demo(demo)
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count(Incident.id))) == count
