"""A worker hands its C heap's free memory back to the system every HEAP_TRIM_EVERY requests (core/heap.py)."""

from __future__ import annotations

import pytest

import config
from qa_incidents import create_app
from qa_incidents.core import heap


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(heap._TRIM is None, reason="the C library has no malloc_trim")
def test_every_nth_request_trims_the_heap(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, INSTANCE_DIR=str(tmp_path), HEAP_TRIM_EVERY=3)
    trimmer = app.extensions["qa_heap_trim"]
    calls: list[int] = []
    trimmer.trim = calls.append
    client = app.test_client()
    for _ in range(7):
        assert client.get("/healthz").status_code == 200
    assert calls == [0, 0]  # after the 3rd and the 6th


def test_no_trimming_when_turned_off(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, INSTANCE_DIR=str(tmp_path), HEAP_TRIM_EVERY=0)
    assert "qa_heap_trim" not in app.extensions


@pytest.mark.skipif(heap._TRIM is None, reason="the C library has no malloc_trim")
def test_a_trim_gives_freed_heap_memory_back() -> None:
    """Freed blocks between live ones stay in the process until the heap is trimmed (what a worker's requests leave
    behind: most of a page's objects freed, a few kept in caches)."""
    blocks = [bytes(2048) for _ in range(40_000)]  # 80 MB from the C heap (past Python's small-object allocator)
    kept = blocks[::200]  # a few survivors, spread through the heap, keep it from shrinking by itself
    del blocks
    before = _resident_mb()
    heap.HeapTrim(1)()
    after = _resident_mb()
    assert kept
    assert before - after > 30, (before, after)
