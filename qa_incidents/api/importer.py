"""Bulk import: read CSV/XLSX/JSON rows, map their columns through a profile, validate every row, file incidents.

Every row ends in exactly one of three counts: imported, already present (its source key was imported
before, so a second run of the same file creates nothing), or rejected (with its line number and the
reason). Good rows are kept whatever happens to the bad ones: each row is its own savepoint.
Incidents are filed through incidents.service, so an imported row obeys the same rules as the form.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import hashlib
import html
import inspect
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import sqlalchemy.orm as so

from config import BASE_DIR
from qa_incidents.accounts import service as accounts
from qa_incidents.accounts.models import Division, User
from qa_incidents.api.models import ImportedRecord, ImportProfile, ImportRun
from qa_incidents.catalogue import service as catalogue
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core import csvsafe, params
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.permissions import Capability, can
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Care, Hazard, IncidentFacts, Source, harm_stated

PROFILE_DIR = BASE_DIR / "data" / "profiles"
SAMPLE_DIR = BASE_DIR / "data" / "samples"
NULL_VALUES = ("N/A", "NA", "n/a", "NULL", "null", "None")
TEXT_FIELDS = ("title", "lot_numbers", "serial_numbers", "country", "place", "description", "aware_timezone")
INT_FIELDS = ("deaths", "serious_injuries", "minor_injuries", "units_in_field")
BOOL_FIELDS = ("fire", "smoke", "co_poisoning", "property_damage", "no_harm", "recurrence_risk", "suspected_defect",
               "labelling_problem", "foreign_action", "lawsuit", "choking")
DATE_FIELDS = ("occurred_at", "aware_at")
#: What a mapping may fill: the incident's facts, plus the division code and product model when the file names them.
#: Facts a row may leave out: each has a default (not stated, no, the filer's zone), so a file without their
#: columns (an export made before they existed) imports as it did.
OPTIONAL_FIELDS = frozenset({"aware_timezone", "injury_care", "recurrence_risk", "suspected_defect",
                             "labelling_problem", "foreign_action", "lawsuit", "choking"})
TARGET_FIELDS = ("division", "product", *TEXT_FIELDS, *DATE_FIELDS, "source", "hazard", "injury_care", *INT_FIELDS,
                 *BOOL_FIELDS)
MAX_INT = {"units_in_field": 2**63 - 1}
#: Rows per transaction of the command line and the background import (one batch each).
CHUNK = 500
#: Marks in a row record (no column can have these names): a JSON item that is not an object; a CSV row
#: with more or fewer cells than the header.
INVALID = "\x00invalid"
WIDTH = "\x00width"


class ImportFileError(Exception):
    """The file as a whole cannot be read (not one row's problem)."""


class ProfileError(Exception):
    """The mapping profile itself is wrong."""


class RowRejected(Exception):
    """One row cannot be imported; the message says why, for the report."""


# --- profiles -------------------------------------------------------------------------------------


@dataclass
class Profile:
    """A column mapping: which column (or template) fills which field, with defaults and parsers."""

    name: str
    title: str
    source: str  # the namespace of the source keys, e.g. "fda-device-recalls"
    key: list[str]  # the columns whose values identify a row in its source
    fields: dict[str, Any]
    division: dict[str, Any] = field(default_factory=dict)
    product: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    date_formats: list[str] = field(default_factory=list)
    null_values: list[str] = field(default_factory=lambda: list(NULL_VALUES))
    checks: dict[str, list[str]] = field(default_factory=dict)
    match_reference: bool = False
    #: Decode HTML entities (&amp;) that web-scraped sources carry; off for files written by people or by us.
    decode_html: bool = True
    #: Rows are history (public recall or complaint data, a legacy register): their incidents are recorded as
    #: "historical", outside every queue and open figure, instead of arriving as new reports to triage.
    history: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # other sections (lesson, recall) for extra targets
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        try:
            known = {"name", "title", "source", "key", "fields", "division", "product", "timezone", "date_formats",
                     "null_values", "checks", "match_reference", "description", "decode_html", "history"}
            profile = cls(name=str(d["name"]), title=str(d.get("title") or d["name"]),
                          source=str(d.get("source") or d["name"]), key=[str(k) for k in d["key"]],
                          fields=dict(d["fields"]), division=dict(d.get("division") or {}),
                          product=dict(d.get("product") or {}), timezone=str(d.get("timezone") or "UTC"),
                          date_formats=[str(f) for f in d.get("date_formats") or []],
                          null_values=[str(v) for v in d.get("null_values", NULL_VALUES)],
                          checks={str(k): [str(x) for x in v] for k, v in (d.get("checks") or {}).items()},
                          match_reference=bool(d.get("match_reference", False)),
                          decode_html=bool(d.get("decode_html", True)),
                          history=bool(d.get("history", False)),
                          description=str(d.get("description") or ""),
                          extra={k: v for k, v in d.items() if k not in known})
        except (KeyError, TypeError, ValueError) as e:
            raise ProfileError(f"the profile is incomplete or malformed ({e})") from None
        profile.validate()
        return profile

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description, "source": self.source,
                "key": self.key, "fields": self.fields, "division": self.division, "product": self.product,
                "timezone": self.timezone, "date_formats": self.date_formats, "null_values": self.null_values,
                "checks": self.checks, "match_reference": self.match_reference, "decode_html": self.decode_html,
                "history": self.history,
                **self.extra}

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,79}", self.name):
            raise ProfileError("a profile name is 1 to 80 lower-case letters, digits, dots, hyphens or underscores")
        unknown = set(self.fields) - set(TARGET_FIELDS)
        if unknown:
            raise ProfileError(f"unknown target fields: {', '.join(sorted(unknown))}")
        if not self.key:
            raise ProfileError("name the column(s) that identify a row (key)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ProfileError(f"unknown time zone {self.timezone!r}") from None
        if "division" not in self.fields and not self.division.get("code"):
            raise ProfileError("say which division the incidents belong to (a 'division' column or a default)")
        if "product" not in self.fields and not self.product.get("model"):
            raise ProfileError("say which product the incidents are about (a 'product' column or a default)")

    def missing_columns(self, available: set[str]) -> list[str]:
        """The columns the profile reads that the file lacks, leaving out those read only for facts that have a
        default when absent (OPTIONAL_FIELDS: a file exported before those facts existed still imports)."""
        optional: set[str] = set()
        for name, spec in self.fields.items():
            if name in OPTIONAL_FIELDS:
                optional |= _spec_columns(spec)
        needed = set(self.key) | set(self.checks)
        for name, spec in self.fields.items():
            if name not in OPTIONAL_FIELDS:
                needed |= _spec_columns(spec)
        return sorted((self.columns() - (optional - needed)) - available - {""})

    def columns(self) -> set[str]:
        """Every source column the profile reads."""
        found = set(self.key) | set(self.checks)
        for spec in self.fields.values():
            found |= _spec_columns(spec)
        for section in self.extra.values():
            if isinstance(section, dict):
                for spec in section.values():
                    found |= _spec_columns(spec)
        return found


def _spec_columns(spec: Any) -> set[str]:
    if isinstance(spec, str):
        return {spec}
    if not isinstance(spec, dict):
        return set()
    found: set[str] = set()
    column = spec.get("column")
    if isinstance(column, str):
        found.add(column)
    elif isinstance(column, list):
        found |= {str(c) for c in column}
    for text in [spec.get("template") or "", *(spec.get("lines") or [])]:
        found |= set(re.findall(r"\{([^{}]+)\}", str(text)))
    return found


def shipped_profiles() -> dict[str, dict[str, Any]]:
    """The profiles that come with the application (data/profiles/*.json), by name."""
    found = {}
    for path in sorted(PROFILE_DIR.glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        found[definition["name"]] = definition
    return found


def saved_profiles(session: so.Session) -> list[ImportProfile]:
    return list(session.scalars(sa.select(ImportProfile).order_by(ImportProfile.name)))


def load_profile(session: so.Session, name: str) -> Profile:
    """A shipped or saved profile by name; ProfileError if there is none."""
    shipped = shipped_profiles()
    if name in shipped:
        return Profile.from_dict(shipped[name])
    saved = session.scalar(sa.select(ImportProfile).where(ImportProfile.name == name))
    if saved is None:
        names = ", ".join(sorted([*shipped, *(p.name for p in saved_profiles(session))]))
        raise ProfileError(f"no import profile named {name!r} (there are: {names})")
    return Profile.from_dict(saved.definition)


def save_profile(session: so.Session, *, profile: Profile, user: User, now: datetime) -> ImportProfile:
    """Keep a mapping under its name for later imports (a shipped profile's name cannot be taken)."""
    from qa_incidents.core import audit

    profile.validate()
    if profile.name in shipped_profiles():
        raise ValidationFailed({"profile_name": "This name belongs to a profile that comes with the application."})
    row = session.scalar(sa.select(ImportProfile).where(ImportProfile.name == profile.name))
    action = "updated"
    if row is None:
        row, action = ImportProfile(name=profile.name, created_by_id=user.id, created_at=now), "created"
        session.add(row)
    row.title = profile.title[:200]
    row.definition = profile.to_dict()
    row.updated_at = now
    session.flush()
    audit.record(session, actor_id=user.id, entity_type="import_profile", entity_id=row.id, action=action, now=now,
                 changes={"name": [None, profile.name]})
    return row


# --- reading files --------------------------------------------------------------------------------


#: What a file may hold once uncompressed, and how many rows (settings IMPORT_MAX_INFLATED_BYTES, IMPORT_MAX_ROWS).
MAX_INFLATED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 200_000


@dataclass
class SourceFile:
    """The rows of a file: its column names, and (line, values) pairs in order."""

    format: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


    @property
    def total(self) -> int:
        return len(self.rows)

    def iter_rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self.rows)


@dataclass
class StreamedFile:
    """A CSV file (also .gz) read from disk a row at a time: its columns and row count are known after one pass
    that checks it (size, rows, encoding, quoting); each iter_rows() reads it again from the start, so memory
    holds one batch of rows, never the file."""

    format: str
    columns: list[str]
    total: int
    path: Path
    max_bytes: int
    max_rows: int

    def iter_rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        with _open_text(self.path, self.max_bytes) as text:
            reader = csv.reader(text)
            next(reader, None)
            yield from _csv_rows(reader, self.columns, self.max_rows)


def stream_file(path: str | Path, *, max_bytes: int = MAX_INFLATED_BYTES,
                max_rows: int = MAX_ROWS) -> SourceFile | StreamedFile:
    """A file to import from disk: a CSV (also .gz) streamed (StreamedFile), an XLSX or JSON file read whole as
    read_file() does (a JSON document is parsed whole anyway). The same refusals as read_file()."""
    path = Path(path)
    fmt = format_of(path.name)
    if fmt != "csv":
        return read_file(path.name, path.read_bytes(), max_bytes=max_bytes, max_rows=max_rows)
    with _open_text(path, max_bytes) as text:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError("the file is empty") from None
        except csv.Error as e:
            raise ImportFileError(f"the CSV header cannot be read ({e})") from None
        columns = [h.strip() for h in header]
        total = sum(1 for _ in _csv_rows(reader, columns, max_rows))
    return StreamedFile("csv", columns, total, path, max_bytes, max_rows)


class _Limited(io.RawIOBase):
    """A byte stream refused (ImportFileError) once more than max_bytes have been read from it."""

    def __init__(self, stream: Any, max_bytes: int, compressed_size: int | None):
        self.stream, self.max_bytes, self.compressed_size, self.read_so_far = stream, max_bytes, compressed_size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.stream.read(len(buffer))
        except (OSError, EOFError, zlib.error) as e:
            raise ImportFileError(f"the file is not valid gzip ({e})") from None
        self.read_so_far += len(data)
        if self.read_so_far > self.max_bytes:
            if self.compressed_size is not None:
                raise ImportFileError(
                    f"the file inflates to more than {_size(self.max_bytes)} when uncompressed, the import limit "
                    f"(it is only {_size(self.compressed_size)} compressed); split it into smaller files")
            raise ImportFileError(f"the file is larger than the import limit of {_size(self.max_bytes)}")
        buffer[:len(data)] = data
        return len(data)


@contextlib.contextmanager
def _open_text(path: Path, max_bytes: int) -> Iterator[Any]:
    """The file as UTF-8 text (inflated if gzip), refused past max_bytes; a decoding error as an ImportFileError."""
    try:
        raw = path.open("rb")
    except OSError as e:
        raise ImportFileError(f"cannot read the file ({e.strerror or e})") from None
    with raw:
        compressed = path.name.lower().endswith(".gz") or raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if compressed else raw
        size = path.stat().st_size if compressed else None
        text = io.TextIOWrapper(io.BufferedReader(_Limited(stream, max_bytes, size)), encoding="utf-8-sig",
                                newline="")
        try:
            yield text
        except UnicodeDecodeError:
            raise ImportFileError("the CSV file is not UTF-8; save it as UTF-8 and try again") from None


def format_of(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in ("csv", "xlsx", "json"):
        if name.endswith("." + ext):
            return ext
    raise ImportFileError("the file must be .csv, .xlsx or .json (optionally gzip-compressed, .gz)")


def read_file(filename: str, content: bytes, *, max_bytes: int = MAX_INFLATED_BYTES,
              max_rows: int = MAX_ROWS) -> SourceFile:
    """Every row of a CSV, XLSX or JSON file (also .gz), with the line (or record number) it came from.

    A compressed file is inflated a piece at a time and refused as soon as it passes max_bytes (a 68 KB
    "decompression bomb" would otherwise inflate to gigabytes in memory); a file of more than max_rows rows is
    refused too. Both refusals say so and name the limit."""
    fmt = format_of(filename)
    if filename.lower().endswith(".gz") or content[:2] == b"\x1f\x8b":
        content = _inflate(content, max_bytes)
    elif len(content) > max_bytes:
        raise ImportFileError(f"the file is larger than the import limit of {_size(max_bytes)}")
    if fmt == "csv":
        source = _read_csv(content, max_rows)
    elif fmt == "xlsx":
        source = _read_xlsx(content, max_rows)
    else:
        source = _read_json(content)
    if len(source.rows) > max_rows:
        raise _too_many_rows(max_rows)
    return source


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.4g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _too_many_rows(max_rows: int) -> ImportFileError:
    return ImportFileError(f"the file has more than {max_rows:,} rows, the import limit; split it into smaller files")


def _inflate(content: bytes, max_bytes: int) -> bytes:
    """A gzip file's content, inflated in pieces of at most 1 MB and refused once it passes max_bytes."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            while piece := stream.read(min(1024 * 1024, max_bytes + 1 - len(out))):
                out += piece
                if len(out) > max_bytes:
                    raise ImportFileError(
                        f"the file inflates to more than {_size(max_bytes)} when uncompressed, the import limit "
                        f"(it is only {_size(len(content))} compressed); split it into smaller files")
    except (OSError, EOFError, zlib.error) as e:
        raise ImportFileError(f"the file is not valid gzip ({e})") from None
    return bytes(out)


def _read_csv(content: bytes, max_rows: int = MAX_ROWS) -> SourceFile:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFileError(f"the CSV file is not UTF-8 (byte {e.start}); save it as UTF-8 and try again") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty") from None
    except csv.Error as e:
        raise ImportFileError(f"the CSV header cannot be read ({e})") from None
    columns = [h.strip() for h in header]
    return SourceFile("csv", columns, list(_csv_rows(reader, columns, max_rows)))


def _csv_rows(reader: Any, columns: list[str], max_rows: int) -> Iterator[tuple[int, dict[str, str]]]:
    """The (line, record) pairs of a CSV reader past its header; refused past max_rows rows or at a quoting error."""
    count = 0
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ImportFileError(f"line {line}: the CSV cannot be read from here on ({e})") from None
        if values:
            record = {c: v for c, v in zip(columns, values, strict=False)}
            if len(values) != len(columns):
                record[WIDTH] = str(len(values))
            count += 1
            if count > max_rows:
                raise _too_many_rows(max_rows)
            yield line, record
        line = reader.line_num + 1


def _read_xlsx(content: bytes, max_rows: int = MAX_ROWS) -> SourceFile:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ImportFileError(f"the file is not a readable .xlsx workbook ({e})") from None
    try:
        sheet = workbook.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise ImportFileError("the workbook's first sheet is empty")
        columns = [str(h).strip() if h is not None else "" for h in header]
        rows = []
        for number, values in enumerate(it, start=2):
            if values is None or all(v is None or v == "" for v in values):
                continue
            rows.append((number, {c: _cell_text(v) for c, v in zip(columns, values, strict=False)}))
            if len(rows) > max_rows:
                raise _too_many_rows(max_rows)
        return SourceFile("xlsx", columns, rows)
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json(content: bytes) -> SourceFile:
    try:
        data = params.load_json(content.decode("utf-8-sig"))
    except params.JSONTooDeep as e:
        raise ImportFileError(f"the JSON is {e}; an import is a list of flat objects") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImportFileError(f"the JSON cannot be read ({e})") from None
    if isinstance(data, dict):
        data = data.get("items", data.get("rows"))
    if not isinstance(data, list):
        raise ImportFileError("the JSON must be a list of objects (or an object with a list under 'items')")
    columns: list[str] = []
    rows = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((number, {INVALID: type(item).__name__}))
            continue
        record = {}
        for key, value in item.items():
            if key not in columns:
                columns.append(key)
            record[key] = "" if value is None else (json.dumps(value) if isinstance(value, list | dict) else
                                                    ("true" if value is True else "false" if value is False else str(value)))
        rows.append((number, record))
    return SourceFile("json", columns, rows)


# --- mapping one row ------------------------------------------------------------------------------


@dataclass
class MappedRow:
    key: str
    values: dict[str, Any]
    warnings: list[str]


class RowContext:
    """One source row, cleaned: HTML entities decoded, white space trimmed, 'N/A' read as empty."""

    def __init__(self, profile: Profile, record: dict[str, str]):
        self.profile = profile
        self.record = record
        self.nulls = set(profile.null_values)
        self.cleaned: dict[str, str] = {}

    def get(self, column: str) -> str:
        if column in self.cleaned:
            return self.cleaned[column]
        value = self.cleaned[column] = self._clean(column)
        return value

    def _clean(self, column: str) -> str:
        if column not in self.record:
            return ""
        value = (self.record[column] or "").replace("\r\n", "\n").strip()
        if self.profile.decode_html and "&" in value:
            for _ in range(3):  # scraped text is sometimes encoded twice (&amp;amp;)
                decoded = html.unescape(value)
                if decoded == value:
                    break
                value = decoded
        if value[:2] in ("'=", "'+", "'@"):  # a spreadsheet-safe export's defused formula: the text as typed
            value = value[1:]
        return "" if value in self.nulls else value

    def first(self, columns: str | list[str]) -> tuple[str, str]:
        """The first non-empty value among the columns, and the column it came from."""
        names = [columns] if isinstance(columns, str) else list(columns)
        for name in names:
            value = self.get(name)
            if value:
                return value, name
        return "", names[0] if names else ""

    def render(self, template: str) -> str:
        literals, names = _template(template)
        get = self.get
        parts = [literals[0]]
        for name, literal in zip(names, literals[1:], strict=True):
            parts.append(get(name))
            parts.append(literal)
        return "".join(parts)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@functools.lru_cache(maxsize=1024)
def _template(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A template split once (not per row): its literal pieces around the {column} placeholders, and the columns."""
    pieces = _PLACEHOLDER.split(template)
    return tuple(pieces[0::2]), tuple(pieces[1::2])


def _text(ctx: RowContext, spec: Any) -> tuple[str, str]:
    """The raw text a field spec gives for the row, and a label of where it came from (for messages)."""
    if isinstance(spec, str):
        return ctx.get(spec), spec
    if "value" in spec:
        return str(spec["value"]), "default"
    if "lines" in spec:
        lines = []
        for line in spec["lines"]:
            names = _template(line)[1]
            if not names or any(ctx.get(n) for n in names):
                lines.append(ctx.render(line))
        return "\n".join(lines).strip(), "template"
    if "template" in spec:
        return ctx.render(spec["template"]).strip(), "template"
    value, column = ctx.first(spec.get("column", []))
    return value, column


def _parse_datetime(raw: str, profile: Profile, formats: list[str]) -> datetime:
    return _datetime_of(raw.strip(), tuple(formats or profile.date_formats), profile.timezone)


@functools.lru_cache(maxsize=4096)
def _datetime_of(raw: str, formats: tuple[str, ...], timezone: str) -> datetime:
    """A date or time as a file writes it, in UTC (ValueError when it is none); kept, as a file repeats its dates."""
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        for fmt in formats:
            try:
                value = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise ValueError("not a date")
    if value.year < 1900:
        raise ValueError(f"the year {value.year} is not plausible")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _parse_int(raw: str) -> int:
    match = _NUMBER.search(raw)
    if match is None or raw.strip().startswith("-"):
        raise ValueError("not a whole number")
    number = float(match.group(0).replace(",", ""))
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


TRUE = {"y", "yes", "true", "1", "x", "t"}
FALSE = {"n", "no", "false", "0", "f", ""}


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("not yes or no")


@functools.cache
def _options(enum_type: type) -> frozenset[str]:
    return frozenset(m.value for m in enum_type)


def _parse_choice(raw: str, spec: Any, enum_type: type) -> Any:
    options = _options(enum_type)
    value = raw.strip()
    if value in options:
        return enum_type(value)
    if isinstance(spec, dict):
        lowered = value.lower()
        for needle, target in spec.get("contains", []):
            if needle.lower() in lowered:
                return enum_type(target)
        if "default" in spec:
            return enum_type(spec["default"])
    raise ValueError(f"not one of {', '.join(sorted(options))}")


def row_key(profile: Profile, record: dict[str, str], ctx: RowContext | None = None) -> str:
    """The row's source key (its identity in its source); RowRejected when a key column is empty."""
    if INVALID in record:
        raise RowRejected(f"not an object but {record[INVALID]}")
    ctx = ctx or RowContext(profile, record)
    key_parts = [ctx.get(c) for c in profile.key]
    if not all(key_parts):
        missing = [c for c, v in zip(profile.key, key_parts, strict=True) if not v]
        raise RowRejected(f"no source key: {', '.join(missing)} is empty")
    key = "|".join(key_parts)
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def map_row(profile: Profile, record: dict[str, str], ctx: RowContext | None = None) -> MappedRow:
    """The field values one row gives under the profile; RowRejected with the reason when it cannot."""
    ctx = ctx or RowContext(profile, record)
    key = row_key(profile, record, ctx)
    warnings = []
    if WIDTH in record:
        warnings.append(f"the row has {record[WIDTH]} cells, not as many as the header has columns")
    for column, allowed in profile.checks.items():
        value = ctx.get(column)
        if value and value not in allowed:
            warnings.append(f"{column} holds {value[:60]!r} where {' or '.join(allowed)} is expected "
                            "(columns shifted in the source?); the row was kept and the value is in the description")
    values: dict[str, Any] = {}
    errors = []
    for name, spec in profile.fields.items():
        raw, origin = _text(ctx, spec)
        default = spec.get("default") if isinstance(spec, dict) else None
        if raw == "" and default is not None:
            raw = str(default)
        try:
            values[name] = _convert(name, raw, spec, profile)
        except ValueError as e:
            shown = f" {raw[:40]!r}" if raw else ""
            errors.append(f"{name} (from {origin}):{shown} {e}")
    if errors:
        raise RowRejected("; ".join(errors))
    return MappedRow(key=key, values=values, warnings=warnings)


def _convert(name: str, raw: str, spec: Any, profile: Profile) -> Any:
    if name in DATE_FIELDS:
        if not raw:
            raise ValueError("is empty")
        return _parse_datetime(raw, profile, spec.get("formats", []) if isinstance(spec, dict) else [])
    if name in INT_FIELDS:
        if not raw:
            return 0
        number = _parse_int(raw)
        if number > MAX_INT.get(name, 2**31 - 1):
            raise ValueError("is too large")
        return number
    if name in BOOL_FIELDS:
        return _parse_bool(raw)
    if name == "source":
        return _parse_choice(raw, spec, Source)
    if name == "hazard":
        return _parse_choice(raw, spec, Hazard)
    if name == "injury_care":  # an empty cell states nothing: the regimes that turn on care then ask for a decision
        return _parse_choice(raw, spec, Care) if raw.strip() else Care.NOT_STATED
    limit = spec.get("max") if isinstance(spec, dict) else None
    if limit and len(raw) > limit:
        raw = raw[: limit - 1].rstrip() + "…"
    if name == "country":
        raw = raw.upper()
    return raw


# --- running an import ----------------------------------------------------------------------------


@dataclass
class Rejection:
    line: int
    key: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    already_present: int = 0
    warnings: list[Rejection] = field(default_factory=list)
    extra: dict[str, dict[str, int]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict, repr=False)  # source key → first line, in this run

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "rejected": len(self.rejected),
                "already_present": self.already_present, "warnings": len(self.warnings), **self.extra}


#: Other record kinds an import can make from the same rows (e.g. lessons, recall campaigns): section name →
#: "module:function". The function is called once per row that has an incident, as
#: fn(session, record=<the raw row>, values=<the profile section rendered for the row>, incident_id=, user=, now=)
#: (and source=<the profile's source> if it takes that argument, to remember its keys in imported_record),
#: keeps its own records idempotent, and returns "created", "present" or "rejected: reason"; None if it cannot
#: make such records (yet). A package adds its target here or with register_target().
EXTRA_TARGETS: dict[str, str | Callable[..., str | None]] = {
    "lesson": "qa_incidents.api.targets:lesson_from_row",
    "recall": "qa_incidents.api.targets:recall_from_row",
}


#: The same record kinds made for a whole batch at once: section → "module:function", called as
#: fn(session, items=[{"record":, "values":, "incident_id":, "incident":}, …], user=, now=, source=, run_id=) and
#: returning one outcome per item, in order, as the per-row function would ("incident": the incident filed from the
#: row in this batch, an Incident or an incidents.bulk.Filed, else None; "prepared": see PREPARE_TARGETS, else
#: None). A section without one is made row by row.
BATCH_TARGETS: dict[str, str | Callable[..., list[str | None]]] = {
    "lesson": "qa_incidents.api.targets:lessons_from_rows",
    "recall": "qa_incidents.api.targets:recalls_from_rows",
}


#: What a batch target needs of each row that can be worked out while the file is read (prepare(): no database, no
#: application): section → "module:function", called as fn(record, values) (values: the section rendered for the
#: row); its result reaches the batch function as the item's "prepared".
PREPARE_TARGETS: dict[str, str | Callable[..., Any]] = {
    "lesson": "qa_incidents.api.targets:lesson_row_prepared",
}


def register_target(section: str, target: str | Callable[..., str | None]) -> None:
    """Let the profiles' `section` (e.g. "recall") create records through the given function (row by row: a batch
    function registered before for the section is dropped)."""
    EXTRA_TARGETS[section] = target
    BATCH_TARGETS.pop(section, None)
    PREPARE_TARGETS.pop(section, None)


def _target(section: str, registry: dict[str, Any] | None = None) -> Callable[..., Any] | None:
    target = (EXTRA_TARGETS if registry is None else registry).get(section)
    if isinstance(target, str):
        import importlib

        module_name, _, name = target.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            return None
    return target


@dataclass
class Catalogue:
    """The division and product the profile gives by default, created through their services if missing."""

    division_id: int | None
    product_id: int | None


def ensure_catalogue(session: so.Session, *, profile: Profile, user: User, now: datetime) -> Catalogue:
    """The profile's default division and product, created through the accounts and catalogue services if missing.

    Only a user who may work for every division (head-office QA) makes new catalogue entries this way.
    """
    division_id = product_id = None
    if profile.division.get("code"):
        code = str(profile.division["code"]).upper()
        division = session.scalar(sa.select(Division).where(Division.code == code))
        if division is None:
            if not can(user.actor, Capability.WORK_ALL_DIVISIONS):
                raise ProfileError(f"there is no division {code}; ask head-office QA to run the first import")
            division = accounts.create_division(session, data=accounts.DivisionInput(
                code=code, name=str(profile.division.get("name") or code)), actor_id=user.id, now=now)
        division_id = division.id
    if profile.product.get("model") and division_id is not None:
        model = str(profile.product["model"])
        product = session.scalar(sa.select(Product).where(Product.division_id == division_id, Product.model == model))
        if product is None:
            if not can(user.actor, Capability.WORK_ALL_DIVISIONS):
                raise ProfileError(f"there is no product {model}; ask head-office QA to run the first import")
            category_id = _ensure_category(session, profile.product, user, now)
            product = catalogue.save_product(session, data=catalogue.ProductInput(
                division_id=division_id, category_id=category_id, model=model,
                name=str(profile.product.get("name") or model)), product_id=None, actor_id=user.id, now=now)
        product_id = product.id
    return Catalogue(division_id, product_id)


def _ensure_category(session: so.Session, spec: dict[str, Any], user: User, now: datetime) -> int:
    code = str(spec.get("category") or "imported")
    found = session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == code))
    if found is not None:
        return found
    parent_id = None
    if "." in code:
        parent_id = _ensure_category(session, {"category": code.rsplit(".", 1)[0],
                                               "category_name": code.rsplit(".", 1)[0]}, user, now)
    category = catalogue.save_category(session, data=catalogue.CategoryInput(
        code=code, name=str(spec.get("category_name") or code), parent_id=parent_id),
        category_id=None, actor_id=user.id, now=now)
    return category.id


