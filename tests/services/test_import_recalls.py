"""Recall campaigns from the shipped recall sources: one per recall, under its incidents, idempotent, audited."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from qa_incidents.api import importer, targets
from qa_incidents.api.models import ImportedRecord
from qa_incidents.core.audit import AuditEvent
from qa_incidents.recalls import service as recalls
from qa_incidents.recalls.models import RecallCampaign, RecallIncident

ROWS = 80
#: A notice that says everything the laws ask for (so only the launch's signature can stand in its way).
NOTICE = {"heading": "Product safety recall", "product_name": "Infusion pump (IP-1)", "brand": "Acme",
          "identification": "Serial numbers printed on the back.", "where_sold": "United States, 2025-2026.",
          "units": "About 1,000 units.", "hazard": "The pump can stop without an alarm.", "incidents": "None.",
          "what_to_do": "Stop using the pump.", "remedy": "We replace the pump free of charge.",
          "contact": "Recall desk 1-800-000-0000"}


def _part_of(sample: str, rows: int = ROWS) -> importer.SourceFile:
    whole = importer.read_file(sample, importer.sample_path(sample).read_bytes())
    return importer.SourceFile(whole.format, whole.columns, whole.rows[:rows])


def _import(session, profile_name, source, user, clock):  # type: ignore[no-untyped-def]
    report = importer.import_rows(session, profile=importer.load_profile(session, profile_name), source=source,
                                  user=user, now=clock())
    session.commit()
    return report


def test_fda_rows_make_one_campaign_per_recall_event_with_its_state(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    hq = demo_user("hq.qa@example.com")
    source = _part_of("fda_device_recalls.csv.gz")
    first = _import(demo, "fda-device-recalls", source, hq, clock)
    made = first.extra["recalls"]
    assert made["rejected"] == 0 and made["created"] > 0
    assert made["created"] + made["already_present"] == first.imported + first.already_present

    # The rows that became incidents, by recall event: each event is one campaign linking all its incidents.
    incident_of = {r.source_key: r.entity_id for r in demo.scalars(
        sa.select(ImportedRecord).where(ImportedRecord.source == "fda-device-recalls",
                                        ImportedRecord.entity_type == "incident"))}
    events: dict[str, set[int]] = defaultdict(set)
    rows_of: dict[str, dict[str, str]] = {}
    for _, row in source.rows:
        if row["Recall Number"] in incident_of:
            events[row["Recall Event ID"]].add(incident_of[row["Recall Number"]])
            rows_of.setdefault(row["Recall Event ID"], row)  # the event's first row makes the campaign
    assert made["created"] == len(events) == demo.scalar(sa.select(sa.func.count(RecallCampaign.id)))
    for event, incident_ids in events.items():
        recall_id = importer.imported_entity(demo, "fda-device-recalls", f"FDA-EVENT-{event}", "recall")
        linked = set(demo.scalars(sa.select(RecallIncident.incident_id).where(RecallIncident.recall_id == recall_id)))
        assert linked == incident_ids
        recall = demo.get(RecallCampaign, recall_id)
        row = rows_of[event]
        assert recall.division.code == "IMP" and recall.countries == ["US"]
        title = " ".join(html.unescape(f"{row['Recalling Manufacturer']}: {row['Reason for Recall']}").split())
        assert recall.title == title or (recall.title.endswith("…") and title.startswith(recall.title[:-1]))
        # An import never launches or closes a recall (those take head-office QA's signature): the campaign is a
        # draft, and the source's own state and dates are kept as its history.
        assert recall.status == "draft" and recall.launched_at is None and recall.launch_signature_id is None
        assert f"Started in the source: {targets.date_of(row['Date Posted']).isoformat()}" in recall.description
        if row["Recall Status"] == "Terminated":
            assert f"Ended in the source: {targets.date_of(row['Termination Date']).isoformat()}" in recall.description
        assert " ".join(html.unescape(row["Action"]).split())[:40] in " ".join(recall.description.split())  # the source's own words are kept

    # Made through the recalls service (numbered, audited), and the imported state says where it came from.
    some = demo.scalar(sa.select(RecallCampaign).order_by(RecallCampaign.id).limit(1))
    assert some.reference.startswith("RC-")
    actions = set(demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "recall",
                                                                  AuditEvent.entity_id == some.id)))
    assert {"created", "imported_history"} <= actions

    again = _import(demo, "fda-device-recalls", source, hq, clock)
    assert again.extra["recalls"]["created"] == 0
    assert demo.scalar(sa.select(sa.func.count(RecallCampaign.id))) == len(events)
    assert demo.scalar(sa.select(sa.func.count(RecallIncident.id))) == sum(len(v) for v in events.values())


def test_imported_recalls_are_scoped_like_any_recall(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    _import(demo, "canada-consumer-recalls", _part_of("canada_consumer_recalls.csv.gz", 20), demo_user("hq.qa@example.com"),
            clock)
    assert len(recalls.list_recalls(demo, user=demo_user("executive@example.com"))) == 20
    assert recalls.list_recalls(demo, user=demo_user("reporter@example.com")) == []  # Home Appliances only
    campaign = recalls.list_recalls(demo, user=demo_user("hq.qa@example.com"))[0]
    assert campaign.countries == ["CA"] and campaign.status == "draft"  # never launched by an import


def test_an_imported_recall_cannot_be_published_until_head_office_signs_its_launch(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    """The outside test's case: a division QA manager imports one FDA row, then tries to publish its notice."""
    from qa_incidents.accounts.models import Division
    from qa_incidents.core.errors import DomainError

    hq, qa = demo_user("hq.qa@example.com"), demo_user("division.qa@example.com")
    source = _part_of("fda_device_recalls.csv.gz", 1)
    _import(demo, "fda-device-recalls", importer.SourceFile(source.format, source.columns, source.rows[:0]), hq, clock)
    qa.division_id = demo.scalar(sa.select(Division.id).where(Division.code == "IMP"))
    demo.commit()
    report = _import(demo, "fda-device-recalls", source, qa, clock)
    assert report.extra["recalls"]["created"] == 1
    recall = demo.scalar(sa.select(RecallCampaign))
    assert recall.status == "draft" and recall.launch_signature_id is None
    notice = recalls.add_web_notice(demo, user=qa, recall_id=recall.id, picture=None, picture_name="",
                                    keep_picture_from=None, now=clock(), content=NOTICE)
    try:
        recalls.publish_web_notice(demo, user=qa, recall_id=recall.id, notice_id=notice.id, now=clock())
        raise AssertionError("an unsigned recall's notice was published")
    except DomainError as refused:
        assert refused.status_code in (403, 422)
    demo.rollback()
    # Even a status set behind the service's back (no signature) does not open the public page.
    recall = demo.get(RecallCampaign, recall.id)
    recall.status, recall.launched_at = "launched", clock()
    demo.flush()
    try:
        recalls.publish_web_notice(demo, user=qa, recall_id=recall.id, notice_id=notice.id, now=clock())
        raise AssertionError("a recall launched without a signature had its notice published")
    except DomainError as refused:
        assert "never signed" in str(refused)
    demo.rollback()


