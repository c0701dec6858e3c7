"""Each response can say how many of its kept-value lookups memory answered (CACHE_STATS): what `make bench`
reads to print each scenario's cache hit rate."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from view_helpers import logged_in

import config
from qa_incidents import create_app
from qa_incidents.core.freshness import LOOKUPS_HEADER, Kept, Reading

REGISTER = "/incidents/?status=closed&sort=aware_desc"


def stats_app(engine: sa.Engine, clock, tmp_path: Path) -> Flask:  # type: ignore[no-untyped-def]
    return create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, ATTACHMENT_DIR=str(tmp_path / "a"),
                      INSTANCE_DIR=str(tmp_path), CACHE_STATS=True)


def lookups(response) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    parts = dict(p.split("=") for p in response.headers[LOOKUPS_HEADER].split())
    return int(parts["hits"]), int(parts["misses"])


def test_a_repeated_register_page_is_a_hit_and_a_new_one_a_miss(engine, clock, tmp_path, demo):
    client = logged_in(stats_app(engine, clock, tmp_path), "hq.qa@example.com")
    client.get("/incidents/?status=reported")  # the first page after log-in shows the welcome message: not kept
    first = client.get(REGISTER)
    assert first.status_code == 200
    hits, misses = lookups(first)
    assert misses >= 1
    again = client.get(REGISTER)
    assert lookups(again) == (1, 0)  # the whole page from memory, nothing computed
    other = client.get(REGISTER.replace("aware_desc", "aware_asc"))
    assert lookups(other)[1] >= 1


def test_without_cache_stats_no_header_is_sent(app, login_as):
    client = login_as("hq.qa@example.com")
    assert LOOKUPS_HEADER not in client.get(REGISTER).headers


def test_lookups_outside_a_request_are_not_counted():
    kept, reading = Kept("register-page", size=2), Reading("a database", (1,))
    assert kept.peek(reading, "a") is None and kept.put(reading, "a", 1)
    assert kept.peek(reading, "a") == 1  # no request: nothing to count, no error
