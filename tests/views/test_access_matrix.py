"""The access-control matrix: every route of the URL map, every method it accepts, for each role, users of
another division and an anonymous visitor, checked against the one table in access_matrix.py.

One world per module: division A (Home Appliances) holds an incident with every kind of record hanging off
it (comment, attachment, regulator notification record, status report, recalls, reviews, countermeasure,
deployment, lesson, import run, lesson subscription, API tokens); each URL rule is filled with the ids of
those records and each persona asks for it, as a browser (with its CSRF token, so that permission is tested
and not CSRF) or as an API client (with its own bearer token).

Allowed: neither 401, 403, 404, 405 nor the log-in page. Refused: the log-in page (anonymous), 401 (API),
403 or 404, and for a state-changing request no new audit event. Whatever the status, nothing that a user
who may not read division A gets (the answer, its headers, a message flashed for the next page) contains
division A's incident titles, references, or the markers in its description, comment and attachment.
A route missing from the table fails, so every new route must be classified there.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from access_matrix import DIVISION_A, MATRIX, OTHER, PERSONAS, Persona, allowed, rule_for
from flask import Flask
from flask.testing import FlaskClient
from view_helpers import DEMO_PASSWORD, csrf_token, form_with, login, text
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

import config
from qa_incidents import create_app
from qa_incidents.alerts.models import ProductPart
from qa_incidents.complaints.models import ComplaintSignal
from qa_incidents.core.db import Base, make_engine, make_session_factory
from tests.risk_helpers import R_MAP_A

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_PG = PG_URL.startswith("postgresql")
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # the frozen clock of the view tests

SECRET_TITLE = "Zanzibar ice-maker hinge cracked"
DESCRIPTION_MARKER = "ZQ-DESC-4417"
COMMENT_MARKER = "ZQ-COMMENT-2291"
FILE_MARKER = "ZQ-FILE-8830"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    app: Flask
    session_factory: so.sessionmaker[so.Session]
    args: dict[str, Any]  # URL rule argument name -> division A's value
    secrets: list[str]  # what only readers of division A may see
    tokens: dict[str, str] = field(default_factory=dict)  # persona -> API bearer token
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def audit_events(self) -> int:
        from qa_incidents.core.audit import AuditEvent

        with self.session_factory() as s:
            return s.scalar(sa.select(sa.func.count(AuditEvent.id))) or 0


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _by(session: so.Session, entity: Any, **where: Any) -> Any:
    return session.scalar(sa.select(entity).filter_by(**where).limit(1))


def saml_idp_id(session: so.Session, slug: str) -> int:
    from qa_incidents.sso.models import IdentityProvider

    return session.scalar(sa.select(IdentityProvider.id).where(IdentityProvider.slug == slug))  # type: ignore[return-value]


def _identity_providers(session: so.Session, *, admin_id: int, now: datetime) -> tuple[str, str, int]:
    """A SAML identity provider (real metadata) and an OpenID Connect one that cannot be reached, with a mapping."""
    import tempfile
    from pathlib import Path

    from sso_idp_saml import SamlIdp

    from qa_incidents.core.permissions import Role
    from qa_incidents.sso import service as sso
    from qa_incidents.sso.models import Protocol

    with tempfile.TemporaryDirectory() as directory:
        idp = SamlIdp(Path(directory))
        metadata = idp.metadata()
        idp._server.server_close()
    saml = sso.save_provider(session, data=sso.ProviderInput(slug="matrix-saml", name="Matrix SAML", protocol=Protocol.SAML,
                                                             idp_metadata=metadata), provider_id=None, actor_id=admin_id, now=now)
    sso.save_provider(session, data=sso.ProviderInput(slug="matrix-oidc", name="Matrix OIDC", protocol=Protocol.OIDC,
                                                      issuer="http://127.0.0.1:9", client_id="matrix"),
                      provider_id=None, actor_id=admin_id, now=now)
    mapping = sso.add_mapping(session, provider_id=saml.id, value="QA", role=Role.REPORTER, division_id=None, priority=1,
                              actor_id=admin_id, now=now)
    return "matrix-saml", "matrix-oidc", mapping.id


def build_world(session: so.Session, app: Flask) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """Division A's records, made through the services; returns the URL arguments, secrets and API tokens."""
    from qa_incidents.accounts.models import Division, User
    from qa_incidents.api import importer
    from qa_incidents.api import tokens as api_tokens
    from qa_incidents.api.models import ApiToken, ImportRun
    from qa_incidents.catalogue.models import Product, ProductCategory
    from qa_incidents.incidents import service as incidents
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.models import Incident
    from qa_incidents.incidents.rules import Hazard, IncidentFacts, Severity, Source, Status
    from qa_incidents.laws.models import Amendment, Jurisdiction, Law, Obligation
    from qa_incidents.laws.service import save_amendment
    from qa_incidents.notifications.models import NotificationRecord
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.seed import _png
    from qa_incidents.reports import service as reports
    from qa_incidents.reviews import lessons
    from qa_incidents.reviews import service as reviews
    from qa_incidents.reviews.models import Lesson
    from qa_incidents.reviews.rules import CountermeasureType, Dimension
    from qa_incidents.seed import load_demo

    storage = app.extensions["qa_storage"]
    load_demo(session, now=NOW - timedelta(days=60))
    division_a = _by(session, Division, code="HA")
    cable = _by(session, Division, code="CM")
    users = {u.email: u for u in session.scalars(sa.select(User))}
    assert users["cable.qa@example.com"].division_id == cable.id  # the demo's cable division QA manager
    reporter, qa, hq = users["reporter@example.com"], users["division.qa@example.com"], users["hq.qa@example.com"]
    product = _by(session, Product, model="R-HW540")
    t0 = NOW - timedelta(days=40)

    incident = incidents.file_incident(session, user=reporter, now=t0, facts=IncidentFacts(
        division_id=division_a.id, product_id=product.id, title=SECRET_TITLE, lot_numbers="L2609-11",
        serial_numbers="", country="JP", place="Nerima, Tokyo", occurred_at=t0 - timedelta(hours=20),
        aware_at=t0 - timedelta(hours=2), source=Source.CUSTOMER_COMPLAINT, hazard=Hazard.FIRE_BURN, deaths=0,
        serious_injuries=1, minor_injuries=0, fire=True, smoke=True, co_poisoning=False, property_damage=True,
        no_harm=False, units_in_field=48200,
        description=f"The ice-maker hinge cracked and the door fell on the customer's foot. {DESCRIPTION_MARKER}"))
    incidents.add_comment(session, user=reporter, incident_id=incident.id, now=t0,
                          body=f"Customer called again. {COMMENT_MARKER}")
    stored = storage.put(io.BytesIO(f"hinge inspection log {FILE_MARKER}\n".encode()))
    attachment = incidents.add_attachment(session, user=reporter, incident_id=incident.id, filename="hinge-log.txt",
                                          stored=stored, now=t0)
    workflow.triage(session, user=qa, incident_id=incident.id, severity=Severity.S1, now=t0 + timedelta(hours=1),
                    override_reason="Serious injury: the matrix is overruled for this test world.")
    workflow.request_escalation(session, user=qa, incident_id=incident.id, now=t0 + timedelta(hours=2),
                                reason="A serious injury at a customer's home.")
    report = reports.issue(session, incident=incident, now=t0 + timedelta(hours=3))
    # A second incident of division A, triaged S4: the state from which triage and the simple actions start.
    smoke = _by(session, Incident, title="Indoor unit emitted smoke, breaker tripped")
    workflow.triage(session, user=qa, incident_id=smoke.id, severity=Severity.S4, now=t0,
                    override_reason="Minor: no flame, the breaker did its job.")
    record = session.scalar(sa.select(NotificationRecord).where(NotificationRecord.incident_id == incident.id)
                            .order_by(NotificationRecord.id).limit(1))
    assert record is not None, "the S1 fire in Japan owes a regulator notification"

    # A launched recall with a published notice, a mailing, an advert and progress.
    start = NOW - timedelta(days=70)
    recall = recalls.create_campaign(session, user=qa, incident_ids=[incident.id], now=start, data=recalls.CampaignInput(
        title="R-HW540 ice-maker hinge: replace hinge", remedy="repair", description="Replacement hinge fitted at home.",
        countries=["JP", "US"], units_affected=48200, target_percent=90, stall_weeks=4,
        report_regimes=["US-CPSC-MPR"], owner_id=qa.id))
    line = recalls.add_population_line(session, user=qa, recall_id=recall.id, exclude=False, model="R-HW540", lot="",
                                       serial_first="AB-100000", serial_last="AB-199999", units=48200, note="",
                                       now=start)
    recalls.record_risk_assessment(session, user=qa, recall_id=recall.id, now=start, data=R_MAP_A)
    recalls.launch(session, user=hq, recall_id=recall.id, password=DEMO_PASSWORD, comment="Launch", now=start)
    picture = storage.put(io.BytesIO(_png()))
    notice = recalls.add_web_notice(session, user=qa, recall_id=recall.id, picture=picture, picture_name="hinge.png",
                                    keep_picture_from=None, now=start + timedelta(hours=1), content={
        "heading": "Product safety recall", "product_name": "French-door refrigerator 540 L (R-HW540)",
        "brand": "Acme", "identification": "Serial numbers AB-100000 to AB-199999 inside the door.",
        "where_sold": "Japan and the United States, 2025-2026.", "units": "About 48,200 units.",
        "hazard": "The ice-maker door hinge can crack and the door can fall.", "incidents": "One injury.",
        "what_to_do": "Do not open the ice-maker door fully.", "remedy": "We replace the hinge free of charge.",
        "contact": "Recall desk 0120-000-000"})
    recalls.publish_web_notice(session, user=qa, recall_id=recall.id, notice_id=notice.id, now=start + timedelta(hours=2))
    recalls.record_progress(session, user=qa, recall_id=recall.id, now=start + timedelta(days=7),
                            data=recalls.ProgressInput(recorded_on=(start + timedelta(days=7)).date(), country="JP",
                                                       channel="email", located=900, notified=2000, replaced=400))
    period = recalls.report_schedule(recall, today=NOW.date())[0]
    # A published safety notice of the S1 incident, with an update waiting for head-office QA's signature.
    from qa_incidents.safety_notices import service as safety_notices

    notice_input = safety_notices.NoticeInput(
        languages=["en"], models="R-HW540", lots="L2609-11", actions=["stop_using", "contact"],
        contact_phone="0120-000-000", texts={"en": {"heading": "Safety notice", "product_name": "Refrigerator",
                                                    "what_happened": "An ice-maker door hinge cracked."}})
    first_notice = safety_notices.save_draft(session, user=qa, incident_id=incident.id, data=notice_input, now=start)
    safety_notices.record_risk_assessment(session, user=qa, notice_id=first_notice.notice_id, now=start,
                                          data=R_MAP_A)
    safety_notices.approve(session, user=hq, notice_id=first_notice.notice_id, password=DEMO_PASSWORD, comment="",
                           now=start)
    notice_input.kind, notice_input.texts["en"]["change_note"] = "update", "A recall follows."
    safety_notices.save_draft(session, user=qa, incident_id=incident.id, data=notice_input, now=start)
    safety_notice = session.get(safety_notices.SafetyNotice, first_notice.notice_id)
    # The cable division's own recall and review, into which its staff will try to pull division A's incident.
    cable_qa = users["cable.qa@example.com"]
    cable_incident = _by(session, Incident, title="Overheated rolling-stock cable in depot test")
    cable_recall = recalls.create_campaign(session, user=cable_qa, incident_ids=[cable_incident.id], now=t0,
                                          data=recalls.CampaignInput(title="RS-FR95 joint: re-crimp", remedy="repair",
                                                                     countries=["GB"], units_affected=1800,
                                                                     target_percent=90, stall_weeks=4,
                                                                     owner_id=cable_qa.id))
    cable_incident.severity, cable_incident.status = Severity.S3, Status.TRIAGED  # a review starts on a triaged incident
    cable_review = reviews.start_review(session, user=cable_qa, incident_ids=[cable_incident.id], now=t0,
                                        title="Crimped joint hot spot")
    being_prepared = recalls.create_campaign(session, user=qa, incident_ids=[incident.id], now=t0, data=recalls.CampaignInput(
        title="R-HW540 door seal: inspect", remedy="repair", countries=["JP"], units_affected=100, target_percent=90,
        stall_weeks=4, owner_id=qa.id))

    # A draft review of the incident, and an approved one whose lesson is published.
    draft = reviews.start_review(session, user=qa, incident_ids=[incident.id], title="Hinge crack: draft review", now=t0)
    approved = reviews.start_review(session, user=qa, incident_ids=[incident.id], title="Hinge crack", now=t0)
    reviews.update_review(session, user=qa, review_id=approved.id, expected_version=approved.version, now=t0,
                          data=reviews.ReviewInput(
        title="Hinge crack", meeting_on=t0.date(), participants="Division QA, design",
        phenomenon="The ice-maker door hinge cracked.", failure_mode="Structural failure",
        mechanism="The hinge pin boss was too thin for the door's weight.", process_stage="design",
        process_cause="The boss thickness was reduced in a cost-down change.",
        escape_reason="The life test used an empty door.", framework_cause="No worst-case load rule in the DR checklist.",
        motivating_factors=["cost"], motivating_cause="Cost-down target.",
        design_review_checks="Is every hinge tested with the door fully loaded?"))
    reviews.add_why_step(session, user=qa, review_id=approved.id, dimension=Dimension.TECHNICAL, now=t0,
                         question="Why did the hinge crack?", answer="The boss was too thin.", evidence="FEA report")
    countermeasure = reviews.add_countermeasure(session, user=qa, review_id=approved.id, now=t0,
                                                data=reviews.CountermeasureInput(
        dimension=Dimension.PROCESS, kind=CountermeasureType.ELIMINATE_CAUSE, description="Thicker hinge boss",
        owner_id=qa.id, due_on=t0.date() + timedelta(days=30), check_method="Life test with a loaded door"))
    deployment = reviews.add_deployment(session, user=qa, countermeasure_id=countermeasure.id,
                                        division_id=division_a.id, target="Two-door refrigerator R-S38", now=t0)
    # Horizontal deployment: the cable division is asked whether the countermeasure applies to its products.
    reviews.add_deployment(session, user=qa, countermeasure_id=countermeasure.id, division_id=cable.id,
                           target="Rolling-stock cable drum hinges", now=t0)
    # Every dimension that found a cause is answered (a full review's approval is refused otherwise).
    for dimension, what, tier in ((Dimension.TECHNICAL, "Hinge boss sized for a loaded door", "design"),
                                  (Dimension.FRAMEWORK, "Worst-case load rule in the DR checklist", ""),
                                  (Dimension.MOTIVATING, "Cost-down changes pass a load review", "")):
        reviews.add_countermeasure(session, user=qa, review_id=approved.id, now=t0, data=reviews.CountermeasureInput(
            dimension=dimension, kind=CountermeasureType.ELIMINATE_CAUSE, description=what, owner_id=qa.id,
            due_on=t0.date() + timedelta(days=30), safety_tier=tier))
    reviews.submit_review(session, user=qa, review_id=approved.id, now=t0)
    reviews.approve_review(session, user=hq, review_id=approved.id, password=DEMO_PASSWORD, comment="Approved", now=t0)
    lesson = session.scalar(sa.select(Lesson).order_by(Lesson.id.desc()).limit(1))
    kind, values = next((k, lessons.facet_values(session, k)) for k in lessons.SUBSCRIPTION_KINDS
                        if lessons.facet_values(session, k))
    subscription = lessons.subscribe(session, user=reporter, kind=kind, value=values[0], now=t0)
    from qa_incidents.incidents import saved_views

    saved_view = saved_views.save(session, user=reporter, name="Matrix view", query="status=reported", now=t0)

    # A lesson an import proposed (by division A's QA manager), waiting for head-office QA's signed review.
    from qa_incidents.api import pending_lessons

    fda_row = {**lessons.read_sample()[0], "Recall Event ID": "990001"}  # an event the library does not have
    assert pending_lessons.propose(session, record=fda_row, incident_id=incident.id, user=qa, now=t0) == "created"
    proposed = pending_lessons.waiting(session)[0]

    profile = importer.load_profile(session, "nhtsa-complaints")
    sample = importer.sample_path("nhtsa_complaints.csv.gz")
    with sample.open("rb") as f:
        source = storage.put(f)
    run = ImportRun(created_by_id=reporter.id, created_at=t0, filename=sample.name, file_sha256=source.sha256,
                    profile_name=profile.name, definition=profile.to_dict(), status="draft", report=[], error="")
    session.add(run)
    law = session.scalar(sa.select(Law).order_by(Law.id).limit(1))
    amendment = session.scalar(sa.select(Amendment).order_by(Amendment.id).limit(1)) or save_amendment(
        session, data={"law_id": law.id, "title": "Amendment for the matrix", "enforced_on": date(2027, 4, 1)},
        amendment_id=None, actor_id=None, now=t0)
    tokens = {}
    for persona in PERSONAS:
        user = users.get(persona.email or "")
        if user is not None and persona.holds_token:
            _, tokens[persona.name] = api_tokens.create_token(session, user=user, name="matrix", now=t0)
    spare, _ = api_tokens.create_token(session, user=reporter, name="to revoke", now=t0)
    session.flush()
    assert session.get(ApiToken, spare.id) is not None

    from qa_incidents.complaints import rules as complaint_rules
    from qa_incidents.complaints import service as complaints

    qa_a = session.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    for week in range(8, 0, -1):
        complaints.log_complaint(session, user=qa_a, now=t0, data=complaint_rules.ComplaintIn(
            source="matrix", external_id=f"m{week}", model=product.model, symptom="NOISE", country="JP",
            received_at=t0 - timedelta(weeks=week), text="Hums"))
    for k in range(9):
        complaint = complaints.log_complaint(session, user=qa_a, now=t0, data=complaint_rules.ComplaintIn(
            source="matrix", external_id=f"now{k}", model=product.model, symptom="NOISE", country="JP",
            received_at=t0 - timedelta(hours=k + 1), text="Smoke and a hum", customer_contact="secret@example.jp"))
    complaints.scan(session, now=t0)
    signal_id = session.scalar(sa.select(sa.func.max(ComplaintSignal.id)))

    # A group-wide alert about the incident, addressed to the cable division and answered with a file. Made as rows:
    # the world's incident waits for its escalation decision, before which the service sends no alert.
    from qa_incidents.alerts import service as group_alerts
    from qa_incidents.alerts.models import GroupAlert, GroupAlertDivision

    alert = GroupAlert(incident_id=incident.id, subject="Check hinge pins from Kanto Hinge", message="Pins cracked.",
                       due_on=NOW.date() + timedelta(days=7), created_by_id=hq.id, created_at=t0)
    session.add(alert)
    session.flush()
    session.add(GroupAlertDivision(alert_id=alert.id, division_id=cable.id, basis="same supplier Kanto Hinge (EX-15A3)"))
    session.flush()
    alert_answer = group_alerts.answer_alert(
        session, user=cable_qa, alert_id=alert.id, answer="investigating", evidence="Checking cable drum hinges.",
        stored=storage.put(io.BytesIO(b"drum hinge check log\n")), filename="drum-hinges.txt", now=t0)

    # Compliance register: a certificate (with its file) of division A's model, and the demo amendment's re-assessment.
    from qa_incidents.laws import compliance
    from qa_incidents.laws.models import ReassessmentTask

    evidence = compliance.add_evidence(
        session, actor=hq.actor, product_id=product.id, stored=storage.put(io.BytesIO(b"matrix certificate\n")),
        filename="certificate.txt", now=t0, data=compliance.EvidenceInput(
            law_id=session.scalar(sa.select(Law.id).where(Law.short_name == "JP-PSE")), kind="certificate",
            issuer="JET", number="MATRIX-1", issued_on=t0.date()))
    reassessment = session.scalar(sa.select(ReassessmentTask).where(ReassessmentTask.product_id == product.id))

    from qa_incidents.reviews import vocabulary

    vocabulary.ensure_loaded(session)
    saml_idp, oidc_idp, mapping_id = _identity_providers(session, admin_id=users["admin@example.com"].id, now=t0)
    from qa_incidents.alerts import service as alert_service

    part = (session.scalar(sa.select(ProductPart).where(ProductPart.product_id == product.id))
            or alert_service.add_part(session, product_id=product.id, kind="part", code="PR-7", name="Relay",
                                      supplier="Kanto Relay Co.", actor_id=None, now=start))
    session.commit()
    args = {
        "complaint_id": complaint.id, "signal_id": signal_id,
        "term_id": session.scalar(sa.select(sa.func.min(vocabulary.QaTerm.id))),
        "slug": saml_idp, "oidc_slug": oidc_idp, "provider_id": saml_idp_id(session, saml_idp),
        "mapping_id": mapping_id, "safety_notice_id": safety_notice.id, "safety_reference": safety_notice.reference,
        "incident_id": incident.id, "attachment_id": attachment.id, "record_id": record.id, "number": report.number,
        "action": "close", "recall_id": recall.id, "line_id": line.id, "notice_id": notice.id,
        "sha256": picture.sha256, "reference": recall.reference, "regime": period.regime_code,
        "label": period.label, "review_id": draft.id, "countermeasure_id": countermeasure.id,
        "deployment_id": deployment.id, "alert_id": alert.id, "answer_id": alert_answer.id, "lesson_id": lesson.id,
        "subscription_id": subscription.id, "view_id": saved_view.id,
        "run_id": run.id, "token_id": spare.id, "pending_id": proposed.id, "kind": "register", "fmt": "csv", "name": "incidents_by_month",
        "evidence_id": evidence.id, "task_id": reassessment.id, "technical_law_id": evidence.law_id,
        "law_id": law.id, "obligation_id": session.scalar(sa.select(sa.func.min(Obligation.id))),
        "amendment_id": amendment.id, "jurisdiction_id": session.scalar(sa.select(sa.func.min(Jurisdiction.id))),
        "category_id": product.category_id, "product_id": product.id, "user_id": reporter.id,
        "part_id": part.id,
        "division_id": division_a.id, "filename": "style.css", "rest": "no-such-thing",
        "triaged_incident_id": smoke.id, "draft_recall_id": being_prepared.id, "cable_recall_id": cable_recall.id,
        "cable_review_id": cable_review.id, "reference_a": incident.reference, "product_a": product.id, "incident_version": incident.version, "facts": incidents.facts_of(incident),
    }
    assert session.get(ProductCategory, product.category_id) is not None
    assert (division_a.id, cable.id) == (DIVISION_A, OTHER), "the table's division ids follow the demo data"
    a_incidents = list(session.scalars(sa.select(Incident).where(Incident.division_id == division_a.id)))
    secrets = [DESCRIPTION_MARKER, COMMENT_MARKER, FILE_MARKER, *(i.title for i in a_incidents),
               *(i.reference for i in a_incidents)]
    return args, secrets, tokens