def imported_entity(session: so.Session, source: str, key: str, entity_type: str) -> int | None:
    """The id of the record a source key became, if it was imported before."""
    return _imported(session, source, key, entity_type)


def _imported(session: so.Session, source: str, key: str, entity_type: str) -> int | None:
    return session.scalar(sa.select(ImportedRecord.entity_id).where(
        ImportedRecord.source == source, ImportedRecord.source_key == key, ImportedRecord.entity_type == entity_type))


def remember(session: so.Session, *, source: str, key: str, entity_type: str, entity_id: int, run_id: int | None,
             now: datetime) -> None:
    """Note which record a source key became, so the next import of it does nothing."""
    session.add(ImportedRecord(source=source, source_key=key, entity_type=entity_type, entity_id=entity_id,
                               import_run_id=run_id, created_at=now))
    session.flush()


def _resolve(session: so.Session, values: dict[str, Any], defaults: Catalogue, cache: dict[Any, Any]) -> tuple[int, int]:
    if "division" in values and values["division"]:
        code = str(values["division"]).upper()
        if ("d", code) not in cache:
            cache[("d", code)] = session.scalar(sa.select(Division.id).where(Division.code == code))
        division_id = cache[("d", code)]
        if division_id is None:
            raise RowRejected(f"division: there is no division with the code {code!r}")
    elif defaults.division_id is not None:
        division_id = defaults.division_id
    else:
        raise RowRejected("division: empty")
    if "product" in values and values["product"]:
        model = str(values["product"])
        if ("p", division_id, model) not in cache:
            cache[("p", division_id, model)] = session.scalar(
                sa.select(Product.id).where(Product.division_id == division_id, Product.model == model))
        product_id = cache[("p", division_id, model)]
        if product_id is None:
            raise RowRejected(f"product: the division has no product with the model {model!r}")
    elif defaults.product_id is not None and defaults.division_id == division_id:
        product_id = defaults.product_id
    else:
        raise RowRejected("product: empty")
    return division_id, product_id


