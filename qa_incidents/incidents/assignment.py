"""Who works an incident now: its assignee, set by the division's QA managers or head-office QA, audited.

Plain rules and one service function per change; the views only call them. Assigning is a QA manager's act (the
capability of working regulator notifications, which exactly the division's QA managers and head-office QA hold);
the assignee is an active person who may work the incident's division (its reporters and QA managers, or
head-office QA). Imported history and closed incidents are nobody's work: they take no new assignee (clearing one
is always allowed). Bulk assignment applies the same checks to each incident and reports each refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.permissions import Capability, Role, can, can_read_division, can_work_division
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import STATUS_TITLES, Status

#: The capability that assigning takes: held by the division's QA managers and head-office QA only.
ASSIGNING = Capability.WORK_NOTIFICATIONS
#: Roles whose holders work incidents (and so may be assigned one).
WORKING_ROLES = (Role.REPORTER, Role.DIVISION_QA, Role.HEAD_OFFICE_QA)
#: States in which an incident is nobody's work.
NOT_WORKED = frozenset({Status.HISTORICAL, Status.CLOSED})
#: How many incidents one bulk assignment takes at most.
BULK_LIMIT = 200


def may_assign(user: User, division_id: int) -> bool:
    """Whether the user may set the assignee of an incident of this division."""
    return can_work_division(user.actor, division_id, ASSIGNING)


def may_be_assigned(person: User, division_id: int) -> bool:
    """Whether the person may be given an incident of this division (active, and works that division)."""
    return (person.active and person.role in WORKING_ROLES
            and can_work_division(person.actor, division_id, Capability.EDIT_INCIDENT))


def candidates(session: so.Session, division_id: int | None) -> list[User]:
    """The people an incident of the division may be assigned to (every division's, when None), by name."""
    stmt = sa.select(User).where(User.active.is_(True), User.role.in_(WORKING_ROLES)).order_by(User.name, User.id)
    if division_id is not None:
        stmt = stmt.where(sa.or_(User.division_id == division_id, User.role == Role.HEAD_OFFICE_QA))
    return list(session.scalars(stmt))


def why_not_assign(incident: Incident, person: User | None) -> str | None:
    """Why this person cannot be given this incident now, in words for the user; None if they can."""
    if person is None:
        return None
    if incident.status in NOT_WORKED:
        return str(_l("%(ref)s is not live work (%(status)s): it takes no assignee.", ref=incident.reference,
                      status=STATUS_TITLES[incident.status]))
    if not may_be_assigned(person, incident.division_id):
        return str(_l("%(name)s does not work incidents of this division.", name=person.name))
    return None


def _person(session: so.Session, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    person = session.get(User, assignee_id) if is_db_id(assignee_id) else None
    if person is None:
        raise ValidationFailed({"assignee_id": str(_l("No such person."))})
    return person


def assign(session: so.Session, *, user: User, incident_id: int, assignee_id: int | None, now: datetime) -> Incident:
    """Give the incident to a person (or to nobody, with None); audited on the incident's timeline."""
    incident = session.get(Incident, incident_id) if is_db_id(incident_id) else None
    if incident is None or not can_read_division(user.actor, incident.division_id):
        raise NotFound(str(_l("No such incident.")))
    if not may_assign(user, incident.division_id):
        raise Forbidden(str(_l("Only the division's QA managers and head-office QA assign incidents.")))
    return _assign(session, user=user, incident=incident, person=_person(session, assignee_id), now=now)


def _assign(session: so.Session, *, user: User, incident: Incident, person: User | None, now: datetime) -> Incident:
    if why := why_not_assign(incident, person):
        raise ValidationFailed({"assignee_id": why})
    before = incident.assignee
    if (before.id if before else None) == (person.id if person else None):
        return incident
    incident.assignee_id = person.id if person else None
    incident.updated_by_id, incident.updated_at = user.id, now
    session.flush()
    session.expire(incident, ["assignee"])
    audit.record(session, actor_id=user.id, entity_type="incident", entity_id=incident.id, action="assigned", now=now,
                 incident_id=incident.id,
                 changes={"assignee": [before.name if before else None, person.name if person else None]})
    return incident


@dataclass
class BulkResult:
    """What a bulk assignment did: the references changed, those already so, and each refusal with its reason."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def assign_many(session: so.Session, *, user: User, incident_ids: list[int], assignee_id: int | None,
                now: datetime) -> BulkResult:
    """Assign each incident as `assign` would, each audited on its own; a refused row changes nothing and says why."""
    if not incident_ids:
        raise ValidationFailed({"incident_ids": str(_l("Select at least one incident."))})
    if len(incident_ids) > BULK_LIMIT:
        raise ValidationFailed({"incident_ids": str(_l("Select at most %(n)d incidents at a time.", n=BULK_LIMIT))})
    if not can(user.actor, ASSIGNING):
        raise Forbidden(str(_l("Only the division's QA managers and head-office QA assign incidents.")))
    person = _person(session, assignee_id)
    result = BulkResult()
    for incident_id in dict.fromkeys(incident_ids):
        incident = session.get(Incident, incident_id) if is_db_id(incident_id) else None
        if incident is None or not can_read_division(user.actor, incident.division_id):
            result.refused.append((f"#{incident_id}", str(_l("No such incident."))))
            continue
        if not may_assign(user, incident.division_id):
            result.refused.append((incident.reference, str(_l("Only the incident's own division may do this."))))
            continue
        before = incident.assignee_id
        try:
            with session.begin_nested():
                _assign(session, user=user, incident=incident, person=person, now=now)
        except DomainError as e:
            reasons = getattr(e, "errors", None)
            result.refused.append((incident.reference, "; ".join(reasons.values()) if reasons else str(e)))
            continue
        (result.changed if incident.assignee_id != before else result.unchanged).append(incident.reference)
    return result
