"""Public product safety notices: who drafts, approves and withdraws; complete languages; history kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.core.signatures import SeparationOfDuties, Signature, SignatureRefused
from qa_incidents.incidents.models import Incident
from qa_incidents.safety_notices import rules, service
from qa_incidents.safety_notices.models import SafetyNotice, SafetyNoticeVersion
from tests.risk_helpers import ensure_assessed

PASSWORD = "demo-password-2026"


def approve(demo, *, notice_id, now, **kwargs):  # type: ignore[no-untyped-def]
    """Head-office QA's signature, once division QA has assessed the risk (which approval requires)."""
    ensure_assessed(demo, "safety_notice", notice_id, now=now)
    return service.approve(demo, notice_id=notice_id, now=now, **kwargs)


def english(**changes: str) -> service.NoticeInput:
    texts = {"heading": "Safety notice: fan heater", "product_name": "Fan heater FH-1200",
             "what_happened": "A customer reported carbon monoxide from the heater.", "what_to_do": "",
             "contact_hours": "Every day 9:00-18:00", "change_note": ""}
    texts.update(changes)
    return service.NoticeInput(languages=["en"], texts={"en": texts}, models="FH-1200", lots="L2609-11",
                               actions=["stop_using", "unplug", "contact"], contact_phone="0120-000-111")


def japanese() -> dict[str, str]:
    return {"heading": "製品安全のお知らせ", "product_name": "ファンヒーター FH-1200",
            "what_happened": "お客様から一酸化炭素の発生が報告されました。", "what_to_do": "", "contact_hours": "毎日 9:00-18:00",
            "change_note": ""}


@pytest.fixture
def severe(demo: so.Session, demo_user, clock) -> Incident:
    """The demo's fan heater incident, triaged S1."""
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity

    incident = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    workflow.triage(demo, user=demo_user("division.qa@example.com"), incident_id=incident.id, severity=Severity.S1,
                    override_reason="Carbon monoxide at a customer's home.", now=clock() - timedelta(hours=2))
    demo.commit()
    return incident


def test_division_qa_drafts_head_office_signs_and_it_is_public(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    notice = demo.get(SafetyNotice, version.notice_id)
    assert notice.reference.startswith("SN-2026-") and notice.status == "draft"
    assert service.public_notice(demo, notice.reference) is None  # a draft is not public
    approve(demo, user=hq, notice_id=notice.id, password=PASSWORD, comment="Go", now=clock())
    demo.commit()
    found = service.public_notice(demo, notice.reference, "ja")
    assert found is not None and found.language == "en"  # only published in English
    assert found.version.number == 1 and found.version.published_at == clock()
    signature = demo.get(Signature, found.version.signature_id)
    assert signature.meaning == service.APPROVE_MEANING and signature.signer_id == hq.id
    assert signature.content["models"] == "FH-1200"
    assert [n.reference for n, _v, _l in service.public_notices(demo)] == [notice.reference]
    actions = {(e.entity_type, e.action) for e in demo.scalars(
        sa.select(AuditEvent).where(AuditEvent.incident_id == severe.id))}
    assert {("safety_notice", "created"), ("safety_notice_version", "drafted"),
            ("safety_notice_version", "published"), ("signature", "signed")} <= actions


def test_head_office_qa_is_told_once_per_version_to_approve(demo, demo_user, severe, clock):
    from qa_incidents.core.outbox import OutboxMessage

    qa = demo_user("division.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    service.save_draft(demo, user=qa, incident_id=severe.id, data=english(heading="Notice"), now=clock())
    mails = list(demo.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("safety-notice-drafted%"))))
    assert len(mails) == 1 and "hq.qa@example.com" in mails[0].to_addrs
    reference = demo.get(SafetyNotice, version.notice_id).reference
    assert mails[0].subject == f"Safety notice to approve: {reference} version 1 ({severe.reference})"


def test_the_drafter_may_never_approve(demo, demo_user, severe, clock):
    hq = demo_user("hq.qa@example.com")
    version = service.save_draft(demo, user=hq, incident_id=severe.id, data=english(), now=clock())
    with pytest.raises(SeparationOfDuties):
        approve(demo, user=hq, notice_id=version.notice_id, password=PASSWORD, comment="", now=clock())
    assert version.published_at is None