def _facts(values: dict[str, Any], division_id: int, product_id: int) -> IncidentFacts:
    data: dict[str, Any] = {name: values.get(name, "") for name in TEXT_FIELDS}
    data.update({name: values.get(name, 0) for name in INT_FIELDS})
    data.update({name: values.get(name, False) for name in BOOL_FIELDS})
    data["source"] = values.get("source", Source.SERVICE_REPORT)
    data["hazard"] = values.get("hazard", Hazard.OTHER)
    data["injury_care"] = values.get("injury_care", Care.NOT_STATED)
    for name in DATE_FIELDS:
        if name not in values:
            raise RowRejected(f"{name}: not mapped")
    data["occurred_at"] = values["occurred_at"]
    data["aware_at"] = values["aware_at"]
    facts = IncidentFacts(division_id=division_id, product_id=product_id, **data)
    if "no_harm" not in values:
        # Source data rarely says "no harm" in so many words: no harm is what it means when none is stated.
        facts.no_harm = not harm_stated(facts)
    return facts


def import_rows(
    session: so.Session,
    *,
    profile: Profile,
    source: SourceFile | None = None,
    user: User,
    now: datetime,
    run: ImportRun | None = None,
    start: int = 0,
    stop: int | None = None,
    report: ImportReport | None = None,
    progress: Callable[[int], None] | None = None,
    rows: Iterable[tuple[int, dict[str, str]] | Prepared] | None = None,
) -> ImportReport:
    """Import rows [start:stop] of the file, or the given (line, record) rows, BATCH at a time (flushing, never
    committing: the caller owns the transaction, and commits after each CHUNK to make one transaction a batch).
    `rows` may also hold batches made by prepare(), each imported as one batch."""
    report = report or ImportReport()
    defaults = ensure_catalogue(session, profile=profile, user=user, now=now)
    cache: dict[Any, Any] = {}
    run_id = run.id if run is not None else None
    if rows is None:
        assert source is not None
        rows = source.rows[start:stop]
    batch: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        if isinstance(row, Prepared):  # a batch prepare() made (the command line's)
            if batch:
                _import_batch(session, profile, batch, user, now, defaults, cache, run_id, report, progress)
                batch = []
            _import_batch(session, profile, row, user, now, defaults, cache, run_id, report, progress)
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            _import_batch(session, profile, batch, user, now, defaults, cache, run_id, report, progress)
            batch = []
    if batch:
        _import_batch(session, profile, batch, user, now, defaults, cache, run_id, report, progress)
    return report


