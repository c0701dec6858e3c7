"""After log-in every role lands on My work; the engineer's start counts the lessons the library holds."""

from __future__ import annotations

import pytest
from view_helpers import csrf_token, text

from qa_incidents.reviews.models import Lesson

ROLES = ["reporter@example.com", "division.qa@example.com", "hq.qa@example.com", "executive@example.com",
         "engineer@example.com", "admin@example.com"]
PASSWORD = "demo-password-2026"


@pytest.mark.parametrize("email", ROLES)
def test_each_role_lands_on_my_work_after_log_in(client, demo, email):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/my-work")
    page = client.get("/my-work")
    assert page.status_code == 200 and "My work" in text(page)
    assert client.get("/").headers["Location"].endswith("/my-work")


def test_engineer_start_counts_the_lessons(login_as, demo, clock):
    for n in range(3):
        demo.add(Lesson(source="test", source_ref=f"T-{n}", title=f"Lesson {n}", summary="s", year=2026,
                        published_at=clock()))
    demo.commit()
    page = text(login_as("engineer@example.com").get("/my-work"))
    assert "The lessons library holds 3 lessons learned." in page
    assert "opens here once the first reviews are approved" not in page
