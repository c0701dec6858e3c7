"""Rebuild the compressed samples in this folder from the full public data sets (see README.md).

Usage: python data/samples/make_samples.py PATH/TO/shared/data
The choice of rows is deterministic, so running it again gives the same files.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pick(value: str, modulus: int) -> bool:
    return int(hashlib.sha256(value.encode()).hexdigest(), 16) % modulus == 0


def _write(name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    # mtime=0: the same rows give byte-identical files.
    with open(HERE / name, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(buffer.getvalue().encode("utf-8"))
    print(f"{name}: {len(rows)} rows")


def fda(source: Path) -> None:
    with open(source / "fda_device_recalls" / "fda_device_recalls_2007_2017.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    # Whole recall events (every product of an event), about one in 30, plus a few events that show
    # each known quirk: shifted columns, impossible years, HTML entities.
    quirky: set[str] = set()
    for test in (lambda r: r["Device Type"] not in ("Yes", "No", "N/A"),
                 lambda r: r["Date Posted"][-4:].startswith("00"),
                 lambda r: "&amp;" in r["Reason for Recall"] + r["Trade Name/Product"]):
        quirky |= {r["Recall Event ID"] for r in rows if test(r)}
    quirky = set(sorted(quirky, key=lambda e: hashlib.sha256(e.encode()).hexdigest())[:12])
    chosen = [r for r in rows if _pick(r["Recall Event ID"], 30) or r["Recall Event ID"] in quirky]
    _write("fda_device_recalls.csv.gz", header, chosen)


def canada(source: Path) -> None:
    with open(source / "canada_recalls" / "rawdata_consumer.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    _write("canada_consumer_recalls.csv.gz", header, rows[::4])


def nhtsa(source: Path) -> None:
    with open(source / "nhtsa_complaints_sample" / "nhtsa_complaints_ford_2024-02.csv", encoding="utf-8",
              newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    _write("nhtsa_complaints.csv.gz", header, rows)


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent.parent / "shared" / "data")
    fda(root)
    canada(root)
    nhtsa(root)
