"""Parallel readers on a file-based SQLite database: opening a lesson counts the view, and no view fails because
another request wrote in the meantime (the count is written in a short write of its own, never by upgrading the
page's reading transaction, which SQLite refuses with "database is locked")."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from view_helpers import logged_in

from qa_incidents.incidents.models import Incident
from qa_incidents.reviews import lessons
from qa_incidents.reviews.models import Lesson

CLIENTS, VIEWS = 8, 25


def test_parallel_views_of_a_lesson_never_fail_and_are_all_counted(app, demo, fresh):  # type: ignore[no-untyped-def]
    assert app.extensions["qa_engine"].url.database  # a file (or PostgreSQL), not an in-memory database
    lessons.import_rows(demo, lessons.read_sample()[:3], now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    demo.commit()
    lesson_id = demo.scalar(sa.select(sa.func.min(Lesson.id)))
    clients = [logged_in(app, "engineer@example.com") for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    lock = threading.Lock()

    def read(client) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        for _ in range(VIEWS):
            response = client.get(f"/reviews/lessons/{lesson_id}")
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=read, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == CLIENTS * VIEWS, sorted(set(statuses))
    assert fresh(sa.select(Lesson.times_opened).where(Lesson.id == lesson_id)) == CLIENTS * VIEWS
