"""Filing fast and still right: the write lock is held for the write alone, a submitted form is checked against
exactly what the full form offers, and concurrent filers lose nothing, share no reference and never fork the
audit chain."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from view_helpers import form_with, location_path, logged_in, statements_of

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.models import Product
from qa_incidents.core.audit import AuditEvent
from qa_incidents.incidents.models import Incident
from qa_incidents.integrity.chain import verify_chain

VALID = {
    "title": "Ice maker leaked onto power board", "lot_numbers": "L2611-09", "serial_numbers": "", "country": "JP",
    "place": "Kita-ku, Osaka", "timezone": "Asia/Tokyo", "occurred_at": "2026-11-19T10:00",
    "aware_at": "2026-11-19T12:00", "source": "customer_complaint", "hazard": "electric_shock", "deaths": "0",
    "serious_injuries": "0", "minor_injuries": "0", "smoke": True, "units_in_field": "1500",
    "description": "Water from the ice maker reached the main board; smoke seen, no flame.",
}



def _filled(client, product_label: str = "R-HW540", **changes):  # type: ignore[no-untyped-def]
    form = form_with(client.get("/incidents/new"), "title")
    return form.data(**{"product_id": form.option_value("product_id", product_label), **VALID, **changes})


def test_the_write_transaction_holds_only_the_write(app, login_as, fresh):
    """Everything the form needs is read before the write lock is taken; inside it, only what the write depends
    on (the product, the counter, the head of the audit chain) and the two inserts. The signed-in user is not read
    again there. Then the incident's candidate obligations get their records (here smoke in Japan: one decision
    record), from the laws map as remembered (read once per process and change of the map, not at each filing)."""
    client = login_as("reporter@example.com")
    client.post("/incidents/new", data=_filled(client, title="An earlier report"))  # the laws map is now remembered
    data = _filled(client)
    with statements_of(app) as sql:
        response = client.post("/incidents/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert fresh(sa.select(Incident.title).where(Incident.id == int(location_path(response).rsplit("/", 1)[1]))) \
        == VALID["title"]
    # BEGIN, the user, the choices; BEGIN IMMEDIATE and the six of the write; the eight of the derivation
    assert len(sql) <= 18, sql
    writing = sql[sql.index("BEGIN IMMEDIATE"):] if "BEGIN IMMEDIATE" in sql else [
        s for s in sql if not s.startswith(("BEGIN", "SELECT user_account.id, user_account.email", "SELECT division.id"))]
    assert not [s for s in writing if "user_account.email" in s or "FROM division" in s], writing
    kinds = [re.sub(r"^(SELECT|INSERT INTO|UPDATE) (\S+?)[. ].*", r"\1 \2", s) for s in writing
             if not s.startswith(("BEGIN", "SELECT pg_advisory_xact_lock"))]
    assert kinds[:6] == ["SELECT product", "UPDATE counter", "INSERT INTO incident", "SELECT audit_event",
                         "INSERT INTO audit_event", "INSERT INTO inbox_item"], writing  # the bell of those told, at once
    # The derivation: the laws map's marker, the product's markets, the decision's owner (the division's QA), the
    # record and its audit event (and the bell), whether anything is reportable yet. No law is read.
    assert kinds[6:] == ["SELECT counter", "SELECT product", "SELECT user_account", "INSERT INTO notification_record",
                         "SELECT audit_event", "INSERT INTO audit_event", "INSERT INTO inbox_item",
                         "SELECT notification_record"], writing


@pytest.mark.parametrize("change, field", [
    ("retired product", "product_id"),
    ("another division's product", "product_id"),
    ("deactivated division", "division_id"),
    ("unknown product", "product_id"),
])
def test_a_submitted_choice_is_checked_against_what_the_form_offers(app, login_as, demo, fresh, change, field):
    """A submitted form is checked without building every choice; it refuses what the full form would not offer,
    with the same message, and the form shown again lists the products by name."""
    client = login_as("reporter@example.com")
    data = _filled(client)
    own = int(data["product_id"])
    if change == "retired product":
        demo.get(Product, own).active = False
    elif change == "another division's product":
        data["product_id"] = str(demo.scalar(sa.select(Product.id).where(Product.division_id != int(data["division_id"]),
                                                                         Product.active.is_(True)).limit(1)))
    elif change == "deactivated division":
        demo.get(Division, int(data["division_id"])).active = False
    else:
        data["product_id"] = "999999"
    demo.commit()
    before = fresh(sa.select(sa.func.count(Incident.id)))
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    form = form_with(response, "title")
    assert form.errors[field] == "Not a valid choice."
    if change in ("another division's product", "unknown product"):  # shown again with the products' names
        assert any(o.label.startswith("R-HW540 — ") for o in form.selects["product_id"])
    assert fresh(sa.select(sa.func.count(Incident.id))) == before


@pytest.mark.parametrize("changes, field, message", [
    ({"country": "XX"}, "country", "Not a valid choice."),
    ({"country": ""}, "country", "Choose the country where it happened."),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice."),
    ({"timezone": ""}, "timezone", "This field is required."),
    ({"product_id": "0"}, "product_id", "Not a valid choice."),
])
def test_fixed_choices_give_the_same_answers(login_as, fresh, changes, field, message):
    """Countries and time zones are looked up in a set made once: a blank value is still 'required', not 'not a
    valid choice', and an unknown one is refused."""
    client = login_as("reporter@example.com")
    before = fresh(sa.select(sa.func.count(Incident.id)))
    response = client.post("/incidents/new", data=_filled(client, **changes))
    assert response.status_code == 422
    assert form_with(response, "title").errors[field] == message
    assert fresh(sa.select(sa.func.count(Incident.id))) == before


def test_concurrent_filers_lose_nothing_and_share_no_reference(app, demo, fresh, fresh_all):
    """Several browsers filing at once (each request reads as a reader, then takes the write lock for the write):
    every accepted report is stored once, references are unique and consecutive, and the audit chain is whole."""
    filers, each = 4, 5
    clients = [logged_in(app, "reporter@example.com") for _ in range(filers)]
    forms = [_filled(c) for c in clients]
    before = fresh(sa.select(sa.func.count(Incident.id)))
    statuses: list[int] = []
    failures: list[BaseException] = []

    def file(n: int) -> None:
        try:
            for i in range(each):
                response = clients[n].post("/incidents/new", data={**forms[n], "title": f"Concurrent {n}-{i}"})
                statuses.append(response.status_code)
        except BaseException as e:  # reported below
            failures.append(e)

    threads = [threading.Thread(target=file, args=(n,)) for n in range(filers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert statuses == [302] * filers * each
    titles = fresh_all(sa.select(Incident.title).where(Incident.title.like("Concurrent %")))
    assert sorted(titles) == sorted(f"Concurrent {n}-{i}" for n in range(filers) for i in range(each))
    assert fresh(sa.select(sa.func.count(Incident.id))) == before + filers * each
    references = fresh_all(sa.select(Incident.reference).where(Incident.title.like("Concurrent %")))
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(numbers[0], numbers[0] + filers * each))
    created = fresh_all(sa.select(AuditEvent.entity_id).where(AuditEvent.action == "created",
                                                              AuditEvent.entity_type == "incident"))
    ids = fresh_all(sa.select(Incident.id).where(Incident.title.like("Concurrent %")))
    assert set(ids) <= set(created)
    demo.rollback()
    report = verify_chain(demo)
    assert report.ok, report.problem