def test_whoever_edited_the_draft_may_not_approve_it(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    version = service.save_draft(demo, user=hq, incident_id=severe.id, data=english(heading="Safety notice"),
                                 now=clock())
    assert version.number == 1 and version.text("en", "heading") == "Safety notice"
    with pytest.raises(SeparationOfDuties):
        approve(demo, user=hq, notice_id=version.notice_id, password=PASSWORD, comment="", now=clock())


def test_nobody_who_changed_the_draft_may_approve_it(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    service.save_draft(demo, user=hq, incident_id=severe.id, data=english(heading="Safety notice"), now=clock())
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(heading="Notice"), now=clock())
    assert version.updated_by_id == qa.id  # head office edited it in between
    with pytest.raises(SeparationOfDuties):
        approve(demo, user=hq, notice_id=version.notice_id, password=PASSWORD, comment="", now=clock())
    assert service.drafters(demo, version) == {qa.id, hq.id}


def test_wrong_password_publishes_nothing(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    with pytest.raises(SignatureRefused):
        approve(demo, user=hq, notice_id=version.notice_id, password="wrong", comment="", now=clock())
    assert version.published_at is None and version.signature_id is None


def test_roles_that_may_not_draft_or_approve(demo, demo_user, severe, clock):
    reporter, qa = demo_user("reporter@example.com"), demo_user("division.qa@example.com")
    with pytest.raises(Forbidden):
        service.save_draft(demo, user=reporter, incident_id=severe.id, data=english(), now=clock())
    with pytest.raises(NotFound):  # another division's QA does not even learn the incident exists
        service.save_draft(demo, user=demo_user("cable.qa@example.com"), incident_id=severe.id, data=english(),
                           now=clock())
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    for email in ("division.qa@example.com", "executive@example.com", "reporter@example.com"):
        with pytest.raises(Forbidden):
            approve(demo, user=demo_user(email), notice_id=version.notice_id, password=PASSWORD, comment="",
                            now=clock())
    with pytest.raises(NotFound):
        approve(demo, user=demo_user("cable.qa@example.com"), notice_id=version.notice_id,
                        password=PASSWORD, comment="", now=clock())


def test_only_severe_incidents_have_a_notice(demo, demo_user, severe, clock):
    qa = demo_user("division.qa@example.com")
    minor = demo.scalar(sa.select(Incident).where(Incident.division_id == severe.division_id,
                                                  Incident.id != severe.id).limit(1))
    assert minor.severity is None or minor.severity.value not in rules.SEVERE
    with pytest.raises(service.WrongState, match="Only S1 and S2"):
        service.save_draft(demo, user=qa, incident_id=minor.id, data=english(), now=clock())


def test_each_language_must_be_complete_in_that_language(demo, demo_user, severe, clock):
    qa = demo_user("division.qa@example.com")
    data = english(what_happened="")
    data.languages = ["en", "ja"]
    data.texts["ja"] = {**japanese(), "what_happened": "A customer reported carbon monoxide."}
    with pytest.raises(ValidationFailed) as refused:
        service.save_draft(demo, user=qa, incident_id=severe.id, data=data, now=clock())
    assert set(refused.value.errors) == {"en_what_happened", "ja_what_happened"}
    assert "Japanese" in refused.value.errors["ja_what_happened"]
    data.texts["en"]["what_happened"] = "お客様から報告"
    data.texts["ja"] = japanese()
    data.contact_phone, data.actions = "", []
    with pytest.raises(ValidationFailed) as refused:
        service.save_draft(demo, user=qa, incident_id=severe.id, data=data, now=clock())
    assert set(refused.value.errors) == {"en_what_happened", "contact_phone", "en_what_to_do", "ja_what_to_do"}
    data.texts["en"]["what_happened"] = "A customer reported carbon monoxide."
    data.contact_email, data.actions = "care@example.com", ["stop_using"]
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=data, now=clock())
    assert version.languages == ["en", "ja"] and version.text("ja", "heading") == "製品安全のお知らせ"


def test_updates_are_new_versions_and_withdrawal_keeps_the_history(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    first = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    approve(demo, user=hq, notice_id=first.notice_id, password=PASSWORD, comment="", now=clock())
    later = clock() + timedelta(days=2)
    update = english(what_happened="Two customers reported carbon monoxide.")
    with pytest.raises(ValidationFailed) as refused:  # a later version says what changed, and what kind it is
        service.save_draft(demo, user=qa, incident_id=severe.id, data=update, now=later)
    assert set(refused.value.errors) == {"kind", "en_change_note"}
    update = english(what_happened="Two customers reported carbon monoxide.", change_note="A second report.")
    update.kind = "update"
    second = service.save_draft(demo, user=qa, incident_id=severe.id, data=update, now=later)
    assert (second.notice_id, second.number, second.kind) == (first.notice_id, 2, "update")
    found = service.public_notice(demo, demo.get(SafetyNotice, first.notice_id).reference)
    assert found.version.number == 1  # the update is not public before it is signed
    approve(demo, user=hq, notice_id=first.notice_id, password=PASSWORD, comment="", now=later)
    notice = demo.get(SafetyNotice, first.notice_id)
    found = service.public_notice(demo, notice.reference)
    assert found.version.number == 2 and [v.number for v in found.history] == [2, 1]
    assert found.history[1].text("en", "what_happened") == "A customer reported carbon monoxide from the heater."
    with pytest.raises(Forbidden):
        service.withdraw(demo, user=qa, notice_id=notice.id, reason="Wrong product", password=PASSWORD, now=later)
    with pytest.raises(ValidationFailed):
        service.withdraw(demo, user=hq, notice_id=notice.id, reason=" ", password=PASSWORD, now=later)
    service.withdraw(demo, user=hq, notice_id=notice.id, reason="The heater was not the cause.", password=PASSWORD,
                     now=later + timedelta(hours=1))
    demo.commit()
    assert service.public_notices(demo) == []  # off the index
    found = service.public_notice(demo, notice.reference)  # the page stays, saying why
    assert found.notice.status == "withdrawn" and found.notice.withdrawn_reason == "The heater was not the cause."
    assert demo.scalar(sa.select(sa.func.count()).select_from(SafetyNoticeVersion)
                       .where(SafetyNoticeVersion.notice_id == notice.id)) == 2
    # A new notice may be drafted after a withdrawal: the withdrawn one keeps its reference and history.
    fresh = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=later)
    assert fresh.notice_id != notice.id and fresh.number == 1


def test_a_published_version_cannot_be_changed_or_deleted(demo, demo_user, severe, clock):
    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    approve(demo, user=hq, notice_id=version.notice_id, password=PASSWORD, comment="", now=clock())
    demo.commit()
    with pytest.raises(sa.exc.DatabaseError):
        demo.execute(sa.update(SafetyNoticeVersion).where(SafetyNoticeVersion.id == version.id)
                     .values(models="OTHER"))
    demo.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        demo.execute(sa.delete(SafetyNotice).where(SafetyNotice.id == version.notice_id))
    demo.rollback()


def test_a_version_cannot_be_published_without_a_signature(demo, demo_user, severe, clock):
    """However it is written (an import, a script): the database refuses a published version that is not signed."""
    qa = demo_user("division.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    demo.commit()
    with pytest.raises(sa.exc.IntegrityError):
        demo.execute(sa.update(SafetyNoticeVersion).where(SafetyNoticeVersion.id == version.id)
                     .values(published_at=clock()))
    demo.rollback()


def test_the_notice_links_to_a_recall_of_its_incident_only(demo, demo_user, severe, clock):
    from qa_incidents.recalls import service as recalls

    qa = demo_user("division.qa@example.com")
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    recall = recalls.create_campaign(demo, user=qa, incident_ids=[severe.id], now=clock(), data=recalls.CampaignInput(
        title="FH-1200: replace heater", remedy="repair", countries=["JP"], units_affected=10, owner_id=qa.id))
    elsewhere = demo.scalar(sa.select(Incident.id).where(Incident.division_id == severe.division_id,
                                                         Incident.id != severe.id).limit(1))
    other = recalls.create_campaign(demo, user=qa, incident_ids=[elsewhere], now=clock(), data=recalls.CampaignInput(
        title="Another recall", remedy="repair", countries=["JP"], units_affected=10, owner_id=qa.id))
    with pytest.raises(ValidationFailed):
        service.link_recall(demo, user=qa, notice_id=version.notice_id, recall_id=other.id, now=clock())
    notice = service.link_recall(demo, user=qa, notice_id=version.notice_id, recall_id=recall.id, now=clock())
    assert notice.recall_id == recall.id
    with pytest.raises(Forbidden):
        service.link_recall(demo, user=demo_user("executive@example.com"), notice_id=notice.id, recall_id=None,
                            now=clock())


def test_publishing_tells_top_management_in_the_next_status_report(demo, demo_user, severe, clock):
    from qa_incidents.incidents import workflow
    from qa_incidents.reports import service as reports

    qa, hq = demo_user("division.qa@example.com"), demo_user("hq.qa@example.com")
    workflow.request_escalation(demo, user=qa, incident_id=severe.id, now=clock() - timedelta(hours=1),
                                reason="Carbon monoxide at a customer's home.")
    workflow.decide_escalation(demo, user=hq, incident_id=severe.id, approve=True, password=PASSWORD, comment="",
                               now=clock() - timedelta(minutes=50))
    version = service.save_draft(demo, user=qa, incident_id=severe.id, data=english(), now=clock())
    approve(demo, user=hq, notice_id=version.notice_id, password=PASSWORD, comment="", now=clock())
    pending = reports.pending_for(demo, severe.id)
    reference = demo.get(SafetyNotice, version.notice_id).reference
    assert {"kind": "safety_notice_published", "detail": f"{reference} v1"}.items() <= pending.triggers[-1].items()
