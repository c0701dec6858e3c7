"""The SQL statements an engine sends, for tests that check what a piece of work asks of the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements_sent(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements the engine sends inside the block, as SQLAlchemy's listeners see them (white space collapsed)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_rest):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
