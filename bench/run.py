"""`make bench`: the application under gunicorn on a database of N synthetic incidents, driven from this
separate process over loopback, one scenario at a time.

Page scenarios draw their requests as people make them (bench/mix.py: register filters and sorts, real words,
real texts, random incidents); each line says how many different addresses its mix holds and how much of it the
kept-value caches answered (`cache`: the share of lookups answered from memory; `served`: the share of requests
answered without computing anything). The fixed addresses of earlier runs are printed beside, as `*_fixed`.

Each scenario runs for a fixed time with a fixed number of connections; every line gives throughput,
p50/p95/p99 latency and the ratio of the throughput to that of /healthz measured on the same server in
the same run, so results from different (or noisy) machines can be compared. /healthz is measured first and
again (for half the time) after every scenario; each ratio is taken against the mean of the two runs on either
side of its scenario, as a shared machine's speed drifts within a run. Last, with the server stopped, a year of
complaints (--complaints, 2,000,000 by default) is imported into the same database and the full signal scan run over
it (bench/complaints.py): import rows/s and scan seconds. Results also go to bench/results/latest.json.

    python -m bench.run --db sqlite --incidents 1000000 --seconds 10
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import mix

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PG_URL = os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "demo-password-2026"
SEARCH_TERMS = ("battery", "fire", "sterile", "software", "overheating", "label", "leak", "crack", "brake", "insulin",
                "connector", "seal failure", "smoke", "pump alarm", "fracture")
SIMILAR_TEXTS = ("Battery pack overheated while charging and the casing melted",
                 "Infusion pump stopped delivering and gave no alarm",
                 "Software update caused the display to freeze during use",
                 "Seal leaked and fluid reached the electronics, causing a short circuit",
                 "The power cord connector became hot and smoke came out of the plug")



#: What the writing scenario's reports are made of: each post draws its own title, lots, serials, dates and place.
_WHAT = ("Unit smelled of burning", "Power cord became hot", "Smoke from the back panel", "Door hinge snapped",
         "Display flickers then goes dark", "Plug scorched at the socket", "Handle cracked in normal use",
         "Battery swelled while charging", "Water leaked onto the floor", "Fan stopped and casing melted",
         "電源コードが発熱", "本体背面から発煙")
_WHEN = ("after an hour of use", "on first use", "during cleaning", "while unattended", "after a power cut",
         "at start-up", "")
_PLACES = ("customer's home", "kitchen", "garage", "office", "workshop", "service centre", "warehouse", "school")
_COUNTRIES = ("JP", "JP", "US", "DE", "GB", "FR", "CN", "KR", "AU", "CA")
_HAZARDS = (("overheating", "smoke"), ("fire_burn", "fire"), ("mechanical", "no_harm"), ("electric_shock", "no_harm"))


def incident_form(token: str, division_id: str, product_id: str, rng: random.Random | None = None) -> dict[str, str]:
    """What the filing form posts for the writing scenario (tests/views/test_bench_filing.py files it through the
    app, so a change to the form cannot leave the benchmark posting refused forms). With `rng`, a report of its own:
    title, lots, serials, place, country, hazard and dates drawn (from a month to two years ago)."""
    form = {
        "csrf_token": token, "division_id": division_id, "product_id": product_id,
        "title": "Bench: unit smelled of burning after an hour of use", "lot_numbers": "L123456",
        "serial_numbers": "", "country": "JP", "place": "customer's home", "timezone": "Asia/Tokyo",
        "aware_timezone": "Asia/Tokyo", "occurred_at": "2026-01-10T09:00", "aware_at": "2026-01-10T12:00",
        "source": "customer_complaint", "hazard": "overheating", "deaths": "0", "serious_injuries": "0",
        "minor_injuries": "0", "injury_care": "not_stated", "smoke": "y", "units_in_field": "1200",
        "description": "The customer smelled burning plastic and unplugged the unit."}
    if rng is None:
        return form
    occurred = datetime.now(tz=UTC) - timedelta(days=rng.randint(30, 730), minutes=rng.randint(0, 1439))
    aware = occurred + timedelta(hours=rng.randint(1, 72))
    hazard, flag = rng.choice(_HAZARDS)
    what, when = rng.choice(_WHAT), rng.choice(_WHEN)
    form.update(
        title=f"{what} {when}".strip(), lot_numbers=f"L{rng.randint(2000, 2699)}-{rng.randint(1, 99):02d}",
        serial_numbers=f"SN-{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.5 else "",
        country=rng.choice(_COUNTRIES), place=rng.choice(_PLACES), occurred_at=f"{occurred:%Y-%m-%dT%H:%M}",
        aware_at=f"{aware:%Y-%m-%dT%H:%M}", timezone="UTC", aware_timezone="UTC", hazard=hazard,
        units_in_field=str(rng.randint(10, 500_000)),
        description=f"{what} {when}. Reported by the customer; unit {rng.randint(1, 9999)} kept for inspection.")
    form.pop("smoke")
    form[flag] = "y"
    return form


def data_hash() -> str:
    """Changes when what the data set is made of changes (the generator, the demo data): it is then built again."""
    from qa_incidents.accounts.service import HASH_PARAMETERS

    h = hashlib.sha256()
    for path in sorted([*(ROOT / "qa_incidents" / "synthetic").glob("*.py"), ROOT / "qa_incidents" / "seed.py"]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    # The demo users' password hashes are made with these: a data set of older hashes would measure each user's
    # first log-in after a change of parameters (the old hash checked, a new one made) instead of an ordinary one.
    h.update(repr(sorted(HASH_PARAMETERS.items())).encode())
    return h.hexdigest()[:10]


def migration_files() -> dict[str, str]:
    """Each migration file → its text."""
    return {p.name: p.read_text() for p in sorted((ROOT / "migrations" / "versions").glob("*.py"))}


def down_revision_of(text: str) -> str:
    match = re.search(r'^down_revision\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return match.group(1) if match else "base"


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)


def app_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, QA_INSTANCE_DIR=str(DATA / "instance"), SCHEDULER_IN_PROCESS="0", CACHE_STATS="1",
               SECRET_KEY=env.get("SECRET_KEY", "bench-only-secret-key"), PYTHONPATH=str(ROOT))
    return env


def migrate(url: str, revision: str = "head", *, down: bool = False, scripts: Path | None = None) -> None:
    code = ("import sys; from alembic import command; from qa_incidents.core.migrate import alembic_config; "
            "cfg = alembic_config(sys.argv[1]); sys.argv[3] and cfg.set_main_option('script_location', sys.argv[3]); "
            f"command.{'downgrade' if down else 'upgrade'}(cfg, sys.argv[2])")
    run([sys.executable, "-c", code, url, revision, str(scripts or "")], app_env(url))


def chain_order(files: dict[str, str]) -> list[str]:
    """The migration files in the order they apply (by their down_revision links, not by file name)."""
    by_down = {down_revision_of(text): name for name, text in files.items()}
    revisions = {re.search(r'^revision\s*=\s*"([^"]*)"', text, re.MULTILINE).group(1): name  # type: ignore[union-attr]
                 for name, text in files.items()}
    order, current = [], next((r for r in by_down if r not in revisions), "base")
    while current in by_down:
        order.append(by_down[current])
        current = next(r for r, n in revisions.items() if n == order[-1])
    return order


def record_migrations(record: Path, files: dict[str, str]) -> None:
    """Keep the text of the migrations the cached data set was built with (its downgrades are the ones to run)."""
    if record.exists():
        shutil.rmtree(record)
    record.mkdir(parents=True)
    for name, text in files.items():
        (record / name).write_text(text)


def bring_up_to_date(url: str, record: Path) -> bool:
    """Apply the migrations added since the cached data set was built, and re-apply any edited since (downgrading
    past them with the downgrades of the versions that were applied, kept in `record`). False if that is not
    possible: the data set must then be built again."""
    now = migration_files()
    if not record.is_dir():
        return False
    applied = {p.name: p.read_text() for p in sorted(record.glob("*.py"))}
    changed = [name for name in chain_order(applied) if now.get(name) != applied[name]]
    try:
        if changed:
            print(f"Migrations edited since the data set was built ({', '.join(changed)}): re-applying them.", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                scripts = Path(tmp) / "migrations"
                shutil.copytree(ROOT / "migrations", scripts, ignore=shutil.ignore_patterns("versions", "__pycache__"))
                (scripts / "versions").mkdir()
                for name, text in applied.items():
                    (scripts / "versions" / name).write_text(text)
                migrate(url, down_revision_of(applied[changed[0]]), down=True, scripts=scripts)
        if changed or set(now) - set(applied):
            migrate(url)
    except subprocess.CalledProcessError:
        return False
    record_migrations(record, now)
    return True


def prepare(db: str, n: int, *, rebuild: bool = False) -> str:
    """A database URL with N synthetic incidents: built once, cached (and kept migrated), copied fresh for each run."""
    DATA.mkdir(parents=True, exist_ok=True)
    key = f"{n}-{data_hash()}"
    if db == "sqlite":
        cached = DATA / f"sqlite-{key}.sqlite3"
        record = DATA / f"sqlite-{key}.migrations"
        if rebuild or not cached.exists() or not bring_up_to_date(f"sqlite:///{cached}", record):
            for old in [*DATA.glob(f"sqlite-{n}-*"), *DATA.glob(f"building-{n}-*")]:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
            building = DATA / f"building-{key}.sqlite3"
            for extra in ("", "-wal", "-shm"):
                Path(f"{building}{extra}").unlink(missing_ok=True)
            applied = migration_files()  # as they are when the build starts (they may be edited meanwhile)
            build(f"sqlite:///{building}", n)
            building.rename(cached)
            record_migrations(record, applied)
        settle(cached)
        work = DATA / "work.sqlite3"
        for extra in ("", "-wal", "-shm"):
            Path(f"{work}{extra}").unlink(missing_ok=True)
        shutil.copyfile(cached, work)
        url = f"sqlite:///{work}"
    else:
        name = f"qa_bench_{n}_{key.split('-')[1]}"
        record = DATA / f"{name}.migrations"
        if rebuild or not pg_exists(name) or not bring_up_to_date(f"{PG_URL}/{name}", record):
            for old in pg_list(f"qa_bench_{n}_"):
                psql(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            psql(f'CREATE DATABASE "{name}_building"')
            applied = migration_files()
            build(f"{PG_URL}/{name}_building", n)
            psql(f'ALTER DATABASE "{name}_building" RENAME TO "{name}"')
            record_migrations(record, applied)
        psql('DROP DATABASE IF EXISTS "qa_bench_work" WITH (FORCE)')
        psql(f'CREATE DATABASE "qa_bench_work" TEMPLATE "{name}"')
        url = f"{PG_URL}/qa_bench_work"
    return url


def warm(url: str) -> None:
    """Read the whole database once, so the run measures the application, not the disk: a production database
    server keeps its working set in memory, and a copy made just before the run may not be in the OS cache."""
    started = time.monotonic()
    if url.startswith("sqlite"):
        size = 0
        with open(url.removeprefix("sqlite:///"), "rb") as f:
            while chunk := f.read(16 * 1024 * 1024):
                size += len(chunk)
    else:  # into the operating system's cache ('read'); shared_buffers is far smaller than the data
        database = url.rsplit("/", 1)[1]
        psql("CREATE EXTENSION IF NOT EXISTS pg_prewarm", database=database)
        blocks = psql("SELECT COALESCE(SUM(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c JOIN pg_namespace n "
                      "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't', 'm')",
                      database=database)
        size = int(blocks.strip() or 0) * 8192
    print(f"Database read into memory: {size / 2**20:,.0f} MB in {time.monotonic() - started:.1f} s.", flush=True)


def settle(path: Path) -> None:
    """Fold the write-ahead log into the SQLite file, so the file alone is the whole database (safe to copy)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def build(url: str, n: int) -> None:
    env = app_env(url)
    print(f"Building the data set ({n:,} incidents); cached for later runs.", flush=True)
    started = time.monotonic()
    run([str(BIN / "qa-incidents"), "db", "upgrade"], env)
    run([str(BIN / "qa-incidents"), "seed", "demo"], env)
    run([str(BIN / "qa-incidents"), "seed", "synthetic", "--incidents", str(n)], env)
    if url.startswith("sqlite"):
        settle(Path(url.removeprefix("sqlite:///")))
    else:  # the visibility map, so that counts are answered from the indexes alone (autovacuum would, later)
        psql("VACUUM ANALYZE", database=url.rsplit("/", 1)[1])
    print(f"Data set built in {time.monotonic() - started:.0f} s.", flush=True)


