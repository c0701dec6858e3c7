"""What derived data is kept, under which change marker, and when a kept value may be used: one registry, one rule.

A change marker is a row whose value database triggers replace, in the writer's own transaction, on every write to
the tables (and columns) it watches, whatever makes the write (the ORM, Core, a bulk load, hand-written SQL). A value
computed from those tables is kept under the marker values it was computed at, and used while they stand. The rule,
the same for every kept value (`Kept`):

- the markers are read first, in the reader's own transaction: what is computed after them sees that data or newer
  (SQLite: the same snapshot; PostgreSQL, read committed: that snapshot or a newer one), never older;
- a computed value is kept only if the committed markers are still the ones the reader read, so a reader's own
  uncommitted writes (which moved its markers to values nobody else has) are never kept. The committed markers are
  read from a connection of their own when the reader's transaction has sent a write; when it has sent none, the
  markers it read were committed values and all it computed is committed data at least as new, so no query is
  needed (most kept values are computed by pages that only read: the page budgets stay as they were);
- a committed write moves a marker to a value nothing was kept under, in every process; marker values are drawn at
  random from 4e18, so a rolled-back write's value never becomes current and two databases never share one;
- no marker row: nothing is kept (`made_when_missing` markers are then given one for the next reader).

`REGISTRY` says, for each marker, the tables and columns whose writes move it, what is kept under it and where.
Triggers are created in migrations with `core.migrate.marker_triggers` from a table list written out in the
migration; tests/services/test_freshness.py reads the triggers from the database's catalogue and fails when they
differ from the registry, and checks that a write to each watched table moves its marker and a rollback does not.

Every lookup is counted for the request it serves (`note_lookup`); with `CACHE_STATS` on, each response says how
many of its lookups memory answered (`X-Cache-Lookups: hits=H misses=M`), which `make bench` reports.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g, has_request_context

# --- the registry ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """A table whose writes move a marker: any insert or delete, and an update of `columns` (None: of any column)."""

    table: str
    columns: tuple[str, ...] | None = None
    #: Watched on PostgreSQL only (SQLite does not fill them: lesson_fts holds SQLite's search index).
    postgres_only: tuple[str, ...] = ()

    def columns_on(self, dialect: str) -> tuple[str, ...] | None:
        if self.columns is None or dialect == "postgresql":
            return self.columns
        return tuple(c for c in self.columns if c not in self.postgres_only)


@dataclass(frozen=True)
class Marker:
    name: str
    watches: tuple[Watch, ...]
    kept: str  # what is kept under it
    where: str  # the code that keeps it
    migrations: tuple[str, ...] = ()  # where its triggers were made
    #: The table holding the marker's row (random values).
    row_table: str = "counter"
    #: Writes no trigger can see, which the application reports itself with `touch`.
    touched_by: str = ""
    #: Whether a reader that finds no row gives it a first value (from a connection of its own) for the next reader.
    made_when_missing: bool = False


_LESSON_COLUMNS = ("id", "source", "source_ref", "review_id", "title", "summary", "product", "product_category",
                   "failure_mode", "mechanism", "technical_cause", "process_cause", "framework_cause",
                   "motivating_cause", "cause_category", "cause_dimension", "process_stage", "countermeasures",
                   "design_review_checks", "division", "year", "published_at", "search_vector")

REGISTRY: dict[str, Marker] = {m.name: m for m in (
    Marker("incident-register",
           (Watch("incident", ("status", "severity", "division_id", "category_id", "country", "aware_at")),),
           kept="the register's counts, per reader scope and filters (free-text searches are not kept)",
           where="incidents/service.py register_counts", migrations=("0011", "0018")),
    Marker("register-page",
           (Watch("incident"), Watch("division"), Watch("product"), Watch("product_category"), Watch("saved_view")),
           kept="whole register pages, per reader, address and language (16 MB per worker, PAGE_CACHE_BYTES); the "
                "lists a register page shows (divisions, categories, each reader's saved views)",
           where="core/pagecache.py @remembered; incidents/service.py register_lists", migrations=("0015", "0018", "0033")),
    Marker("laws-map",
           (Watch("jurisdiction"), Watch("law"), Watch("law_category"), Watch("obligation"),
            Watch("product_category")),
           kept="the laws map as plain values, and what it gives each country and category",
           where="notifications/service.py obligations_shown", migrations=("0015", "0018")),
    Marker("lesson-library",
           (Watch("lesson", _LESSON_COLUMNS, postgres_only=("search_vector",)),),  # every column but times_opened
           kept="lessons search: counts and facets per query and filters, ranked (id, score) rows per page",
           where="reviews/search.py search_lessons", migrations=("0013",),
           touched_by="reviews/search.py index_lessons (SQLite's lesson_fts, which cannot carry triggers)"),
    Marker("notification-board",
           (Watch("notification_record", ("state", "due_at", "division_id", "authority", "regime_code", "owner_id")),),
           kept="the deadline board's counts of open records, without a deadline, and its authorities, per reader "
                "scope and filters",
           where="notifications/records.py board", migrations=("0014", "0018"), made_when_missing=True),
    Marker("dashboard",
           (Watch("incident", ("status", "severity", "division_id", "aware_at", "hazard", "reference", "title")),
            Watch("triage_decision", ("incident_id", "decided_at")),
            Watch("notification_record", ("incident_id", "state", "clock_start", "due_at", "submitted_at")),
            Watch("review", ("division_id", "process_stage", "status")),
            Watch("review_incident"),
            Watch("division", ("name",))),
           kept="the dashboard's figures, per viewer scope, month and SLA hours (the scheduler counts them ahead); "
                "the closed-without-review gap, per viewer scope",
           where="reports/dashboard.py figures, table dashboard_figures (shared by every worker); "
                 "closed_without_review (in each worker)",
           migrations=("0012", "0018", "0036", "0043"), made_when_missing=True),
    Marker("qa-vocabulary", (),
           kept="the bilingual vocabulary in force",
           where="reviews/vocabulary.py current", migrations=("0027",),
           touched_by="reviews/vocabulary.py edits (add, change, withdraw)"),
)}

#: The markers kept in `counter` rows whose values triggers keep (the other counter rows number references).
CHANGE_MARKERS = tuple(m.name for m in REGISTRY.values() if m.row_table == "counter" and m.watches)

_TABLES = {name: sa.table(name, sa.column("name", sa.String), sa.column("value", sa.BigInteger))
           for name in {m.row_table for m in REGISTRY.values()}}


def _marker(name: str) -> Marker:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"{name!r} is no registered change marker (core/freshness.py REGISTRY)") from None


# --- reading markers ---------------------------------------------------------------------------------------------

_ONE = {t: sa.select(table.c.value).where(table.c.name == sa.bindparam("name")) for t, table in _TABLES.items()}
_SOME = {t: sa.select(table.c.name, table.c.value).where(table.c.name.in_(sa.bindparam("names", expanding=True)))
         for t, table in _TABLES.items()}


def read(reader: so.Session | sa.Connection, names: Iterable[str]) -> tuple[int, ...] | None:
    """The current values of the named markers, in the reader's transaction (one query per row table); None if
    any row is missing (never written, or the table emptied): then nothing may be kept or reused."""
    names = tuple(names)
    by_table: dict[str, list[str]] = {}
    for name in names:
        by_table.setdefault(_marker(name).row_table, []).append(name)
    found: dict[str, int] = {}
    for table, some in by_table.items():
        if len(some) == 1:
            value = reader.scalar(_ONE[table], {"name": some[0]})
            if value is None:
                return None
            found[some[0]] = int(value)
        else:
            found.update((n, int(v)) for n, v in reader.execute(_SOME[table], {"names": some}).all())
    if len(found) != len(names):
        return None
    return tuple(found[name] for name in names)


def value(reader: so.Session | sa.Connection, name: str) -> int | None:
    """The current value of one marker (see `read`)."""
    values = read(reader, (name,))
    return None if values is None else values[0]


def _engine(session: so.Session) -> sa.Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, sa.Connection) else bind  # type: ignore[return-value]


def committed(session: so.Session, names: Iterable[str]) -> tuple[int, ...] | None:
    """The named markers as committed, read from a connection of their own; None if that cannot be told (a missing
    row, a busy database, or a single shared connection, which would see the reader's own writes)."""
    engine = _engine(session)
    if isinstance(engine.pool, sa.pool.StaticPool):
        return None
    try:
        with engine.connect() as other:
            return read(other, names)
    except sa.exc.OperationalError:
        return None


def still_committed(session: so.Session, reading: Reading, names: Iterable[str]) -> bool:
    """Whether the committed markers are still the ones the reader read: then what it computed may be kept
    (asked of the database only if the reader's transaction sent a write; see the module's rule)."""
    if not wrote(session):
        return True
    return committed(session, names) == reading.values


#: In a connection's info while its transaction may have written (any statement but a plain read).
_WROTE = "qa_freshness_wrote"
_READS = ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "SHOW", "EXPLAIN")