#: Rows filed together: one INSERT per table and one audit append per batch (see _import_batch).
BATCH = CHUNK


@dataclass
class Prepared:
    """A batch of rows mapped and checked (prepare()), waiting to be imported: import_rows(rows=[prepared])."""

    profile: Profile
    items: list[_Row]

    def __len__(self) -> int:
        return len(self.items)


def prepare(profile: Profile, rows: list[tuple[int, dict[str, str]]]) -> Prepared:
    """What a batch's rows give before the database is asked anything: each row's source key, its field values
    (or the reason it is rejected) and the values of the profile's other sections. Touches neither the session
    nor the application, so the command line prepares the next batch in a thread while one is being written."""
    items = [_Row(line, record) for line, record in rows]
    sections = {name: spec for name, spec in profile.extra.items() if isinstance(spec, dict) and "key" in spec}
    early = {name: fn for name in sections if name in BATCH_TARGETS
             for fn in (_target(name, PREPARE_TARGETS),) if fn is not None}
    for item in items:
        item.ctx = RowContext(profile, item.record)
        try:
            item.key = row_key(profile, item.record, item.ctx)
            mapped = map_row(profile, item.record, item.ctx)
        except RowRejected as e:
            item.outcome, item.reason = "rejected", str(e)
            continue
        item.warnings.extend(mapped.warnings)
        item.values = mapped.values
        item.sections = {name: {field: _text(item.ctx, spec)[0] for field, spec in section.items()}
                         for name, section in sections.items()}
        for name, ahead in early.items():
            item.prepared[name] = ahead(item.record, item.sections[name])
    return Prepared(profile, items)


