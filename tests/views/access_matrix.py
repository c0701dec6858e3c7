"""The expected access-control matrix: who may use each route of the URL map (checked by test_access_matrix.py).

Every record the matrix asks for belongs to division A (Home Appliances). A route's rule names who may use it:

    public          anyone, logged in or not
    logged in       any logged-in user (the API: any API token)
    <capability>    a role holding it (qa_incidents/core/permissions.py: CAPABILITIES)
    read A          may read division A's incidents: its own staff, head-office QA, executives
    work A          may change division A's incidents: its reporters and QA manager, head-office QA
    notify A        division A's QA manager and head-office QA (regulator notifications, status reports)
    recalls A       the same, for recalls
    reviews A       the same, for OCHIBO-HIROI reviews
    approve A       head-office QA (signs for every division)
    owner           the user who made the record (an import run, a token, a subscription, a saved view)
    owner or HQ     that user, or head-office QA
    report recipient  whoever a status report was sent to (executives)
    alert addressee   the QA manager of a division a group-wide alert about division A's incident addresses
                    (the world's alert addresses the cable division)
    nobody          no one (an unknown API path)

"a | b" means either. Whatever the rule, an answer to a user who may not read division A never contains
division A's incident titles, references, descriptions, comments or files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qa_incidents.core.permissions import Actor, Capability, Role, can, can_read_division, can_work_division

HQ, DIVISION_A, MAGNETS, OTHER = 1, 2, 4, 5  # division ids of the demo data (HQ, HA, MM, CM)

#: endpoint -> rule, or {method: rule} where GET and the state-changing methods differ.
MATRIX: dict[str, str | dict[str, str]] = {
    # Public pages and the log-in
    "static": "public",
    "synthetic.healthz": "public",
    "accounts.login": "public",
    "accounts.set_language": "public",
    "public.index": "public",
    "public.notice": "public",
    "public.notice_pdf": "public",
    "public.check": "public",
    "public.picture": "public",
    "safety_public.public": "public",
    # Single sign-on: the identity providers' answers arrive without a log-in
    "sso.login": "public",
    "sso.oidc_callback": "public",
    "sso.saml_acs": "public",
    "sso.saml_metadata": "public",
    # Everyone logged in
    "sso.reauthenticate": "logged in",
    "main.home": "logged in",
    "accounts.account": "logged in",
    "accounts.logout": "logged in",
    "workflow.my_work": "logged in",
    "notifications.calculator": "logged in",
    "notifications.calendars": "logged in",
    "notifications.change_calendar_day": "manage_rules",
    "notifications.targets": "logged in",
    "notifications.set_target": "approve | manage_rules",
    "laws.index": "logged in",
    "laws.show": "logged in",
    "laws.applicable": "logged in",
    "laws.jurisdictions": "logged in",
    "laws.upcoming": "logged in",
    "laws_transfer.index": "logged in",
    "laws_transfer.export_csv": "logged in",
    "laws_transfer.export_json": "logged in",
    "workflow.matrix": "read_incidents | manage_rules",
    # API tokens
    "tokens.index": "use_api",
    "tokens.create": "use_api",
    "tokens.revoke": "owner",
    # Imported lessons waiting for head-office QA's signed review
    "pending_lessons.index": "approve",
    "pending_lessons.publish": "approve",
    "pending_lessons.reject": "approve",
    # Administration
    "admin.users": "manage_users",
    "sso_admin.index": "manage_users",
    "sso_admin.provider_form": "manage_users",
    "sso_admin.mapping_add": "manage_users",
    "sso_admin.mapping_retire": "manage_users",
    "admin.user_new": "manage_users",
    "admin.user_edit": "manage_users",
    "admin.user_sign_out": "manage_users",
    "reports.distribution": "manage_users",
    "admin.divisions": "manage_divisions",
    "admin.division_form": "manage_divisions",
    "catalogue.index": "manage_catalogue",
    "catalogue.category_form": "manage_catalogue",
    "catalogue.product_form": "manage_catalogue",
    "workflow.matrix_edit": "manage_rules",
    "laws.law_form": "edit_laws_map",
    "laws.obligation_form": "edit_laws_map",
    "laws.amendment_form": "edit_laws_map",
    "laws.jurisdiction_form": "edit_laws_map",
    "laws_transfer.import_": "edit_laws_map",
    # Technical-law compliance register: read like incidents (scoped), changed by a division's regulatory work
    "compliance.matrix": "read_incidents",
    "compliance.matrix_csv": "read_incidents",
    "compliance.tasks": "read_incidents",
    "compliance.technical": "logged in",
    "compliance.technical_form": "edit_laws_map",
    "compliance.product": "read A",
    "compliance.evidence_file": "read A",
    "compliance.add_evidence": "notify A",
    "compliance.withdraw_evidence": "notify A",
    "compliance.task": {"GET": "read A", "POST": "notify A"},
    # Incidents
    "incidents.register": "read_incidents",
    "incidents.new": "file_incident",
    "incidents.show": "read A",
    "incidents.similar_lessons": "read A",
    "incidents.download": "read A",
    "incidents.preview": "read A",
    "inbox.index": "logged in",
    "inbox.read": "logged in",
    "inbox.watch": "read A",
    "incidents.edit": "work A",
    "incidents.comment": "work A",
    "incidents.assign": "notify A",
    "incidents.bulk_assign": "work_notifications",  # each selected incident is then checked (refusals per row)
    "incidents.bulk_triage": "work_notifications",  # each selected incident is then checked (refusals per row)
    "incidents.save_view": "read_incidents",
    "incidents.delete_view": "owner",
    "incidents.attach": "work A",
    "workflow.triage": {"GET": "notify A", "POST": "notify A"},
    "workflow.act": "notify A",
    "workflow.queue": "approve",
    "workflow.decide": "approve A",
    # Regulator notifications
    "records.board": "read_incidents",
    "records.show": "read A",
    "records.printable": "read A",
    "records.document": "read A",
    "records.add": "notify A",
    "records.assign_owner": "notify A",
    "records.draft": "notify A",
    "records.submit": "notify A",
    "records.acknowledge": "notify A",
    "records.reopen": "approve A",
    "records.approve": "approve A",
    "records.not_required": "approve A",
    # Decision clocks: the world's record (Japan) has none, so an allowed user is refused with a reason (422).
    "records.request_event": "notify A",
    "records.record_event": "approve A",
    # Reportability decisions: the world's record awaits none, so an allowed user is refused with a reason (422).
    "records.decide": "approve A",
    "records.decision_file": "notify A",
    # Status reports, dashboard, portfolio
    "reports.index": "read_incidents",
    "reports.show": "read A",
    "reports.pdf": "read A",
    "reports.next_report": {"GET": "read A", "POST": "notify A"},
    "reports.acknowledge": "report recipient",
    "reports.dashboard": "read_reports",
    "reports.dashboard_csv": "read_reports",
    "reports.portfolio": "read_reports",
    "reports.portfolio_pdf": "read_reports",
    # Group-wide early alerts: head office sends; the addressed division's QA reads the alert (not the incident)
    "alerts.new": "approve A",
    "alerts.index": "read_incidents",
    "alerts.show": "read A | alert addressee",
    "alerts.answer": "alert addressee",
    "alerts.evidence": "read A | alert addressee",
    "alerts.parts": "manage_catalogue",
    "alerts.part_edit": "manage_catalogue",
    "alerts.part_retire": "manage_catalogue",
    "alerts.part_reinstate": "manage_catalogue",
    # Recalls
    "complaints.index": "read_incidents",
    "complaints.signals": "read_incidents",
    "complaints.new": "log_complaints",
    "complaints.show": "read A",
    "complaints.signal": "read A",
    "complaints.file_incident": "complaints A",
    "complaints.promote": "complaints A",
    "complaints.dismiss": "complaints A",
    "recalls.index": "read_incidents",
    "recalls.new": "recalls A",  # asked with ?incident= of division A
    "recalls.show": "read A",
    "recalls.notices": "read A",
    "recalls.web_notice": "read A",
    "recalls.file": "read A",
    "recalls.progress": "read A",
    "recalls.progress_csv": "read A",
    "recalls.reports": "read A",
    "recalls.report": "read A",
    "recalls.population": {"GET": "read A", "POST": "recalls A"},
    "recalls.edit": "recalls A",
    "recalls.link": "recalls A",
    "recalls.retire_line": "recalls A",
    "recalls.new_web_notice": "recalls A",
    "recalls.publish": "recalls A",
    "recalls.add_mailing": "recalls A",
    "recalls.add_advert": "recalls A",
    "recalls.add_progress": "recalls A",
    "recalls.import_progress": "recalls A",
    "recalls.track_reports": "recalls A",
    "recalls.effectiveness": "recalls A",
    "recalls.withdraw": "recalls A",
    "recalls.launch": "approve A",
    "recalls.risk_assessment": "recalls A",
    "recalls.close": "approve A",
    # Public product safety notices
    "safety_notices.show": "read A",
    "safety_notices.draft": "recalls A",
    "safety_notices.link_recall": "recalls A",
    "safety_notices.approve": "approve A",
    "safety_notices.risk_assessment": "recalls A",
    "safety_notices.withdraw": "approve A",
    # Reviews and lessons learned
    "reviews.index": "read_incidents",
    "reviews.mine": "read_incidents",
    "reviews.new": "reviews A",  # asked with ?incident= of division A
    "reviews.show": "read A",
    "reviews.edit": "reviews A",
    "reviews.link": "reviews A",
    "reviews.add_why": "reviews A",
    "reviews.add_countermeasure": "reviews A",
    "reviews.submit": "reviews A",
    "reviews.check": "reviews A",
    "reviews.implemented": "reviews A",
    "reviews.correct_tier": "reviews A",
    "reviews.defer_check": "approve A",
    "reviews.add_deployment": "reviews A",
    "reviews.answer": "reviews A",
    "reviews.assign_deployment": "reviews A",
    "reviews.send_back": "approve A",
    "reviews.approve": "approve A",
    "reviews.lessons_index": "read_lessons",
    "reviews.lesson": "read_lessons",
    "reviews.similar_json": "read_lessons",
    "reviews.subscriptions": "read_lessons",
    "reviews.unsubscribe": "owner",
    "reviews.lesson_helped": "read_lessons",
    "reviews.lessons_reading": "head office reading",
    "reviews.vocabulary_index": "manage_rules",
    "reviews.vocabulary_term": "manage_rules",
    # Imports and exports
    "imports.index": "file_incident",
    "imports.upload": "file_incident",
    "imports.show": "owner or HQ",
    "imports.mapping": "owner or HQ",
    "imports.apply_mapping": "owner or HQ",
    "imports.report_csv": "owner or HQ",
    "imports.export": "read_incidents",
    # The JSON API (a bearer token; a session cookie does not count)
    "api.openapi": "public",
    "api.unknown": "nobody",
    "api.list_deadline_rules": "logged in",
    "api.calculate_deadline": "logged in",
    "api.list_incidents": "read_incidents",
    "api.create_incident": "work A",
    "api.get_incident": "read A",
    "api.replace_incident": "work A",
    "api.patch_incident": "work A",
    "api.list_comments": "read A",
    "api.add_comment": "work A",
    "api.list_attachments": "read A",
    "api.add_attachment": "work A",
    "api.download_attachment": "read A",
    "api.list_obligations": "read A",
    "api.list_notifications": "read A",
    "api.get_notification": "read A",
    "api.save_draft": "notify A",
    "api.submit_notification": "notify A",
    "api.acknowledge_notification": "notify A",
    "api.reopen_notification": "approve A",
    "api.list_recalls": "read_incidents",
    "api.get_recall": "read A",
    "api.list_safety_notices": "read A",
    "api.search_lessons": "read_lessons",
    "api.get_lesson": "read_lessons",
    "api.similar_lessons": "read_lessons",
    "api.list_complaints": "read_incidents",
    "api.get_complaint": "read A",
    "api.create_complaint": "log_complaints",
    "api.list_signals": "read_incidents",
    "api.get_signal": "read A",
    "api.dismiss_signal": "complaints A",
}


@dataclass(frozen=True)
class Persona:
    """Someone asking: a role in a division, or an anonymous visitor."""

    name: str
    email: str | None  # None: an anonymous visitor
    role: Role | None
    division_id: int
    owns_records: bool = False  # made division A's import run, lesson subscription and spare API token

    @property
    def actor(self) -> Actor | None:
        return Actor(id=0, role=self.role, division_id=self.division_id) if self.role else None

    @property
    def holds_token(self) -> bool:
        return self.actor is not None and can(self.actor, Capability.USE_API)

    @property
    def reads_division_a(self) -> bool:
        return self.actor is not None and can_read_division(self.actor, DIVISION_A)


PERSONAS = (
    Persona("anonymous", None, None, 0),
    Persona("reporter", "reporter@example.com", Role.REPORTER, DIVISION_A, owns_records=True),
    Persona("division_qa", "division.qa@example.com", Role.DIVISION_QA, DIVISION_A),
    Persona("head_office_qa", "hq.qa@example.com", Role.HEAD_OFFICE_QA, HQ),
    Persona("executive", "executive@example.com", Role.EXECUTIVE, HQ),
    Persona("engineer", "engineer@example.com", Role.ENGINEER, MAGNETS),
    Persona("admin", "admin@example.com", Role.ADMIN, HQ),
    Persona("other_reporter", "cable.reporter@example.com", Role.REPORTER, OTHER),
    Persona("other_division_qa", "cable.qa@example.com", Role.DIVISION_QA, OTHER),
)


def _works(capability: Capability) -> Callable[[Actor], bool]:
    return lambda a: can_work_division(a, DIVISION_A, capability)


_TERMS: dict[str, Callable[[Actor], bool]] = {
    "read A": lambda a: can_read_division(a, DIVISION_A),
    "work A": _works(Capability.EDIT_INCIDENT),
    "notify A": _works(Capability.WORK_NOTIFICATIONS),
    "recalls A": _works(Capability.MANAGE_RECALLS),
    "reviews A": _works(Capability.WRITE_REVIEWS),
    "complaints A": _works(Capability.WORK_COMPLAINTS),
    "approve A": lambda a: can(a, Capability.APPROVE) and can_read_division(a, DIVISION_A),
    "report recipient": lambda a: a.role == Role.EXECUTIVE,
    "alert addressee": lambda a: a.role == Role.DIVISION_QA and a.division_id == OTHER,
    "head office reading": lambda a: can(a, Capability.READ_REPORTS) and can(a, Capability.READ_ALL_DIVISIONS),
    "owner or HQ": lambda a: can(a, Capability.WORK_ALL_DIVISIONS),  # the owner is added below
    **{c.value: (lambda cap: lambda a: can(a, cap))(c) for c in Capability},
}


def rule_for(endpoint: str, method: str) -> str | None:
    """The table's rule for a route and method (None: the route is missing from the table)."""
    entry = MATRIX.get(endpoint)
    if isinstance(entry, dict):
        return entry.get("GET" if method == "GET" else "POST")
    return entry


def allowed(rule: str, persona: Persona, *, api: bool = False) -> bool:
    """Whether the rule lets the persona in (through the API only with a token, which some roles may not hold)."""
    if api and rule != "public" and not persona.holds_token:
        return False
    return any(_term_allows(term.strip(), persona) for term in rule.split("|"))


def _term_allows(term: str, persona: Persona) -> bool:
    if term == "public":
        return True
    if term == "nobody" or persona.actor is None:
        return False
    if term == "logged in":
        return True
    if term in ("owner", "owner or HQ") and persona.owns_records:
        return True
    if term == "owner":
        return False
    if term not in _TERMS:
        raise KeyError(f"unknown rule term {term!r} in the access matrix")
    return _TERMS[term](persona.actor)
