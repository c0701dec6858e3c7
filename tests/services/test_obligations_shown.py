"""The incident page's obligations (laws map remembered per process) equal the ones read afresh, and follow edits."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.incidents.models import Incident
from qa_incidents.laws.models import Law, Obligation
from qa_incidents.notifications import service
from qa_incidents.notifications.service import obligations_for, obligations_shown


def summary(found):  # type: ignore[no-untyped-def]
    return [(o.obligation.id, o.obligation.regime_code, o.obligation.title, o.law.id, o.law.short_name,
             o.law.jurisdiction.code, o.assessment.verdict, o.assessment.reason,
             o.deadline.due_at if o.deadline else None) for o in found]


def incidents(demo):  # type: ignore[no-untyped-def]
    return list(demo.scalars(sa.select(Incident).order_by(Incident.id)))


def test_remembered_obligations_equal_fresh_ones_for_every_demo_incident(demo):
    service._LAWS_SHOWN.clear()
    seen = 0
    for incident in incidents(demo):
        fresh = summary(obligations_for(demo, incident))
        assert summary(obligations_shown(demo, incident)) == fresh  # read and remembered
        assert summary(obligations_shown(demo, incident)) == fresh  # from memory
        seen += len(fresh)
    assert seen > 0 and service._LAWS_SHOWN


def test_an_edit_to_the_laws_map_is_seen_at_once(demo):
    incident = next(i for i in incidents(demo) if obligations_for(demo, i))
    before = summary(obligations_shown(demo, incident))
    first = obligations_for(demo, incident)[0]
    obligation = demo.get(Obligation, first.obligation.id)
    obligation.title = "Renamed by an amendment"
    demo.flush()
    shown = summary(obligations_shown(demo, incident))
    assert shown != before and "Renamed by an amendment" in [row[2] for row in shown]
    assert shown == summary(obligations_for(demo, incident))

    law = demo.get(Law, first.law.id)
    law.status, law.repealed_on = "repealed", None  # repealed without a date: never applies
    demo.flush()
    shown = summary(obligations_shown(demo, incident))
    assert law.id not in [row[3] for row in shown]
    assert shown == summary(obligations_for(demo, incident))


def test_without_the_marker_the_map_is_read_afresh(demo):
    demo.execute(sa.text("DELETE FROM counter WHERE name = 'laws-map'"))
    service._LAWS_SHOWN.clear()
    for incident in incidents(demo):
        assert summary(obligations_shown(demo, incident)) == summary(obligations_for(demo, incident))
    assert not service._LAWS_SHOWN
