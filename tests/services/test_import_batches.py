"""Bulk import in batches: a bad row costs only itself, every created record has its audit event, derived records
are made as for one-at-a-time filing, and the command line reads a CSV file without holding it."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter

import pytest
import sqlalchemy as sa

from qa_incidents.api import importer, pending_lessons
from qa_incidents.api.models import ImportedRecord, PendingLesson
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status
from qa_incidents.integrity.chain import verify_chain
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.recalls.models import RecallCampaign, RecallIncident
from qa_incidents.reviews.lessons import lesson_from_fda
from tests.import_helpers import register_csv, register_row


def _row(**changes: str) -> dict[str, str]:
    return register_row(**{"serious_injuries": "1", **changes})  # rows here carry one serious injury


def _fda_rows(n: int) -> tuple[list[str], list[list[str]]]:
    with gzip.open(importer.sample_path("fda_device_recalls.csv.gz"), "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:n + 1]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _import(session, profile_name, source, user, clock):  # type: ignore[no-untyped-def]
    profile = importer.load_profile(session, profile_name)
    report = importer.ImportReport()
    for start in range(0, len(source.rows), importer.CHUNK):
        importer.import_rows(session, profile=profile, source=source, user=user, now=clock(), start=start,
                             stop=start + importer.CHUNK, report=report)
        session.commit()
    return report


def test_a_bad_row_in_the_middle_of_a_batch_costs_only_itself(demo, demo_user, clock, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(importer, "CHUNK", 4)
    monkeypatch.setattr(importer, "BATCH", 4)
    rows = [_row(reference=f"B-{n}", title=f"Seal {n}") for n in range(1, 11)]
    rows[5] = _row(reference="B-6", country="XX")  # line 7: the second batch's second row
    rows[8] = _row(reference="B-9", product="NOPE")  # line 10: the third batch's first row
    source = importer.read_file("x.csv", register_csv(rows))
    report = _import(demo, "qa-incidents-register", source, demo_user("hq.qa@example.com"), clock)

    assert (report.rows, report.imported, report.already_present) == (10, 8, 0)
    assert [(r.line, r.key) for r in report.rejected] == [(7, "B-6"), (10, "B-9")]
    assert "country" in report.rejected[0].reason and "'NOPE'" in report.rejected[1].reason
    kept = set(demo.scalars(sa.select(Incident.title).where(Incident.title.like("Seal %"))))
    assert kept == {f"Seal {n}" for n in (1, 2, 3, 4, 5, 7, 8, 10)}
    keys = set(demo.scalars(sa.select(ImportedRecord.source_key).where(ImportedRecord.source_key.like("B-%"))))
    assert keys == {f"B-{n}" for n in (1, 2, 3, 4, 5, 7, 8, 10)}

    # Again: nothing new, the same two rows refused.
    again = _import(demo, "qa-incidents-register", source, demo_user("hq.qa@example.com"), clock)
    assert (again.imported, again.already_present, len(again.rejected)) == (0, 8, 2)


def test_a_batch_the_database_refuses_is_imported_row_by_row(demo, demo_user, clock, monkeypatch):  # type: ignore[no-untyped-def]
    calls = []
    batch_targets = importer._batch_targets

    def refuse_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.IntegrityError("INSERT …", {}, Exception("refused"))
        return batch_targets(*args, **kwargs)

    monkeypatch.setattr(importer, "_batch_targets", refuse_once)
    rows = [_row(reference=f"F-{n}", title=f"Fallback {n}") for n in range(1, 6)]
    rows[2] = _row(reference="F-3", aware_at="yesterday")
    report = _import(demo, "qa-incidents-register", importer.read_file("x.csv", register_csv(rows)),
                     demo_user("hq.qa@example.com"), clock)
    assert (report.rows, report.imported) == (5, 4)
    assert [r.line for r in report.rejected] == [4]
    titles = list(demo.scalars(sa.select(Incident.title).where(Incident.title.like("Fallback %"))))
    assert sorted(titles) == ["Fallback 1", "Fallback 2", "Fallback 4", "Fallback 5"]
    # The refused attempt left no record and no event behind: one "created" event per incident.
    ids = list(demo.scalars(sa.select(Incident.id).where(Incident.title.like("Fallback %"))))
    created = Counter(demo.scalars(sa.select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == "incident", AuditEvent.action == "created", AuditEvent.entity_id.in_(ids))))
    assert created == Counter(ids)
    assert verify_chain(demo).ok


def test_every_record_an_fda_batch_creates_has_its_audit_event(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    header, rows = _fda_rows(120)
    hq = demo_user("hq.qa@example.com")
    events_before = demo.scalar(sa.select(sa.func.max(AuditEvent.id)))
    report = _import(demo, "fda-device-recalls", importer.read_file("f.csv", _csv(header, rows)), hq, clock)
    assert report.imported + report.already_present + len(report.rejected) == report.rows == 120
    new_events = list(demo.scalars(sa.select(AuditEvent).where(AuditEvent.id > events_before)))
    assert all(e.actor_id == hq.id and e.occurred_at == clock() for e in new_events
               if e.entity_type in ("incident", "recall", "pending_lesson"))
    by = Counter((e.entity_type, e.entity_id, e.action) for e in new_events)

    incidents = list(demo.scalars(sa.select(ImportedRecord.entity_id).where(
        ImportedRecord.source == "fda-device-recalls", ImportedRecord.entity_type == "incident")))
    assert len(incidents) == report.imported
    for incident_id in incidents:
        assert by[("incident", incident_id, "created")] == 1
        assert by[("incident", incident_id, "imported_history")] == 1
    assert set(demo.scalars(sa.select(Incident.status).where(Incident.id.in_(incidents)))) == {Status.HISTORICAL}
    # Imported history gets no notification records (as one at a time).
    assert demo.scalar(sa.select(sa.func.count(NotificationRecord.id))
                       .where(NotificationRecord.incident_id.in_(incidents))) == 0

    recalls = list(demo.scalars(sa.select(RecallCampaign).where(RecallCampaign.created_at == clock())))
    assert len(recalls) == report.extra["recalls"]["created"] > 0
    assert len({r.reference for r in recalls}) == len(recalls)
    for recall in recalls:
        assert recall.status == "draft"  # never launched by an import: a launch takes a signature
        assert by[("recall", recall.id, "created")] == 1 and by[("recall", recall.id, "imported_history")] == 1
    links = demo.scalar(sa.select(sa.func.count(RecallIncident.id)).where(RecallIncident.incident_id.in_(incidents)))
    assert links == len(incidents)  # every imported incident is linked to its recall event's campaign
    linked_events = sum(n for (kind, _, action), n in by.items() if kind == "recall" and action == "incident_linked")
    assert linked_events == links - len(recalls)

    held = list(demo.scalars(sa.select(PendingLesson).where(PendingLesson.imported_at == clock())))
    assert len(held) == report.extra["lessons"]["created"] == len(recalls)
    for item in held:
        assert by[("pending_lesson", item.id, "proposed")] == 1
        assert item.decision is None  # held for head-office QA's signed review
    assert verify_chain(demo).ok


def test_a_live_batch_gets_its_notification_records_as_filing_does(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    from qa_incidents.incidents.service import file_incident

    rows = [_row(reference=f"L-{n}", title=f"Live {n}") for n in range(1, 4)]
    report = _import(demo, "qa-incidents-register", importer.read_file("x.csv", register_csv(rows)),
                     demo_user("hq.qa@example.com"), clock)
    assert report.imported == 3
    imported = list(demo.scalars(sa.select(Incident).where(Incident.title.like("Live %")).order_by(Incident.id)))
    assert {i.status for i in imported} == {Status.REPORTED}
    references = [i.reference for i in imported]
    assert references == sorted(references) and len(set(references)) == 3

    # The same facts filed one at a time give the same records.
    profile = importer.load_profile(demo, "qa-incidents-register")
    mapped = importer.map_row(profile, _row(reference="L-one", title="Live one"))
    division_id, product_id = importer._resolve(demo, mapped.values, importer.Catalogue(None, None), {})
    single = file_incident(demo, user=demo_user("hq.qa@example.com"), now=clock(),
                           facts=importer._facts(mapped.values, division_id, product_id))
    demo.commit()

    def records(incident_id: int) -> list[tuple[str, str]]:
        return sorted(demo.execute(sa.select(NotificationRecord.regime_code, NotificationRecord.state)
                                   .where(NotificationRecord.incident_id == incident_id)).all())

    expected = records(single.id)
    assert expected  # a serious injury in Japan: candidate obligations
    for incident in imported:
        assert records(incident.id) == expected


def test_the_lesson_heading_agrees_with_the_lesson_on_every_sample_row(clock):  # type: ignore[no-untyped-def]
    source = importer.read_file("f.csv.gz", importer.sample_path("fda_device_recalls.csv.gz").read_bytes())
    refused = 0
    for _, record in source.rows:
        try:
            lesson = lesson_from_fda(record, now=clock())
        except ValueError as e:
            with pytest.raises(ValueError) as heading_error:
                pending_lessons.fda_heading(record, now=clock())
            assert str(heading_error.value) == str(e)
            refused += 1
            continue
        assert pending_lessons.fda_heading(record, now=clock()) == (lesson.source_ref, lesson.title)
    assert refused > 0


def test_a_csv_file_is_streamed_with_the_same_rows_and_limits(tmp_path):  # type: ignore[no-untyped-def]
    sample = importer.sample_path("fda_device_recalls.csv.gz")
    whole = importer.read_file(sample.name, sample.read_bytes())
    streamed = importer.stream_file(sample)
    assert isinstance(streamed, importer.StreamedFile)
    assert streamed.columns == whole.columns and streamed.total == len(whole.rows)
    assert list(streamed.iter_rows()) == whole.rows
    assert list(streamed.iter_rows()) == whole.rows  # read again from the start

    with pytest.raises(importer.ImportFileError, match="more than 100 rows"):
        importer.stream_file(sample, max_rows=100)
    with pytest.raises(importer.ImportFileError, match="inflates to more than"):
        importer.stream_file(sample, max_bytes=50_000)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("reference,title\nA-1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(importer.ImportFileError, match="not UTF-8"):
        importer.stream_file(latin)


def test_rows_written_by_insert_rows_read_back_as_an_insert_writes_them(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    """core/bulk.insert_rows (COPY on PostgreSQL, the driver's executemany on SQLite) writes what sa.insert writes:
    times, JSON, nulls, text with tabs, quotes, backslashes and line breaks, and a default left out."""
    from qa_incidents.core.bulk import insert_rows

    hq = demo_user("hq.qa@example.com")
    texts = ["plain", "tab\there", 'quote " and \\ backslash', "line\nbreak\r\nand \\N", "", "日本語の説明"]

    def rows(prefix: str) -> list[dict[str, object]]:
        return [{"source_ref": f"{prefix}-{n}", "title": text, "row": {"Reason": text, "n": str(n), "list": [n]},
                 "incident_id": None, "imported_by_id": hq.id, "imported_at": clock()} for n, text in enumerate(texts)]

    connection = demo.connection()
    connection.execute(sa.insert(PendingLesson.__table__), rows("ORM"))
    insert_rows(connection, PendingLesson.__table__, rows("BULK"))
    demo.commit()

    def read(prefix: str) -> list[tuple[object, ...]]:
        found = demo.execute(sa.select(PendingLesson.source_ref, PendingLesson.title, PendingLesson.row,
                                       PendingLesson.incident_id, PendingLesson.imported_by_id,
                                       PendingLesson.imported_at, PendingLesson.reason, PendingLesson.decision)
                             .where(PendingLesson.source_ref.like(f"{prefix}-%"))
                             .order_by(PendingLesson.id)).all()
        return [(r[0].removeprefix(prefix), *r[1:]) for r in found]

    written = read("BULK")
    assert written == read("ORM")
    assert [r[1] for r in written] == texts
    assert written[3][2] == {"Reason": "line\nbreak\r\nand \\N", "n": "3", "list": [3]}
    assert {r[5] for r in written} == {clock()} and {r[6] for r in written} == {""}  # reason: its default


def test_a_prepared_batch_needs_no_database_and_imports_as_its_rows(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    """The command line maps the next batch (importer.prepare) in a thread, without the session; importing it gives
    the report the rows themselves give."""
    header, rows = _fda_rows(60)
    source = importer.read_file("f.csv", _csv(header, rows))
    profile = importer.load_profile(demo, "fda-device-recalls")
    prepared = importer.prepare(profile, source.rows)
    assert len(prepared) == 60
    hq = demo_user("hq.qa@example.com")
    by_batch = importer.import_rows(demo, profile=profile, rows=[prepared], user=hq, now=clock())
    demo.rollback()
    by_rows = importer.import_rows(demo, profile=profile, rows=source.rows, user=hq, now=clock())
    demo.rollback()
    assert by_batch.summary() == by_rows.summary()
    assert by_batch.summary()["imported"] > 0 and by_batch.summary()["lessons"]["created"] > 0
    assert [(r.line, r.key, r.reason) for r in by_batch.rejected] == [(r.line, r.key, r.reason)
                                                                       for r in by_rows.rejected]
    assert [(w.line, w.key, w.reason) for w in by_batch.warnings] == [(w.line, w.key, w.reason)
                                                                       for w in by_rows.warnings]
