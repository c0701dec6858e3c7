"""The one scoping rule: users of a division walk every page and API list of the application while every query
is watched; each query that lists or counts a division's records must have been built by scoped() (or be marked
by unscoped() with the reason). The world and the routes are those of the access matrix."""

from __future__ import annotations

import pytest
from access_matrix import PERSONAS
from scope_check import watching_scope
from test_access_matrix import PROBES, ROUTES, World, _read, _rule_object, ask_route, client_for, world  # noqa: F401

#: Division-bound users: division A's own (they open A's records, with every list hanging off them) and the
#: cable division's (refused A's records, shown their own lists); and those who read every division, for the
#: pages only they open (approval queues): scoped() changes nothing for them, but a query built without it is
#: one that would show everything to whoever else is one day let in.
WALKERS = ("reporter", "division_qa", "other_reporter", "other_division_qa", "head_office_qa", "executive")


@pytest.mark.parametrize("walker", WALKERS)
def test_every_list_a_division_user_sees_is_built_by_scoped(world: World, walker: str) -> None:  # noqa: F811
    persona = next(p for p in PERSONAS if p.name == walker)
    with watching_scope() as watch:
        for rule_text, method, _ in ROUTES:
            if method != "GET":
                continue
            response = ask_route(world, persona, method, _rule_object(world, rule_text, method))
            assert response.status_code < 500, rule_text
        for probe in PROBES:
            path = probe.format(**world.args)
            if path.startswith("/api/"):
                token = world.tokens[walker]
                response = _read(world.app.test_client().get(path, headers={"Authorization": f"Bearer {token}"}))
            else:
                response = _read(client_for(world, persona).get(path))
            assert response.status_code < 500, path
    unscoped = sorted({u.where(): str(u) for u in watch.found}.values())  # one per place in the code
    assert not unscoped, f"{len(unscoped)} queries over a division's records without scoped():\n" + "\n".join(unscoped)


def test_a_review_of_two_divisions_shows_each_division_only_its_own_incidents(demo, clock, browser_as):  # type: ignore[no-untyped-def]
    """Head-office QA may review incidents of several divisions together; the review belongs to the first one's
    division. Its readers there see its incidents of their division only, and the other division's readers do not
    see the review on their incident's page."""
    import sqlalchemy as sa
    from view_helpers import text

    from qa_incidents.accounts.models import User
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.rules import Severity, Status
    from qa_incidents.reviews import service as reviews

    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    cable = demo.scalar(sa.select(Incident).where(Incident.title == "Overheated rolling-stock cable in depot test"))
    home = demo.get(Incident, 1)
    assert cable.division_id != home.division_id
    for incident in (cable, home):
        incident.severity, incident.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    review = reviews.start_review(demo, user=hq, incident_ids=[cable.id, home.id], title="Joint review ZQ-REV-5170",
                                  now=clock())
    demo.commit()
    assert review.division_id == cable.division_id

    cable_qa = browser_as("cable.qa@example.com")
    for path in ("/reviews/", f"/reviews/{review.id}", f"/incidents/{cable.id}"):
        page = text(cable_qa.get(path))
        assert "ZQ-REV-5170" in page and cable.reference in page, path  # their own review and incident
        assert home.reference not in page and home.title not in page, path
    home_qa = browser_as("division.qa@example.com")
    page = text(home_qa.get(f"/incidents/{home.id}"))
    assert home.reference in page and "ZQ-REV-5170" not in page
    assert home_qa.get(f"/reviews/{review.id}").status_code == 404
    executive = browser_as("executive@example.com")  # reads every division: sees both
    page = text(executive.get(f"/reviews/{review.id}"))
    assert cable.reference in page and home.reference in page
