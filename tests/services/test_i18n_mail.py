"""Every e-mail in each recipient's language: one message per language, dates for the readers, what people wrote
kept as written, and a re-run still sends nothing twice."""

from __future__ import annotations

import datetime as dt
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from qa_incidents.accounts.models import User
from qa_incidents.core import i18n, outbox
from qa_incidents.core.i18n import Reader, Recipient
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.incidents import workflow
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Severity, Status
from qa_incidents.laws import service as laws
from qa_incidents.laws.models import Amendment
from qa_incidents.recalls import service as recalls
from qa_incidents.recalls.models import RecallCampaign
from qa_incidents.recalls.seed import seed_demo as seed_recalls
from qa_incidents.reports import service as reports
from qa_incidents.reports.models import DistributionEntry
from qa_incidents.reviews import service as reviews
from qa_incidents.reviews.rules import CountermeasureType, Dimension

PASSWORD = "demo-password-2026"


@pytest.fixture
def app(app: Flask) -> Flask:
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    return app


@pytest.fixture
def ctx(app: Flask):  # type: ignore[no-untyped-def]
    """Background jobs run in the application context (no request): gettext answers in the forced language."""
    with app.app_context():
        yield


def _user(session, email: str) -> User:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


def _reads(session, email: str, language: str, *, zone: str | None = None, era: bool = False) -> User:  # type: ignore[no-untyped-def]
    person = _user(session, email)
    person.locale = language
    person.era_dates = era
    if zone:
        person.timezone = zone
    session.commit()
    return person


def _mail(session, key: str) -> dict[str, OutboxMessage]:  # type: ignore[no-untyped-def]
    """The messages under a dedupe key (English's) and its language variants, by the language's code."""
    rows = session.scalars(sa.select(OutboxMessage).where(sa.or_(OutboxMessage.dedupe_key == key,
                                                               OutboxMessage.dedupe_key.like(f"{key}:%"))))
    return {(m.dedupe_key[len(key) + 1:] or "en") if m.dedupe_key != key else "en": m for m in rows}


def _fire(session) -> Incident:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


def _escalate(session, clock) -> Incident:  # type: ignore[no-untyped-def]
    fire = _fire(session)
    qa = _user(session, "division.qa@example.com")
    workflow.triage(session, user=qa, incident_id=fire.id, severity=Severity.S1, override_reason="", now=clock())
    workflow.request_escalation(session, user=qa, incident_id=fire.id, reason="冷蔵庫の出火、4.8万台", now=clock())
    session.commit()
    return fire


# --- the helper ----------------------------------------------------------------------------------------------


def test_one_message_per_language_dated_for_its_readers(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    from flask_babel import gettext

    moment = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    people = [Recipient("a@x", "ja", "Asia/Tokyo"), Recipient("b@x", "en", "Europe/London"),
              Recipient("c@x", "en", "America/New_York"), Recipient("A@x", "en")]

    def compose(reader: Reader) -> tuple[str, str]:
        return gettext("Severity: %(severity)s", severity="S1"), reader.datetime(moment)

    queued = outbox.enqueue_localised(demo, people=people, compose=compose, now=clock(), dedupe_key="test:1")
    demo.commit()
    sent = {m.to_addrs: m for m in queued}
    assert set(sent) == {"a@x", "b@x, c@x"}  # A@x is a@x again: first mention wins
    assert sent["a@x"].subject == "重大度：S1" and sent["a@x"].body_text == "2026年11月20日 12:00 JST"
    # Two readers in different zones: head office's zone, named.
    assert sent["b@x, c@x"].subject == "Severity: S1"
    assert sent["b@x, c@x"].body_text == "2026-11-20 12:00 JST (Asia/Tokyo)"
    assert {m.dedupe_key for m in queued} == {"test:1", "test:1:ja"}
    # A re-run, even after someone changed language, sends nothing again.
    again = outbox.enqueue_localised(demo, people=[Recipient("b@x", "ja")], compose=compose, now=clock(),
                                     dedupe_key="test:1")
    assert again == []


def test_one_reader_gets_their_own_zone_and_era_dates(ctx) -> None:  # type: ignore[no-untyped-def]
    [(reader, to)] = i18n.readers([Recipient("a@x", "ja", "Europe/Berlin", era_dates=True)], zone="Asia/Tokyo")
    assert to == ["a@x"] and reader.datetime(datetime(2026, 11, 20, 3, 0, tzinfo=UTC)) == "令和8年11月20日 04:00 CET"
    assert reader.date(dt.date(2019, 5, 1)) == "令和元年5月1日"
    [(english, _)] = i18n.readers([Recipient("b@x", "en", "Europe/Berlin", era_dates=True)], zone="Asia/Tokyo")
    assert english.date(dt.date(2026, 11, 20)) == "2026-11-20"  # era dates are for reading Japanese


# --- each sender ---------------------------------------------------------------------------------------------


def test_escalation_request_and_decision_in_each_readers_language(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    _reads(demo, "hq.qa@example.com", "ja")
    fire = _escalate(demo, clock)
    [request] = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("escalation-requested:%")))
    assert request.to_addrs == "hq.qa@example.com" and request.dedupe_key.endswith(":ja")
    assert request.subject == f"[S1] エスカレーション申請：{fire.reference} {fire.title}"
    assert "エスカレーションを申請しています" in request.body_text
    assert "理由：冷蔵庫の出火、4.8万台" in request.body_text  # what the reporter wrote, as written
    assert "申請日時：2026年" in request.body_text and "JST" in request.body_text

    workflow.decide_escalation(demo, user=_user(demo, "hq.qa@example.com"), incident_id=fire.id, approve=True,
                               password=PASSWORD, comment="了解", now=clock())
    demo.commit()
    [decision] = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("escalation-decided:%")))
    assert decision.to_addrs == "division.qa@example.com"  # English: the requester and the division's QA
    assert decision.subject.startswith("Escalation APPROVED: ") and "コメント" not in decision.body_text
    assert "Comment: 了解" in decision.body_text


