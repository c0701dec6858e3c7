"""Use cases of public product safety notices: draft, approve and publish (signed), update, link a recall, withdraw.

Services flush but never commit: the caller owns the transaction, so a change and its audit events land together.
The only way a version reaches the public page is `approve`, which records head-office QA's electronic signature
(the database refuses a published version without one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import User
from qa_incidents.core import audit
from qa_incidents.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from qa_incidents.core.i18n import LANGUAGES
from qa_incidents.core.permissions import Capability, can, can_read_division, can_work_division, scoped
from qa_incidents.core.sequences import next_value
from qa_incidents.core.signatures import sign
from qa_incidents.incidents.models import Incident
from qa_incidents.risk import service as risk
from qa_incidents.safety_notices import rules
from qa_incidents.safety_notices.models import SafetyNotice, SafetyNoticeVersion
from qa_incidents.safety_notices.rules import NoticeStatus, VersionKind

APPROVE_MEANING = "approved product safety notice for publication"
WITHDRAW_MEANING = "withdrew product safety notice"


class WrongState(DomainError):
    status_code = 409


@dataclass
class NoticeInput:
    """What the drafting form carries (texts by language, the rest the same in every language)."""

    languages: list[str] = field(default_factory=list)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    models: str = ""
    lots: str = ""
    serials: str = ""
    actions: list[str] = field(default_factory=list)
    contact_phone: str = ""
    contact_email: str = ""
    contact_url: str = ""
    kind: str = ""  # for a version after the first: update or correction


# --- who may do what ------------------------------------------------------------------------------------


def may_draft(user: User, division_id: int) -> bool:
    """The division's QA (or head-office QA) drafts the notice."""
    return can_work_division(user.actor, division_id, Capability.MANAGE_RECALLS)


def may_approve(user: User, division_id: int) -> bool:
    """Head-office QA signs it for publication (and withdraws it)."""
    return can(user.actor, Capability.APPROVE) and can_read_division(user.actor, division_id)


