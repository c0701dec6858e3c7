"""Bulk import speed: the shipped FDA sample repeated, imported by `qa-incidents import` on a fresh database.

    python -m bench.import_speed --db sqlite --copies 36
    python -m bench.import_speed --db postgres --copies 36
    python -m bench.import_speed --db both --copies 36 [--profile-out bench/data/import.prof]

The file (bench/data/fda_device_recalls_x<N>.csv.gz) is the 738-row sample repeated N times, each copy with its own
recall numbers and recall event ids, so every copy files new incidents, recall drafts and proposed lessons (36
copies: 26,568 rows). The database is fresh each run: a temporary SQLite file, or a PostgreSQL database created and
dropped afterwards; migrated, with one head-office QA user to import as (nothing else). The import runs as the
command line runs it, in its own process; printed: wall seconds and rows/s, the importing process's own CPU seconds
(user + system; PostgreSQL's server work is not in it) and rows per CPU second, its peak RSS, the load average before
and after, and the audit chain's verification.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SAMPLE = ROOT / "data" / "samples" / "fda_device_recalls.csv.gz"
PG_URL = os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
QA = os.environ.get("QA_BIN", str(Path(sys.executable).parent / "qa-incidents"))  # QA_BIN: another checkout's


def build(copies: int) -> Path:
    """The sample repeated `copies` times, copy k's recall numbers suffixed -Rk and event ids raised by k × 10^6."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"fda_device_recalls_x{copies}.csv.gz"
    if path.exists():
        return path
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    number, event = header.index("Recall Number"), header.index("Recall Event ID")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for k in range(copies):
        for row in rows:
            row = list(row)
            if k and row[number].strip():
                row[number] = f"{row[number].strip()}-R{k}"
            if k and row[event].strip().isdigit():
                row[event] = str(int(row[event]) + k * 1_000_000)
            writer.writerow(row)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    tmp.rename(path)
    return path


def rows_in(path: Path) -> int:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atqc", sql], check=True,
                   capture_output=True)


def qa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, check=True, capture_output=True, text=True)


def measure(url: str, path: Path, total: int, profile_out: str | None) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url, "QA_LOG_LEVEL": "WARNING"}
    qa(env, "db", "upgrade")
    qa(env, "users", "create", "--email", "qa@example.com", "--name", "Import QA", "--role", "head_office_qa",
       "--division", "HQ", "--password", "bench-password-2026")
    command = [QA, "import", str(path), "--profile", "fda-device-recalls", "--report", os.devnull]
    if profile_out:
        command = [sys.executable, "-m", "cProfile", "-o", profile_out, *command]
    load_before = os.getloadavg()
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    summary = json.loads(out.strip().splitlines()[-1])
    if child.returncode not in (0, 1):
        raise SystemExit(f"the import failed ({child.returncode}): {out}")
    cpu = usage.ru_utime + usage.ru_stime
    verified = qa(env, "audit", "verify")
    return {"rows": total, "summary": summary, "wall_s": round(wall, 1), "rows_per_s_wall": round(total / wall),
            "cpu_s": round(cpu, 1), "rows_per_cpu_s": round(total / cpu), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
            "audit_verify": verified.stdout.strip().splitlines()[-1] if verified.stdout.strip() else "ok"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--copies", type=int, default=36, help="times the 738-row sample is repeated (36: 26,568 rows)")
    parser.add_argument("--rows", type=int, default=None, help="import only the first ROWS rows of the repeated file")
    parser.add_argument("--profile-out", default=None, help="run the import under cProfile, writing its stats here")
    args = parser.parse_args(argv)
    path = build(args.copies)
    if args.rows:
        head = DATA / f"fda_device_recalls_x{args.copies}_first{args.rows}.csv.gz"
        if not head.exists():
            with gzip.open(path, "rt", encoding="utf-8", newline="") as f, \
                    gzip.open(head, "wt", encoding="utf-8", newline="") as g:
                writer = csv.writer(g, lineterminator="\n")
                for n, row in enumerate(csv.reader(f)):
                    if n > args.rows:
                        break
                    writer.writerow(row)
        path = head
    total = rows_in(path)
    results = {}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        if db == "sqlite":
            with tempfile.TemporaryDirectory(prefix="qa-import-") as tmp:
                results[db] = measure(f"sqlite:///{tmp}/bench.sqlite3", path, total, args.profile_out)
        else:
            name = f"qa_import_speed_{os.getpid()}"
            psql(f'CREATE DATABASE "{name}"')
            try:
                results[db] = measure(f"{PG_URL}/{name}", path, total, args.profile_out)
            finally:
                psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(json.dumps({"db": db, **results[db]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