@dataclass
class _Row:
    """One row on its way through a batch: its outcome and messages are added to the report in line order."""

    line: int
    record: dict[str, str]
    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    facts: IncidentFacts | None = None
    incident_id: int | None = None
    ctx: RowContext | None = None
    #: The incident filed from the row (held so the session's weak identity map keeps it for the batch's targets),
    #: or what the targets need of it (incidents.bulk.Filed) when the row is imported history.
    incident: Any = None
    sections: dict[str, dict[str, str]] | None = None  # the profile's other sections rendered for the row
    prepared: dict[str, Any] = field(default_factory=dict)  # what PREPARE_TARGETS worked out, by section
    outcome: str = ""  # "imported", "present" or "rejected"
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


def _import_batch(session: so.Session, profile: Profile, rows: list[tuple[int, dict[str, str]]] | Prepared, user: User,
                  now: datetime, defaults: Catalogue, cache: dict[Any, Any], run_id: int | None,
                  report: ImportReport, progress: Callable[[int], None] | None) -> None:
    """Import a batch of rows at once: every row mapped and checked first (a bad row is rejected with its reason,
    the others go on), the source keys looked up in one query, the new incidents filed with one INSERT
    (incidents.bulk), their source keys remembered with one more, the profile's other records made per batch where
    their target can (BATCH_TARGETS), and every audit event appended in one go (audit.deferred).

    If the database refuses the batch as a whole (which the checks should make impossible), it is rolled back to
    its savepoint and its rows are imported one at a time as before, so one bad row never costs the others."""
    from qa_incidents.core import audit

    items = rows.items if isinstance(rows, Prepared) else prepare(profile, rows).items
    seen, extra = dict(report.seen), {k: dict(v) for k, v in report.extra.items()}
    try:
        with session.begin_nested(), audit.deferred(session):
            _batch_incidents(session, profile, items, user, now, defaults, cache, run_id, report.seen)
            _batch_targets(session, profile, items, user, now, run_id, report)
    except sa.exc.DBAPIError:
        report.seen, report.extra = seen, extra
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Incident) and any(obj.id == i.incident_id for i in items):
                session.expunge(obj)
        for line, record in [(i.line, i.record) for i in items]:
            report.rows += 1
            outcome = _import_one(session, profile, line, record, user, now, defaults, cache, run_id, report,
                                  report.seen)
            if outcome == "imported":
                report.imported += 1
            elif outcome == "present":
                report.already_present += 1
        if progress:
            progress(len(rows))
        return
    for item in items:
        report.rows += 1
        if item.outcome == "imported":
            report.imported += 1
        elif item.outcome == "present":
            report.already_present += 1
        else:
            report.rejected.append(Rejection(item.line, item.key, item.reason))
        report.warnings.extend(Rejection(item.line, item.key, w) for w in item.warnings)
    if progress:
        progress(len(rows))


