"""Import and export of the whole laws map, as JSON or as one CSV file.

Everything is keyed by natural keys, never by database ids, so a file can move between
installations: a jurisdiction by its code, a law by its short name, a covered category by its
code (and the dates of the coverage), an obligation by its regime code, an amendment by
(law short name, title, enforced_on).

JSON::

    {"format": "qa-incidents-laws-map", "version": 1,
     "jurisdictions": [{"code": "JP", "name": "Japan", "is_bloc": false, "members": [], ...}],
     "laws": [{"short_name": "JP-CPSA", "jurisdiction": "JP", ...,
               "categories": [{"category": "home", "valid_from": null, "valid_to": null}],
               "obligations": [{"regime_code": "JP-CPSA-35", "title": ..., "trigger_harms": ["death", ...]}],
               "amendments": [{"title": ..., "promulgated_on": "2023-05-10", "enforced_on": "2024-12-13"}]}]}

CSV: one file, one row per record; the ``record`` column says which (jurisdiction, law,
coverage, obligation, amendment) and the other columns are the union of the records' fields
(a cell that does not apply to the row's record stays empty). ``jurisdiction`` holds the
jurisdiction code (its own on a jurisdiction row, the law's on a law row); ``law`` holds the
law's short name (its own on a law row, the parent's on coverage, obligation and amendment
rows). Lists are joined with " | " (a literal "|" or "\\" inside an item is escaped with a
backslash; spaces around an item and empty items are not kept); dates are ISO (YYYY-MM-DD),
empty for none; booleans are true/false; texts keep their line breaks (quoted, as the csv
module does). Rows may come in any order: an import processes jurisdictions, then laws, then
coverage, obligations and amendments. A rejected row is reported with the line it starts on
(the header is line 1).

An import *adds and updates, it never removes*: a row updates the record with the same natural
key, or creates it; a record (or a covered category) that the file does not mention stays as it
is. Ending a law's coverage of a category, or retiring anything, is an edit in the app (or a
coverage row with a ``valid_to`` date). Each row is written in its own SAVEPOINT through the
audited service functions, so a bad row is rolled back alone and reported, and the good rows
are kept. A column missing from a CSV header (a key missing from a JSON object) leaves that
field as it is on update (and at its default on create); an empty cell means "empty" (or "no
date"), except for booleans, where an empty cell also means "as it is".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.core import audit, csvsafe, params
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.laws import service
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, LawCategory, Obligation

FORMAT = "qa-incidents-laws-map"
VERSION = 1
KINDS = ("jurisdiction", "law", "coverage", "obligation", "amendment")

TEXT, DATE, BOOL, LIST = "text", "date", "bool", "list"

#: The fields of each record as they appear in the JSON file, with their kind of value.
#: Coverage, obligations and amendments also carry "law" (the parent's short name) once read.
SPECS: dict[str, dict[str, str]] = {
    "jurisdiction": {"code": TEXT, "name": TEXT, "is_bloc": BOOL, "members": LIST, "timezone": TEXT,
                     "holiday_country": TEXT, "holiday_subdiv": TEXT, "active": BOOL},
    "law": {"short_name": TEXT, "jurisdiction": TEXT, "name_original": TEXT, "name_en": TEXT, "citation": TEXT,
            "authority": TEXT, "url": TEXT, "status": TEXT, "in_force_from": DATE, "repealed_on": DATE,
            "source": TEXT, "unconfirmed": TEXT, "notes": TEXT},
    "coverage": {"law": TEXT, "category": TEXT, "valid_from": DATE, "valid_to": DATE},
    "obligation": {"law": TEXT, "regime_code": TEXT, "title": TEXT, "trigger_harms": LIST, "trigger_text": TEXT,
                   "applies_to_markets": BOOL, "required_fields": LIST, "follow_ups": TEXT, "channel": TEXT,
                   "valid_from": DATE, "valid_to": DATE, "source": TEXT, "unconfirmed": TEXT},
    "amendment": {"law": TEXT, "title": TEXT, "promulgated_on": DATE, "enforced_on": DATE, "summary": TEXT,
                  "affected_categories": LIST},
}
#: The fields that name the record (or its parent); a row without them cannot be placed.
KEYS: dict[str, tuple[str, ...]] = {
    "jurisdiction": ("code",),
    "law": ("short_name",),
    "coverage": ("law", "category"),
    "obligation": ("law", "regime_code"),
    "amendment": ("law", "title", "enforced_on"),
}
#: A law object's lists of children in the JSON file, and the record kind of each.
LAW_CHILDREN = {"categories": "coverage", "obligations": "obligation", "amendments": "amendment"}
#: Where a CSV column's name differs from the field's.
CSV_RENAMES = {"jurisdiction": {"code": "jurisdiction"}, "law": {"short_name": "law"}}
CSV_COLUMNS = (
    "record", "jurisdiction", "name", "is_bloc", "members", "timezone", "holiday_country", "holiday_subdiv",
    "active", "law", "name_original", "name_en", "citation", "authority", "url", "status", "in_force_from",
    "repealed_on", "notes", "category", "valid_from", "valid_to", "regime_code", "title", "trigger_harms",
    "trigger_text", "applies_to_markets", "required_fields", "follow_ups", "channel", "source", "unconfirmed",
    "promulgated_on", "enforced_on", "summary", "affected_categories",
)
LIST_SEPARATOR = " | "
#: Lengths the database enforces (PostgreSQL does, SQLite does not): checked here so both refuse alike.
MAX_LENGTHS: dict[str, dict[str, int]] = {
    kind: {name: col.type.length for name, col in model.__table__.columns.items()  # type: ignore[attr-defined]
           if isinstance(col.type, sa.String) and not isinstance(col.type, sa.Text) and col.type.length}
    for kind, model in (("jurisdiction", Jurisdiction), ("law", Law), ("obligation", Obligation),
                        ("amendment", Amendment))
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


class TransferFileError(ValueError):
    """The file as a whole cannot be read: not UTF-8, not JSON or CSV, not a laws-map export, wrong columns."""


class RowError(Exception):
    """One row cannot be imported; the message says why."""


class Rejection(NamedTuple):
    """A rejected row: its CSV line (the header is line 1) or its JSON path, and the reason."""

    line: int | str
    reason: str

    @property
    def label(self) -> str:
        return str(_l("line %(n)s", n=self.line)) if isinstance(self.line, int) else self.line


@dataclass
class ImportReport:
    format: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": len(self.rejected)}


# --- export --------------------------------------------------------------------------------


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _none_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else "")


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else "")


def export_json(session: so.Session) -> dict[str, Any]:
    """The whole map as JSON-ready data, in a fixed order (so equal maps give equal files).

    Sorted in Python, not by the database, whose collation (PostgreSQL's locale) could order codes differently.
    """
    codes = {r.id: r.code for r in session.execute(sa.select(ProductCategory.id, ProductCategory.code))}
    jurisdictions = [
        {"code": j.code, "name": j.name, "is_bloc": j.is_bloc, "members": j.members.split(), "timezone": j.timezone,
         "holiday_country": j.holiday_country, "holiday_subdiv": j.holiday_subdiv, "active": j.active}
        for j in sorted(session.scalars(sa.select(Jurisdiction)), key=lambda j: j.code)
    ]
    coverage: dict[int, set[tuple[str, dt.date | None, dt.date | None]]] = {}
    for c in session.scalars(sa.select(LawCategory)):
        # Two identical intervals say no more than one: they are written once.
        coverage.setdefault(c.law_id, set()).add((codes[c.category_id], c.valid_from, c.valid_to))
    obligations: dict[int, list[Obligation]] = {}
    for o in sorted(session.scalars(sa.select(Obligation)), key=lambda o: o.regime_code):
        obligations.setdefault(o.law_id, []).append(o)
    amendments: dict[int, list[Amendment]] = {}
    for a in session.scalars(sa.select(Amendment)):
        amendments.setdefault(a.law_id, []).append(a)
    laws = []
    for law in sorted(session.scalars(sa.select(Law)), key=lambda law: law.short_name):
        spans = sorted(coverage.get(law.id, ()), key=lambda s: (s[0], _none_first(s[1]), _none_last(s[2])))
        ams = sorted(amendments.get(law.id, []), key=lambda a: (
            a.enforced_on, a.title, _none_first(a.promulgated_on), a.summary, a.affected_categories))
        laws.append({
            "short_name": law.short_name, "jurisdiction": law.jurisdiction.code,
            "name_original": law.name_original, "name_en": law.name_en, "citation": law.citation,
            "authority": law.authority, "url": law.url, "status": law.status,
            "in_force_from": _iso(law.in_force_from), "repealed_on": _iso(law.repealed_on),
            "source": law.source, "unconfirmed": law.unconfirmed, "notes": law.notes,
            "categories": [{"category": code, "valid_from": _iso(vf), "valid_to": _iso(vt)} for code, vf, vt in spans],
            "obligations": [
                {"regime_code": o.regime_code, "title": o.title, "trigger_harms": list(o.trigger_harms or []),
                 "trigger_text": o.trigger_text, "applies_to_markets": o.applies_to_markets,
                 "required_fields": list(o.required_fields or []), "follow_ups": o.follow_ups, "channel": o.channel,
                 "valid_from": _iso(o.valid_from), "valid_to": _iso(o.valid_to), "source": o.source,
                 "unconfirmed": o.unconfirmed}
                for o in obligations.get(law.id, [])],
            "amendments": [
                {"title": a.title, "promulgated_on": _iso(a.promulgated_on), "enforced_on": _iso(a.enforced_on),
                 "summary": a.summary, "affected_categories": list(a.affected_categories or [])}
                for a in ams],
        })
    return {"format": FORMAT, "version": VERSION, "jurisdictions": jurisdictions, "laws": laws}


def dumps_json(data: dict[str, Any]) -> str:
    """The JSON export as text: indented, UTF-8 characters as they are, one final newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _escape_item(item: str) -> str:
    return item.replace("\\", "\\\\").replace("|", "\\|")


def join_list(items: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(_escape_item(i) for i in items)


def split_list(text: str) -> list[str]:
    """The items of a " | "-joined cell (backslash escapes "|" and itself); blank items are dropped."""
    items, current, chars = [], [], iter(text)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch == "|":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [i.strip() for i in items if i.strip()]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return join_list(value)
    return str(value)


def export_csv(session: so.Session) -> str:
    """The whole map as one CSV text (header first, lines ending in CRLF), in the order of export_json."""
    data = export_json(session)
    out = io.StringIO()
    writer = csvsafe.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def write(kind: str, values: dict[str, Any], **extra: Any) -> None:
        renames = CSV_RENAMES.get(kind, {})
        row = {"record": kind, **{renames.get(k, k): _cell(v) for k, v in values.items()}}
        row.update({k: _cell(v) for k, v in extra.items()})
        writer.writerow(row)

    for j in data["jurisdictions"]:
        write("jurisdiction", j)
    for law in data["laws"]:
        own = {k: v for k, v in law.items() if k not in LAW_CHILDREN}
        write("law", own)
        for child_key, kind in LAW_CHILDREN.items():
            for child in law[child_key]:
                write(kind, child, law=law["short_name"])
    return out.getvalue()


# --- reading files -------------------------------------------------------------------------


@dataclass
class _Item:
    """One record read from a file, before it is checked."""

    kind: str
    where: int | str  # CSV line or JSON path
    order: int  # place in the file, to report rejections in file order
    raw: dict[str, Any]
    csv: bool
    error: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def decode(content: bytes) -> str:
    """File bytes as text: UTF-8, with or without a byte-order mark."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TransferFileError(str(_l("The file is not UTF-8 text (byte %(n)d cannot be read). Save it as UTF-8 "
                                       "(\"CSV UTF-8\" in spreadsheet programs) and try again.", n=e.start + 1))) from None


def _items_from_json(data: Any) -> list[_Item]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TransferFileError(str(_l("This is not a laws-map export: a JSON object with \"format\": \"%(f)s\" "
                                       "was expected.", f=FORMAT)))
    if data.get("version") != VERSION:
        raise TransferFileError(str(_l("Unsupported laws-map version %(v)s: this installation reads version %(ok)s.",
                                       v=json.dumps(data.get("version")), ok=VERSION)))
    unknown = sorted(set(data) - {"format", "version", "jurisdictions", "laws"})
    if unknown:
        raise TransferFileError(str(_l("Unknown top-level keys: %(keys)s.", keys=", ".join(unknown))))
    for key in ("jurisdictions", "laws"):
        if not isinstance(data.get(key, []), list):
            raise TransferFileError(str(_l("\"%(key)s\" must be a list.", key=key)))
    items: list[_Item] = []

    def add(kind: str, where: str, obj: Any, allowed: set[str], extra: dict[str, Any] | None = None) -> _Item:
        item = _Item(kind, where, len(items), {}, csv=False)
        items.append(item)
        if not isinstance(obj, dict):
            item.error = str(_l("not a JSON object"))
            return item
        unknown = sorted(set(obj) - allowed)
        if unknown:
            item.error = str(_l("unknown fields: %(names)s", names=", ".join(unknown)))
        item.raw = {k: v for k, v in obj.items() if k in SPECS[kind]} | (extra or {})
        return item

    for i, obj in enumerate(data.get("jurisdictions", [])):
        add("jurisdiction", f"jurisdictions[{i}]", obj, set(SPECS["jurisdiction"]))
    for i, obj in enumerate(data.get("laws", [])):
        law = add("law", f"laws[{i}]", obj, set(SPECS["law"]) | set(LAW_CHILDREN))
        if not isinstance(obj, dict):
            continue
        parent = obj.get("short_name")
        for child_key, kind in LAW_CHILDREN.items():
            children = obj.get(child_key, [])
            if not isinstance(children, list):
                law.error = law.error or str(_l("%(key)s: must be a list", key=child_key))
                continue
            for k, child in enumerate(children):
                add(kind, f"laws[{i}].{child_key}[{k}]", child, set(SPECS[kind]) - {"law"}, {"law": parent})
    return items


def _items_from_csv(text: str) -> list[_Item]:
    # A long text (a law's notes) may exceed the csv module's default cell limit of 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise TransferFileError(str(_l("The file is not readable as CSV (line 1: %(why)s).", why=e))) from None
    if header is None or not any(h.strip() for h in header):
        raise TransferFileError(str(_l("The file is empty: a CSV export starts with a header line.")))
    columns = [h.strip().lower() for h in header]
    while columns and not columns[-1]:
        columns.pop()
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown and len(columns) == 1 and ";" in columns[0]:
        raise TransferFileError(str(_l("The columns are separated by semicolons; a laws-map CSV separates them by "
                                       "commas. Export the file again as \"CSV UTF-8 (comma delimited)\".")))
    if unknown:
        raise TransferFileError(str(_l("Unknown columns in the header: %(cols)s. The columns of a laws-map CSV are: "
                                       "%(known)s.", cols=", ".join(repr(c) for c in unknown),
                                       known=", ".join(CSV_COLUMNS))))
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise TransferFileError(str(_l("Columns named twice in the header: %(cols)s.", cols=", ".join(doubled))))
    if "record" not in columns:
        raise TransferFileError(str(_l("The header has no \"record\" column, which says what each row is "
                                       "(jurisdiction, law, coverage, obligation or amendment).")))
    items: list[_Item] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise TransferFileError(str(_l("The file is not readable as CSV (line %(n)d: %(why)s).",
                                           n=line, why=e))) from None
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        item = _Item("", line, line, {}, csv=True)
        items.append(item)
        if len(row) > len(columns) and not any(c.strip() for c in row[len(columns):]):
            row = row[:len(columns)]
        if len(row) != len(columns):
            item.error = str(_l("%(n)d cells, but the header has %(m)d columns", n=len(row), m=len(columns)))
            continue
        cells = dict(zip(columns, row, strict=True))
        kind = cells.pop("record").strip().lower()
        if kind not in KINDS:
            item.error = str(_l("record: unknown kind '%(kind)s' (one of: %(kinds)s)", kind=kind, kinds=", ".join(KINDS)))
            continue
        item.kind = kind
        renames = {v: k for k, v in CSV_RENAMES.get(kind, {}).items()}
        for column, cell in cells.items():
            name = renames.get(column, column)
            if name in SPECS[kind]:
                item.raw[name] = csvsafe.restore(cell)  # the apostrophe the export put before a formula-like text
            elif cell.strip():
                item.error = str(_l("column '%(col)s' does not apply to a %(kind)s row", col=column, kind=kind))
                break
    return items


def _column(item: _Item, name: str) -> str:
    """A field's name as the file calls it (CSV columns differ for the key of a jurisdiction or law)."""
    name = {"jurisdiction_id": "jurisdiction", "law_id": "law"}.get(name, name)
    return CSV_RENAMES.get(item.kind, {}).get(name, name) if item.csv else name


def _parse(item: _Item) -> dict[str, Any]:
    """The typed values of the fields the row gives; RowError naming every bad field."""
    errors: dict[str, str] = {}  # column -> message
    values: dict[str, Any] = {}
    limits = MAX_LENGTHS.get(item.kind, {})
    for name, kind in SPECS[item.kind].items():
        if name not in item.raw:
            continue
        try:
            value = (_from_csv if item.csv else _from_json)(kind, item.raw[name])
        except RowError as e:
            errors[_column(item, name)] = str(e)
            continue
        if value is _NOT_GIVEN:
            continue
        if (kind == TEXT and "\x00" in value) or (kind == LIST and any("\x00" in v for v in value)):
            errors[_column(item, name)] = str(_l("contains a NUL character"))
        elif kind == TEXT and name in limits and len(value) > limits[name]:
            errors[_column(item, name)] = str(_l("longer than %(n)d characters", n=limits[name]))
        else:
            values[name] = value
    for key in KEYS[item.kind]:
        if key in values and (values[key] is None or (isinstance(values[key], str) and not values[key].strip())):
            del values[key]
        if key not in values:
            errors.setdefault(_column(item, key), str(_l("Required.")))
    if errors:
        raise RowError("; ".join(f"{column}: {message}" for column, message in errors.items()))
    return values


_NOT_GIVEN = object()


def _date(text: str) -> dt.date:
    if not _ISO_DATE.fullmatch(text):
        raise RowError(str(_l("not a date (YYYY-MM-DD): '%(v)s'", v=text)))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowError(str(_l("not a date (YYYY-MM-DD): '%(v)s'", v=text))) from None


def _from_csv(kind: str, cell: str) -> Any:
    if kind == TEXT:
        return cell
    if kind == DATE:
        return _date(cell.strip()) if cell.strip() else None
    if kind == BOOL:
        word = cell.strip().lower()
        if not word:
            return _NOT_GIVEN
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise RowError(str(_l("not true or false: '%(v)s'", v=cell)))
    return split_list(cell)


def _from_json(kind: str, value: Any) -> Any:
    if kind == TEXT:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise RowError(str(_l("must be text")))
        return value
    if kind == DATE:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise RowError(str(_l("not a date (YYYY-MM-DD): %(v)s", v=json.dumps(value))))
        return _date(value)
    if kind == BOOL:
        if value is None:
            return _NOT_GIVEN
        if not isinstance(value, bool):
            raise RowError(str(_l("must be true or false")))
        return value
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(str(_l("must be a list of texts")))
    return list(value)


# --- import --------------------------------------------------------------------------------

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class _Context:
    session: so.Session
    actor_id: int | None
    now: dt.datetime
    categories: dict[str, int]
    category_paths: dict[int, str]
    #: Keys whose own row was rejected (to say so when a row refers to them).
    rejected_keys: set[tuple[str, Any]] = field(default_factory=set)
    #: Coverage rows already matched by a row of this file.
    claimed: set[int] = field(default_factory=set)

    def jurisdiction(self, code: str) -> Jurisdiction:
        if not code.strip():
            raise RowError("jurisdiction: " + str(_l("Required.")))
        found = self.session.scalar(sa.select(Jurisdiction).where(Jurisdiction.code == code.strip()))
        if found is None:
            raise RowError(self._missing(_l("jurisdiction '%(code)s' not found", code=code),
                                         ("jurisdiction", code.strip())))
        return found

    def law(self, short_name: str) -> Law:
        found = self.session.scalar(sa.select(Law).where(Law.short_name == short_name.strip()))
        if found is None:
            raise RowError(self._missing(_l("law '%(name)s' not found", name=short_name), ("law", short_name.strip())))
        return found

    def category(self, code: str) -> int:
        if code.strip() not in self.categories:
            raise RowError(str(_l("unknown category code '%(code)s'", code=code)))
        return self.categories[code.strip()]

    def _missing(self, message: Any, key: tuple[str, Any]) -> str:
        if key in self.rejected_keys:
            return str(_l("%(message)s (its own row was rejected)", message=message))
        return str(message)


def _unchanged(obj: Any, fields: tuple[str, ...], data: dict[str, Any]) -> bool:
    return audit.snapshot(obj, fields) == {f: audit.jsonable(data[f]) for f in fields}


def _current(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def _import_jurisdiction(ctx: _Context, v: dict[str, Any]) -> str:
    existing = ctx.session.scalar(sa.select(Jurisdiction).where(Jurisdiction.code == v["code"]))
    base = _current(existing, service.JURISDICTION_FIELDS) if existing else {
        "code": "", "name": "", "is_bloc": False, "members": "", "timezone": "", "holiday_country": "",
        "holiday_subdiv": "", "active": True}
    data = {**base, **v}
    if "members" in v:
        data["members"] = " ".join(v["members"])
    if existing is not None and _unchanged(existing, service.JURISDICTION_FIELDS, data):
        return UNCHANGED
    service.save_jurisdiction(ctx.session, data=data, jurisdiction_id=existing.id if existing else None,
                              actor_id=ctx.actor_id, now=ctx.now)
    return UPDATED if existing else CREATED


def _import_law(ctx: _Context, v: dict[str, Any]) -> str:
    existing = ctx.session.scalar(sa.select(Law).where(Law.short_name == v["short_name"]))
    base = _current(existing, service.LAW_FIELDS) if existing else {
        "jurisdiction_id": None, "short_name": "", "name_original": "", "name_en": "", "citation": "",
        "authority": "", "url": "", "status": "in_force", "in_force_from": None, "repealed_on": None,
        "source": "", "unconfirmed": "", "notes": ""}
    data = {**base, **{k: x for k, x in v.items() if k != "jurisdiction"}}
    if "jurisdiction" in v:
        data["jurisdiction_id"] = ctx.jurisdiction(v["jurisdiction"]).id
    if existing is not None and _unchanged(existing, service.LAW_FIELDS, data):
        return UNCHANGED
    service.save_law(ctx.session, data=data, category_ids=None, law_id=existing.id if existing else None,
                     actor_id=ctx.actor_id, now=ctx.now)
    return UPDATED if existing else CREATED


def _coverage_rows(ctx: _Context, law_id: int, category_id: int) -> list[LawCategory]:
    return [c for c in ctx.session.scalars(sa.select(LawCategory).where(
        LawCategory.law_id == law_id, LawCategory.category_id == category_id).order_by(LawCategory.id))
        if c.id not in ctx.claimed]


def _span(path: str, valid_from: dt.date | None, valid_to: dt.date | None) -> str:
    """A coverage interval as the audit trail keeps it, e.g. "Home appliances › Refrigerators: 2024-01-01 → …"."""
    return f"{path}: {_iso(valid_from) or '…'} → {_iso(valid_to) or '…'}"


def _import_coverage(ctx: _Context, v: dict[str, Any]) -> str:
    """Coverage is matched on (law, category, valid_from): a different valid_to is an update, else a new interval.

    set_coverage cannot be used here: it opens an interval on a given date and closes it only
    'today', while a file carries any past interval. The change is audited as set_coverage does
    (on the law, action "coverage").
    """
    law = ctx.law(v["law"])
    category_id = ctx.category(v["category"])
    valid_from, valid_to = v.get("valid_from"), v.get("valid_to")
    rows = _coverage_rows(ctx, law.id, category_id)
    if exact := [c for c in rows if c.valid_from == valid_from and c.valid_to == valid_to]:
        ctx.claimed.add(exact[0].id)
        return UNCHANGED
    path = ctx.category_paths[category_id]
    same_start = sorted((c for c in rows if c.valid_from == valid_from), key=lambda c: (c.valid_to is not None, c.id))
    if same_start:
        row = same_start[0]
        before, was_open = _span(path, row.valid_from, row.valid_to), row.valid_to is None
        row.valid_to = valid_to
        ctx.session.flush()
        changes: dict[str, Any] = {"coverage": [before, _span(path, valid_from, valid_to)]}
        if was_open:
            changes["categories removed"] = [[path], None]
        elif valid_to is None:
            changes["categories added"] = [None, [path]]
        audit.record(ctx.session, actor_id=ctx.actor_id, entity_type="law", entity_id=law.id, action="coverage",
                     now=ctx.now, changes=changes)
        ctx.claimed.add(row.id)
        return UPDATED
    row = LawCategory(law_id=law.id, category_id=category_id, valid_from=valid_from, valid_to=valid_to)
    ctx.session.add(row)
    ctx.session.flush()
    audit.record(ctx.session, actor_id=ctx.actor_id, entity_type="law", entity_id=law.id, action="coverage",
                 now=ctx.now, changes={"categories added": [None, [path]],
                                       "coverage": [None, _span(path, valid_from, valid_to)]})
    ctx.claimed.add(row.id)
    return CREATED


def _import_obligation(ctx: _Context, v: dict[str, Any]) -> str:
    from qa_incidents.notifications.deadlines import RULES

    law = ctx.law(v["law"])
    if v["regime_code"] not in RULES:
        raise RowError(str(_l("unknown regime code '%(code)s' (the deadline engine knows none by that code)",
                              code=v["regime_code"])))
    existing = ctx.session.scalar(sa.select(Obligation).where(Obligation.regime_code == v["regime_code"]))
    base = _current(existing, service.OBLIGATION_FIELDS) if existing else {
        "law_id": None, "regime_code": "", "title": "", "trigger_harms": [], "trigger_text": "",
        "applies_to_markets": False, "required_fields": [], "follow_ups": "", "channel": "", "valid_from": None,
        "valid_to": None, "source": "", "unconfirmed": ""}
    data = {**base, **{k: x for k, x in v.items() if k != "law"}, "law_id": law.id}
    if existing is not None and _unchanged(existing, service.OBLIGATION_FIELDS, data):
        return UNCHANGED
    service.save_obligation(ctx.session, data=data, obligation_id=existing.id if existing else None,
                            actor_id=ctx.actor_id, now=ctx.now)
    return UPDATED if existing else CREATED


def _import_amendment(ctx: _Context, v: dict[str, Any]) -> str:
    law = ctx.law(v["law"])
    existing = ctx.session.scalar(sa.select(Amendment).where(
        Amendment.law_id == law.id, Amendment.title == v["title"], Amendment.enforced_on == v["enforced_on"],
    ).order_by(Amendment.id).limit(1))
    base = _current(existing, service.AMENDMENT_FIELDS) if existing else {
        "law_id": None, "title": "", "promulgated_on": None, "enforced_on": None, "summary": "",
        "affected_categories": []}
    data = {**base, **{k: x for k, x in v.items() if k != "law"}, "law_id": law.id}
    if existing is not None and _unchanged(existing, service.AMENDMENT_FIELDS, data):
        return UNCHANGED
    service.save_amendment(ctx.session, data=data, amendment_id=existing.id if existing else None,
                           actor_id=ctx.actor_id, now=ctx.now)
    return UPDATED if existing else CREATED


HANDLERS: dict[str, Callable[[_Context, dict[str, Any]], str]] = {
    "jurisdiction": _import_jurisdiction, "law": _import_law, "coverage": _import_coverage,
    "obligation": _import_obligation, "amendment": _import_amendment,
}


def _key(kind: str, v: dict[str, Any]) -> tuple[Any, ...]:
    if kind == "jurisdiction":
        return (v["code"],)
    if kind == "law":
        return (v["short_name"],)
    if kind == "coverage":
        return (v["law"].strip(), v["category"].strip(), v.get("valid_from"), v.get("valid_to"))
    if kind == "obligation":
        return (v["regime_code"],)
    return (v["law"].strip(), v["title"], v["enforced_on"])


def _key_text(kind: str, v: dict[str, Any]) -> str:
    if kind == "jurisdiction":
        return str(_l("jurisdiction '%(code)s'", code=v["code"]))
    if kind == "law":
        return str(_l("law '%(name)s'", name=v["short_name"]))
    if kind == "coverage":
        return str(_l("category '%(code)s' of law '%(law)s' from %(start)s until %(end)s", code=v["category"],
                      law=v["law"], start=_iso(v.get("valid_from")) or _l("the start"),
                      end=_iso(v.get("valid_to")) or _l("further notice")))
    if kind == "obligation":
        return str(_l("regime code '%(code)s'", code=v["regime_code"]))
    return str(_l("amendment '%(title)s' of law '%(law)s' enforced on %(on)s", title=v["title"], law=v["law"],
                  on=_iso(v["enforced_on"])))


def _where(item: _Item) -> str:
    return str(_l("line %(n)s", n=item.where)) if item.csv else str(item.where)


def _reason(e: Exception, item: _Item) -> str:
    if isinstance(e, ValidationFailed):
        return "; ".join(f"{_column(item, name)}: {message}" for name, message in e.errors.items())
    if isinstance(e, sa.exc.SQLAlchemyError):
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        return str(_l("the database refused the row: %(why)s", why=detail[0] if detail else type(e).__name__))
    return str(e)


def _import_items(session: so.Session, items: list[_Item], *, fmt: str, actor_id: int | None,
                  now: dt.datetime) -> ImportReport:
    report = ImportReport(format=fmt, rows=len(items))
    rejected: list[tuple[int, Rejection]] = []
    categories = list(session.scalars(sa.select(ProductCategory)))
    ctx = _Context(session, actor_id, now, categories={c.code: c.id for c in categories},
                   category_paths={c.id: c.path for c in categories})

    def reject(item: _Item, reason: str) -> None:
        rejected.append((item.order, Rejection(item.where, reason)))
        own_key = {"jurisdiction": "code", "law": "short_name"}.get(item.kind)
        name = (item.values or item.raw).get(own_key) if own_key else None
        if isinstance(name, str):
            ctx.rejected_keys.add((item.kind, name.strip()))

    def count(outcome: str) -> None:
        setattr(report, outcome, getattr(report, outcome) + 1)

    for item in items:
        if item.error:
            reject(item, item.error)
    for kind in KINDS:
        seen: dict[tuple[Any, ...], _Item] = {}
        todo: list[_Item] = []
        for item in (i for i in items if i.kind == kind and not i.error):
            try:
                item.values = _parse(item)
            except RowError as e:
                reject(item, str(e))
                continue
            key = _key(kind, item.values)
            if key in seen:
                reject(item, str(_l("duplicate of %(where)s (same %(key)s)", where=_where(seen[key]),
                                    key=_key_text(kind, item.values))))
                continue
            seen[key] = item
            todo.append(item)
        if kind == "coverage":
            # Rows the map already holds exactly are matched first, so that a changed row cannot take them.
            for item in list(todo):
                try:
                    law, category_id = ctx.law(item.values["law"]), ctx.category(item.values["category"])
                except RowError:
                    continue
                vf, vt = item.values.get("valid_from"), item.values.get("valid_to")
                exact = [c for c in _coverage_rows(ctx, law.id, category_id) if c.valid_from == vf and c.valid_to == vt]
                if exact:
                    ctx.claimed.add(exact[0].id)
                    count(UNCHANGED)
                    todo.remove(item)
        for item in todo:
            try:
                with session.begin_nested():
                    outcome = HANDLERS[kind](ctx, item.values)
            except (RowError, DomainError, sa.exc.SQLAlchemyError) as e:
                reject(item, _reason(e, item))
                continue
            count(outcome)
    report.rejected = [r for _, r in sorted(rejected, key=lambda pair: pair[0])]
    return report


def import_json(session: so.Session, data: Any, *, actor_id: int | None, now: dt.datetime) -> ImportReport:
    """Import a parsed JSON export; TransferFileError if it is not one. The caller commits."""
    return _import_items(session, _items_from_json(data), fmt="json", actor_id=actor_id, now=now)


def import_csv(session: so.Session, text: str, *, actor_id: int | None, now: dt.datetime) -> ImportReport:
    """Import a CSV export given as text; TransferFileError if its header is not one. The caller commits."""
    return _import_items(session, _items_from_csv(text), fmt="csv", actor_id=actor_id, now=now)


def format_of(filename: str) -> str:
    """json or csv, from the file name's extension; TransferFileError for anything else."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ("json", "csv"):
        raise TransferFileError(str(_l("Cannot tell the format of '%(name)s': the file name must end in .json or "
                                       ".csv.", name=filename)))
    return ext


def import_file(session: so.Session, *, filename: str, content: bytes, actor_id: int | None,
                now: dt.datetime) -> ImportReport:
    """Import a file's bytes, the format told by the extension. The whole file is read before anything is written."""
    fmt = format_of(filename)
    text = decode(content)
    if fmt == "csv":
        return import_csv(session, text, actor_id=actor_id, now=now)
    try:
        data = params.load_json(text)
    except params.JSONTooDeep:
        raise TransferFileError(str(_l("The file is not valid JSON (nested too deeply)."))) from None
    except json.JSONDecodeError as e:
        raise TransferFileError(str(_l("The file is not valid JSON (line %(line)d, column %(col)d: %(why)s).",
                                       line=e.lineno, col=e.colno, why=e.msg))) from None
    except RecursionError:
        raise TransferFileError(str(_l("The file is not valid JSON (nested too deeply)."))) from None
    return import_json(session, data, actor_id=actor_id, now=now)
