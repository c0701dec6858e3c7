"""The register's counts at scale: exact from the tally, capped at a limit where it cannot answer, remembered between
pages, and never stale."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Status
from qa_incidents.incidents.service import RegisterFilter


def counts(session, user, cap=None, **filters):  # type: ignore[no-untyped-def]
    page = service.register(session, user=user, filters=RegisterFilter(**filters), count_cap=cap)
    session.rollback()  # end the read transaction, as a request does
    return page


def set_status(session, reference: str, status: Status) -> None:
    # Core, not the ORM: the marker is moved by the database itself, whatever writes the row.
    session.execute(sa.update(Incident).where(Incident.reference == reference).values(status=status.value))


def test_counts_the_tally_cannot_answer_stop_at_the_cap_and_say_so(demo, demo_user):
    hq = demo_user("hq.qa@example.com")  # six reported incidents, none assigned
    page = counts(demo, hq, cap=4, unassigned=True)  # no assignee in the tally's key: counted from the incidents
    assert (page.total, page.total_capped) == (4, True)
    assert page.by_status == {"reported": 4} and page.capped == {"reported"}
    exact = counts(demo, hq, cap=None, unassigned=True)
    assert (exact.total, exact.total_capped, exact.by_status, exact.capped) == (6, False, {"reported": 6}, set())
    below = counts(demo, hq, cap=6, unassigned=True)
    assert (below.total, below.total_capped, below.capped) == (6, False, set())


def test_counts_the_tally_answers_are_exact_whatever_the_cap(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    page = counts(demo, hq, cap=4)
    assert (page.total, page.total_capped, page.by_status, page.capped) == (6, False, {"reported": 6}, set())


def test_a_committed_change_is_counted_at_once(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    assert counts(demo, hq, cap=100).by_status == {"reported": 6}
    assert counts(demo, hq, cap=100).by_status == {"reported": 6}  # now remembered
    set_status(demo, "INC-2026-000001", Status.TRIAGED)
    demo.commit()
    page = counts(demo, hq, cap=100, status=Status.TRIAGED)
    assert page.by_status == {"reported": 5, "triaged": 1} and page.total == 1
    assert counts(demo, hq, cap=100).total == 6


def test_a_rolled_back_change_leaves_no_trace_in_the_counts(demo, demo_user):
    hq = demo_user("hq.qa@example.com")
    assert counts(demo, hq, cap=100).by_status == {"reported": 6}
    set_status(demo, "INC-2026-000002", Status.CLOSED)
    inside = service.register(demo, user=hq, filters=RegisterFilter(), count_cap=100)
    assert inside.by_status == {"reported": 5, "closed": 1}  # the writer sees its own change…
    demo.rollback()
    assert counts(demo, hq, cap=100).by_status == {"reported": 6}  # …and no one sees it after the rollback


def test_new_incidents_are_counted(demo, demo_user, make_facts, clock):
    reporter = demo_user("reporter@example.com")
    before = counts(demo, reporter, cap=100).total
    service.file_incident(demo, user=reporter, facts=make_facts(), now=clock())
    demo.commit()
    assert counts(demo, reporter, cap=100).total == before + 1


def test_remembered_counts_keep_each_readers_scope(demo, demo_user):
    assert counts(demo, demo_user("hq.qa@example.com"), cap=100).total == 6
    assert counts(demo, demo_user("reporter@example.com"), cap=100).total == 4
    assert counts(demo, demo_user("cable.reporter@example.com"), cap=100).total == 2
    assert counts(demo, demo_user("engineer@example.com"), cap=100).total == 0