def _batch_incidents(session: so.Session, profile: Profile, items: list[_Row], user: User, now: datetime,
                     defaults: Catalogue, cache: dict[Any, Any], run_id: int | None, seen: dict[str, int]) -> None:
    from qa_incidents.incidents.bulk import file_incidents

    waiting: list[_Row] = []
    for item in items:  # mapped and checked by prepare(); the keys seen before are this run's, in line order
        if item.outcome == "rejected" and not item.key:
            continue
        if item.key in seen:
            item.warnings.insert(0, f"the same source key as line {seen[item.key]}: counted as already present")
        else:
            seen[item.key] = item.line
        if item.outcome != "rejected":
            waiting.append(item)
    # A key twice in one batch: its first row is filed in one round, the next finds it present in the next.
    while waiting:
        known = _imported_many(session, profile.source, {i.key for i in waiting}, "incident")
        if profile.match_reference:
            missing = [i.key for i in waiting if i.key not in known]
            for i in range(0, len(missing), 500):
                known.update(session.execute(sa.select(Incident.reference, Incident.id)
                                             .where(Incident.reference.in_(missing[i:i + 500]))).all())
        to_file: list[_Row] = []
        later: list[_Row] = []
        taken: set[str] = set()
        for item in waiting:
            if item.key in known:
                item.incident_id, item.outcome = known[item.key], "present"
                continue
            if item.key in taken:
                later.append(item)
                continue
            try:
                division_id, product_id = _resolve(session, item.values, defaults, cache)
                item.facts = _facts(item.values, division_id, product_id)
            except RowRejected as e:
                item.outcome, item.reason = "rejected", str(e)
                continue
            taken.add(item.key)
            to_file.append(item)
        filed = file_incidents(session, user=user, facts=[i.facts for i in to_file], now=now,  # type: ignore[misc]
                               history_source=profile.source if profile.history else None)
        if not profile.history:  # live reports get their notification records at once, as filing gives them
            from qa_incidents.notifications.records import derive

            for result in filed:
                if isinstance(result, Incident):
                    derive(session, incident=result, user=user, now=now, new=True)
        remembered = []
        for item, result in zip(to_file, filed, strict=True):
            if isinstance(result, ValidationFailed):
                item.outcome = "rejected"
                item.reason = "; ".join(f"{k}: {v}" for k, v in result.errors.items())
            else:
                item.incident_id, item.incident, item.outcome = result.id, result, "imported"
                remembered.append({"source": profile.source, "source_key": item.key, "entity_type": "incident",
                                   "entity_id": result.id, "import_run_id": run_id, "created_at": now})
        remember_many(session, remembered)
        waiting = later


