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
    service._MAPS_SHOWN.clear()
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


def test_the_whole_map_is_read_once_and_serves_every_country_and_category(demo):
    """After one incident's obligations, another country and category cost no query but the marker's."""
    from qa_incidents.laws import service as laws

    service._LAWS_SHOWN.clear()
    service._MAPS_SHOWN.clear()
    pairs = {}
    for incident in incidents(demo):
        pairs.setdefault((incident.category_id, incident.country), incident)
    assert len(pairs) > 1
    first, *others = pairs.values()
    obligations_shown(demo, first)
    statements: list[str] = []
    bind = demo.connection()

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(bind, "before_cursor_execute", note)
    try:
        for incident in others:
            obligations_shown(demo, incident)
    finally:
        sa.event.remove(bind, "before_cursor_execute", note)
    assert statements and all("counter" in s for s in statements)
    assert len(service._MAPS_SHOWN) == 1
    # The plain map gives what the database gives, for every category and country the demo files under.
    shown = service.MapShown.load(demo)
    for category_id, country in pairs:
        zone, found = shown.candidates(category_id=category_id, country=country)
        fresh = laws.candidates(demo, category_id=category_id, country=country)
        assert [(c.law.id, c.jurisdiction.code, [o.id for o in c.obligations], [v.category_id for v in c.coverage])
                for c in found] == [(c.law.id, c.jurisdiction.code, [o.id for o in c.obligations],
                                     [v.category_id for v in c.coverage]) for c in fresh]
