"""A small least-recently-used memory for values computed under a change marker, safe to share between threads.

Every lookup in a kept-value store (these and the page cache) is counted for the request it serves
(`note_lookup`); with `CACHE_STATS` on, each response says how many of its lookups were answered from memory
(`X-Cache-Lookups: hits=H misses=M`), so `make bench` can report how much of a scenario a cache answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import g, has_request_context

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


class Remembered:
    """At most `size` values (never None), by key; the least recently used goes first. `compute` runs outside the
    lock (it may query the database), so two threads may compute the same value once each: the keys carry the
    marker values, so both computed the same answer."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        value = self.peek(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The value kept under `key` (now the most recently used), or None: for callers that decide after
        computing whether a value may be kept at all."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
        note_lookup(value is not None)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
