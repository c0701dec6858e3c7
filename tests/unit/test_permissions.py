"""Who may do what: the capability table and division scoping, for every role."""

from __future__ import annotations

import pytest

from qa_incidents.core.permissions import (
    CAPABILITIES,
    ROLE_TITLES,
    Actor,
    Capability,
    Role,
    can,
    can_read_division,
    can_work_division,
)

C = Capability
OWN, OTHER = 10, 20

#: What each role may do, written out independently of the table under test.
EXPECTED = {
    Role.REPORTER: {C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.READ_LESSONS, C.USE_API, C.LOG_COMPLAINTS},
    Role.DIVISION_QA: {C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.WORK_NOTIFICATIONS, C.MANAGE_RECALLS,
                       C.WRITE_REVIEWS, C.READ_LESSONS, C.READ_REPORTS, C.USE_API, C.LOG_COMPLAINTS,
                       C.WORK_COMPLAINTS, C.READ_CUSTOMER_CONTACT},
    Role.HEAD_OFFICE_QA: {C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.READ_ALL_DIVISIONS,
                          C.WORK_ALL_DIVISIONS, C.EDIT_LAWS_MAP, C.APPROVE, C.WORK_NOTIFICATIONS, C.MANAGE_RECALLS,
                          C.WRITE_REVIEWS, C.READ_LESSONS, C.READ_REPORTS, C.USE_API, C.LOG_COMPLAINTS,
                       C.WORK_COMPLAINTS, C.READ_CUSTOMER_CONTACT},
    Role.EXECUTIVE: {C.READ_INCIDENTS, C.READ_ALL_DIVISIONS, C.READ_LESSONS, C.READ_REPORTS, C.USE_API},
    Role.ENGINEER: {C.READ_LESSONS, C.USE_API},
    Role.ADMIN: {C.MANAGE_USERS, C.MANAGE_DIVISIONS, C.MANAGE_CATALOGUE, C.MANAGE_RULES, C.EDIT_LAWS_MAP},
}

#: (read own, read other, work own, work other) division incidents.
SCOPE = {
    Role.REPORTER: (True, False, True, False),
    Role.DIVISION_QA: (True, False, True, False),
    Role.HEAD_OFFICE_QA: (True, True, True, True),
    Role.EXECUTIVE: (True, True, False, False),
    Role.ENGINEER: (False, False, False, False),
    Role.ADMIN: (False, False, False, False),
}


def actor(role: Role) -> Actor:
    return Actor(id=1, role=role, division_id=OWN)


def test_every_role_has_a_row_and_a_title():
    assert set(CAPABILITIES) == set(Role) == set(EXPECTED) == set(ROLE_TITLES)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("capability", list(Capability))
def test_capability_table(role, capability):
    assert can(actor(role), capability) is (capability in EXPECTED[role])


@pytest.mark.parametrize("role", list(Role))
def test_division_scoping(role):
    read_own, read_other, work_own, work_other = SCOPE[role]
    a = actor(role)
    assert can_read_division(a, OWN) is read_own
    assert can_read_division(a, OTHER) is read_other
    assert can_work_division(a, OWN) is work_own
    assert can_work_division(a, OTHER) is work_other


@pytest.mark.parametrize("role", list(Role))
def test_filing_follows_the_same_scope_as_editing(role):
    _, _, work_own, work_other = SCOPE[role]
    a = actor(role)
    assert can_work_division(a, OWN, C.FILE_INCIDENT) is work_own
    assert can_work_division(a, OTHER, C.FILE_INCIDENT) is work_other


def test_executive_reads_everything_and_changes_nothing():
    a = actor(Role.EXECUTIVE)
    assert can_read_division(a, OTHER)
    assert not any(can_work_division(a, d, cap) for d in (OWN, OTHER) for cap in (C.EDIT_INCIDENT, C.FILE_INCIDENT))


@pytest.mark.parametrize("role", [Role.ENGINEER, Role.ADMIN])
def test_engineer_and_admin_cannot_see_incidents_even_of_their_own_division(role):
    a = actor(role)
    assert not can(a, C.READ_INCIDENTS)
    assert not can_read_division(a, OWN)
    assert not can_work_division(a, OWN)


def test_only_admin_manages_the_system():
    managers = {role for role in Role if can(actor(role), C.MANAGE_USERS)}
    assert managers == {Role.ADMIN}


def _sql(stmt) -> str:  # type: ignore[no-untyped-def]
    return str(stmt.compile(compile_kwargs={"literal_binds": True}))


def test_scoped_restricts_to_the_readable_divisions_and_marks_the_query():
    import sqlalchemy as sa

    from qa_incidents.core.permissions import SCOPE_OPTION, scoped

    table = sa.table("incident", sa.column("id"), sa.column("division_id"))
    stmt = sa.select(table.c.id)
    own = scoped(stmt, Actor(id=1, role=Role.REPORTER, division_id=3), table.c.division_id)
    assert "incident.division_id IN (3)" in _sql(own)
    assert own.get_execution_options()[SCOPE_OPTION] == "scoped"
    every = scoped(stmt, Actor(id=2, role=Role.EXECUTIVE, division_id=1), table.c.division_id)
    assert "WHERE" not in _sql(every) and every.get_execution_options()[SCOPE_OPTION] == "scoped"
    nothing = scoped(stmt, Actor(id=3, role=Role.ENGINEER, division_id=3), table.c.division_id)
    assert "WHERE" in _sql(nothing) and "3" not in _sql(nothing).split("WHERE")[1]  # an empty IN: no row
    kept = scoped(stmt, Actor(id=1, role=Role.REPORTER, division_id=3), table.c.division_id, or_none=True)
    assert "incident.division_id IN (3) OR incident.division_id IS NULL" in _sql(kept)


def test_an_unscoped_query_says_why():
    import sqlalchemy as sa

    from qa_incidents.core.permissions import SCOPE_OPTION, unscoped

    stmt = sa.select(sa.table("incident", sa.column("id")).c.id)
    assert unscoped(stmt, "the SLA scan").get_execution_options()[SCOPE_OPTION] == "unscoped: the SLA scan"
    with pytest.raises(ValueError):
        unscoped(stmt, "  ")