def test_sla_notices_in_each_readers_language(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    _reads(demo, "hq.qa@example.com", "ja", era=True)
    fire = _fire(demo)
    assert workflow.sla_scan(demo, now=clock()) >= 1
    demo.commit()
    breach = _mail(demo, f"sla:triage:breached:{fire.id}:0")
    assert set(breach) == {"en", "ja"}
    assert breach["ja"].to_addrs == "hq.qa@example.com"
    assert breach["ja"].subject.startswith(f"SLA 超過：{fire.reference} のトリアージ（期限 令和")
    assert "期限超過" in breach["ja"].body_text and "事業部：" in breach["ja"].body_text
    assert breach["en"].to_addrs == "division.qa@example.com"
    assert breach["en"].subject.startswith(f"SLA BREACHED: triage of {fire.reference} due 2026-")
    before = demo.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    workflow.sla_scan(demo, now=clock.advance(hours=1))
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count(OutboxMessage.id))) == before  # never twice


def test_enforcement_alerts_in_each_readers_language(demo, ctx) -> None:  # type: ignore[no-untyped-def]
    _reads(demo, "reporter@example.com", "ja")
    amendment = demo.scalar(sa.select(Amendment).where(Amendment.title.like("Demo:%")))
    now = dt.datetime.combine(amendment.enforced_on - dt.timedelta(days=20), dt.time(3, 0), tzinfo=dt.UTC)
    assert laws.enforcement_alerts(demo, now=now) == 1  # one notice (in two languages) for the division
    demo.commit()
    mails = {m.to_addrs: m for m in demo.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like("law-enforcement:%")))}
    assert set(mails) == {"reporter@example.com", "division.qa@example.com"}
    ja, en = mails["reporter@example.com"], mails["division.qa@example.com"]
    day = amendment.enforced_on
    assert ja.subject.startswith("あと20日：JP-PSE") and f"施行日：{day.year}年{day.month}月{day.day}日" in ja.body_text
    assert en.subject.startswith("In 20 days: JP-PSE") and f"Enforced on {day.isoformat()}" in en.body_text
    assert amendment.title in ja.body_text  # the amendment as written
    assert laws.enforcement_alerts(demo, now=now + dt.timedelta(hours=1)) == 0