def _incident(session: so.Session, user: User, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or not can_read_division(user.actor, incident.division_id):
        raise NotFound(str(_l("No such incident.")))
    return incident


def may_assess(user: User, notice: SafetyNotice) -> bool:
    """Whether the user records the notice's risk assessment: whoever may draft it, until it is withdrawn."""
    return may_draft(user, notice.division_id) and notice.status != NoticeStatus.WITHDRAWN.value


def record_risk_assessment(session: so.Session, *, user: User, notice_id: int, data: risk.AssessmentInput,
                           now: datetime) -> Any:
    """Record the risk assessment behind publishing the notice (or why none is made), on the incident's timeline."""
    notice = get_notice(session, user=user, notice_id=notice_id)
    if not may_assess(user, notice):
        raise Forbidden(str(_l("Only the division's QA or head-office QA assesses the risk of a notice being "
                               "drafted or published.")))
    return risk.record(session, user=user, subject_type="safety_notice", subject_id=notice.id, subject_reference=notice.reference,
                       division_id=notice.division_id, incident_id=notice.incident_id, data=data, now=now)


def get_notice(session: so.Session, *, user: User, notice_id: int) -> SafetyNotice:
    """The notice if the user may read its incident; otherwise NotFound, never a hint that it exists."""
    notice = session.get(SafetyNotice, notice_id)
    if notice is None or not can_read_division(user.actor, notice.division_id):
        raise NotFound(str(_l("No such safety notice.")))
    return notice


def notices_for_incident(session: so.Session, *, user: User, incident_id: int) -> list[SafetyNotice]:
    stmt = scoped(sa.select(SafetyNotice).where(SafetyNotice.incident_id == incident_id), user.actor,
                  SafetyNotice.division_id)
    return list(session.scalars(stmt.order_by(SafetyNotice.id)))


def versions(session: so.Session, notice_id: int) -> list[SafetyNoticeVersion]:
    """Every version, newest first."""
    return list(session.scalars(sa.select(SafetyNoticeVersion).where(SafetyNoticeVersion.notice_id == notice_id)
                                .order_by(SafetyNoticeVersion.number.desc())))


def pending_draft(session: so.Session, notice_id: int) -> SafetyNoticeVersion | None:
    """The version being drafted (not yet signed), if there is one."""
    return session.scalar(sa.select(SafetyNoticeVersion).where(SafetyNoticeVersion.notice_id == notice_id,
                                                               SafetyNoticeVersion.published_at.is_(None)))


def latest_published(session: so.Session, notice_id: int) -> SafetyNoticeVersion | None:
    return session.scalar(sa.select(SafetyNoticeVersion).where(SafetyNoticeVersion.notice_id == notice_id,
                                                                SafetyNoticeVersion.published_at.is_not(None))
                          .order_by(SafetyNoticeVersion.number.desc()).limit(1))


def waiting_for_approval(session: so.Session, user: User, *, limit: int = 50) -> list[tuple[SafetyNotice,
                                                                                         SafetyNoticeVersion]]:
    """Versions waiting for head-office QA's signature, the longest waiting first (approvers only: no query else)."""
    if not can(user.actor, Capability.APPROVE):
        return []
    stmt = scoped(sa.select(SafetyNotice, SafetyNoticeVersion)
                  .join(SafetyNoticeVersion, SafetyNoticeVersion.notice_id == SafetyNotice.id)
                  .where(SafetyNoticeVersion.published_at.is_(None),
                         SafetyNotice.status != NoticeStatus.WITHDRAWN.value), user.actor, SafetyNotice.division_id)
    rows = session.execute(stmt.order_by(SafetyNoticeVersion.updated_at, SafetyNoticeVersion.id).limit(limit))
    return [(notice, version) for notice, version in rows]


def defaults_for(incident: Incident, language: str) -> NoticeInput:
    """A first draft from the incident: its model, lots and serials as the company wrote them, the usual advice."""
    return NoticeInput(languages=[language], models=incident.product.model, lots=incident.lot_numbers,
                       serials=incident.serial_numbers, actions=[a.value for a in rules.CustomerAction],
                       texts={language: {"product_name": incident.product.name}}, kind=VersionKind.INITIAL.value)


def input_of(version: SafetyNoticeVersion) -> NoticeInput:
    return NoticeInput(languages=list(version.languages), texts={k: dict(v) for k, v in (version.texts or {}).items()},
                       models=version.models, lots=version.lots, serials=version.serials, actions=list(version.actions),
                       contact_phone=version.contact_phone, contact_email=version.contact_email,
                       contact_url=version.contact_url, kind=version.kind)


def problems(version_or_input: SafetyNoticeVersion | NoticeInput, kind: str | None = None) -> dict[str, str]:
    """Why the version (or the form's input) could not be published, by field."""
    v = version_or_input
    return rules.content_problems(languages=v.languages, texts=v.texts or {}, actions=v.actions, models=v.models,
                                  contact_phone=v.contact_phone, contact_email=v.contact_email,
                                  contact_url=v.contact_url, kind=kind or v.kind)


def _audit(session: so.Session, notice: SafetyNotice, *, user_id: int, entity_type: str, entity_id: int, action: str,
            now: datetime, changes: dict[str, Any]) -> None:
    audit.record(session, actor_id=user_id, entity_type=entity_type, entity_id=entity_id, action=action, now=now,
                 changes=changes, incident_id=notice.incident_id)


def _cleaned(data: NoticeInput) -> dict[str, Any]:
    languages = [lang for lang in LANGUAGES if lang in data.languages]
    texts = {lang: {name: (data.texts.get(lang, {}).get(name) or "").strip() for name in rules.TEXT_FIELDS}
             for lang in LANGUAGES if lang in languages}
    return {"languages": languages, "texts": texts, "models": data.models.strip(), "lots": data.lots.strip(),
            "serials": data.serials.strip(),
            "actions": [a.value for a in rules.CustomerAction if a.value in data.actions],
            "contact_phone": data.contact_phone.strip(), "contact_email": data.contact_email.strip(),
            "contact_url": data.contact_url.strip()}


# --- drafting -------------------------------------------------------------------------------------------


def save_draft(session: so.Session, *, user: User, incident_id: int, data: NoticeInput,
               now: datetime) -> SafetyNoticeVersion:
    """Save the draft of the incident's notice: the first version, the version being drafted (changed in place), or
    a new version (an update or a correction) of a published notice. Refused unless the incident is S1/S2 and every
    language chosen is complete; audited."""
    incident = _incident(session, user, incident_id)
    if not may_draft(user, incident.division_id):
        raise Forbidden(str(_l("Only the division's QA or head-office QA drafts a safety notice.")))
    severity = incident.severity.value if incident.severity is not None else None
    if (why := rules.severity_refusal(severity)) is not None:
        raise WrongState(why)
    notice = session.scalar(sa.select(SafetyNotice).where(SafetyNotice.incident_id == incident.id,
                                                          SafetyNotice.status != NoticeStatus.WITHDRAWN.value)
                            .order_by(SafetyNotice.id.desc()).limit(1))
    draft = pending_draft(session, notice.id) if notice is not None else None
    if draft is not None:
        kind = draft.kind
    elif notice is None or notice.status == NoticeStatus.DRAFT.value:
        kind = VersionKind.INITIAL.value
    else:
        kind = data.kind if data.kind in (VersionKind.UPDATE.value, VersionKind.CORRECTION.value) else ""
    errors = problems(data, kind or VersionKind.UPDATE.value)
    if not kind:
        errors["kind"] = str(_l("Say whether this version is an update or a correction."))
    if errors:
        raise ValidationFailed(errors)
    values = _cleaned(data)
    if notice is None:
        number = next_value(session, f"safety-notice-{now.year}")
        notice = SafetyNotice(reference=f"SN-{now.year}-{number:04d}", incident_id=incident.id,
                              division_id=incident.division_id, status=NoticeStatus.DRAFT.value, created_by_id=user.id,
                              created_at=now, withdrawn_reason="")
        session.add(notice)
        session.flush()
        _audit(session, notice, user_id=user.id, entity_type="safety_notice", entity_id=notice.id, action="created",
                now=now, changes={"reference": [None, notice.reference]})
    if draft is None:
        latest = session.scalar(sa.select(sa.func.max(SafetyNoticeVersion.number))
                                .where(SafetyNoticeVersion.notice_id == notice.id)) or 0
        draft = SafetyNoticeVersion(notice_id=notice.id, number=latest + 1, kind=kind, drafted_by_id=user.id,
                                    drafted_at=now, updated_by_id=user.id, updated_at=now, **values)
        session.add(draft)
        session.flush()
        _audit(session, notice, user_id=user.id, entity_type="safety_notice_version", entity_id=draft.id,
                action="drafted", now=now, changes={"number": [None, draft.number], "kind": [None, kind],
                                                     **audit.field_changes({}, audit.jsonable(values))})
        _tell_approvers(session, notice=notice, version=draft, incident=incident, drafter=user, now=now)
        return draft
    before = {name: audit.jsonable(getattr(draft, name)) for name in values}
    for name, value in values.items():
        setattr(draft, name, value)
    draft.updated_by_id, draft.updated_at = user.id, now
    session.flush()
    _audit(session, notice, user_id=user.id, entity_type="safety_notice_version", entity_id=draft.id,
            action="draft_changed", now=now, changes=audit.field_changes(before, audit.jsonable(values)))
    return draft


def _tell_approvers(session: so.Session, *, notice: SafetyNotice, version: SafetyNoticeVersion, incident: Incident,
                    drafter: User, now: datetime) -> None:
    """E-mail head-office QA (but the drafter) that a version waits for their signature; once per version."""
    from flask_babel import gettext

    from qa_incidents.accounts.service import people
    from qa_incidents.core import outbox
    from qa_incidents.core.permissions import Role

    recipients = [p for p in people(session, roles={Role.HEAD_OFFICE_QA}) if p.email != drafter.email]

    def compose(reader: outbox.Reader) -> tuple[str, str]:
        return (gettext("Safety notice to approve: %(ref)s version %(n)d (%(incident)s)", ref=notice.reference,
                        n=version.number, incident=incident.reference),
                gettext("%(name)s drafted version %(n)d of the public safety notice %(ref)s for %(incident)s "
                        "%(title)s.", name=drafter.name, n=version.number, ref=notice.reference,
                        incident=incident.reference, title=incident.title) + "\n\n"
                + gettext("Drafted at: %(when)s", when=reader.datetime(now)) + "\n"
                + gettext("It is published only once head-office QA signs it (My work, Safety notices to approve).")
                + "\n")

    outbox.enqueue_localised(session, people=recipients, compose=compose, now=now, incident_id=incident.id,
                             dedupe_key=f"safety-notice-drafted:{version.id}")


# --- approval and publication ---------------------------------------------------------------------------


def drafters(session: so.Session, version: SafetyNoticeVersion) -> set[int]:
    """Everyone who drafted or changed the version (from its audit trail): none of them may sign it."""
    from qa_incidents.core.audit import AuditEvent

    found = set(session.scalars(sa.select(AuditEvent.actor_id).where(
        AuditEvent.entity_type == "safety_notice_version", AuditEvent.entity_id == version.id,
        AuditEvent.action.in_(("drafted", "draft_changed")), AuditEvent.actor_id.is_not(None))))
    return {i for i in found if i is not None} | {version.drafted_by_id, version.updated_by_id}


def approve(session: so.Session, *, user: User, notice_id: int, password: str, comment: str,
            now: datetime) -> SafetyNoticeVersion:
    """Head-office QA signs the version being drafted and it is published at once; whoever drafted or edited it may
    not sign it. Refused for an incident no longer S1/S2, an incomplete language or a withdrawn notice."""
    notice = get_notice(session, user=user, notice_id=notice_id)
    if not may_approve(user, notice.division_id):
        raise Forbidden(str(_l("Only head-office QA approves a safety notice for publication.")))
    if notice.status == NoticeStatus.WITHDRAWN.value:
        raise WrongState(str(_l("This notice was withdrawn: it is not published again.")))
    draft = pending_draft(session, notice.id)
    if draft is None:
        raise WrongState(str(_l("No version is waiting for approval.")))
    incident = session.get(Incident, notice.incident_id)
    severity = incident.severity.value if incident is not None and incident.severity is not None else None
    if (why := rules.severity_refusal(severity)) is not None:
        raise WrongState(why)
    errors = problems(draft)
    assessment = risk.latest(session, "safety_notice", notice.id)
    if (missing := risk.missing_problem(assessment)) is not None:
        errors["risk_assessment"] = missing
    if errors:
        raise ValidationFailed({"publish": " ".join(sorted(set(errors.values())))})
    content = {**draft.content(), "risk_assessment": risk.signed_summary(assessment)}
    signature = sign(session, user=user, password=password, meaning=APPROVE_MEANING,
                     entity_type="safety_notice_version", entity_id=draft.id, content=content, now=now,
                     prepared_by=drafters(session, draft) | ({assessment.assessed_by_id} if assessment else set()),
                     comment=comment,
                     incident_id=notice.incident_id)
    draft.signature_id, draft.published_at = signature.id, now
    was = notice.status
    notice.status = NoticeStatus.PUBLISHED.value
    notice.first_published_at = notice.first_published_at or now
    session.flush()
    _audit(session, notice, user_id=user.id, entity_type="safety_notice_version", entity_id=draft.id,
            action="published", now=now, changes={"number": [None, draft.number], "status": [was, notice.status],
                                                  "languages": [None, list(draft.languages)],
                                                  "signature": [None, signature.content_sha256]})
    if incident is not None:  # top management hears of it in the next status report (when the incident is reported on)
        from qa_incidents.reports.service import Trigger, trigger

        trigger(session, incident=incident, kind=Trigger.SAFETY_NOTICE_PUBLISHED, now=now,
                detail=f"{notice.reference} v{draft.number}")
    return draft


def withdraw(session: so.Session, *, user: User, notice_id: int, reason: str, password: str,
             now: datetime) -> SafetyNotice:
    """Head-office QA withdraws the notice with a reason and a signature: it leaves the public index, its page says
    it was withdrawn and why, and every version stays on record."""
    notice = get_notice(session, user=user, notice_id=notice_id)
    if not may_approve(user, notice.division_id):
        raise Forbidden(str(_l("Only head-office QA withdraws a safety notice.")))
    if notice.status == NoticeStatus.WITHDRAWN.value:
        raise WrongState(str(_l("This notice is already withdrawn.")))
    if not reason.strip():
        raise ValidationFailed({"reason": str(_l("Say why the notice is withdrawn."))})
    signature = sign(session, user=user, password=password, meaning=WITHDRAW_MEANING, entity_type="safety_notice",
                     entity_id=notice.id, content={"reference": notice.reference, "reason": reason.strip()}, now=now,
                     prepared_by=[], comment=reason, incident_id=notice.incident_id)
    was = notice.status
    notice.status, notice.withdrawn_at = NoticeStatus.WITHDRAWN.value, now
    notice.withdrawn_reason, notice.withdraw_signature_id = reason.strip(), signature.id
    session.flush()
    _audit(session, notice, user_id=user.id, entity_type="safety_notice", entity_id=notice.id, action="withdrawn",
            now=now, changes={"status": [was, notice.status], "reason": [None, notice.withdrawn_reason]})
    return notice


def recall_choices(session: so.Session, notice: SafetyNotice, user: User) -> list[Any]:
    """The recalls of the notice's incident (those a notice may point customers to) that the user may read."""
    from qa_incidents.recalls.models import RecallCampaign, RecallIncident

    stmt = (sa.select(RecallCampaign).join(RecallIncident, RecallIncident.recall_id == RecallCampaign.id)
            .where(RecallIncident.incident_id == notice.incident_id).order_by(RecallCampaign.id))
    return list(session.scalars(scoped(stmt, user.actor, RecallCampaign.division_id)))


def link_recall(session: so.Session, *, user: User, notice_id: int, recall_id: int | None,
                now: datetime) -> SafetyNotice:
    """Point the notice to the recall that follows it (one of its incident's recalls), or to none; audited. The
    public page links to the recall's own page once that recall is public."""
    notice = get_notice(session, user=user, notice_id=notice_id)
    if not may_draft(user, notice.division_id):
        raise Forbidden(str(_l("Only the division's QA or head-office QA links a recall to the notice.")))
    if notice.status == NoticeStatus.WITHDRAWN.value:
        raise WrongState(str(_l("This notice was withdrawn.")))
    recall = None
    if recall_id is not None:
        recall = next((r for r in recall_choices(session, notice, user) if r.id == recall_id), None)
        if recall is None:
            raise ValidationFailed({"recall_id": str(_l("Choose a recall of this notice's incident."))})
    from qa_incidents.recalls.models import RecallCampaign

    before = session.get(RecallCampaign, notice.recall_id) if notice.recall_id else None
    notice.recall_id = recall.id if recall is not None else None
    session.flush()
    _audit(session, notice, user_id=user.id, entity_type="safety_notice", entity_id=notice.id, action="recall_linked",
            now=now, changes={"recall": [before.reference if before else None,
                                         recall.reference if recall else None]})
    return notice


# --- the public page ------------------------------------------------------------------------------------


@dataclass
class PublicNotice:
    notice: SafetyNotice
    version: SafetyNoticeVersion  # the latest published version
    language: str  # the language the page is shown in
    languages: list[str]  # the languages that version is published in
    history: list[SafetyNoticeVersion]  # every published version, newest first
    recall_reference: str | None  # the linked recall, when its own public page is up


def _language_for(version: SafetyNoticeVersion, wanted: str | None) -> str:
    return wanted if wanted in version.languages else version.languages[0]


def public_notice(session: so.Session, reference: str, language: str | None = None) -> PublicNotice | None:
    """A notice customers may read (published, or withdrawn after it was published); None otherwise."""
    from qa_incidents.recalls.models import RecallCampaign
    from qa_incidents.recalls.service import public_campaign

    notice = session.scalar(sa.select(SafetyNotice).where(SafetyNotice.reference == reference.strip().upper()))
    if notice is None or notice.status == NoticeStatus.DRAFT.value:
        return None
    history = [v for v in versions(session, notice.id) if v.published_at is not None]
    if not history:
        return None
    recall_reference = None
    if notice.recall_id is not None:
        recall = session.get(RecallCampaign, notice.recall_id)
        if recall is not None and public_campaign(session, recall.reference) is not None:
            recall_reference = recall.reference
    latest = history[0]
    return PublicNotice(notice=notice, version=latest, language=_language_for(latest, language),
                        languages=list(latest.languages), history=history, recall_reference=recall_reference)


def public_notices(session: so.Session, language: str | None = None) -> list[tuple[SafetyNotice, SafetyNoticeVersion,
                                                                                  str]]:
    """Every published notice for the public index, the latest update first: (notice, latest version, language).
    Two queries whatever the number of notices."""
    notices = {n.id: n for n in session.scalars(sa.select(SafetyNotice)
                                                .where(SafetyNotice.status == NoticeStatus.PUBLISHED.value))}
    latest: dict[int, SafetyNoticeVersion] = {}
    if notices:
        for version in session.scalars(sa.select(SafetyNoticeVersion).where(
                SafetyNoticeVersion.notice_id.in_(sorted(notices)), SafetyNoticeVersion.published_at.is_not(None))
                .order_by(SafetyNoticeVersion.number)):
            latest[version.notice_id] = version  # the highest number wins
    out = [(notices[notice_id], version, _language_for(version, language)) for notice_id, version in latest.items()]
    out.sort(key=lambda row: (row[1].published_at, row[0].id), reverse=True)  # type: ignore[arg-type, return-value]
    return out
