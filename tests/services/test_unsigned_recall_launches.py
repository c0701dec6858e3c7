"""Recalls an earlier import wrote as launched without a launch signature go back to draft (migration 0033), audited."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.core.audit import AuditEvent
from qa_incidents.recalls.models import RecallCampaign
from qa_incidents.recalls.seed import seed_demo
from qa_incidents.recalls.unsigned import ACTION, revert_unsigned_launches


def test_an_unsigned_launch_goes_back_to_draft_and_a_signed_one_stays(app, demo, clock):  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_demo(demo)
        demo.commit()
    recalls = list(demo.scalars(sa.select(RecallCampaign).order_by(RecallCampaign.id)))
    signed = [r for r in recalls if r.launch_signature_id is not None]
    assert signed, "the demo holds a recall head-office QA launched with a signature"
    draft = next(r for r in recalls if r.status == "draft")
    launched_at = clock()
    # What an import before 0033 could write: launched, with no signature behind it.
    demo.execute(sa.text("UPDATE recall_campaign SET status = 'launched', launched_at = :at WHERE id = :id"),
                 {"at": launched_at, "id": draft.id})
    demo.commit()

    reverted = revert_unsigned_launches(demo, now=clock())
    demo.commit()
    demo.expire_all()

    assert reverted == [draft.id]
    assert demo.get(RecallCampaign, draft.id).status == "draft"
    assert demo.get(RecallCampaign, draft.id).launched_at is None
    for recall in signed:
        assert demo.get(RecallCampaign, recall.id).status in ("launched", "closed")
    event = demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "recall", AuditEvent.action == ACTION)).one()
    assert event.entity_id == draft.id and event.actor_id is None  # a change by the system, not by a person
    assert event.changes["status"] == ["launched", "draft"] and event.changes["launched_at"][0] is not None
    assert "without a launch signature" in event.changes["reason"][1]
    assert revert_unsigned_launches(demo, now=clock()) == []  # nothing left to put back


def test_migration_0033_puts_them_back(tmp_path, clock):  # type: ignore[no-untyped-def]
    """The data step runs as part of `db upgrade`: a database with an unsigned launch, taken back to 0032 and
    upgraded again, has it as a draft, with the system's audit event."""
    from alembic import command

    import config
    from qa_incidents import create_app
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.core.migrate import alembic_config, upgrade
    from qa_incidents.seed import load_demo

    url = f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=clock, INSTANCE_DIR=str(tmp_path),
                         ATTACHMENT_DIR=str(tmp_path / "a"))
        session = make_session_factory(engine)()
        load_demo(session, now=clock())
        with app.app_context():
            seed_demo(session)
        session.commit()
        draft = session.scalar(sa.select(RecallCampaign).where(RecallCampaign.status == "draft").limit(1))
        session.execute(sa.text("UPDATE recall_campaign SET status = 'launched', launched_at = :at WHERE id = :id"),
                        {"at": clock(), "id": draft.id})
        session.commit()
        session.close()
        engine.dispose()

        command.downgrade(alembic_config(url), "0032")
        upgrade(url)

        session = make_session_factory(engine)()
        assert session.scalar(sa.select(RecallCampaign.status).where(RecallCampaign.id == draft.id)) == "draft"
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == ACTION)).one()
        assert event.entity_id == draft.id and event.actor_id is None
        assert session.scalar(sa.select(sa.func.count()).select_from(RecallCampaign)
                              .where(RecallCampaign.launch_signature_id.is_not(None),
                                     RecallCampaign.status == "launched")) == 1  # the signed launch stays
        session.close()
    finally:
        engine.dispose()
