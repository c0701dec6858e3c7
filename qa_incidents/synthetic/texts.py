"""Incident text drawn from the real public samples bundled in data/: NHTSA complaints, FDA device recalls and
Canadian consumer-product recalls. Pure functions; nothing here touches the database."""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

from config import BASE_DIR

SAMPLES = BASE_DIR / "data" / "samples"
LESSONS_SAMPLE = BASE_DIR / "data" / "lessons" / "fda_device_recalls_sample.csv.gz"

_SPACE = re.compile(r"\s+")
_CONTACT = re.compile(r"(\S+@\S+|\+?\d[\d\s().-]{7,}\d)")


@dataclass(frozen=True)
class Story:
    """One plausible incident text: a short title and the description it came with."""

    title: str
    description: str


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    raw = gzip.decompress(path.read_bytes()).decode("utf-8-sig", errors="replace")
    return list(csv.DictReader(io.StringIO(raw)))


def clean(text: str | None) -> str:
    """One line of text without contact details or runs of blanks."""
    text = _CONTACT.sub("", (text or "").replace("&amp;", "&"))
    return _SPACE.sub(" ", text).strip()


def title_of(text: str, limit: int = 120) -> str:
    """A short title: the first sentence, cut at a word boundary."""
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
    if len(first) <= limit:
        return first[:1].upper() + first[1:]
    cut = first[: limit - 1].rsplit(" ", 1)[0]
    return cut[:1].upper() + cut[1:] + "…"


def stories() -> list[Story]:
    """Every usable text of the samples (a few thousand), in a stable order."""
    found: list[Story] = []
    for row in _rows(SAMPLES / "nhtsa_complaints.csv.gz"):
        text = clean(row.get("CDESCR"))
        if len(text) >= 40:
            found.append(Story(title_of(f"{clean(row.get('COMPDESC')).capitalize()}: {text}"), text[:4000]))
    for path in (SAMPLES / "fda_device_recalls.csv.gz", LESSONS_SAMPLE):
        for row in _rows(path):
            text = clean(row.get("Reason for Recall"))
            if len(text) >= 30:
                found.append(Story(title_of(text), text[:4000]))
    for row in _rows(SAMPLES / "canada_consumer_recalls.csv.gz"):
        item = clean(row.get("Item"))
        issue = clean(row.get("Issue")).split(" - ", 1)[-1]
        if len(item) >= 30:
            found.append(Story(title_of(item), f"{item}. {issue}." if issue else item))
    if not found:  # a checkout without the samples still gets readable data
        found.append(Story("Unit stopped working and smelled of burning",
                           "The customer reports that the unit stopped working and smelled of burning plastic."))
    return found


def lesson_rows() -> list[dict[str, str]]:
    """The rows of the bundled lessons sample (FDA device recalls)."""
    return _rows(LESSONS_SAMPLE)
