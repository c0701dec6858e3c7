"""Query budgets of the busiest pages: the register and the incident page run a fixed number of queries, however
many rows, comments, attachments or events they show (an N+1 query that creeps back in fails here)."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from view_helpers import statements_of, text

from qa_incidents.accounts.models import User
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Care

REGISTER = "/incidents/?sort=aware_desc"
# BEGIN, the user (with their division), the bell's unread count, the register page's marker (its lists of divisions,
# categories and the reader's saved views are kept under it: incidents/service.py register_lists), the page's ids,
# their rows, the counts' marker.
REGISTER_BUDGET = 7
# BEGIN, the user, the bell's unread count, the incident, which kinds of record it has, then one query for each kind it
# has (comments, attachments, notification records, escalations, audit events, triage decisions, signatures, status
# reports, the pending report, reviews, recalls, watchers), the lifecycle's three counts when it has notifications, reviews or recalls, and
# the laws map's marker (the map itself is read once per process and country and category while it stays unchanged:
# notifications/service.py, obligations_shown).
INCIDENT_PAGE_BUDGET = 21
# An incident with none of those kinds: BEGIN, the user, the bell's count, the incident, the kinds (linked customer
# complaints among them), the laws map's marker.
BARE_INCIDENT_PAGE_BUDGET = 6
# The laws map, read once per process and change (its laws' categories and obligations by law_id, selectin).
LAWS_MAP = r"^SELECT (law|law_category|obligation|jurisdiction|product_category)\.(id|law_id)\b"



def _more_incidents(demo, clock, n: int, *, harmless: bool = False) -> None:  # type: ignore[no-untyped-def]
    """n more incidents filed by division QA, like the demo's own (`harmless`: with no harm and no other fact a law
    asks about, so no reporting obligation is a candidate and filing derives no record)."""
    user = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    template = demo.scalar(sa.select(Incident).where(Incident.division_id == user.division_id)
                           .order_by(Incident.id).limit(1))  # the same on every database
    facts = service.facts_of(template)
    if harmless:
        facts.deaths = facts.serious_injuries = facts.minor_injuries = 0
        facts.fire = facts.smoke = facts.co_poisoning = facts.property_damage = False
        facts.recurrence_risk = facts.suspected_defect = facts.labelling_problem = facts.foreign_action = False
        facts.lawsuit = facts.choking = False
        facts.no_harm = True
        facts.injury_care = Care.NOT_STATED
    for i in range(n):
        facts.title = f"Budget check incident {i}"
        service.file_incident(demo, user=user, facts=facts, now=clock())
    demo.commit()


def test_register_page_queries_do_not_grow_with_its_rows(app, browser_as, demo, clock) -> None:  # type: ignore[no-untyped-def]
    app.config["PAGE_CACHE"] = False  # the cost of rendering the page (a remembered one: test_page_cache.py)
    hq = browser_as("hq.qa@example.com")
    hq.get(REGISTER)  # counts the statuses once; later pages read them from the cache until an incident changes
    with statements_of(app) as few:
        page = hq.get(REGISTER)
    assert page.status_code == 200
    shown_before = len(re.findall(r'href="/incidents/\d+"', page.get_data(as_text=True)))

    _more_incidents(demo, clock, 12)
    hq.get(REGISTER)
    with statements_of(app) as many:
        page = hq.get(REGISTER)
    assert page.status_code == 200
    assert len(re.findall(r'href="/incidents/\d+"', page.get_data(as_text=True))) == shown_before + 12
    assert "Budget check incident 11" in text(page)
    assert len(few) <= REGISTER_BUDGET, few
    assert len(many) == len(few), many


def test_incident_page_queries_do_not_grow_with_comments_and_history(app, browser_as, demo, clock, fresh) -> None:  # type: ignore[no-untyped-def]
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == "Refrigerator caught fire in kitchen"))
    hq = browser_as("hq.qa@example.com")
    user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    service.add_comment(demo, user=user, incident_id=incident_id, body="The first comment", now=clock())
    demo.commit()
    hq.get(f"/incidents/{incident_id}")  # the laws map for its country and category, read once
    with statements_of(app) as few:
        page = hq.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    assert "The first comment" in text(page)

    for i in range(6):
        service.add_comment(demo, user=user, incident_id=incident_id, body=f"Budget check comment {i}", now=clock())
    demo.commit()
    with statements_of(app) as many:
        page = hq.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    assert "Budget check comment 5" in text(page)
    assert len(few) <= INCIDENT_PAGE_BUDGET, few
    assert len(many) == len(few), many


def test_budgets_hold_for_a_division_user(app, browser_as, fresh) -> None:  # type: ignore[no-untyped-def]
    incident_id = fresh(sa.select(Incident.id).where(Incident.title == "Refrigerator caught fire in kitchen"))
    app.config["PAGE_CACHE"] = False
    qa: Callable[..., object] = browser_as("division.qa@example.com").get
    qa(REGISTER)
    with statements_of(app) as register:
        assert qa(REGISTER).status_code == 200  # type: ignore[attr-defined]
    with statements_of(app) as incident_page:
        assert qa(f"/incidents/{incident_id}").status_code == 200  # type: ignore[attr-defined]
    assert len(register) <= REGISTER_BUDGET, register
    assert len(incident_page) <= INCIDENT_PAGE_BUDGET, incident_page


def test_a_newly_filed_incident_page_reads_only_what_it_has(app, browser_as, demo, clock) -> None:  # type: ignore[no-untyped-def]
    """A new incident with no candidate obligation has its audit trail and nothing else yet: no query for comments,
    notification records, reports, reviews, recalls… (one with candidates has their records from filing on)."""
    _more_incidents(demo, clock, 1, harmless=True)
    incident_id = demo.scalar(sa.select(Incident.id).where(Incident.title == "Budget check incident 0"))
    demo.rollback()
    qa = browser_as("division.qa@example.com")
    with statements_of(app) as statements:
        page = qa.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    assert "Budget check incident 0" in text(page)
    assert "filed the incident" in text(page)  # the timeline shows the filing
    own = [q for q in statements if not re.search(LAWS_MAP, q)]
    assert len(own) <= BARE_INCIDENT_PAGE_BUDGET + 1, own  # + its audit events
    assert not [q for q in statements if not q.startswith("SELECT EXISTS") and re.search(
        r"FROM (incident_comment|incident_attachment|notification_record|escalation|triage_decision|signature|"
        r"status_report|pending_status_report|review|recall_campaign)\b", q)], statements


def test_the_registers_lists_are_read_once_and_follow_changes(app, browser_as, demo, clock) -> None:  # type: ignore[no-untyped-def]
    """Divisions, categories and the reader's saved views are read for the first register page, kept, and read again
    after a change to any of them (the register page's marker moves)."""
    from qa_incidents.accounts.models import Division
    from qa_incidents.incidents import saved_views

    app.config["PAGE_CACHE"] = False
    hq = browser_as("hq.qa@example.com")
    hq.get(REGISTER)
    lists = r"FROM (division|product_category|saved_view)\b"
    with statements_of(app) as statements:
        page = hq.get("/incidents/?sort=occurred_desc")
    assert page.status_code == 200 and "Home Appliances" in text(page)
    assert not [q for q in statements if re.search(lists, q)], statements

    division = demo.scalar(sa.select(Division).where(Division.code == "HA"))
    division.name = "Household Appliances"
    user = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    saved_views.save(demo, user=user, name="Budget view", query="status=triaged", now=clock())
    demo.commit()
    with statements_of(app) as statements:
        page = hq.get("/incidents/?sort=occurred_desc")
    shown = text(page)
    assert "Household Appliances" in shown and "Home Appliances" not in shown
    assert "Budget view" in shown
    assert [q for q in statements if re.search(lists, q)], statements
    other = browser_as("division.qa@example.com").get(REGISTER)
    assert "Budget view" not in text(other)  # another reader's views are their own
