"""The deadline board filtered by owner ("My work") or by authority reads its own index range on PostgreSQL.

Without an index that begins with the filtered column, the planner reads every notification record for the counts
(a parallel sequential scan: 50-150 ms with 200,000 records). Here a few thousand records in the proportions of a
large deployment (most records closed, a handful of owners and authorities) are analysed, and the statements the
board really runs are explained: none may read the whole table, and each is answered from the new indexes. What
the board shows with the filters is checked against the records themselves.

On SQLite there is no planner statistics to speak of and the plans are the same whatever the table's size: the
test is for PostgreSQL only.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents.models import Incident
from qa_incidents.notifications import records, rules
from qa_incidents.notifications.models import NotificationRecord

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="the plans are PostgreSQL's (SQLite plans alike at every size)")

RECORDS = 12_000
AUTHORITIES = ["US", "EU", "EU", "CA", "UK", "AU", "JP"]  # EU twice: uneven, as in a real deployment
H = timedelta(hours=1)


@pytest.fixture
def loaded(demo, clock, engine):
    """RECORDS records on the demo incidents: about half closed, the others spread over the open states, owned
    by the demo users, deadlines from two days past to two months ahead; then VACUUM ANALYZE, as autovacuum
    would have done on a table this size."""
    now = clock()
    rng = random.Random(17)
    incidents = list(demo.scalars(sa.select(Incident.id).order_by(Incident.id)))
    owners = list(demo.scalars(sa.select(User.id).order_by(User.id)))
    open_states = [s.value for s in sorted(rules.OPEN_STATES)]
    rows = []
    for i in range(RECORDS):
        due = now + timedelta(minutes=rng.randrange(-2 * 24 * 60, 60 * 24 * 60))
        state = rules.State.ACKNOWLEDGED.value if rng.random() < 0.5 else rng.choice(open_states)
        rows.append({"incident_id": incidents[i % len(incidents)], "regime_code": "XX", "kind": "initial",
                     "period_label": f"p{i}", "authority": rng.choice(AUTHORITIES), "title": "Report",
                     "origin": "added", "state": state, "clock_start": due - 10 * 24 * H, "due_at": due,
                     "owner_id": rng.choice(owners), "created_at": now, "updated_at": now})
    demo.execute(sa.insert(NotificationRecord), rows)
    demo.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE notification_record")
    return demo


def plans(engine: sa.Engine, view: Callable[[], records.Board]) -> tuple[records.Board, list[str]]:
    """The board `view` returns, and the plan of every statement it ran on notification_record."""
    ran: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "notification_record" in statement:
            ran.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        board = view()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as conn:
        return board, ["\n".join(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
                       for statement, parameters in ran]


def expected(session, viewer: User, now, **filters: Any) -> tuple[dict[rules.Urgency, int], list[int]]:
    """The counts by urgency and the first BOARD_ROWS record ids, worked out record by record."""
    R = NotificationRecord
    actor = viewer.actor
    counts: Counter[rules.Urgency] = Counter()
    shown = []
    for row in session.execute(sa.select(R.id, R.state, R.clock_start, R.due_at, R.owner_id, R.authority,
                                         Incident.division_id).join(Incident, Incident.id == R.incident_id)):
        if (rules.State(row.state) not in rules.OPEN_STATES
                or not (can(actor, Capability.READ_ALL_DIVISIONS) or row.division_id == actor.division_id)
                or any(getattr(row, name) != value for name, value in filters.items())):
            continue
        counts[rules.urgency(start=row.clock_start, due=row.due_at, now=now)] += 1
        shown.append((row.due_at, row.clock_start, row.id))
    session.rollback()
    return {u: counts[u] for u in rules.Urgency}, [i for _due, _start, i in sorted(shown)[:records.BOARD_ROWS]]


def board_of(session, viewer: User, now, **filters: Any) -> Callable[[], records.Board]:
    def view() -> records.Board:
        records._BOARD_CACHE.clear()  # every count counted: the plans of them all
        try:
            return records.board(session, user=viewer, now=now, **filters)
        finally:
            session.rollback()

    return view


def test_my_work_and_the_filtered_board_read_their_own_indexes(loaded, engine, clock, demo_user):
    hq, division_qa = demo_user("hq.qa@example.com"), demo_user("division.qa@example.com")
    cases = [
        # My work (the board with owner_id: the viewer's own records), for a viewer of every division and for
        # one limited to theirs; the board filtered by an authority.
        (hq, {"owner_id": hq.id}, "ix_notification_owner_board"),
        (division_qa, {"owner_id": division_qa.id}, "ix_notification_owner_board"),
        (hq, {"authority": "JP"}, "ix_notification_authority_board"),
    ]
    for viewer, filters, index in cases:
        board, found = plans(engine, board_of(loaded, viewer, clock(), **filters))
        counts, first = expected(loaded, viewer, clock(), **filters)
        assert board.counts == counts and board.total == sum(counts.values()) > 0, filters
        assert [row.record.id for row in board.rows] == first, filters
        counted = [plan for plan in found if "Aggregate" in plan]
        assert counted and not [plan for plan in found if "Seq Scan on notification_record" in plan], found
        assert all(index in plan for plan in counted), counted
    open_authorities = loaded.scalars(sa.select(NotificationRecord.authority).where(
        NotificationRecord.state.in_([s.value for s in rules.OPEN_STATES])))
    assert board.authorities == sorted(set(open_authorities))