def test_review_mails_in_each_readers_language(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    writer = _reads(demo, "division.qa@example.com", "ja")
    fire = _fire(demo)
    fire.severity, fire.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    review = reviews.start_review(demo, user=writer, incident_ids=[fire.id], title="リレー接点の過熱", now=clock())
    cm = reviews.add_countermeasure(demo, user=writer, review_id=review.id, now=clock(), data=reviews.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="初品の圧着高さ確認",
        owner_id=writer.id, due_on=clock().date() + timedelta(days=10)))
    demo.commit()
    assert reviews.countermeasure_scan(demo, clock() + timedelta(days=11)) == 1
    demo.commit()
    [overdue] = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("countermeasure-overdue:%")))
    due = cm.due_on
    assert overdue.subject == f"期限超過の対策：初品の圧着高さ確認（期日 {due.year}年{due.month}月{due.day}日）"
    assert f"レビュー「リレー接点の過熱」の対策 #{cm.id}" in overdue.body_text
    assert reviews.countermeasure_scan(demo, clock() + timedelta(days=12)) == 0

    cable = demo.scalar(sa.select(User.division_id).where(User.email == "cable.reporter@example.com"))
    reviews.add_deployment(demo, user=writer, countermeasure_id=cm.id, division_id=cable, target="RS-FR95 harness",
                           now=clock())
    demo.commit()
    deployment = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("deployment-request:%"))).all()
    assert all(m.subject == "Horizontal deployment: 初品の圧着高さ確認" for m in deployment)  # the division reads English


def test_recall_stall_mail_in_the_owners_language(demo, ctx) -> None:  # type: ignore[no-untyped-def]
    seed_recalls(demo)
    demo.commit()
    recall = demo.scalar(sa.select(RecallCampaign).where(RecallCampaign.status == "launched"))
    _reads(demo, recall.owner.email, "ja", era=True)
    later = recall.launched_at + timedelta(days=120)
    assert recalls.recall_scan(demo, later) == 1
    demo.commit()
    [stall] = demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("recall-stall:%")))
    assert stall.dedupe_key.endswith(":ja")
    assert stall.subject.startswith(f"回収 {recall.reference} は") and "週間進捗がありません" in stall.subject
    assert "令和" in stall.body_text
    assert recalls.recall_scan(demo, later + timedelta(days=1)) == 0


def test_status_report_mail_in_each_groups_language(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    _reads(demo, "executive@example.com", "ja", zone="Asia/Tokyo")
    demo.add(DistributionEntry(email="plant.manager@example.com", division_id=None, severities=[], active=True,
                               created_at=clock()))
    fire = _escalate(demo, clock)
    workflow.decide_escalation(demo, user=_user(demo, "hq.qa@example.com"), incident_id=fire.id, approve=True,
                               password=PASSWORD, comment="Agreed", now=clock())
    demo.commit()
    report = reports.issue_now(demo, user=_user(demo, "hq.qa@example.com"), incident=fire, now=clock())
    demo.commit()
    mails = _mail(demo, f"status-report:{report.id}")
    assert mails["ja"].to_addrs == "executive@example.com" and mails["en"].to_addrs == "plant.manager@example.com"
    n = report.number  # report 1 went out at triage, when JP-CPSA-35 was found reportable
    assert mails["ja"].subject == f"[S1] 状況報告 第{n}報：{fire.reference} {fire.title}"
    assert mails["en"].subject == f"[S1] Status report {n}: {fire.reference} {fire.title}"
    assert '<html lang="ja">' in mails["ja"].body_html and "当局への報告" in mails["ja"].body_html
    assert fire.title in mails["ja"].body_html  # the incident as written
    # The PDFs are printed when the messages are delivered, each group's in its language.
    outbox.deliver_pending(demo, sender=outbox.LogSender(), now=clock())
    mails = _mail(demo, f"status-report:{report.id}")
    [ja_pdf] = mails["ja"].attachments
    ja_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(ja_pdf.data)).pages)
    assert ja_pdf.filename.endswith("-ja.pdf") and "状況報告" in ja_text and fire.reference in ja_text
    # The English group gets the copy kept with the version; its hash still covers the content as issued.
    assert mails["en"].attachments[0].data == report.printed.pdf and mails["en"].body_html == report.html
    assert "Authorities" in report.html and "当局への報告" not in report.html
    from qa_incidents.core.signatures import content_hash

    assert report.content_sha256 == content_hash(report.content)


def test_messages_queued_before_the_upgrade_still_count(demo, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    """A message queued before messages were per language (plain key) counts: no Japanese copy after the upgrade."""
    from qa_incidents.incidents.workflow_models import Escalation

    next_id = (demo.scalar(sa.select(sa.func.max(Escalation.id))) or 0) + 1
    demo.add(OutboxMessage(created_at=clock(), dedupe_key=f"escalation-requested:{next_id}", to_addrs="hq.qa@example.com",
                           subject="old", body_text="old", status="sent", attempts=1, next_attempt_at=clock(),
                           last_error=""))
    demo.commit()
    _reads(demo, "hq.qa@example.com", "ja")
    _escalate(demo, clock)
    assert demo.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.dedupe_key.like("escalation-requested:%"))) == 1