def _imported_many(session: so.Session, source: str, keys: set[str], entity_type: str) -> dict[str, int]:
    """The records the source keys became (those imported before), in queries of 500 keys."""
    found: dict[str, int] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 500):
        found.update(session.execute(sa.select(ImportedRecord.source_key, ImportedRecord.entity_id).where(
            ImportedRecord.source == source, ImportedRecord.entity_type == entity_type,
            ImportedRecord.source_key.in_(ordered[i:i + 500]))).all())
    return found


def imported_entities(session: so.Session, source: str, keys: set[str], entity_type: str) -> dict[str, int]:
    """The ids of the records source keys became, for those imported before (a batch's look-up)."""
    return _imported_many(session, source, keys, entity_type)


def remember_many(session: so.Session, rows: list[dict[str, Any]]) -> None:
    """remember() for a batch: each dict has source, source_key, entity_type, entity_id, import_run_id, created_at."""
    if rows:
        from qa_incidents.core.bulk import insert_rows

        insert_rows(session.connection(), ImportedRecord.__table__, rows)


def _batch_targets(session: so.Session, profile: Profile, items: list[_Row], user: User, now: datetime,
                   run_id: int | None, report: ImportReport) -> None:
    """The profile's other records for the batch's rows that have an incident, in line order."""
    with_incident = [i for i in items if i.incident_id is not None]
    for section, spec in profile.extra.items():
        if not isinstance(spec, dict) or "key" not in spec:
            continue
        counts = report.extra.setdefault(section + "s", {"created": 0, "already_present": 0, "rejected": 0,
                                                         "not_available": 0})
        if not with_incident:
            continue
        many = _target(section, BATCH_TARGETS)
        outcomes: list[str | None]
        if many is not None:
            batch = [{"record": i.record,
                      "values": i.sections[section] if i.sections is not None and section in i.sections else
                      {name: _text(i.ctx or RowContext(profile, i.record), item)[0] for name, item in spec.items()},
                      "incident_id": i.incident_id, "incident": i.incident, "prepared": i.prepared.get(section)}
                     for i in with_incident]
            outcomes = list(many(session, items=batch, user=user, now=now, source=profile.source, run_id=run_id))
        else:
            target = _target(section)
            if target is None:
                counts["not_available"] += len(with_incident)
                continue
            extra = {"source": profile.source} if "source" in inspect.signature(target).parameters else {}
            trail = session.info.get("audit_pending")
            outcomes = []
            for i in with_incident:
                values = {name: _text(RowContext(profile, i.record), item)[0] for name, item in spec.items()}
                mark = len(trail) if trail is not None else 0
                try:
                    with session.begin_nested():
                        outcomes.append(target(session, record=i.record, values=values, incident_id=i.incident_id,
                                               user=user, now=now, **extra))
                except BaseException:
                    if trail is not None:
                        del trail[mark:]
                    raise
        for item, outcome in zip(with_incident, outcomes, strict=True):
            if (refused := _counted(counts, outcome)) is not None:
                item.warnings.append(f"no {section} made: {refused}")