@sa.event.listens_for(sa.Engine, "before_cursor_execute")
def _note_write(conn: sa.Connection, _cursor: Any, statement: str, _parameters: Any, context: Any,
                _executemany: bool) -> None:
    if conn.info.get(_WROTE):
        return
    compiled = getattr(context, "compiled", None)
    if compiled is not None and getattr(compiled, "statement", None) is not None and not isinstance(
            compiled.statement, sa.TextClause):
        written = bool(context.isinsert or context.isupdate or context.isdelete)
    else:
        written = not statement.lstrip().upper().startswith(_READS)
    if written:
        conn.info[_WROTE] = True


def note_write(conn: sa.Connection) -> None:
    """Say that the connection's transaction wrote, for a write sent to the driver directly (e.g. a COPY)."""
    conn.info[_WROTE] = True


@sa.event.listens_for(sa.Engine, "commit")
@sa.event.listens_for(sa.Engine, "rollback")
def _transaction_ended(conn: sa.Connection) -> None:
    conn.info.pop(_WROTE, None)


@sa.event.listens_for(sa.pool.Pool, "checkin")
def _returned(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info.pop(_WROTE, None)


def wrote(session: so.Session) -> bool:
    """Whether the session's transaction may have sent a write (a statement other than a plain read)."""
    return bool(session.connection().info.get(_WROTE))


def fresh_value_sql(dialect: str) -> str:
    """SQL for a fresh random marker value, 1 … 4e18 (never 0, never negative)."""
    if dialect == "postgresql":
        return "1 + floor(random() * 4e18)::bigint"
    return "1 + abs(random() % 4000000000000000000)"


def touch_sql(name: str, dialect: str) -> str:
    """The statement that gives a counter marker a fresh random value (triggers run it; so does `touch`)."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"bad marker name {name!r}")
    # Trigger bodies cannot bind parameters: the name is checked just above, the value expression is a constant.
    return (f"INSERT INTO counter (name, value) VALUES ('{name}', {fresh_value_sql(dialect)}) "  # nosec B608: checked name
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value")


def touch(session: so.Session, name: str) -> None:
    """Give a marker a fresh random value in the caller's transaction, for a write no trigger sees (`touched_by`)."""
    _marker(name)
    session.execute(sa.text(touch_sql(name, session.get_bind().dialect.name)))


def make_missing(session: so.Session, name: str) -> bool:
    """Give a missing marker row a first value, from a connection of its own that waits at most 200 ms for SQLite's
    write lock (it is only a saving); the one place such rows are made. False if the database was busy."""
    marker = _marker(name)
    first = 1 + secrets.randbelow(4 * 10**18)
    engine = _engine(session)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout = 200")  # type: ignore[union-attr]
        try:
            with conn.begin():
                conn.execute(sa.text(f"INSERT INTO {marker.row_table} (name, value) VALUES (:name, :value) "  # nosec B608: registry constant
                                     "ON CONFLICT (name) DO NOTHING"), {"name": name, "value": first})
            return True
        except sa.exc.OperationalError:
            return False
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA busy_timeout = 30000")  # type: ignore[union-attr]


# --- kept values -------------------------------------------------------------------------------------------------

#: The response header that reports a request's lookups (only with CACHE_STATS on).
LOOKUPS_HEADER = "X-Cache-Lookups"


def note_lookup(hit: bool) -> None:
    """Count one kept-value lookup of the current request (outside a request: nothing to count)."""
    if has_request_context():
        counts = g.setdefault("cache_lookups", [0, 0])
        counts[0 if hit else 1] += 1


def request_lookups() -> tuple[int, int]:
    """(hits, misses) of the current request's kept-value lookups so far."""
    hits, misses = g.get("cache_lookups", (0, 0)) if has_request_context() else (0, 0)
    return hits, misses


def add_lookups_header(response: Any) -> Any:
    """After a request, with CACHE_STATS on: the request's lookups in a response header."""
    hits, misses = request_lookups()
    response.headers[LOOKUPS_HEADER] = f"hits={hits} misses={misses}"
    return response


@dataclass(frozen=True)
class Reading:
    """The markers as a reader read them, first in its transaction; what it computes is kept under them."""

    database: Hashable
    values: tuple[int, ...]


class Kept:
    """Values computed from the database, kept in this process under the markers they depend on (see the module's
    rule), the database and a key of the caller's: at most `size` values, or values of at most `max_bytes` in all
    (each weighed by `weigh`; one over an eighth of it is not kept); the least recently used go first. Computing
    runs outside the lock, so two threads may compute the same value once each: both keep the same answer."""

    def __init__(self, *markers: str, size: int | None = 256, max_bytes: int | None = None,
                 weigh: Callable[[Any], int] | None = None, counted: bool = True) -> None:
        for name in markers:
            _marker(name)
        if not markers:
            raise ValueError("a kept value depends on at least one marker")
        self.markers = markers
        self.size = size
        self.max_bytes = max_bytes
        self.weigh = weigh or (lambda _value: 0)
        #: Whether lookups count in the request's figures (X-Cache-Lookups): not for small lists every page reads
        #: beside its own work, which would make the figure say little about that work.
        self.counted = counted
        self.weight = 0
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, session: so.Session) -> Reading | None:
        """Read the markers (first, before anything kept under them is computed); None: nothing may be kept."""
        values = read(session, self.markers)
        if values is None:
            for name in self.markers:
                if REGISTRY[name].made_when_missing:
                    make_missing(session, name)
            return None
        return Reading(_engine(session).url, values)

    def peek(self, reading: Reading | None, key: Hashable) -> Any:
        """The value kept under the reading and key (now the most recently used), or None."""
        if reading is None:
            return None
        with self._lock:
            found = self._values.get((reading, key))
            if found is not None:
                self._values.move_to_end((reading, key))
        if self.counted:
            note_lookup(found is not None)
        return None if found is None else found[0]

    def keep(self, session: so.Session, reading: Reading | None, key: Hashable, value: Any) -> bool:
        """Keep a value computed after `reading`, if the committed markers are still the ones read."""
        if reading is None or value is None or not still_committed(session, reading, self.markers):
            return False
        return self.put(reading, key, value)

    def put(self, reading: Reading, key: Hashable, value: Any) -> bool:
        """Keep a value without asking again: only for a caller that just saw `still_committed` for this reading
        (one question for several values computed together)."""
        weight = self.weigh(value)
        if value is None or (self.max_bytes is not None and weight > self.max_bytes // 8):
            return False
        with self._lock:
            old = self._values.pop((reading, key), None)
            if old is not None:
                self.weight -= old[1]
            self._values[(reading, key)] = (value, weight)
            self.weight += weight
            while self._values and ((self.size is not None and len(self._values) > self.size)
                                    or (self.max_bytes is not None and self.weight > self.max_bytes)):
                _key, (_value, dropped) = self._values.popitem(last=False)
                self.weight -= dropped
        return True

    def get(self, session: so.Session, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The kept value for the key, or `compute()` (then kept by the rule above)."""
        reading = self.read(session)
        found = self.peek(reading, key)
        if found is not None:
            return found
        value = compute()
        self.keep(session, reading, key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.weight = 0

    def __len__(self) -> int:
        return len(self._values)


# --- the triggers, as the registry expects them and as the database holds them ----------------------------------

#: (marker, table, event, columns): event is INSERT, DELETE, UPDATE or TRUNCATE; columns an empty set for any.
Trigger = tuple[str, str, str, frozenset[str]]


def expected_triggers(dialect: str, markers: Iterable[Marker] | None = None) -> set[Trigger]:
    """Every (marker, table, event, columns) the registry (or these markers) asks triggers for on this dialect."""
    events = ("INSERT", "DELETE", "UPDATE", "TRUNCATE") if dialect == "postgresql" else ("INSERT", "DELETE", "UPDATE")
    return {(m.name, w.table, event, frozenset(w.columns_on(dialect) or ()) if event == "UPDATE" else frozenset())
            for m in (REGISTRY.values() if markers is None else markers) for w in m.watches for event in events}


_SQLITE_TRIGGER = re.compile(r"CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s+(?:AFTER|BEFORE)\s+"
                             r"(INSERT|DELETE|UPDATE)(?:\s+OF\s+(.+?))?\s+ON\s+\"?(\w+)\"?\s+(?:FOR\s+EACH\s+ROW\s+)?"
                             r"BEGIN\s+(.*)\s+END", re.IGNORECASE | re.DOTALL)
_WRITES_MARKER = re.compile(r"\bcounter\b", re.IGNORECASE)
_QUOTED = re.compile(r"'([a-z][a-z0-9-]*)'")


def installed_triggers(conn: sa.Connection) -> set[Trigger]:
    """Every (marker, table, event, columns) the database's triggers move a marker on, read from its catalogue
    (SQLite's sqlite_master, PostgreSQL's pg_trigger): a trigger moves the markers named in what it runs."""
    found: set[Trigger] = set()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(sa.text("""
            SELECT c.relname, t.tgtype, p.prosrc,
                   ARRAY(SELECT a.attname FROM pg_attribute a
                         WHERE a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr::int2[])) AS columns
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = current_schema()""")).all()
        for table, tgtype, source, columns in rows:
            if not _WRITES_MARKER.search(source):
                continue
            events = [e for bit, e in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if tgtype & bit]
            for name in _QUOTED.findall(source):
                for event in events:
                    found.add((name, table, event, frozenset(columns or ()) if event == "UPDATE" else frozenset()))
        return found
    for (sql,) in conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")).all():
        match = _SQLITE_TRIGGER.search(sql or "")
        if match is None or not _WRITES_MARKER.search(match.group(5)):
            continue
        _name, event, columns, table, body = match.groups()
        of = frozenset(c.strip().strip('"') for c in columns.split(",")) if columns else frozenset()
        for name in _QUOTED.findall(body):
            found.add((name, table, event.upper(), of if event.upper() == "UPDATE" else frozenset()))
    return found
