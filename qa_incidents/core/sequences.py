"""Gap-tolerant named counters for readable references (INC-2026-000123), and change markers for caches."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from qa_incidents.core import freshness
from qa_incidents.core.db import Base


class Counter(Base):
    """A named sequence, e.g. the incident numbers of one year."""

    __tablename__ = "counter"

    name: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    value: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


_ADVANCE = (sa.update(Counter).where(Counter.name == sa.bindparam("counter_name"))
            .values(value=Counter.value + 1).returning(Counter.value))


def next_value(session: so.Session, name: str) -> int:
    """The next number of the named counter, inside the caller's transaction.

    The UPDATE takes a row lock (PostgreSQL) or the write lock (SQLite), so two concurrent
    reports never get the same number; the counter row is created on first use.
    """
    for _ in range(3):
        # On the connection: a plain UPDATE … RETURNING (through the ORM it would also look for counters loaded in
        # the session to synchronise, ten times the cost; none is ever loaded as an object).
        value = session.connection().execute(_ADVANCE, {"counter_name": name}).scalar_one_or_none()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.execute(sa.insert(Counter).values(name=name, value=1))
            return 1
        except IntegrityError:
            continue  # someone else created it first: take the UPDATE path again
    raise RuntimeError(f"could not advance counter {name}")


_ADVANCE_BY = (sa.update(Counter).where(Counter.name == sa.bindparam("counter_name"))
               .values(value=Counter.value + sa.bindparam("n")).returning(Counter.value))


def next_values(session: so.Session, name: str, n: int) -> range:
    """The next n numbers of the named counter at once (a bulk import's batch), in one UPDATE: as n calls of
    next_value() would give them, in order, with the same locking."""
    if n <= 0:
        return range(0)
    for _ in range(3):
        last = session.connection().execute(_ADVANCE_BY, {"counter_name": name, "n": n}).scalar_one_or_none()
        if last is not None:
            return range(int(last) - n + 1, int(last) + 1)
        try:
            with session.begin_nested():
                session.execute(sa.insert(Counter).values(name=name, value=n))
            return range(1, n + 1)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not advance counter {name}")


#: Every change marker kept in a counter row (the rest number references): core/freshness.py's registry.
CHANGE_MARKERS = freshness.CHANGE_MARKERS


def marker(session: so.Session, name: str) -> int | None:
    """The current value of a change marker (core/freshness.py); None if its row is missing."""
    return freshness.value(session, name)