def test_a_user_who_runs_no_recalls_keeps_the_incidents_and_is_told_why(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    hq, reporter = demo_user("hq.qa@example.com"), demo_user("reporter@example.com")
    source = _part_of("canada_consumer_recalls.csv.gz", 3)
    _import(demo, "canada-consumer-recalls", importer.SourceFile(source.format, source.columns, source.rows[:1]), hq,
            clock)  # head office makes the Imported history division
    from qa_incidents.accounts.models import Division

    reporter.division_id = demo.scalar(sa.select(Division.id).where(Division.code == "IMP"))
    demo.commit()
    report = _import(demo, "canada-consumer-recalls", source, reporter, clock)
    # Nor may they link an incident to the campaign head office imported: linking is running the recall too.
    assert report.imported == 2 and report.extra["recalls"]["rejected"] == 3
    assert sum("no recall made: your role does not run recalls" in w.reason for w in report.warnings) == 3


def test_remedy_and_dates_as_the_sources_write_them():  # type: ignore[no-untyped-def]
    assert targets.remedy_of("Firm will replace the affected units") == "replacement"
    assert targets.remedy_of("Customers were told to install a software update") == "repair"
    assert targets.remedy_of("Return the product for a full refund") == "refund"
    assert targets.remedy_of("Users advised to check the device before use") == "inspection"
    assert targets.date_of("August 24, 2006") == date(2006, 8, 24)
    assert targets.date_of("2023-03-31") == date(2023, 3, 31)
    assert targets.date_of("20060824") == date(2006, 8, 24)
    assert targets.date_of("N/A") is None and targets.date_of("") is None


def test_imported_history_raises_no_stall_warnings(demo, demo_user, clock):  # type: ignore[no-untyped-def]
    """A campaign run elsewhere records no progress here: its owner is not told it has stalled, every week, forever."""
    hq = demo_user("hq.qa@example.com")
    for profile, sample in (("fda-device-recalls", "fda_device_recalls.csv.gz"),
                            ("canada-consumer-recalls", "canada_consumer_recalls.csv.gz")):
        _import(demo, profile, _part_of(sample), hq, clock)
    imported = demo.scalar(sa.select(sa.func.count(RecallCampaign.id)).where(RecallCampaign.status == "draft"))
    assert imported > 0
    assert recalls.recall_scan(demo, clock() + timedelta(weeks=30)) == 0