@pytest.fixture(scope="module")
def world(_template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app, one database and one world for the whole matrix (the allowed state-changing requests may
    change it, which is why they run after every read)."""
    base = tmp_path_factory.mktemp("access_matrix")
    if ON_PG:
        url = PG_URL
        engine = make_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        shutil.copyfile(_template_db, base / "matrix.sqlite3")
        engine = make_engine(f"sqlite:///{base / 'matrix.sqlite3'}")
    app = create_app(config.TestConfig(), ENGINE=engine, CLOCK=_Clock(NOW), ATTACHMENT_DIR=str(base / "attachments"),
                     INSTANCE_DIR=str(base))
    factory = make_session_factory(engine)
    with app.app_context(), factory() as session:
        args, secrets, tokens = build_world(session, app)
        session.commit()
    yield World(app=app, session_factory=factory, args=args, secrets=secrets, tokens=tokens)
    engine.dispose()


def path_of(rule: Rule, args: dict[str, Any]) -> str:
    """The rule's URL with division A's records in its arguments."""
    return re.sub(r"<(?:[\w]+(?:\([^)]*\))?:)?(\w+)>", lambda m: str(args[m.group(1)]), rule.rule)


def client_for(world: World, persona: Persona) -> FlaskClient:
    """The persona's browser, logged in once (anonymous: a browser that never logs in)."""
    if persona.name not in world.clients:
        client = world.app.test_client()
        if persona.email:
            assert login(client, persona.email).status_code == 302
        world.clients[persona.name] = client
        world.csrf[persona.name] = csrf_token(client, "/account" if persona.email else "/login")
    return world.clients[persona.name]


def _read(response: TestResponse) -> TestResponse:
    response.get_data()  # buffered, so a file sent from storage is closed at once
    response.close()
    return response



# --- what each request carries ---------------------------------------------------------------------------------

#: Routes asked about another of division A's records than the default one.
OTHER_ARGS: dict[str, dict[str, str]] = {
    "workflow.triage": {"incident_id": "triaged_incident_id"},
    "workflow.act": {"incident_id": "triaged_incident_id"},
    "recalls.launch": {"recall_id": "draft_recall_id"},
    "sso.login": {"slug": "oidc_slug"},
    "sso.oidc_callback": {"slug": "oidc_slug"},
    "compliance.technical_form": {"law_id": "technical_law_id"},
}
#: Routes that need a query string to name their record.
QUERIES: dict[str, str] = {"reviews.new": "?incident={incident_id}", "recalls.new": "?incident={incident_id}",
                           "api.calculate_deadline": "?regime=US-CPSC-15B&aware_at=2026-11-19T10:00:00Z"}
#: Complete form bodies, so that a refusal comes from the permission check and not from a missing field.
FORMS: dict[str, dict[str, str]] = {
    "reviews.check": {"check_method": "Life test", "check_result": "No crack", "check_effective": "yes"},
    "reviews.answer": {"answer": "not_applicable", "reason": "Different hinge design."},
    "alerts.answer": {"answer": "not_affected", "evidence": "Our drums use another hinge."},
    "alerts.new": {"division_ids": "5", "subject": "Check hinges", "message": "Pins cracked.", "due_on": "2026-11-27"},
    "reviews.defer_check": {"reason": "The effect shows in next season's returns.", "check_due_on": "2027-06-30",
                            "password": DEMO_PASSWORD},
    "accounts.set_language": {"language": "en"},
    "incidents.comment": {"body": "Looked at it."},
    "reviews.new": {"incident": "{incident_id}", "title": "Hinge crack, second look"},
    "compliance.withdraw_evidence": {"reason": "Superseded by a new certificate."},
    "compliance.task": {"conclusion": "Not affected because the model has no ice maker."},
}
#: Steps the world's notification record is not at (it is required, then drafted by the matrix's own request):
#: an allowed user is refused by the record's state, with that reason, and not by the role. Approval follows the
#: draft only when both requests run in the same test process (the suite is spread over processes), so an allowed
#: approver may meet either state.
STATE_BOUND = {"records.approve", "records.submit", "records.acknowledge", "records.reopen", "api.submit_notification",
               "api.acknowledge_notification", "api.reopen_notification"}
#: Creating a record for a division the user does not work for is a field error (422) naming that field.
REFUSED_AS_FIELD_ERROR = {"api.create_incident": "division_id"}


def _api_body(endpoint: str, world: World) -> dict[str, Any]:
    """A valid JSON body for a state-changing API call on division A's records."""
    from dataclasses import asdict

    facts = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(world.args["facts"]).items()}
    bodies: dict[str, dict[str, Any]] = {
        "api.create_incident": facts, "api.replace_incident": facts, "api.patch_incident": {"place": facts["place"]},
        "api.add_comment": {"body": "Looked at it."},
        "api.save_draft": {"fields": {}, "missing_explanation": "To follow."},
        "api.submit_notification": {"channel": "Portal", "submitted_at": "2026-11-20T02:00:00Z"},
        "api.acknowledge_notification": {"acknowledged_at": "2026-11-20T02:30:00Z"},
        "api.reopen_notification": {"reason": "New facts."},
        "api.create_complaint": {"model": "R-HW540", "text": "It hums loudly.", "country": "JP"},
        "api.dismiss_signal": {"reason": "Seasonal noise reports, not a defect."},
    }
    return bodies.get(endpoint, {})