def psql(sql: str, database: str = "postgres") -> str:
    base = urllib.parse.urlparse(PG_URL.replace("postgresql+psycopg", "postgresql"))
    out = subprocess.run(["psql", "-h", base.hostname or "127.0.0.1", "-p", str(base.port or 5432), "-U",
                          base.username or "postgres", "-d", database, "-Atqc", sql], check=True, capture_output=True,
                         text=True)
    return out.stdout


def pg_exists(name: str) -> bool:
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip() == "1"


def pg_list(prefix: str) -> list[str]:
    return [x for x in psql(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'").split() if x]


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, url: str, workers: int, port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "bench.app:app"], cwd=ROOT, env=app_env(url))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request("GET", "/healthz", port=port)[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def peak_rss_mb(self) -> float:
        """The largest peak resident set (VmHWM) of the workers."""
        peaks = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks, default=0.0)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the load generator ---------------------------------------------------------------------------


def request(method: str, path: str, *, port: int, cookie: str = "", body: dict[str, str] | None = None,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        if own:
            conn.close()


def csrf_of(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        rb'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1).decode()


def login(port: int, email: str) -> str:
    status, headers, html = request("GET", "/login", port=port)
    cookie = headers.get("set-cookie", "").split(";")[0]
    status, headers, _ = request("POST", "/login", port=port, cookie=cookie,
                                 body={"csrf_token": csrf_of(html), "email": email, "password": PASSWORD})
    if status not in (302, 303):
        raise RuntimeError(f"login as {email} failed ({status})")
    cookie = headers.get("set-cookie", cookie).split(";")[0]
    # As a browser does: follow the redirects to the first page, which shows the welcome message once, and keep the
    # cookie it sets (without the message). A client that kept sending the log-in's cookie would be welcomed again
    # on every page.
    for _hop in range(5):
        status, headers, _ = request("GET", headers.get("location", "/"), port=port, cookie=cookie)
        cookie = headers.get("set-cookie", cookie).split(";")[0]
        if status not in (301, 302, 303):
            break
    return cookie


@dataclass
class Result:
    scenario: str
    db: str
    rows: int
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    ratio_to_trivial: float | None = None
    #: The trivial endpoint's throughput the ratio is taken against: the mean of its runs just before and just
    #: after this scenario (the machine's speed drifts within a run, by 10-30 % on a shared host).
    trivial_rps: float | None = None
    note: str = ""
    #: Kept-value lookups answered from memory / computed, over the scenario's requests (X-Cache-Lookups).
    cache_hits: int = 0
    cache_misses: int = 0
    #: Requests answered wholly from memory (at least one lookup, none computed).
    served_from_cache: int = 0
    #: Different addresses in the scenario's mix (of 5,000 draws); 1 for a fixed address.
    distinct: int | None = None
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def cache_hit_rate(self) -> float | None:
        looked = self.cache_hits + self.cache_misses
        return round(self.cache_hits / looked, 3) if looked else None

    @property
    def served_rate(self) -> float | None:
        return round(self.served_from_cache / self.requests, 3) if self.requests else None

    def finish(self, elapsed: float) -> None:
        lat = sorted(self.latencies)
        self.requests = len(lat)
        self.rps = round(self.requests / elapsed, 1) if elapsed else 0.0
        if lat:
            q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
            self.p50_ms, self.p95_ms, self.p99_ms = (round(q[49] * 1000, 1), round(q[94] * 1000, 1), round(q[98] * 1000, 1))

    def as_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("scenario", "db", "rows", "requests", "errors", "rps", "p50_ms", "p95_ms",
                                              "p99_ms", "ratio_to_trivial", "trivial_rps", "distinct",
                                              "cache_hit_rate", "served_rate")}
        if self.note:
            out["note"] = self.note
        return out


def deep_requests(url: str, universe: mix.Universe, *, count: int = 600, deepest: int = 10_000, size: int = 50,
                  seed: int = 11) -> list[tuple[str, int]]:
    """Deep register pages as readers reach them by following "next": `count` filter and sort combinations drawn
    from the register's mix (head office, without date ranges, each with at least 20 pages), each with the `after`
    cursor of a page drawn between 20 and `deepest` (its last page at most). The cursors are worked out with the
    register's own filters and sorts, by OFFSET, before the server starts. Returns (address, page) pairs."""
    import sqlalchemy as sa

    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.incidents import service
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.rules import Severity, Status

    engine = make_engine(url)
    rng = random.Random(seed)
    found: list[tuple[str, int]] = []
    try:
        with make_session_factory(engine)() as session:
            for _attempt in range(count * 10):
                if len(found) >= count:
                    break
                _m, path, _b = mix.register_request(rng, universe, all_divisions=True)
                args = dict(urllib.parse.parse_qsl(path.split("?", 1)[1]))
                args.pop("aware_from", None), args.pop("aware_to", None)
                filters = service.RegisterFilter(
                    status=Status(args["status"]) if "status" in args else None,
                    severity=Severity(args["severity"]) if "severity" in args else None,
                    division_id=int(args["division"]) if "division" in args else None,
                    category_id=int(args["category"]) if "category" in args else None,
                    country=args.get("country"))
                base = service._filtered(session, sa.select(Incident.id), filters)
                total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
                if total // size < 20:
                    continue
                page = rng.randint(20, min(deepest, total // size))
                column, descending = service.SORTS[args["sort"]]
                order = [column.desc(), Incident.id.desc()] if descending else [column.asc(), Incident.id.asc()]
                row = session.execute(service._filtered(session, sa.select(column, Incident.id), filters)
                                      .order_by(*order).offset((page - 1) * size - 1).limit(1)).first()
                if row is not None:
                    found.append((f"/incidents/?{urllib.parse.urlencode(args)}&after="
                                  f"{service.encode_cursor(row[0], row[1])}", page))
    finally:
        engine.dispose()
    return found


def drive(name: str, make: Any, *, port: int, cookie: str, connections: int, seconds: float, db: str, rows: int,
          ok: tuple[int, ...] = (200,), max_requests: int | None = None) -> Result:
    """`connections` threads, each sending make(rng) → (method, path, body) until the time (or count) is up."""
    result = Result(name, db, rows)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    budget = [max_requests if max_requests is not None else 10**12]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        errors = hits = misses = served = 0
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            method, path, body = make(rng)
            started = time.perf_counter()
            headers: dict[str, str] = {}
            try:
                status, headers, _b = request(method, path, port=port, cookie=cookie, body=body, conn=conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            mine.append(time.perf_counter() - started)
            h, m = lookups_of(headers)
            hits, misses, served = hits + h, misses + m, served + (h > 0 and m == 0)
            if status not in ok:
                errors += 1
        conn.close()
        with lock:
            result.latencies.extend(mine)
            result.errors += errors
            result.cache_hits += hits
            result.cache_misses += misses
            result.served_from_cache += served

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.finish(time.monotonic() - started)
    return result


def lookups_of(headers: dict[str, str]) -> tuple[int, int]:
    """(hits, misses) from a response's X-Cache-Lookups header ("hits=H misses=M"); (0, 0) without one."""
    found = dict(part.split("=", 1) for part in headers.get("x-cache-lookups", "").split() if "=" in part)
    try:
        return int(found.get("hits", 0)), int(found.get("misses", 0))
    except ValueError:
        return 0, 0


# --- scenarios --------------------------------------------------------------------------------------


def deep_cursor(url: str, page: int, size: int = 50) -> tuple[str | None, int]:
    """The `after` cursor a reader following "next" from page 1 would hold on reaching `page` (or the deepest page)."""
    import sqlalchemy as sa

    from qa_incidents.core.db import make_engine
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.service import encode_cursor

    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.status == "closed")) or 0
        page = max(1, min(page, total // size))
        row = conn.execute(sa.select(Incident.occurred_at, Incident.id).where(Incident.status == "closed")
                           .order_by(Incident.occurred_at.desc(), Incident.id.desc())
                           .offset((page - 1) * size - 1 if page > 1 else 0).limit(1)).first()
    engine.dispose()
    if page == 1 or row is None:
        return None, 1
    from qa_incidents.core.db import UTCDateTime

    value = UTCDateTime().process_result_value(row[0], engine.dialect)
    return encode_cursor(value, row[1]), page


def read_mix(url: str) -> mix.Universe:
    """What the varied requests are drawn from, read from the data set being measured."""
    from qa_incidents.core.db import make_engine

    engine = make_engine(url)
    try:
        universe = mix.read_universe(engine)
    finally:
        engine.dispose()
    print(f"Request mix: {len(universe.division_ids)} divisions, {len(universe.category_ids)} categories, "
          f"{len(universe.countries)} countries, years {universe.years[0]}–{universe.years[-1]}, "
          f"{len(universe.title_words):,} title words, {len(universe.lesson_words):,} lesson words, "
          f"{len(universe.texts):,} texts for similar lessons.", flush=True)
    return universe


def count_incidents(url: str) -> tuple[int, int]:
    import sqlalchemy as sa

    from qa_incidents.core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        n, top = conn.execute(sa.text("SELECT COUNT(*), MAX(id) FROM incident")).one()
    engine.dispose()
    return int(n), int(top)


def warning_scan_runs(url: str, runs: int, db: str, rows: int) -> Result:
    """The scheduler's deadline-warning scan, timed in-process; each run rolled back, so every run does the same work."""
    import sqlalchemy as sa

    from qa_incidents import create_app
    from qa_incidents.core.clock import utcnow
    from qa_incidents.notifications.models import NotificationRecord
    from qa_incidents.notifications.records import warning_scan
    from qa_incidents.notifications.rules import OPEN_STATES

    app = create_app(DATABASE_URL=url, INSTANCE_DIR=str(DATA / "instance"))
    factory = app.extensions["qa_session_factory"]
    result = Result("warning_scan", db, rows)
    queued = 0
    with app.app_context():
        session = factory()
        open_n = session.scalar(sa.select(sa.func.count()).select_from(NotificationRecord).where(
            NotificationRecord.state.in_([s.value for s in OPEN_STATES])))
        session.rollback()
        for _ in range(runs):
            started = time.perf_counter()
            queued = warning_scan(session, now=utcnow())
            session.flush()
            result.latencies.append(time.perf_counter() - started)
            session.rollback()
        session.close()
    app.extensions["qa_engine"].dispose()
    result.finish(sum(result.latencies))
    result.note = f"{open_n:,} open notifications, {queued:,} warnings queued per run"
    return result


def complaint_runs(url: str, complaints: int, db: str, *, incidents: int, instance_dir: Path | None = None,
                   resend: int = 50_000) -> list[dict[str, Any]]:
    """Complaints at call-centre scale in the measured database (after the page scenarios, which it would change):
    a year of `complaints` rows written as a call-centre CSV, imported through the service the CLI uses, the first
    `resend` rows imported again (nothing added), then the scheduler's full signal scan over them. Printed, and
    returned as the results file's complaint_import and complaint_scan entries."""
    from bench import complaints as bench_complaints
    from qa_incidents import create_app

    app = create_app(DATABASE_URL=url, INSTANCE_DIR=str(instance_dir or DATA / "instance"), SCHEDULER_IN_PROCESS=False)
    try:
        with app.app_context(), tempfile.TemporaryDirectory(prefix="qa-bench-complaints-") as tmp:
            f = bench_complaints.measure(app.extensions["qa_session_factory"], workdir=Path(tmp), rows=complaints,
                                         resend=resend)
    finally:
        app.extensions["qa_engine"].dispose()
    imported = {"scenario": "complaint_import", "db": db, "rows": complaints, "incidents": incidents,
                "rows_per_s": f["rows_per_s"], "seconds": f["import_s"], "cpu_seconds": f["import_cpu_s"],
                "rows_per_cpu_s": f["rows_per_cpu_s"], "imported": f["imported"], "rejected": f["rejected"],
                "flagged": f["flagged"], "resent": f["resent"], "resent_added": f["resent_imported"],
                "load_average": f["load_average"], "target_rows_per_s": 5000}
    scanned = {"scenario": "complaint_scan", "db": db, "rows": f["stored"], "incidents": incidents,
               "seconds": f["scan_s"], "series": f["series"], "signals": f["signals"], "target_s": 30}
    print(f"{'complaint_import':<20} {f['rows_per_s']:8,} rows/s  {f['imported']:,} rows in {f['import_s']} s "
          f"({f['rows_per_cpu_s']:,} per CPU second, load average {f['load_average'][0]})  "
          f"re-sent {f['resent']:,}: {f['resent_imported']} added  flagged {f['flagged']:,}  rejected {f['rejected']}  "
          "(target ≥ 5,000 rows/s)", flush=True)
    print(f"{'complaint_scan':<20} {f['scan_s']:8.2f} s       over {f['stored']:,} complaints: {f['series']:,} series, "
          f"{f['signals']} signal{'' if f['signals'] == 1 else 's'}  (target < 30 s)", flush=True)
    return [imported, scanned]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="per scenario")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--deep-page", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true", help="build the data set again even if one is cached")
    parser.add_argument("--prepare-only", action="store_true", help="build (or bring up to date) the data set, then stop")
    parser.add_argument("--complaints", type=int, default=2_000_000,
                        help="complaints imported (then scanned) after the page scenarios; 0 to skip")
    parser.add_argument("--only", default="", help="comma-separated page scenarios to run (with `trivial` for the "
                        "ratio; `complaints` adds the complaint import and scan; `create_incident` files incidents, which "
                        "changes the data set); no warning scan run, and bench/results/latest.json is left as it was")
    args = parser.parse_args(argv)

    url = prepare(args.db, args.incidents, rebuild=args.rebuild)
    if args.prepare_only:
        print(f"Data set ready: {url}")
        return 0
    warm(url)
    rows = args.incidents
    # As the scheduler does every ten minutes in a deployment: the dashboard's figures counted ahead of the views
    # (at once when the cached data set already carries them).
    run([str(BIN / "qa-incidents"), "reports", "refresh-dashboard"], app_env(url))
    cursor, page = deep_cursor(url, args.deep_page)
    before_count, top_id = count_incidents(url)
    universe = read_mix(url)
    started_deep = time.monotonic()
    deep = deep_requests(url, universe, deepest=args.deep_page)
    print(f"Deep pages: {len(deep)} filter and sort combinations, pages {min((p for _a, p in deep), default=0):,}–"
          f"{max((p for _a, p in deep), default=0):,} (cursors worked out in {time.monotonic() - started_deep:.0f} s).",
          flush=True)
    server = Server(url, args.workers, args.port)
    results: list[Result] = []
    common = dict(port=args.port, connections=args.connections, seconds=args.seconds, db=args.db, rows=rows)
    try:
        reader = login(args.port, "hq.qa@example.com")
        filer = login(args.port, "division.qa@example.com")
        division_reader = login(args.port, "division.qa@example.com")
        executive = login(args.port, "executive@example.com")
        status, headers, html = request("GET", "/incidents/new", port=args.port, cookie=filer)
        filer = headers.get("set-cookie", filer).split(";")[0]  # the session now holds the form's CSRF secret
        token = csrf_of(html)
        division = re.search(rb'name="division_id"[^>]*>\s*<option[^>]*value="(\d+)"', html)
        division_id = division.group(1).decode() if division else "2"
        products = [p.decode() for p in re.findall(rb'<option data-division="' + division_id.encode()
                                                     + rb'" value="(\d+)"', html)] or ["1"]

        register = "/incidents/?status=closed&sort=occurred_desc"

        def healthz(rng: random.Random) -> tuple[str, str, None]:
            return "GET", "/healthz", None

        bracket = [0.0]  # the trivial endpoint's latest throughput

        def measured(result: Result) -> Result:
            """The scenario's result, with the trivial endpoint measured again right after it: its ratio is taken
            against the mean of the trivial runs on either side."""
            after = drive("trivial", healthz, cookie="", **{**common, "seconds": max(args.seconds / 2, 1.0)})
            result.trivial_rps = round((bracket[0] + after.rps) / 2, 1)
            bracket[0] = after.rps
            return result

        def fixed(path: str) -> Any:
            return lambda rng: ("GET", path, None)

        # name, request maker, cookie, accepted statuses, varied (distinct addresses are counted for the line)
        scenarios: list[tuple[str, Any, str, tuple[int, ...], bool]] = [
            ("trivial", healthz, "", (200,), False),
            ("register_hq", lambda rng: mix.register_request(rng, universe, all_divisions=True), reader, (200,), True),
            ("register_division", lambda rng: mix.register_request(rng, universe, all_divisions=False),
             division_reader, (200,), True),
            ("register_text", lambda rng: mix.register_text_request(rng, universe), reader, (200,), True),
            ("register_fixed", fixed(register), reader, (200,), False),
            ("register_deep", lambda rng: ("GET", rng.choice(deep)[0], None), reader, (200,), True),
            ("register_deep_fixed", fixed(register + (f"&after={cursor}" if cursor else "")), reader, (200,), False),
            ("incident_page", lambda rng: ("GET", f"/incidents/{rng.randint(1, top_id)}", None), reader, (200,), True),
            ("lessons_search", lambda rng: mix.lessons_request(rng, universe), reader, (200,), True),
            ("lessons_search_fixed", lambda rng: ("GET", "/reviews/lessons?q=" + urllib.parse.quote(
                rng.choice(SEARCH_TERMS)), None), reader, (200,), False),
            ("similar_lessons", lambda rng: mix.similar_request(rng, universe), reader, (200,), True),
            ("similar_fixed", lambda rng: ("GET", "/reviews/lessons/similar.json?text="
                                           + urllib.parse.quote(rng.choice(SIMILAR_TEXTS)), None), reader, (200,), False),
            ("dashboard", fixed("/dashboard"), reader, (200,), False),
            ("dashboard_exec", fixed("/dashboard"), executive, (200,), False),
            ("deadline_board", lambda rng: mix.board_request(rng, universe, all_divisions=True), reader, (200,), True),
        ]
        only = {"trivial", *filter(None, args.only.split(","))} if args.only else None
        for name, make, cookie, ok, varied in scenarios:
            if only is not None and name not in only:
                continue
            result = drive(name, make, cookie=cookie, ok=ok, **common)
            result.distinct = mix.distinct(make) if varied else 1
            if name == "trivial":
                bracket[0] = result.trivial_rps = result.rps
            else:
                measured(result)
            if name == "register_deep":
                result.note = f"{len(deep)} combinations, pages 20–{max((p for _a, p in deep), default=0):,}"
            elif name == "register_deep_fixed":
                result.note = f"page {page:,}, fixed address"
            elif name.endswith("_fixed") or name.startswith("dashboard"):
                result.note = "fixed address"
            results.append(result)
            print_line(result)

        if only is None or "create_incident" in only:  # the writing scenario changes the data: run when asked
            def new_incident(rng: random.Random) -> tuple[str, str, dict[str, str]]:
                return "POST", "/incidents/new", incident_form(token, division_id, rng.choice(products), rng)

            created = drive("create_incident", new_incident, cookie=filer, ok=(302, 303), **common)
            after_count, _ = count_incidents(url)
            measured(created)
            good = created.requests - created.errors
            lost = good - (after_count - before_count)
            created.note = f"{after_count - before_count:,} rows added for {good:,} successful posts" + (
                f"; {lost} LOST" if lost else "; none lost")
            if lost:
                created.errors += abs(lost)
            results.append(created)
            print_line(created)
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    if only is not None:
        print(f"{'worker_rss':<16} peak {rss:.0f} MB (largest of {args.workers} gunicorn workers)")
        if "complaints" in only and args.complaints:
            complaint_runs(url, args.complaints, args.db, incidents=rows)
        return 0
    scan = warning_scan_runs(url, 5, args.db, rows)
    results.append(scan)
    print_line(scan)
    print(f"{'worker_rss':<16} peak {rss:.0f} MB (largest of {args.workers} gunicorn workers)")
    complaint_figures = complaint_runs(url, args.complaints, args.db, incidents=rows) if args.complaints else []

    for r in results:
        if r.trivial_rps:
            r.ratio_to_trivial = round(r.rps / r.trivial_rps, 3)
    out = [r.as_json() for r in results] + [{"scenario": "worker_rss", "db": args.db, "rows": rows,
                                             "peak_mb": round(rss, 1)}, *complaint_figures]
    machine = {"scenario": "machine", "cpus": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version(),
               "system": platform.platform(), "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
               "seconds_per_scenario": args.seconds, "connections": args.connections, "workers": args.workers}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps([*out, machine], indent=2) + "\n")
    print(f"Written to {RESULTS / 'latest.json'}")
    return 0


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_line(r: Result) -> None:
    ratio = f"{r.rps / r.trivial_rps:6.3f}" if r.trivial_rps else "     —"
    cache = (f"  cache {r.cache_hit_rate:5.1%} served {r.served_rate:5.1%}" if r.cache_hit_rate is not None
             else "  cache     —")
    mixed = f"  distinct {r.distinct:,}" if r.distinct and r.distinct > 1 else ""
    print(f"{r.scenario:<20} {r.rps:8.1f} req/s  p50 {r.p50_ms:7.1f} ms  p95 {r.p95_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  "
          f"ratio {ratio}{cache}{mixed}  n={r.requests} errors={r.errors}"
          + (f"  (/healthz around it: {r.trivial_rps:.0f} req/s)" if r.trivial_rps and r.scenario != "trivial" else "")
          + (f"  ({r.note})" if r.note else ""), flush=True)


if __name__ == "__main__":
    sys.exit(main())
