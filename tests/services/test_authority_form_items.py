"""A laws map loaded before the forms were listed item by item gets them when the demo seed runs again."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent
from qa_incidents.laws.models import Obligation
from qa_incidents.laws.seed import EARLIER_FORM_ITEMS, load_laws, starting_form_items


def obligation(session, code: str) -> Obligation:
    return session.scalar(sa.select(Obligation).where(Obligation.regime_code == code))


def test_seeding_again_brings_an_older_maps_field_lists_up_to_date_and_keeps_an_administrators(demo, clock):
    for code in ("JP-CPSA-35", "US-FDA-803-30", "US-FDA-806"):
        obligation(demo, code).required_fields = EARLIER_FORM_ITEMS[code][0]
    obligation(demo, "US-CPSC-15B").required_fields = ["our own list"]
    demo.commit()
    load_laws(demo, now=clock())
    demo.commit()
    new = starting_form_items()
    assert obligation(demo, "JP-CPSA-35").required_fields == new["JP-CPSA-35"]
    assert "事故を知った日及び経緯（誰から）" in obligation(demo, "JP-CPSA-35").required_fields
    assert obligation(demo, "US-FDA-803-30").required_fields[0].startswith("3500A A1")
    assert obligation(demo, "US-FDA-806").required_fields == new["US-FDA-806"]
    assert obligation(demo, "US-CPSC-15B").required_fields == ["our own list"]
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "obligation",
                                                    AuditEvent.entity_id == obligation(demo, "US-FDA-803-30").id)
                        .order_by(AuditEvent.id.desc()))
    assert event.changes["required_fields"][0] == ["Form 3500A"]
    count = demo.scalar(sa.select(sa.func.count(AuditEvent.id)))
    load_laws(demo, now=clock())  # idempotent: nothing more changes
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count(AuditEvent.id))) == count