def path_for(rule: Rule, world: World) -> str:
    args = dict(world.args)
    for name, other in OTHER_ARGS.get(rule.endpoint, {}).items():
        args[name] = world.args[other]
    return path_of(rule, args) + QUERIES.get(rule.endpoint, "").format(**args)


def ask_route(world: World, persona: Persona, method: str, rule: Rule) -> TestResponse:
    """One cell of the matrix: the persona's request, as a browser or an API client would make it."""
    path = path_for(rule, world)
    if path.startswith("/api/"):
        token = world.tokens.get(persona.name)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kw: dict[str, Any] = {}
        if method in STATE_CHANGING:
            headers["If-Match"] = "*"
            if rule.endpoint == "api.add_attachment":
                kw = {"data": {"file": (io.BytesIO(b"matrix probe\n"), "probe.txt")},
                      "content_type": "multipart/form-data"}
            else:
                kw = {"json": _api_body(rule.endpoint, world)}
        return _read(world.app.test_client().open(path, method=method, headers=headers, **kw))
    client = client_for(world, persona)
    token = world.csrf[persona.name]
    if rule.endpoint == "accounts.logout" and persona.email:  # a browser of its own
        client = world.app.test_client()
        assert login(client, persona.email).status_code == 302
        token = csrf_token(client, "/account")
    form = {k: v.format(**world.args) for k, v in FORMS.get(rule.endpoint, {}).items()}
    data = {"csrf_token": token, **form} if method in STATE_CHANGING else None
    response = _read(client.open(path, method=method, data=data))
    if rule.endpoint in ENDS_SESSIONS and method in STATE_CHANGING:
        # Log-out, a password change and "sign out everywhere" end every session of the user: the personas'
        # browsers log in again on their next request.
        world.clients.clear()
        world.csrf.clear()
    return response


