"""The technical-law compliance register: the state rule at its boundaries, which laws apply to a model where it
is sold, amendments opening re-assessments for exactly the models they reach, permissions and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from qa_incidents.accounts.models import User
from qa_incidents.catalogue import service as catalogue
from qa_incidents.catalogue.models import Product
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import Forbidden, NotFound, ValidationFailed
from qa_incidents.laws import compliance, service
from qa_incidents.laws.compliance_rules import EvidenceFacts, State, assess
from qa_incidents.laws.models import Law, ReassessmentTask

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


# --- the state rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in, state", [
    (None, State.COMPLIANT),   # no expiry
    (31, State.COMPLIANT),     # one day past the warning period
    (30, State.EXPIRING),      # the last day of the warning period
    (0, State.EXPIRING),       # valid through its expiry day
    (-1, State.EXPIRED),       # the day after
])
def test_state_of_one_document_at_the_boundaries(expires_in, state):
    evidence = [EvidenceFacts(day(-400), None if expires_in is None else day(expires_in))]
    assert assess(evidence, today=TODAY, warn_days=30).state == state


def test_no_evidence_or_evidence_not_yet_issued_is_a_gap():
    assert assess([], today=TODAY).state == State.GAP
    assert assess([EvidenceFacts(day(1), None)], today=TODAY).state == State.GAP
    assert assess([EvidenceFacts(TODAY, None)], today=TODAY).state == State.COMPLIANT  # issued today counts


def test_the_best_document_decides():
    expired, renewed = EvidenceFacts(day(-800), day(-5)), EvidenceFacts(day(-5), day(700))
    found = assess([expired, renewed], today=TODAY, warn_days=90)
    assert found.state == State.COMPLIANT and found.expires_on == day(700) and found.days_left == 700
    assert assess([expired, EvidenceFacts(day(-300), None)], today=TODAY).state == State.COMPLIANT


# --- helpers on the demo data ------------------------------------------------------------------------------------


def user(session, email):
    return session.scalar(sa.select(User).where(User.email == email))


def actor(session, email):
    return user(session, email).actor


def product(session, model) -> Product:
    return session.scalar(sa.select(Product).where(Product.model == model))


def law(session, short_name) -> Law:
    return session.scalar(sa.select(Law).where(Law.short_name == short_name))


def sell_in(session, model, *markets):
    p = product(session, model)
    catalogue.save_product(session, data=catalogue.ProductInput(
        division_id=p.division_id, category_id=p.category_id, model=p.model, name=p.name, active=p.active,
        markets=markets), product_id=p.id, actor_id=None, now=NOW)


def rohs_amendment(session, *, enforced_on=dt.date(2027, 7, 22), categories=(), actor_id=None):
    return service.save_amendment(session, data={
        "law_id": law(session, "EU-RoHS").id, "title": "Annex II: a new restricted substance", "enforced_on": enforced_on,
        "promulgated_on": dt.date(2026, 11, 1), "summary": "", "affected_categories": list(categories),
        "source": "OJ L 1, 2.1.2027"}, amendment_id=None, actor_id=actor_id, now=NOW)


def tasks_of(session, amendment):
    return {t.product.model: t for t in session.scalars(
        sa.select(ReassessmentTask).where(ReassessmentTask.amendment_id == amendment.id))}


# --- which laws apply --------------------------------------------------------------------------------------------


def test_the_laws_a_model_needs_follow_its_category_and_countries_of_sale(demo):
    hq = actor(demo, "hq.qa@example.com")
    found = compliance.product_compliance(demo, actor=hq, product_id=product(demo, "RAS-X40").id, today=TODAY)
    laws = {pl.law.short_name for pl in found.laws}
    # An air conditioner sold in JP, AU, DE and FR: Japan's and the EU's technical laws for it, no US or Chinese one.
    assert {"JP-PSE", "JP-RADIO", "EU-RoHS", "EU-LVD", "EU-RED", "EU-ENERGY-LABEL", "EU-REACH-33"} == laws
    sell_in(demo, "RAS-X40", "US")
    found = compliance.product_compliance(demo, actor=hq, product_id=product(demo, "RAS-X40").id, today=TODAY)
    assert {pl.law.short_name for pl in found.laws} == {"US-FCC-15", "US-NRTL"}


def test_the_demo_register_shows_every_state(demo):
    hq = actor(demo, "hq.qa@example.com")
    grid = compliance.matrix(demo, actor=hq, today=TODAY)
    cells = {(r.product.model, law.short_name): r.cells[law.id].state
             for r in grid.rows for law in grid.laws if law.id in r.cells}
    assert cells[("R-HW540", "JP-PSE")] == State.COMPLIANT
    assert cells[("R-HW540", "CN-CCC")] == State.EXPIRING
    assert cells[("RAS-X40", "EU-RoHS")] == State.EXPIRED
    assert cells[("R-S38", "JP-PSE")] == State.GAP
    assert ("R-S38", "CN-CCC") not in cells  # not sold in China


# --- amendments → re-assessments ---------------------------------------------------------------------------------


def test_a_rohs_amendment_opens_reassessments_for_exactly_the_models_it_reaches(demo):
    # Sold in the EU and covered by RoHS (home appliances, wires & cables): RAS-X40 (DE, FR) and RS-FR95 (DE).
    # Not reached: R-HW540 (JP, CN: not sold in the EU), NEOMAX-48H (sold in DE, but magnets are not in RoHS's scope),
    # and BD-SX120 once retired although it is then sold in France.
    p = product(demo, "BD-SX120")
    catalogue.save_product(demo, data=catalogue.ProductInput(
        division_id=p.division_id, category_id=p.category_id, model=p.model, name=p.name, active=False,
        markets=("FR",)), product_id=p.id, actor_id=None, now=NOW)
    hq = user(demo, "hq.qa@example.com")
    amendment = rohs_amendment(demo, actor_id=hq.id)
    found = tasks_of(demo, amendment)
    assert set(found) == {"RAS-X40", "RS-FR95"}
    for model, task in found.items():
        assert task.division_id == product(demo, model).division_id
        assert task.due_on == dt.date(2027, 7, 21) and task.status == "open"
    events = demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "reassessment_task",
                                                      AuditEvent.action == "created", AuditEvent.actor_id == hq.id))
    assert {e.entity_id for e in events} == {t.id for t in found.values()}


def test_an_amendment_naming_categories_reaches_only_those(demo):
    amendment = rohs_amendment(demo, categories=["cables"])
    assert set(tasks_of(demo, amendment)) == {"RS-FR95"}


def test_saving_again_opens_no_second_task_and_a_new_date_moves_the_open_ones(demo):
    amendment = rohs_amendment(demo)
    first = {m: t.id for m, t in tasks_of(demo, amendment).items()}
    service.save_amendment(demo, data={"law_id": amendment.law_id, "title": amendment.title,
                                       "enforced_on": dt.date(2027, 9, 1), "affected_categories": [],
                                       "source": amendment.source}, amendment_id=amendment.id, actor_id=None, now=NOW)
    again = tasks_of(demo, amendment)
    assert {m: t.id for m, t in again.items()} == first
    assert {t.due_on for t in again.values()} == {dt.date(2027, 8, 31)}


def test_no_reassessment_for_an_enforced_amendment_or_a_law_that_is_not_technical(demo):
    assert tasks_of(demo, rohs_amendment(demo, enforced_on=TODAY)) == {}
    cpsa = service.save_amendment(demo, data={"law_id": law(demo, "JP-CPSA").id, "title": "Reporting change",
                                              "enforced_on": dt.date(2027, 4, 1), "affected_categories": []},
                                  amendment_id=None, actor_id=None, now=NOW)
    assert tasks_of(demo, cpsa) == {}


def test_the_demo_amendment_of_pse_waits_in_the_home_appliance_division(demo):
    qa = actor(demo, "division.qa@example.com")
    rows, total = compliance.my_reassessments(demo, actor=qa)
    assert {t.product.model for t in rows} == {"R-HW540", "R-S38"} and total == 2
    assert compliance.my_reassessments(demo, actor=actor(demo, "cable.qa@example.com")) == ([], 0)
    assert compliance.my_reassessments(demo, actor=actor(demo, "reporter@example.com")) == ([], 0)
    assert compliance.task_counts(demo, actor=actor(demo, "executive@example.com"), today=TODAY).open == 2
    assert compliance.task_counts(demo, actor=qa, today=dt.date(2027, 1, 3)) == compliance.TaskCounts(2, 2)


# --- closing a re-assessment -------------------------------------------------------------------------------------


def test_closing_needs_evidence_or_a_conclusion_and_is_audited(demo):
    qa = actor(demo, "division.qa@example.com")
    task = compliance.my_reassessments(demo, actor=qa)[0][0]
    with pytest.raises(ValidationFailed) as refused:
        compliance.close_task(demo, actor=qa, task_id=task.id, conclusion="  ", evidence_id=None, now=NOW)
    assert "conclusion" in refused.value.errors
    other = compliance.product_compliance(demo, actor=qa, product_id=product(demo, "RAS-X40").id, today=TODAY)
    wrong = next(e for pl in other.laws for e in pl.evidence)
    with pytest.raises(ValidationFailed) as refused:
        compliance.close_task(demo, actor=qa, task_id=task.id, conclusion="", evidence_id=wrong.id, now=NOW)
    assert "evidence_id" in refused.value.errors
    compliance.close_task(demo, actor=qa, task_id=task.id, now=NOW, evidence_id=None,
                          conclusion="Not affected because the change concerns models above 500 L.")
    assert demo.get(ReassessmentTask, task.id).status == "closed"
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "reassessment_task",
                                                    AuditEvent.entity_id == task.id, AuditEvent.action == "closed"))
    assert event.actor_id == qa.id and event.changes["status"] == ["open", "closed"]
    with pytest.raises(ValidationFailed):
        compliance.close_task(demo, actor=qa, task_id=task.id, conclusion="Again", evidence_id=None, now=NOW)


def test_closing_with_evidence_of_the_model_for_the_law(demo):
    qa = actor(demo, "division.qa@example.com")
    task = next(t for t in compliance.my_reassessments(demo, actor=qa)[0] if t.product.model == "R-S38")
    evidence = compliance.add_evidence(demo, actor=qa, product_id=task.product_id, stored=None, filename="", now=NOW,
                                       data=compliance.EvidenceInput(law_id=task.law_id, kind="declaration",
                                                                     issuer="HA QA", number="HA-PSE-0038",
                                                                     issued_on=TODAY))
    closed = compliance.close_task(demo, actor=qa, task_id=task.id, conclusion="", evidence_id=evidence.id, now=NOW)
    assert closed.evidence_id == evidence.id and closed.status == "closed"


# --- permissions -------------------------------------------------------------------------------------------------


def evidence_for_r_s38(session, law_id):
    return compliance.EvidenceInput(law_id=law_id, kind="certificate", issuer="JET", number="JET-1",
                                    issued_on=TODAY, expires_on=day(365))


def test_who_records_evidence(demo):
    target = product(demo, "R-S38")
    pse = law(demo, "JP-PSE").id
    for email, refused in (("reporter@example.com", Forbidden), ("executive@example.com", Forbidden),
                           ("cable.qa@example.com", NotFound), ("admin@example.com", NotFound),
                           ("engineer@example.com", NotFound)):
        with pytest.raises(refused):
            compliance.add_evidence(demo, actor=actor(demo, email), product_id=target.id, stored=None, filename="",
                                    now=NOW, data=evidence_for_r_s38(demo, pse))
    for email in ("division.qa@example.com", "hq.qa@example.com"):
        made = compliance.add_evidence(demo, actor=actor(demo, email), product_id=target.id, stored=None, filename="",
                                       now=NOW, data=evidence_for_r_s38(demo, pse))
        assert made.division_id == target.division_id
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "compliance_evidence",
                                                    AuditEvent.entity_id == made.id))
    assert event.changes["number"] == [None, "JET-1"]


def test_evidence_is_for_a_technical_law_that_applies_and_has_sane_dates(demo):
    qa = actor(demo, "division.qa@example.com")
    target = product(demo, "R-S38")  # sold in Japan only
    with pytest.raises(ValidationFailed) as refused:
        compliance.add_evidence(demo, actor=qa, product_id=target.id, stored=None, filename="", now=NOW,
                                data=compliance.EvidenceInput(law_id=law(demo, "EU-RoHS").id, kind="poster", issuer=" ",
                                                              number="N", issued_on=TODAY, expires_on=day(-1)))
    assert set(refused.value.errors) == {"law_id", "kind", "issuer", "expires_on"}


def test_withdrawn_evidence_no_longer_counts(demo):
    qa = actor(demo, "division.qa@example.com")
    target = product(demo, "R-HW540")
    found = compliance.product_compliance(demo, actor=qa, product_id=target.id, today=TODAY)
    ccc = next(pl for pl in found.laws if pl.law.short_name == "CN-CCC")
    with pytest.raises(ValidationFailed):
        compliance.withdraw_evidence(demo, actor=qa, evidence_id=ccc.evidence[0].id, reason=" ", now=NOW)
    with pytest.raises(Forbidden):
        compliance.withdraw_evidence(demo, actor=actor(demo, "reporter@example.com"), evidence_id=ccc.evidence[0].id,
                                     reason="Wrong model", now=NOW)
    compliance.withdraw_evidence(demo, actor=qa, evidence_id=ccc.evidence[0].id, reason="Wrong model", now=NOW)
    found = compliance.product_compliance(demo, actor=qa, product_id=target.id, today=TODAY)
    assert next(pl for pl in found.laws if pl.law.short_name == "CN-CCC").assessment.state == State.GAP
    assert [e.withdrawn_reason for e in found.withdrawn] == ["Wrong model"]


def test_the_matrix_is_scoped_to_the_readers_divisions(demo):
    def models(email):
        return {r.product.model for r in compliance.matrix(demo, actor=actor(demo, email), today=TODAY).rows}

    assert {"R-HW540", "EX-15A3", "RS-FR95"} <= models("hq.qa@example.com")
    assert models("cable.qa@example.com") == {"EX-15A3", "RS-FR95"}
    assert "EX-15A3" not in models("division.qa@example.com") and "R-HW540" in models("division.qa@example.com")
    assert models("admin@example.com") == set()


def test_marking_a_law_technical_is_audited_and_needs_what_shows_conformity(demo):
    cpsa = law(demo, "JP-CPSA")
    with pytest.raises(ValidationFailed):
        compliance.save_technical(demo, law_id=cpsa.id, evidence_expected=" ", active=True, actor_id=None, now=NOW)
    row = compliance.save_technical(demo, law_id=cpsa.id, evidence_expected="Test report", active=True, actor_id=None,
                                    now=NOW)
    assert compliance.is_technical(demo, cpsa.id)
    compliance.save_technical(demo, law_id=cpsa.id, evidence_expected="Test report", active=False, actor_id=None,
                              now=NOW)
    assert not compliance.is_technical(demo, cpsa.id)
    actions = list(demo.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "technical_law",
                                                                   AuditEvent.entity_id == row.id)))
    assert actions == ["created", "updated"]


def test_every_technical_law_names_its_instrument_and_source(demo):
    for t in compliance.technical_laws(demo):
        assert t.law.citation and t.law.source and t.evidence_expected, t.law.short_name


# --- the scheduled scan ------------------------------------------------------------------------------------------


def test_the_scan_tells_the_division_once_of_expiring_and_expired_evidence_and_overdue_reassessments(demo):
    from qa_incidents.core.outbox import OutboxMessage

    def mails():
        return {(m.to_addrs, m.subject) for m in demo.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("compliance-%")))}

    assert compliance.scan(demo, now=NOW) == 2
    assert mails() == {("division.qa@example.com", "Evidence expiring: R-HW540, CN-CCC"),
                       ("division.qa@example.com", "Evidence expired: RAS-X40, EU-RoHS")}
    assert compliance.scan(demo, now=NOW) == 0  # told once
    later = dt.datetime(2027, 1, 4, 3, 0, tzinfo=dt.UTC)  # re-assessments due 2027-01-02; CCC valid through 01-03
    assert compliance.scan(demo, now=later) == 3  # both overdue; the CCC certificate has now expired
    assert ("division.qa@example.com", "Re-assessment overdue: R-S38, JP-PSE") in mails()
    assert ("division.qa@example.com", "Evidence expired: R-HW540, CN-CCC") in mails()
