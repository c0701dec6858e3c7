"""Saved views of the incident register: a user's filters kept under a name, listed as links, deleted softly.

Each view belongs to one user and is seen and deleted by that user only. What is kept is the register's query
string, limited to the register's own filters (a view never carries a page cursor). Saving and deleting are audited.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.db import is_db_id
from qa_incidents.core.errors import NotFound, ValidationFailed
from qa_incidents.incidents.models import SavedView

#: The register's filters a view keeps, in this order.
FILTERS = ("q", "status", "severity", "division", "category", "country", "aware_from", "aware_to", "assigned", "sort")
NAME_MAX = 80
#: How many views one user keeps at most.
PER_USER = 50
ENTITY = "saved_view"


def normalised(query: str) -> str:
    """The query string with only the register's filters (non-empty, first value of each), in a fixed order."""
    values: dict[str, str] = {}
    for key, value in parse_qsl(query or "", keep_blank_values=False):
        if key in FILTERS and key not in values and value.strip():
            values[key] = value.strip()[:200]
    return urlencode([(k, values[k]) for k in FILTERS if k in values])


def views_of(session: so.Session, user: User) -> list[SavedView]:
    """The user's views, by name."""
    return list(session.scalars(sa.select(SavedView).where(SavedView.user_id == user.id, SavedView.deleted_at.is_(None))
                                .order_by(SavedView.name, SavedView.id)))


def save(session: so.Session, *, user: User, name: str, query: str, now: datetime) -> SavedView:
    """Keep the register's current filters under a name (refused: no name, too long, a name in use, too many)."""
    name = " ".join((name or "").split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = str(_l("Give the view a name."))
    elif len(name) > NAME_MAX:
        errors["name"] = str(_l("At most %(n)d characters.", n=NAME_MAX))
    mine = views_of(session, user)
    if name and any(v.name.casefold() == name.casefold() for v in mine):
        errors["name"] = str(_l("You already have a view named “%(name)s”: delete it first or choose another name.",
                                name=name))
    if len(mine) >= PER_USER:
        errors["name"] = str(_l("You keep %(n)d views already: delete one first.", n=PER_USER))
    if errors:
        raise ValidationFailed(errors)
    view = SavedView(user_id=user.id, name=name, query=normalised(query), created_at=now, deleted_at=None)
    session.add(view)
    session.flush()
    audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=view.id, action="saved", now=now,
                 changes={"name": [None, view.name], "query": [None, view.query]})
    return view


def delete(session: so.Session, *, user: User, view_id: int, now: datetime) -> SavedView:
    """Delete one of the user's own views (softly: it is kept, marked deleted); another's view is not found."""
    view = session.get(SavedView, view_id) if is_db_id(view_id) else None
    if view is None or view.user_id != user.id or view.deleted_at is not None:
        raise NotFound(str(_l("No such saved view.")))
    view.deleted_at = now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type=ENTITY, entity_id=view.id, action="deleted", now=now,
                 changes={"deleted_at": [None, now.isoformat()]})
    return view