#: Requests that end a user's sessions everywhere when allowed.
ENDS_SESSIONS = frozenset({"accounts.logout", "admin.user_sign_out", "admin.user_edit", "accounts.account"})


# --- the matrix ---------------------------------------------------------------------------------------------------

#: Cells where the application does not yet do what the table says: (endpoint, method, persona) -> why.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def _url_map() -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) of every route: read-only requests first, so that what the allowed
    state-changing requests do cannot change what a later read is asked about."""
    app = create_app(config.TestConfig(), ENGINE=make_engine("sqlite://"))
    routes = [(r.rule, m, r.endpoint) for r in app.url_map.iter_rules() for m in sorted(r.methods - {"HEAD", "OPTIONS"})]
    return sorted(routes, key=lambda t: (t[1] != "GET", t[2], t[0], t[1]))


ROUTES = _url_map()


def _cells() -> list[Any]:
    cells = []
    for rule, method, endpoint in ROUTES:
        for persona in PERSONAS:
            why = KNOWN_GAPS.get((endpoint, method, persona.name))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            cells.append(pytest.param(rule, method, persona, marks=marks, id=f"{method} {rule} as {persona.name}"))
    return cells


def test_every_route_is_in_the_table() -> None:
    missing = sorted({e for _, m, e in ROUTES if rule_for(e, m) is None})
    assert not missing, f"add these endpoints to MATRIX in tests/views/access_matrix.py: {missing}"
    stale = sorted(set(MATRIX) - {e for _, _, e in ROUTES})
    assert not stale, f"these endpoints of the matrix no longer exist: {stale}"


def _rule_object(world: World, rule_text: str, method: str) -> Rule:
    return next(r for r in world.app.url_map.iter_rules() if r.rule == rule_text and method in r.methods)


def _reason(response: TestResponse) -> str:
    """What the answer says: a problem's detail, or the page's text."""
    if response.is_json:
        return str((response.get_json() or {}).get("detail", ""))
    return text(response)


def _body_text(response: TestResponse) -> str:
    """The whole answer, less the example values of form fields (a placeholder may read like a reference)."""
    body = response.get_data().decode("utf-8", errors="replace")
    return html.unescape(re.sub(r'placeholder="[^"]*"', "", body))


@pytest.mark.parametrize("rule_text, method, persona", _cells())
def test_access(world: World, rule_text: str, method: str, persona: Persona) -> None:
    rule = _rule_object(world, rule_text, method)
    expected = rule_for(rule.endpoint, method)
    assert expected is not None, f"{rule.endpoint} is not in the access matrix"
    api = rule_text.startswith("/api/")
    may = allowed(expected, persona, api=api)
    changes = method in STATE_CHANGING
    before = world.audit_events() if changes else 0
    response = ask_route(world, persona, method, rule)
    status = response.status_code
    where = f"{method} {path_for(rule, world)} as {persona.name} ({expected}): {status}"
    assert status < 500, where
    if may:
        if status == 403 and rule.endpoint in STATE_BOUND:
            assert "Not possible while" in _reason(response), where
        else:
            assert status not in (401, 403, 404, 405), where + " " + _reason(response)[:300]
        if status == 302 and persona.email and rule.endpoint != "accounts.logout":
            assert "/login" not in response.headers["Location"], f"{where}: sent to the log-in page"
    else:
        field_error = REFUSED_AS_FIELD_ERROR.get(rule.endpoint)
        if field_error and status == 422:
            assert field_error in (response.get_json() or {}).get("errors", {}), where
        elif persona.email is None and not api and rule.endpoint != "api.unknown":
            assert status == 302 and "/login" in response.headers["Location"], where
        else:
            assert status in ((401, 403, 404) if api else (403, 404)), where + " " + _body_text(response)[:600]
        if changes:
            assert world.audit_events() == before, f"{where}: a refused request changed something"
    if not persona.reads_division_a:
        shown = [s for s in world.secrets if s in _body_text(response) or s in str(response.headers)]
        assert not shown, f"{where}: shows division A's {shown}"
        if changes and persona.email and not api:  # nor may a message flashed for the next page
            with client_for(world, persona).session_transaction() as session:
                flashed = " ".join(str(message) for _, message in session.pop("_flashes", []))
            shown = [s for s in world.secrets if s in flashed]
            assert not shown, f"{where}: the next page would show division A's {shown}"


def test_the_secrets_are_there_for_those_who_may_read_them(world: World) -> None:
    """The other tests look for the secrets in what others get: here they are, where they belong."""
    qa = next(p for p in PERSONAS if p.name == "division_qa")
    client = client_for(world, qa)
    incident_id, attachment_id = world.args["incident_id"], world.args["attachment_id"]
    page = text(client.get(f"/incidents/{incident_id}"))
    assert SECRET_TITLE in page and DESCRIPTION_MARKER in page and COMMENT_MARKER in page
    assert FILE_MARKER.encode() in _read(client.get(f"/incidents/{incident_id}/attachments/{attachment_id}")).data
    assert SECRET_TITLE in text(client.get("/incidents/"))
    api = world.app.test_client().get(f"/api/v1/incidents/{incident_id}",
                                      headers={"Authorization": f"Bearer {world.tokens['executive']}"})
    assert api.status_code == 200 and api.get_json()["title"] == SECRET_TITLE
    assert len(world.secrets) >= 13  # the markers, and the title and reference of each of division A's incidents


#: Filters and searches that name division A, asked by everyone who may not read it.
PROBES = [
    "/incidents/?division=" + str(DIVISION_A), "/incidents/?q=DESC-4417", "/incidents/?q=Zanzibar&sort=aware_asc",
    "/api/v1/incidents?division_id=" + str(DIVISION_A), "/api/v1/incidents?q=Zanzibar",
    "/imports/export/register.csv?division=" + str(DIVISION_A), "/imports/export/register.json?q=Zanzibar",
    "/imports/export/deadlines.csv?division=" + str(DIVISION_A), "/notifications/board?division=" + str(DIVISION_A),
    "/recalls/?incident={incident_id}", "/api/v1/recalls?division_id=" + str(DIVISION_A),
    "/api/v1/recalls?incident_id={incident_id}", "/reviews/?status=approved", "/reviews/lessons?q=hinge",
    "/reviews/lessons/similar.json?text=ice-maker+hinge+cracked+door", "/api/v1/lessons?q=hinge",
    "/dashboard?division=" + str(DIVISION_A), "/reports/portfolio?days=366", "/status-reports?incident={incident_id}",
    "/laws/applicable?category={category_id}&country=JP",
    "/reviews/mine",  # the cable division's QA is asked about division A's countermeasure: not about its incident
]


@pytest.mark.parametrize("probe", PROBES)
def test_filters_and_searches_naming_division_a_find_nothing_of_it(world: World, probe: str) -> None:
    path = probe.format(**world.args)
    asked = 0
    for persona in PERSONAS:
        if persona.reads_division_a or persona.email is None:
            continue
        if path.startswith("/api/"):
            token = world.tokens.get(persona.name)
            if token is None:
                continue
            response = _read(world.app.test_client().get(path, headers={"Authorization": f"Bearer {token}"}))
        else:
            response = _read(client_for(world, persona).get(path))
        assert response.status_code < 500, (path, persona.name)
        shown = [s for s in world.secrets if s in _body_text(response)]
        assert not shown, f"{path} as {persona.name} ({response.status_code}) shows division A's {shown}"
        asked += 1
    assert asked >= 2


def test_another_division_cannot_pull_division_a_into_its_own_records(world: World) -> None:
    """Linking by reference and filing by form name division A's records in a body, not in the URL."""
    from qa_incidents.incidents.models import Incident
    from qa_incidents.recalls.models import RecallIncident
    from qa_incidents.reviews.models import ReviewIncident

    cable_qa = next(p for p in PERSONAS if p.name == "other_division_qa")
    client, token = client_for(world, cable_qa), world.csrf["other_division_qa"]
    before = world.audit_events()
    reference = world.args["reference_a"]
    for path in (f"/reviews/{world.args['cable_review_id']}/incidents", f"/recalls/{world.args['cable_recall_id']}/incidents"):
        # Division A's reference gets the very answer a reference that does not exist gets: no hint it exists.
        answers = []
        for ref in (reference, "INC-2026-999999"):
            response = _read(client.post(path, data={"csrf_token": token, "reference": ref}))
            assert response.status_code in (302, 403, 404, 422), path
            page = _read(client.get(path.rsplit("/", 1)[0]))  # shows what was flashed
            answers.append([response.status_code, *(re.sub(r"\s+", " ", text(r).replace(ref, "REF")) for r in (response, page))])
            shown = [s for s in world.secrets if s != ref and s in _body_text(response) + _body_text(page)]
            assert not shown, f"{path} shows division A's {shown}"
        assert answers[0] == answers[1], path
    reporter = next(p for p in PERSONAS if p.name == "other_reporter")
    client = client_for(world, reporter)
    page = client.get("/incidents/new")
    form = form_with(page, "title")
    data = form.data(division_id=DIVISION_A, product_id=world.args["product_a"], title="Pulled into A",
                     lot_numbers="L1", country="JP", place="Osaka", timezone="Asia/Tokyo", occurred_at="2026-11-19T10:00",
                     aware_at="2026-11-19T12:00", source="customer_complaint", hazard="overheating", deaths="0",
                     serious_injuries="0", minor_injuries="0", smoke=True, units_in_field="10",
                     description="Filed by another division.")
    response = _read(client.post("/incidents/new", data=data))
    assert response.status_code in (403, 404, 422)
    assert world.audit_events() == before
    with world.session_factory() as s:
        assert s.scalar(sa.select(Incident.id).where(Incident.title == "Pulled into A")) is None
        linked = {*s.scalars(sa.select(ReviewIncident.incident_id).where(
            ReviewIncident.review_id == world.args["cable_review_id"])), *s.scalars(sa.select(
                RecallIncident.incident_id).where(RecallIncident.recall_id == world.args["cable_recall_id"]))}
    assert world.args["incident_id"] not in linked
