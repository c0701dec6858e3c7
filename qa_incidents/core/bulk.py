"""Writing many rows of one table at once, with their new ids (a bulk import's batch)."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from qa_incidents.core import freshness
from qa_incidents.core.db import UTCDateTime


def insert_with_ids(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, key: str) -> list[int]:
    """Insert the rows and return their new ids, in the rows' order; `key` names a unique column the rows fill.

    PostgreSQL: the ids are taken from the table's sequence first (one query), then the rows go in by one COPY
    (`insert_rows`). SQLite: one multi-row INSERT … RETURNING, its rows matched back by the key (they come back in
    any order, and asking SQLAlchemy for the parameters' order makes it send one statement per row)."""
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        ids = [int(i) for i in connection.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)}).scalars()]
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        try:
            insert_rows(connection, table, rows)
        finally:
            for row in rows:
                del row["id"]
        return ids
    id_of = dict(connection.execute(sa.insert(table).returning(table.c[key], table.c.id), rows).all())
    return [id_of[row[key]] for row in rows]


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """`connection.execute(sa.insert(table), rows)` for rows that all name the same columns, with the same values
    written, at less cost per row: each column's value converted by its type as SQLAlchemy converts it, the rows
    sent by one COPY on PostgreSQL (one statement, so a statement-level trigger runs once, not once per row) and by
    one executemany of the driver on SQLite. A column left out that has a default computed in Python (not a plain
    value) makes it the ordinary executemany."""
    if not rows:
        return
    names = tuple(rows[0])
    plan = _plan(connection, table, names)
    if plan is None or any(len(row) != len(names) for row in rows):
        connection.execute(sa.insert(table), rows)
        return
    statement, converters, fixed = plan
    get = itemgetter(*names)
    if not converters:
        values = [((get(row),) if len(names) == 1 else get(row)) + fixed for row in rows]
    else:
        kept: list[dict[Any, Any] | None] = [{} if repeated else None for _, _, repeated in converters]
        steps = [(n, convert, memo) for (n, convert, _), memo in zip(converters, kept, strict=True)]
        values = []
        for row in rows:
            value = [get(row)] if len(names) == 1 else list(get(row))
            for n, convert, memo in steps:
                raw = value[n]
                if memo is None:
                    value[n] = convert(raw)
                else:  # a value the batch repeats (its time, an enum member) is converted once
                    done = memo.get(raw, _NOT_YET)
                    if done is _NOT_YET:
                        done = memo[raw] = convert(raw)
                    value[n] = done
            values.append(tuple(value) + fixed)
    if connection.dialect.name == "postgresql":
        freshness.note_write(connection)
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for value in values:
                write(value)
    else:
        connection.exec_driver_sql(statement, values)


_PLANS: dict[tuple[str, str, tuple[str, ...]], Any] = {}
_NOT_YET = object()


def _plan(connection: sa.Connection, table: sa.Table,
          names: tuple[str, ...]) -> tuple[str, list[tuple[int, Callable[[Any], Any], bool]], tuple[Any, ...]] | None:
    """The statement; the converter of each given column that has one (by position, and whether its values are
    hashable ones a batch repeats); the converted plain defaults of the columns left out."""
    dialect = connection.dialect
    cache_key = (dialect.name, table.name, names)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    plan: Any = None
    missing = [c for c in table.c if c.name not in names and c.default is not None]
    if all(c.default.is_scalar for c in missing) and all(n in table.c for n in names):  # type: ignore[union-attr]
        def converter(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
            return column.type._cached_bind_processor(dialect)

        converters = []
        for n, name in enumerate(names):
            convert = converter(table.c[name])
            if convert is not None:
                repeated = isinstance(table.c[name].type, sa.Enum | sa.DateTime | UTCDateTime)
                converters.append((n, convert, repeated))
        fixed = []
        for column in missing:
            convert, value = converter(column), column.default.arg  # type: ignore[union-attr]
            fixed.append(convert(value) if convert else value)
        columns = [*names, *(c.name for c in missing)]
        quote = dialect.identifier_preparer.quote
        listed = ", ".join(quote(c) for c in columns)
        # The table's and columns' names come from the models' metadata, quoted by the dialect; values are bound.
        if dialect.name == "postgresql":
            statement = f"COPY {quote(table.name)} ({listed}) FROM STDIN"  # nosec B608: metadata names only
        else:
            marks = ", ".join("?" for _ in columns)
            statement = f"INSERT INTO {quote(table.name)} ({listed}) VALUES ({marks})"  # nosec B608: metadata names only
        plan = (statement, converters, tuple(fixed))
    _PLANS[cache_key] = plan
    return plan
