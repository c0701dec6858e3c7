"""Who may do what: roles, capabilities and division scoping, as one readable table.

Pure Python: no Flask, no database. Views and services ask these functions; nothing else
decides access.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


class Role(enum.StrEnum):
    REPORTER = "reporter"
    DIVISION_QA = "division_qa"
    HEAD_OFFICE_QA = "head_office_qa"
    EXECUTIVE = "executive"
    ENGINEER = "engineer"
    ADMIN = "admin"


class Capability(enum.StrEnum):
    READ_INCIDENTS = "read_incidents"  # see incidents at all (scope decided separately)
    FILE_INCIDENT = "file_incident"
    EDIT_INCIDENT = "edit_incident"  # facts, comments, attachments
    READ_ALL_DIVISIONS = "read_all_divisions"  # not limited to the user's own division
    WORK_ALL_DIVISIONS = "work_all_divisions"  # may file and edit for any division
    MANAGE_USERS = "manage_users"
    MANAGE_DIVISIONS = "manage_divisions"
    MANAGE_CATALOGUE = "manage_catalogue"
    MANAGE_RULES = "manage_rules"  # severity matrix, SLAs
    EDIT_LAWS_MAP = "edit_laws_map"  # jurisdictions, laws, obligations, amendments
    APPROVE = "approve"  # sign approvals: escalations, notifications, recall launch/closure, reviews
    WORK_NOTIFICATIONS = "work_notifications"  # draft, submit and record regulator notifications
    MANAGE_RECALLS = "manage_recalls"  # campaigns, notices, progress (division scope applies)
    WRITE_REVIEWS = "write_reviews"  # OCHIBO-HIROI reviews, countermeasures, deployment answers
    READ_LESSONS = "read_lessons"  # browse and search published lessons learned
    READ_REPORTS = "read_reports"  # status reports, portfolio report, dashboard
    USE_API = "use_api"  # hold API tokens (the API then applies the role's other capabilities)
    LOG_COMPLAINTS = "log_complaints"  # take in customer complaints (form, API, files); reading them is READ_INCIDENTS
    WORK_COMPLAINTS = "work_complaints"  # file a flagged complaint as an incident; promote or dismiss signals
    READ_CUSTOMER_CONTACT = "read_customer_contact"  # see a complainant's name and contact details


C = Capability
#: The access matrix. Admins keep the system but do not read incidents (customer data);
#: executives read everything and change nothing; engineers read published lessons only.
CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.REPORTER: frozenset({C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.READ_LESSONS, C.USE_API,
                              C.LOG_COMPLAINTS}),
    Role.DIVISION_QA: frozenset(
        {C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.WORK_NOTIFICATIONS, C.MANAGE_RECALLS, C.WRITE_REVIEWS,
         C.READ_LESSONS, C.READ_REPORTS, C.USE_API, C.LOG_COMPLAINTS, C.WORK_COMPLAINTS, C.READ_CUSTOMER_CONTACT}
    ),
    Role.HEAD_OFFICE_QA: frozenset(
        {C.READ_INCIDENTS, C.FILE_INCIDENT, C.EDIT_INCIDENT, C.READ_ALL_DIVISIONS, C.WORK_ALL_DIVISIONS, C.EDIT_LAWS_MAP,
         C.APPROVE, C.WORK_NOTIFICATIONS, C.MANAGE_RECALLS, C.WRITE_REVIEWS, C.READ_LESSONS, C.READ_REPORTS, C.USE_API,
         C.LOG_COMPLAINTS, C.WORK_COMPLAINTS, C.READ_CUSTOMER_CONTACT}
    ),
    Role.EXECUTIVE: frozenset({C.READ_INCIDENTS, C.READ_ALL_DIVISIONS, C.READ_LESSONS, C.READ_REPORTS, C.USE_API}),
    Role.ENGINEER: frozenset({C.READ_LESSONS, C.USE_API}),
    Role.ADMIN: frozenset({C.MANAGE_USERS, C.MANAGE_DIVISIONS, C.MANAGE_CATALOGUE, C.MANAGE_RULES, C.EDIT_LAWS_MAP}),
}

#: Role names as people read them, in the reader's language (lazy: translated when shown).
ROLE_TITLES: dict[Role, str] = {
    Role.REPORTER: _l("Reporter (division QA staff)"),
    Role.DIVISION_QA: _l("Division QA manager"),
    Role.HEAD_OFFICE_QA: _l("Head-office QA"),
    Role.EXECUTIVE: _l("Executive (top management)"),
    Role.ENGINEER: _l("Engineer"),
    Role.ADMIN: _l("Administrator"),
}


@dataclass(frozen=True)
class Actor:
    """The facts about a user that access decisions need."""

    id: int
    role: Role
    division_id: int


def can(actor: Actor, capability: Capability) -> bool:
    """Whether the actor's role carries the capability."""
    return capability in CAPABILITIES[actor.role]


def readable_divisions(actor: Actor) -> frozenset[int] | None:
    """The one scoping rule: the divisions whose incidents (and everything about them) the actor may read.
    None means every division; an empty set, none. The actor's division is the current one: a user moved to
    another division reads the new division's records only."""
    if not can(actor, C.READ_INCIDENTS):
        return frozenset()
    if can(actor, C.READ_ALL_DIVISIONS):
        return None
    return frozenset({actor.division_id})


def scope_key(actor: Actor) -> str:
    """`readable_divisions` as a short text, the part of a kept value's key that says whose it is: "all", "none" or
    the divisions' ids ("division-3"). Two actors with the same key may see the same kept counts."""
    scope = readable_divisions(actor)
    if scope is None:
        return "all"
    return "division-" + "-".join(str(d) for d in sorted(scope)) if scope else "none"


def can_read_division(actor: Actor, division_id: int) -> bool:
    """Whether the actor may read incidents of the given division."""
    scope = readable_divisions(actor)
    return scope is None or division_id in scope


#: The execution option scoped() and unscoped() set on a statement: the scoping test (tests/views/test_scoping_rule.py)
#: flags every query over a division's records that carries neither.
SCOPE_OPTION = "division_scope"


def scoped(stmt: Any, actor: Actor, division_column: Any, *, or_none: bool = False) -> Any:
    """A query (SQLAlchemy Select) restricted by readable_divisions on the given division column: every query that
    lists or counts what a user may see goes through this, whatever table it starts from (the division column may
    be a joined table's, e.g. Incident.division_id for status reports). `or_none` keeps the rows whose column is
    NULL: those about no division's record (an inbox item about no incident, through an outer join). The statement
    is marked as scoped."""
    stmt = stmt.execution_options(**{SCOPE_OPTION: "scoped"})
    scope = readable_divisions(actor)
    if scope is None:
        return stmt
    readable = division_column.in_(sorted(scope))  # an empty list matches nothing
    return stmt.where(readable | division_column.is_(None) if or_none else readable)


def unscoped(stmt: Any, why: str) -> Any:
    """A query over a division's records that deliberately reads every division, marked as such with the reason:
    a lookup by id whose caller checks can_read_division on the row it gets, a figure the rules compute across
    divisions without showing the rows (e.g. similar reports), or work done for the system, not for a reader."""
    if not why.strip():
        raise ValueError("say why the query is not scoped")
    return stmt.execution_options(**{SCOPE_OPTION: f"unscoped: {why}"})


def can_work_division(actor: Actor, division_id: int, capability: Capability = C.EDIT_INCIDENT) -> bool:
    """Whether the actor may file or change incidents of the given division."""
    if not can(actor, capability):
        return False
    return can(actor, C.WORK_ALL_DIVISIONS) or actor.division_id == division_id
