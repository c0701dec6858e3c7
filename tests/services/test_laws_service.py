"""The laws map: what applied where and when, the matrix, audited edits, enforcement alerts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.laws import service
from qa_incidents.laws.models import Amendment, Law


def category(session, code):
    return session.scalar(sa.select(ProductCategory).where(ProductCategory.code == code)).id


def codes(results):
    return {a.law.short_name: sorted(o.regime_code for o in a.obligations) for a in results}


def test_japan_refrigerators(demo):
    found = codes(service.applicable(demo, category_id=category(demo, "home.refrigerators"), country="JP",
                                     on=dt.date(2026, 3, 2)))
    assert found == {"JP-CPSA": ["JP-CPSA-35"], "JP-PSE": []}


#: The EU technical laws of the compliance register that also cover refrigerators (no reporting obligation).
EU_TECHNICAL: dict[str, list[str]] = {"EU-ENERGY-LABEL": [], "EU-LVD": [], "EU-REACH-33": []}


@pytest.mark.parametrize("on, expected", [
    (dt.date(2024, 12, 12), {"EU-GPSD": ["EU-GPSD-5-3"], "EU-RoHS": [], **EU_TECHNICAL}),  # Directive 2001/95/EC Art. 5(3)
    (dt.date(2024, 12, 13), {"EU-GPSR": ["EU-GPSR-20"], "EU-RoHS": [], **EU_TECHNICAL}),
])
def test_eu_member_across_the_gpsr_enforcement_date(demo, on, expected):
    """Germany is reached through the EU bloc; the GPSR replaced the GPSD on 13 December 2024."""
    assert codes(service.applicable(demo, category_id=category(demo, "home.refrigerators"), country="DE", on=on)) == expected


def test_medical_devices_in_the_us_and_nothing_for_steel(demo):
    found = codes(service.applicable(demo, category_id=category(demo, "medical"), country="US", on=dt.date(2026, 1, 15)))
    assert found == {"US-FDA-MDR": ["US-FDA-803-30", "US-FDA-803-5", "US-FDA-806"]}
    assert service.applicable(demo, category_id=category(demo, "steel"), country="JP", on=dt.date(2026, 1, 15)) == []


def test_coverage_that_ends_stops_applying(demo, clock):
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    service.set_coverage(demo, law=law, category_ids=[category(demo, "home")], actor_id=None, now=clock())
    demo.commit()
    cables = category(demo, "cables.power")
    before = codes(service.applicable(demo, category_id=cables, country="JP", on=clock().date() - dt.timedelta(days=1)))
    after = codes(service.applicable(demo, category_id=cables, country="JP", on=clock().date()))
    assert "JP-PSE" in before and "JP-PSE" not in after


def test_coverage_removed_then_restored_keeps_the_gap(demo, clock):
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    home, cables = category(demo, "home"), category(demo, "cables.power")
    start = clock()
    service.set_coverage(demo, law=law, category_ids=[home], actor_id=None, now=start)
    service.set_coverage(demo, law=law, category_ids=[home, cables], actor_id=None, now=start + dt.timedelta(days=10))
    demo.commit()

    def covers(day):
        return "JP-PSE" in codes(service.applicable(demo, category_id=cables, country="JP", on=day))

    assert covers(start.date() - dt.timedelta(days=1))
    assert not covers(start.date() + dt.timedelta(days=5))
    assert covers(start.date() + dt.timedelta(days=10))


def test_matrix_marks_upcoming_changes(demo, clock):
    today = clock().date()
    m = service.matrix(demo, on=today)
    fridge = category(demo, "home.refrigerators")
    jp = next(j for j in m.jurisdictions if j.code == "JP")
    cell = m.cells[(fridge, jp.id)]
    assert {law.short_name for law in cell.laws} == {"JP-CPSA", "JP-PSE"}
    assert [a.title for a in cell.upcoming] == ["Demo: training amendment (not a real legal change)"]
    washers = category(demo, "home.washers")
    assert m.cells[(washers, jp.id)].upcoming == []


def test_matrix_filtered_to_a_division(demo):
    from qa_incidents.accounts.models import Division

    cm = demo.scalar(sa.select(Division).where(Division.code == "CM"))
    m = service.matrix(demo, on=dt.date(2026, 11, 1), category_ids=service.division_category_ids(demo, cm.id))
    assert {c.code for c in m.categories} == {"cables", "cables.rolling-stock", "cables.power"}


def test_edits_are_audited_and_validated(demo, clock):
    law = demo.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
    data = {name: getattr(law, name) for name in service.LAW_FIELDS}
    data["citation"] = "Act No. 234 of 1961 (as amended)"
    service.save_law(demo, data=data, category_ids=None, law_id=law.id, actor_id=None, now=clock())
    demo.commit()
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "law", AuditEvent.entity_id == law.id,
                                                    AuditEvent.action == "updated"))
    assert event.changes == {"citation": ["Act No. 234 of 1961", "Act No. 234 of 1961 (as amended)"]}
    assert event in service.law_history(demo, law)
    with pytest.raises(ValidationFailed) as e:
        service.save_amendment(demo, data={"law_id": law.id, "title": "x", "promulgated_on": dt.date(2027, 1, 2),
                                           "enforced_on": dt.date(2027, 1, 1), "affected_categories": ["home.toasters"]},
                               amendment_id=None, actor_id=None, now=clock())
    assert set(e.value.errors) == {"promulgated_on", "affected_categories"}
    with pytest.raises(ValidationFailed) as e:
        service.save_obligation(demo, data={"law_id": law.id, "regime_code": "XX-NOPE", "title": "t"},
                                obligation_id=None, actor_id=None, now=clock())
    assert "Unknown regime code" in e.value.errors["regime_code"]


def _alerts(session, now):
    queued = service.enforcement_alerts(session, now=now)
    session.commit()
    return queued


def test_enforcement_alerts_at_90_30_and_7_days_once_each(demo, clock):
    demo_amendment = demo.scalar(sa.select(Amendment).where(Amendment.title.like("Demo:%")))
    enforced = demo_amendment.enforced_on  # 45 days after the demo was loaded
    start = dt.datetime.combine(enforced - dt.timedelta(days=100), dt.time(3, 0), tzinfo=dt.UTC)
    assert _alerts(demo, start) == 0  # 100 days out: nothing yet
    at_90 = start + dt.timedelta(days=10)
    assert _alerts(demo, at_90) == 1
    assert _alerts(demo, at_90 + dt.timedelta(hours=1)) == 0  # never twice
    assert _alerts(demo, start + dt.timedelta(days=70)) == 1  # 30 days
    assert _alerts(demo, start + dt.timedelta(days=93)) == 1  # 7 days
    assert _alerts(demo, start + dt.timedelta(days=101)) == 0  # enforced: no more notices
    mails = list(demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("law-enforcement:%"))
                              .order_by(OutboxMessage.id)))
    assert [m.subject.split(":")[0] for m in mails] == ["In 90 days", "In 30 days", "In 7 days"]
    # Only the Home Appliances division makes refrigerators.
    assert all(set(m.to_addrs.split(", ")) == {"reporter@example.com", "division.qa@example.com"} for m in mails)
    assert "JP-PSE" in mails[0].subject and "Demo: training amendment" in mails[0].body_text


def test_a_late_first_scan_sends_only_the_nearest_threshold(demo):
    enforced = demo.scalar(sa.select(Amendment.enforced_on).where(Amendment.title.like("Demo:%")))
    now = dt.datetime.combine(enforced - dt.timedelta(days=20), dt.time(3, 0), tzinfo=dt.UTC)
    assert _alerts(demo, now) == 1
    subjects = list(demo.scalars(sa.select(OutboxMessage.subject).where(OutboxMessage.dedupe_key.like("law-enforcement:%"))))
    assert subjects == [s for s in subjects if s.startswith("In 20 days")] and len(subjects) == 1
