"""A watch on the queries the application runs: each one over a division's records must be built by scoped() or
marked by unscoped() (qa_incidents/core/permissions.py), or be a load the ORM makes on its own (an object by its
primary key, a relationship of an object already read, an expired attribute).

The mark is looked for on each SELECT that reads such a table itself, or on a SELECT around it: a subquery inside a
scoped query (e.g. the similar reports counted for each incident of the triage queue) feeds rows the outer query
restricts. Raw SQL naming such a table needs the mark on the text itself."""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.sql import elements, selectable

from qa_incidents.core.permissions import SCOPE_OPTION

#: The tables whose rows belong to a division: their lists and counts must be scoped.
SCOPED_TABLES = frozenset({"incident", "incident_tally", "recall_campaign", "notification_record", "review", "complaint",
                           "complaint_signal", "status_report", "pending_status_report"})
_RAW_FROM = re.compile(r"\b(?:from|join)\s+\"?(" + "|".join(sorted(SCOPED_TABLES)) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Unscoped:
    """A query over a division's records built without scoped()."""

    tables: tuple[str, ...]
    sql: str
    caller: str  # the application's frames that ran it, innermost last

    def where(self) -> str:
        """The innermost frame of the application that ran it."""
        return self.caller.rsplit(" > ", 1)[-1]

    def __str__(self) -> str:
        return f"{', '.join(self.tables)} at {self.caller}\n    {' '.join(self.sql.split())[:400]}"


@dataclass(eq=False)
class ScopeWatch:
    """Collects the unscoped queries run while it listens."""

    found: list[Unscoped] = field(default_factory=list)

    def __call__(self, state: so.ORMExecuteState) -> None:
        if state.is_relationship_load or state.is_column_load:
            return
        stmt = state.statement
        if _marked(state.execution_options) or _is_identity_lookup(stmt):
            return
        if isinstance(stmt, elements.TextClause):
            tables = tuple(sorted({m.lower() for m in _RAW_FROM.findall(stmt.text)}))
        else:
            tables = tuple(sorted(_unscoped_tables(stmt, covered=False, seen=set())))
        if tables:
            self.found.append(Unscoped(tables=tables, sql=str(stmt), caller=_caller()))


@contextmanager
def watching_scope() -> Iterator[ScopeWatch]:
    """While inside, every session's queries are watched."""
    watch = ScopeWatch()
    sa.event.listen(so.Session, "do_orm_execute", watch)
    try:
        yield watch
    finally:
        sa.event.remove(so.Session, "do_orm_execute", watch)


def _marked(options: Any) -> bool:
    return bool(options.get(SCOPE_OPTION))


def _is_identity_lookup(stmt: Any) -> bool:
    """Session.get(): the mapper's own primary-key clause is the whole WHERE. (SQLAlchemy flags relationship and
    column loads on ORMExecuteState, not this one: it is recognised by the clause the ORM puts in.)"""
    criteria = getattr(stmt, "_where_criteria", ())
    if len(criteria) != 1:
        return False
    for description in getattr(stmt, "column_descriptions", ()):
        entity = description.get("entity")
        if entity is not None and criteria[0] is sa.inspect(entity).mapper._get_clause[0]:
            return True
    return False


def _unscoped_tables(element: Any, *, covered: bool, seen: set[int]) -> set[str]:
    """Scoped tables read directly by a Select in the tree that neither it nor a Select around it marked."""
    if id(element) in seen:
        return set()
    seen.add(id(element))
    found: set[str] = set()
    if isinstance(element, selectable.Select):
        covered = covered or _marked(element.get_execution_options())
        if not covered:
            found |= _direct_tables(element) & SCOPED_TABLES
    for child in element.get_children():
        found |= _unscoped_tables(child, covered=covered, seen=seen)
    return found


def _direct_tables(stmt: selectable.Select[Any]) -> set[str]:
    """The tables a Select reads rows of itself (not through a subquery): its columns' tables, select_from()
    and join() targets. The ORM's eager-load joins are added later, at compile time, and are not counted."""
    froms: list[Any] = [*stmt.columns_clause_froms, *stmt._from_obj]  # noqa: SLF001 (no public accessor)
    for target, onclause, *_ in stmt._setup_joins:  # noqa: SLF001
        froms.append(target if target is not None else onclause)
    tables: set[str] = set()
    for f in froms:
        tables |= _tables_of(f)
    return tables


def _tables_of(item: Any) -> set[str]:
    if isinstance(item, selectable.TableClause):
        return {item.name}
    if isinstance(item, selectable.Join):
        return _tables_of(item.left) | _tables_of(item.right)
    if isinstance(item, selectable.Alias) and not isinstance(item, selectable.Subquery | selectable.CTE):
        return _tables_of(item.element)
    if isinstance(item, selectable.FromClause):
        return set()  # a subquery: its own Select is looked at on its own
    try:
        inspected = sa.inspect(item)
    except sa.exc.NoInspectionAvailable:
        return set()
    if getattr(inspected, "is_property", False) or getattr(inspected, "is_attribute", False):
        prop = getattr(inspected, "property", inspected)
        mapper = getattr(prop, "mapper", None)
        return _tables_of(mapper.local_table) if mapper is not None else set()
    selectable_ = getattr(inspected, "selectable", None)
    return _tables_of(selectable_) if selectable_ is not None else set()


def _caller() -> str:
    frames = [f for f in traceback.extract_stack() if "/qa_incidents/" in f.filename]
    return " > ".join(f"{f.filename.split('/qa_incidents/')[1]}:{f.lineno} {f.name}" for f in frames[-4:])
