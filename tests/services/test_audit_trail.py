"""Evidence is kept: the audit trail is append-only in the database, and nothing is ever deleted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.db import HardDeleteRefused
from qa_incidents.core.sequences import Counter, next_value
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Comment, Incident


def first_event(session) -> tuple[int, str, dict]:
    row = session.execute(sa.select(AuditEvent.id, AuditEvent.action, AuditEvent.changes)
                          .order_by(AuditEvent.id).limit(1)).one()
    return row.id, row.action, row.changes


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'forged' WHERE id = :id",
        "UPDATE audit_event SET actor_id = NULL WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "DELETE FROM audit_event",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_events(demo, statement):
    ident, action, changes = first_event(demo)
    count = demo.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with pytest.raises(sa.exc.DBAPIError) as refused:
        demo.execute(sa.text(statement), {"id": ident})
        demo.commit()
    assert "append-only" in str(refused.value)
    demo.rollback()
    demo.expire_all()
    assert first_event(demo) == (ident, action, changes)
    assert demo.scalar(sa.select(sa.func.count(AuditEvent.id))) == count


def test_inserting_audit_events_still_works(demo, demo_user, clock):
    count = demo.scalar(sa.select(sa.func.count(AuditEvent.id)))
    incident_id = demo.scalar(sa.select(Incident.id).limit(1))
    service.add_comment(demo, user=demo_user("hq.qa@example.com"), incident_id=incident_id, body="still works", now=clock())
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count(AuditEvent.id))) == count + 1


def test_the_orm_refuses_to_change_a_loaded_event(demo):
    event = demo.scalar(sa.select(AuditEvent).order_by(AuditEvent.id).limit(1))
    original = event.action
    event.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        demo.flush()
    demo.rollback()
    assert demo.get(AuditEvent, event.id).action == original


def _comment(session, demo_user, clock) -> Comment:
    incident_id = session.scalar(sa.select(Incident.id).limit(1))
    comment = service.add_comment(session, user=demo_user("hq.qa@example.com"), incident_id=incident_id, body="remark",
                                  now=clock())
    session.commit()
    return comment


@pytest.mark.parametrize("model", [Incident, User, Division, Product, ProductCategory, AuditEvent, Comment, Counter])
def test_no_row_is_ever_deleted_through_the_orm(demo, demo_user, clock, model):
    if model is Comment:
        _comment(demo, demo_user, clock)
    row = demo.scalar(sa.select(model).limit(1))
    assert row is not None
    key = sa.inspect(row).identity
    demo.delete(row)
    with pytest.raises(HardDeleteRefused, match=model.__name__):
        demo.flush()
    demo.rollback()
    assert demo.get(model, key) is not None


def test_a_refused_delete_takes_nothing_else_with_it(demo, demo_user, clock):
    incident = demo.scalar(sa.select(Incident).limit(1))
    incident.title = "changed in the same flush"
    demo.delete(demo.scalar(sa.select(Division).where(Division.code == "SS")))
    with pytest.raises(HardDeleteRefused):
        demo.commit()
    demo.rollback()
    assert demo.get(Incident, incident.id).title != "changed in the same flush"


# --- counters --------------------------------------------------------------------------


def test_next_value_starts_at_one_and_increments(session):
    assert [next_value(session, "test-a") for _ in range(3)] == [1, 2, 3]
    assert next_value(session, "test-b") == 1  # counters are independent
    session.commit()
    assert next_value(session, "test-a") == 4
    session.commit()
    assert session.scalar(sa.select(Counter.value).where(Counter.name == "test-a")) == 4


def test_a_number_from_a_rolled_back_transaction_is_given_again(session):
    assert next_value(session, "test-r") == 1
    session.commit()
    assert next_value(session, "test-r") == 2
    session.rollback()
    assert next_value(session, "test-r") == 2
