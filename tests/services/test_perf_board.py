"""The deadline board at scale: its counts by urgency are those of every open record the viewer may see, at any
moment (the clock moves records between urgencies without a write), while what only a write can change (how many
there are, how many have no deadline, which authorities) is remembered and counted again after every write."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core import sequences
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents.models import Incident
from qa_incidents.notifications import records, rules
from qa_incidents.notifications.models import NotificationRecord
from qa_incidents.notifications.rules import OPEN_STATES, Urgency

H = timedelta(hours=1)
US = timedelta(microseconds=1)
#: Deadlines from the first moment looked at: on, and a microsecond either side of, every edge of an urgency.
DUE_EDGES = [-30 * H, -US, timedelta(0), US, 4 * H - US, 4 * H, 4 * H + US, 24 * H - US, 24 * H, 24 * H + US,
             30 * H, 10 * 24 * H]
#: Clocks that reach half their time on, or just either side of, the first moment (even in microseconds, so that
#: "half the time" is a whole microsecond).
HALF_EDGES = [-2 * US, timedelta(0), 2 * US, 2 * H]
#: The moments the board is looked at, from the first: it must count right at each, with no write in between.
MOMENTS = [timedelta(0), US, 4 * H, 4 * H + US, 20 * H, 24 * H + US, 26 * H, 10 * 24 * H, -H]


def user(session, email: str) -> User:
    found = session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


@pytest.fixture
def many(demo, clock):
    """About 120 more records on the demo incidents of every division: open in each open state and closed ones,
    deadlines on the edges, clocks reaching half time on the edges, none without a deadline, two authorities."""
    now = clock()
    base = {"title": "Report", "origin": "added", "created_at": now, "updated_at": now}
    incidents = list(demo.scalars(sa.select(Incident).order_by(Incident.id)))
    owners = [user(demo, "division.qa@example.com").id, user(demo, "hq.qa@example.com").id, None]
    states = [*sorted(OPEN_STATES), rules.State.SUBMITTED]
    rows = []
    shapes = [(due, now + due - 10 * 24 * H) for due in DUE_EDGES]
    shapes += [(half + 50 * H, now + half - 50 * H) for half in HALF_EDGES]  # (due from now, clock start)
    shapes += [(None, now - H), (None, None)]
    for i, (due, start) in enumerate(shapes * 3):
        rows.append(base | {
            "incident_id": incidents[i % len(incidents)].id, "regime_code": f"XX-{i % 4}", "period_label": f"p{i}",
            "authority": "Board Authority A" if i % 3 else "Board Authority B", "state": states[i % len(states)].value,
            "clock_start": start, "due_at": None if due is None else now + due, "owner_id": owners[i // 2 % len(owners)],
})
    demo.execute(sa.insert(NotificationRecord), rows)
    demo.commit()
    return demo


def expected(session, viewer: User, now, **filters) -> tuple[dict[Urgency, int], list[str]]:
    """The counts by urgency and the authorities, worked out record by record with the rule users see."""
    actor = viewer.actor
    counts: Counter[Urgency] = Counter()
    authorities: set[str] = set()
    for record in session.scalars(sa.select(NotificationRecord)):
        if (rules.State(record.state) not in OPEN_STATES or not can(actor, Capability.READ_INCIDENTS)
                or not (can(actor, Capability.READ_ALL_DIVISIONS) or record.incident.division_id == actor.division_id)
                or filters.get("division_id") not in (None, record.incident.division_id)):
            continue
        authorities.add(record.authority)
        if (filters.get("authority") not in (None, record.authority)
                or filters.get("regime_code") not in (None, record.regime_code)
                or filters.get("owner_id") not in (None, record.owner_id)):
            continue
        counts[records.urgency_of(record, now=now)] += 1
    session.rollback()
    return {u: counts[u] for u in Urgency}, sorted(authorities)


def seen(session, viewer: User, now, **filters) -> tuple[dict[Urgency, int], list[str], records.Board]:
    board = records.board(session, user=viewer, now=now, **filters)
    session.rollback()  # end the read transaction, as a request does
    return board.counts, board.authorities, board


VIEWERS = ["hq.qa@example.com", "division.qa@example.com", "cable.reporter@example.com", "engineer@example.com"]


@pytest.mark.parametrize("email", VIEWERS)
def test_counts_follow_the_clock_for_every_viewer(many, clock, email):
    viewer = user(many, email)
    for moment in MOMENTS:
        now = clock() + moment
        counts, authorities, board = seen(many, viewer, now)
        want_counts, want_authorities = expected(many, viewer, now)
        assert counts == want_counts, moment
        assert authorities == want_authorities
        assert board.total == sum(want_counts.values())
        assert [row.urgency for row in board.rows] == [records.urgency_of(many.get(NotificationRecord, row.record.id),
                                                                          now=now) for row in board.rows]
        many.rollback()


def test_counts_follow_the_clock_with_every_filter(many, clock):
    hq, qa = user(many, "hq.qa@example.com"), user(many, "division.qa@example.com")
    filters = [{"authority": "Board Authority B"}, {"regime_code": "XX-1"}, {"owner_id": qa.id},
               {"division_id": qa.division_id}, {"authority": "Board Authority A", "owner_id": hq.id}]
    for moment in MOMENTS:
        now = clock() + moment
        for chosen in filters:
            counts, _authorities, _board = seen(many, hq, now, **chosen)
            assert counts == expected(many, hq, now, **chosen)[0], (moment, chosen)


def test_urgent_records_are_counted_in_every_state(many, clock):
    counts, _authorities, _board = seen(many, user(many, "hq.qa@example.com"), clock())
    # On the first moment: 3 edges overdue (-30 h, -1 µs, 0) and so on, in each of three open states of four.
    assert counts[Urgency.OVERDUE] > 0 and counts[Urgency.CRITICAL] > 0 and counts[Urgency.SOON] > 0
    assert counts[Urgency.WATCH] > 0 and counts[Urgency.OK] > 0 and counts[Urgency.NO_DEADLINE] > 0


def _set(session, values: dict, *where) -> None:
    # Core, not the ORM: the marker is moved by the database itself, whatever writes the row.
    session.execute(sa.update(NotificationRecord).where(*where).values(**values))


@pytest.mark.parametrize("change", [
    {"state": rules.State.SUBMITTED.value}, {"authority": "Board Authority C"}, {"regime_code": "XX-9"},
    {"due_at": None}, {"owner_id": None}])
def test_a_committed_change_is_counted_at_once(many, clock, change):
    hq, qa = user(many, "hq.qa@example.com"), user(many, "division.qa@example.com")
    now = clock()
    for filters in ({}, {"owner_id": qa.id}, {"regime_code": "XX-1"}, {"authority": "Board Authority A"}):
        seen(many, hq, now, **filters)  # remembered now
    target = many.scalar(sa.select(NotificationRecord.id).where(
        NotificationRecord.owner_id == qa.id, NotificationRecord.regime_code == "XX-1",
        NotificationRecord.authority == "Board Authority A", NotificationRecord.due_at > now + 30 * H,
        NotificationRecord.state.in_([s.value for s in OPEN_STATES])).limit(1))
    assert target is not None
    _set(many, change, NotificationRecord.id == target)
    many.commit()
    for filters in ({}, {"owner_id": qa.id}, {"regime_code": "XX-1"}, {"authority": "Board Authority A"}):
        counts, authorities, _board = seen(many, hq, now, **filters)
        assert (counts, authorities) == expected(many, hq, now, **filters), filters


def test_new_records_and_moved_incidents_are_counted(many, clock):
    hq, cable = user(many, "hq.qa@example.com"), user(many, "cable.reporter@example.com")
    now = clock()
    before, _authorities, _board = seen(many, cable, now)
    incident = many.scalar(sa.select(Incident).where(Incident.division_id != cable.division_id).limit(1))
    many.execute(sa.update(Incident).where(Incident.id == incident.id).values(division_id=cable.division_id))
    many.commit()
    after, _authorities, _board = seen(many, cable, now)
    assert after == expected(many, cable, now)[0] and after != before
    many.execute(sa.insert(NotificationRecord), [{
        "incident_id": incident.id, "regime_code": "XX-NEW", "authority": "Board Authority N", "title": "Report",
        "origin": "added", "state": "required", "clock_start": now, "due_at": now + 100 * H, "created_at": now,
        "updated_at": now}])
    many.commit()
    counts, authorities, _board = seen(many, hq, now)
    assert (counts, authorities) == expected(many, hq, now) and "Board Authority N" in authorities


def test_a_rolled_back_change_leaves_no_trace(many, clock):
    hq = user(many, "hq.qa@example.com")
    now = clock()
    clean = seen(many, hq, now)[:2]
    _set(many, {"state": rules.State.SUBMITTED.value, "authority": "Board Authority R"},
         NotificationRecord.state.in_([s.value for s in OPEN_STATES]), NotificationRecord.due_at.is_(None))
    inside = records.board(many, user=hq, now=now)
    assert inside.counts[Urgency.NO_DEADLINE] == 0  # the writer sees its own change…
    many.rollback()
    assert seen(many, hq, now)[:2] == clean == expected(many, hq, now)  # …and no one sees it after the rollback


def test_a_second_view_does_not_count_every_open_record_again(many, clock):
    hq = user(many, "hq.qa@example.com")
    statements: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = many.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        seen(many, hq, clock())
        first = list(statements)
        statements.clear()
        seen(many, hq, clock() + H)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    second = list(statements)

    def counting(found: list[str]) -> list[str]:
        return [s for s in found if "count(*)" in s]

    # The first view counts every open record (and those without a deadline) and walks the authorities; the second
    # counts only what moves with the clock.
    assert len(counting(first)) == 2 and any("WITH RECURSIVE" in s for s in first)
    assert len(counting(second)) == 1 and "due_at <=" in counting(second)[0]
    assert not any("WITH RECURSIVE" in s for s in second)


def test_without_a_marker_the_first_view_counts_and_gives_it_a_value(demo, clock):
    """After an upgrade no record has been written since: nothing is remembered until the marker has a value."""
    hq = user(demo, "hq.qa@example.com")
    demo.execute(sa.delete(sequences.Counter).where(sequences.Counter.name == records.BOARD_MARKER))
    demo.commit()
    assert seen(demo, hq, clock())[:2] == expected(demo, hq, clock())
    assert sequences.marker(demo, records.BOARD_MARKER) is not None
    demo.rollback()
    assert seen(demo, hq, clock())[:2] == expected(demo, hq, clock())