def _import_one(session: so.Session, profile: Profile, line: int, record: dict[str, str], user: User, now: datetime,
                defaults: Catalogue, cache: dict[Any, Any], run_id: int | None, report: ImportReport,
                seen: dict[str, int]) -> str:
    key = ""
    try:
        key = row_key(profile, record)
        if key in seen:
            report.warnings.append(Rejection(line, key, f"the same source key as line {seen[key]}: counted as "
                                                        "already present"))
        else:
            seen[key] = line
        mapped = map_row(profile, record)
        for warning in mapped.warnings:
            report.warnings.append(Rejection(line, key, warning))
        incident_id = _imported(session, profile.source, key, "incident")
        if incident_id is None and profile.match_reference:
            incident_id = session.scalar(sa.select(Incident.id).where(Incident.reference == key))
        outcome = "present"
        if incident_id is None:
            division_id, product_id = _resolve(session, mapped.values, defaults, cache)
            facts = _facts(mapped.values, division_id, product_id)
            with session.begin_nested():
                incident = incidents.file_incident(session, user=user, facts=facts, now=now, history=profile.history)
                if profile.history:
                    from qa_incidents.incidents.workflow import record_as_history

                    record_as_history(session, user=user, incident=incident, source=profile.source, now=now)
                remember(session, source=profile.source, key=key, entity_type="incident", entity_id=incident.id,
                         run_id=run_id, now=now)
            incident_id, outcome = incident.id, "imported"
        _extra_targets(session, profile, record, incident_id, user, now, run_id, report, line, key)
        return outcome
    except RowRejected as e:
        report.rejected.append(Rejection(line, key, str(e)))
    except ValidationFailed as e:
        report.rejected.append(Rejection(line, key, "; ".join(f"{k}: {v}" for k, v in e.errors.items())))
    except DomainError as e:
        report.rejected.append(Rejection(line, key, str(e)))
    return "rejected"


def _extra_targets(session: so.Session, profile: Profile, record: dict[str, str], incident_id: int, user: User,
                   now: datetime, run_id: int | None, report: ImportReport, line: int = 0, key: str = "") -> None:
    for section, spec in profile.extra.items():
        if not isinstance(spec, dict) or "key" not in spec:
            continue
        counts = report.extra.setdefault(section + "s", {"created": 0, "already_present": 0, "rejected": 0,
                                                         "not_available": 0})
        target = _target(section)
        if target is None:
            counts["not_available"] += 1
            continue
        ctx = RowContext(profile, record)
        values = {name: _text(ctx, item)[0] for name, item in spec.items()}
        extra = {"source": profile.source} if "source" in inspect.signature(target).parameters else {}
        with session.begin_nested():
            outcome = target(session, record=record, values=values, incident_id=incident_id, user=user, now=now,
                             **extra)
        if (refused := _counted(counts, outcome)) is not None:
            # The row (its incident) is kept; the record it could not also make is reported, never dropped silently.
            report.warnings.append(Rejection(line, key, f"no {section} made: {refused}"))


def _counted(counts: dict[str, int], outcome: str | None) -> str | None:
    """Count what a section's target made of a row ("created", "present", None: not available, else a refusal);
    the refusal's reason, if it refused."""
    if outcome == "created":
        counts["created"] += 1
    elif outcome == "present":
        counts["already_present"] += 1
    elif outcome is None:
        counts["not_available"] += 1
    else:
        counts["rejected"] += 1
        return outcome.removeprefix("rejected:").strip() or "refused"
    return None


def preview(profile: Profile, source: SourceFile, n: int = 10) -> list[dict[str, Any]]:
    """The first rows as the profile maps them, each with its problem if it would be rejected."""
    shown = []
    for line, record in source.rows[:n]:
        try:
            mapped = map_row(profile, record)
            shown.append({"line": line, "values": mapped.values, "warnings": mapped.warnings, "error": ""})
        except RowRejected as e:
            shown.append({"line": line, "values": {}, "warnings": [], "error": str(e)})
    return shown


def rejected_csv(report: ImportReport) -> str:
    """The rejected rows (and warnings), one per line, for people and spreadsheets."""
    buffer = io.StringIO()
    writer = csvsafe.Writer(buffer, lineterminator="\n")
    writer.writerow(["line", "source_key", "outcome", "reason"])
    for r in report.rejected:
        writer.writerow([r.line, r.key, "rejected", r.reason])
    for w in report.warnings:
        writer.writerow([w.line, w.key, "imported with a warning", w.reason])
    return buffer.getvalue()


def sample_path(name: str) -> Path:
    return SAMPLE_DIR / name
