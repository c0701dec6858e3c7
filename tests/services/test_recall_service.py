"""Recall services: demo data, the CLI import, the incident guard, audit, and the rules the views rely on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.recalls import service
from qa_incidents.recalls.models import ProgressEntry, RecallCampaign
from qa_incidents.recalls.seed import seed_demo
from tests.risk_helpers import assess_recall


def test_demo_recalls_are_created_once(app: Flask, demo: so.Session, demo_user):
    with app.app_context():
        seed_demo(demo)
        demo.commit()
        seed_demo(demo)
        demo.commit()
    recalls = list(demo.scalars(sa.select(RecallCampaign).order_by(RecallCampaign.id)))
    assert [(r.status, r.title) for r in recalls] == [
        ("launched", "EX-15A3 plug overheating: replace cord"), ("draft", "R-HW540 compressor relay: replace relay")]
    launched = recalls[0]
    assert service.published_notice(demo, launched.id) is not None
    p = service.progress(demo, launched, today=launched.launched_at.date() + timedelta(days=29))
    assert p.totals.replaced == 15500 and len(p.curve) == 5
    # every change was audited on the incident's timeline
    assert demo.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.entity_type.like("recall%"))) >= 10


def _draft(demo: so.Session, user, now):  # type: ignore[no-untyped-def]
    recall = service.create_campaign(demo, user=user, incident_ids=[1], now=now, data=service.CampaignInput(
        title="Relay", remedy="repair", countries=["JP"], units_affected=100, owner_id=user.id))
    service.add_population_line(demo, user=user, recall_id=recall.id, exclude=False, model="R-HW540", lot="",
                                serial_first="", serial_last="", units=100, note="", now=now)
    demo.commit()
    return recall


def test_open_recalls_keep_the_incident_open_until_closed_or_withdrawn(demo: so.Session, demo_user, clock):
    qa = demo_user("division.qa@example.com")
    assert service.open_recalls_for(demo, 1) == 0
    recall = _draft(demo, qa, clock())
    assert service.open_recalls_for(demo, 1) == 1
    assert service.open_recalls_for(demo, 2) == 0
    with pytest.raises(ValidationFailed):
        service.withdraw(demo, user=qa, recall_id=recall.id, reason=" ", now=clock())
    service.withdraw(demo, user=qa, recall_id=recall.id, reason="Field data showed no defect.", now=clock())
    demo.commit()
    assert service.open_recalls_for(demo, 1) == 0


def test_other_divisions_cannot_see_or_start_recalls(demo: so.Session, demo_user, clock):
    qa = demo_user("division.qa@example.com")
    recall = _draft(demo, qa, clock())
    with pytest.raises(NotFound):
        service.get_recall(demo, user=demo_user("cable.reporter@example.com"), recall_id=recall.id)
    with pytest.raises(NotFound):  # incident 5 belongs to Cable Materials
        service.create_campaign(demo, user=qa, incident_ids=[5], now=clock(), data=service.CampaignInput(
            title="x", remedy="repair", owner_id=qa.id))
    with pytest.raises(Forbidden):
        service.launch(demo, user=qa, recall_id=recall.id, password="demo-password-2026", comment="", now=clock())
    with pytest.raises(ValidationFailed) as e:  # an owner must run recalls for the division
        service.update_campaign(demo, user=qa, recall_id=recall.id, expected_version=recall.version, now=clock(),
                                data=service.CampaignInput(title="Relay", remedy="repair",
                                                           owner_id=demo_user("reporter@example.com").id))
    assert "owner_id" in e.value.errors


def test_cli_import_reports_rejected_rows_and_is_idempotent(app: Flask, demo: so.Session, demo_user, clock,
                                                            tmp_path: Path):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    recall = _draft(demo, qa, clock())
    assess_recall(demo, user=qa, recall_id=recall.id, now=clock())
    service.launch(demo, user=hq, recall_id=recall.id, password="demo-password-2026", comment="", now=clock())
    demo.commit()
    day = clock().date().isoformat()
    path = tmp_path / "centre.csv"
    path.write_text("\ufeffcentre,reference,date,country,channel,located,notified,repaired,replaced,refunded\n"
                    f"Kobe,K1,{day},JP,service_centre,1,1,5,0,0\n"
                    f"Kobe,K2,{day},JP,fax,1,1,5,0,0\n", encoding="utf-8")
    runner = app.test_cli_runner()
    args = ["recalls", "import-progress", recall.reference, str(path), "--actor", "division.qa@example.com"]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "line 3: Unknown channel" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"added": 1, "already_imported": 0, "rejected": 1}
    result = runner.invoke(args=args)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"added": 0, "already_imported": 1, "rejected": 1}
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count(ProgressEntry.id))) == 1
    refused = runner.invoke(args=[*args[:4], "--actor", "cable.reporter@example.com"])
    assert refused.exit_code == 2 and "No such recall." in refused.stderr  # another division's user
    assert runner.invoke(args=["recalls", "import-progress", "RC-1999-0001", str(path), "--actor",
                               "division.qa@example.com"]).exit_code == 2


def test_scan_command_runs(app: Flask, demo: so.Session):
    result = app.test_cli_runner().invoke(args=["recalls", "scan"])
    assert result.exit_code == 0 and "0 stall e-mails queued." in result.output


def test_progress_of_several_recalls_equals_each_read_alone(app: Flask, demo: so.Session, demo_user):  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_demo(demo)
        demo.commit()
    recalls = list(demo.scalars(sa.select(RecallCampaign).order_by(RecallCampaign.id)))
    assert any(service.progress_entries(demo, r.id) for r in recalls)  # the demo records progress
    today = recalls[0].launched_at.date() + timedelta(days=29)
    together = service.progresses(demo, recalls, today=today)
    alone = [service.progress(demo, r, today=today) for r in recalls]
    assert [(p.totals, p.by_country, p.by_channel, p.rate, p.curve, p.stalled_since) for p in together] == \
        [(p.totals, p.by_country, p.by_channel, p.rate, p.curve, p.stalled_since) for p in alone]
    assert service.progresses(demo, [], today=today) == []
