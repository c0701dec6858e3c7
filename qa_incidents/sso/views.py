"""Sign-in with identity providers, re-authentication before a signature, and their administration."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from qa_incidents.accounts import service as accounts
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import EmptyForm, apply_errors
from qa_incidents.core.permissions import Capability, Role
from qa_incidents.core.web import csrf, db, now, requires
from qa_incidents.sso import oidc, saml, service
from qa_incidents.sso.forms import MappingForm, ProviderForm, SettingsForm
from qa_incidents.sso.models import IdentityProvider, Protocol
from qa_incidents.sso.protocol import Identity, SignInFailed

log = logging.getLogger(__name__)
bp = Blueprint("sso", __name__, url_prefix="/sso")
admin_bp = Blueprint("sso_admin", __name__, url_prefix="/admin/sso")
PENDING = "sso_pending"
#: What the log-out needs: the provider's short name and its log-out hint.
SIGNED_IN = "sso_signed_in"


def _base() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _saml_settings(provider: IdentityProvider) -> saml.SamlSettings:
    return saml.SamlSettings(
        entity_id=_base() + url_for("sso.saml_metadata", slug=provider.slug),
        acs_url=_base() + url_for("sso.saml_acs", slug=provider.slug), idp_metadata=provider.idp_metadata,
        email_claim=provider.email_claim, name_claim=provider.name_claim, groups_claim=provider.groups_claim,
        division_claim=provider.division_claim)


def _callback(provider: IdentityProvider) -> str:
    return _base() + url_for("sso.oidc_callback", slug=provider.slug)


def _safe_next(target: str | None) -> str:
    from qa_incidents.accounts.views import _safe_next as safe

    return safe(target)


def _start(provider: IdentityProvider, *, reauth: bool, next_url: str):  # type: ignore[no-untyped-def]
    try:
        if provider.protocol == Protocol.OIDC:
            hint = current_user.email if reauth else ""
            url, kept = oidc.begin(service.oidc_settings(provider), redirect_uri=_callback(provider),
                                   reauthenticate=reauth, login_hint=hint)
        else:
            url, kept = saml.begin(_saml_settings(provider), relay_state=provider.slug, reauthenticate=reauth)
    except SignInFailed as e:
        log.warning("single sign-on with %s could not start: %s", provider.slug, e)
        flash(_("%(provider)s cannot be reached just now. Try again in a moment.", provider=provider.name), "error")
        return redirect(url_for("accounts.login") if not reauth else next_url)
    session[PENDING] = {**kept, "provider": provider.slug, "next": next_url}
    return redirect(url)


@bp.get("/<slug>/login")
def login(slug: str):  # type: ignore[no-untyped-def]
    provider = service.provider_by_slug(db(), slug) or abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return _start(provider, reauth=False, next_url=_safe_next(request.args.get("next")))


@bp.get("/reauthenticate")
@login_required
def reauthenticate():  # type: ignore[no-untyped-def]
    """Before a signature: the provider authenticates the person again; a one-time signing code follows."""
    next_url = _safe_next(request.args.get("next"))
    providers = service.linked_providers(db(), current_user.id)
    wanted = (session.get(SIGNED_IN) or {}).get("provider")
    provider = next((p for p in providers if p.slug == wanted), providers[0] if providers else None)
    if provider is None:
        flash(_("You have no account at an identity provider: sign with your password."), "info")
        return redirect(next_url)
    return _start(provider, reauth=True, next_url=next_url)


def _pending(slug: str) -> dict[str, Any]:
    """What the session kept for this provider's answer; used once (a replayed answer finds nothing)."""
    kept = session.pop(PENDING, None)
    return kept if isinstance(kept, dict) and kept.get("provider") == slug else {}


@bp.get("/<slug>/callback")
def oidc_callback(slug: str):  # type: ignore[no-untyped-def]
    provider = service.provider_by_slug(db(), slug)
    if provider is None or provider.protocol != Protocol.OIDC:
        abort(404)
    kept = _pending(slug)
    try:
        identity = oidc.finish(service.oidc_settings(provider), kept, args=request.args.to_dict(),
                               redirect_uri=_callback(provider))
    except SignInFailed as e:
        return _failed(provider, e, kept)
    return _complete(provider, identity, kept, method="OpenID Connect prompt=login max_age=0")


@bp.post("/<slug>/acs")
@csrf.exempt  # the identity provider posts here; the signed response answering this session's request is the check
def saml_acs(slug: str):  # type: ignore[no-untyped-def]
    provider = service.provider_by_slug(db(), slug)
    if provider is None or provider.protocol != Protocol.SAML:
        abort(404)
    if PENDING not in session and not request.form.get("bounced"):
        # The identity provider's POST comes from another site, so a SameSite=Lax session cookie is not sent with
        # it: post the same answer once more from this site's own page, which the cookie then accompanies.
        return render_template("sso/continue.html", action=url_for("sso.saml_acs", slug=slug),
                               saml_response=request.form.get("SAMLResponse", ""),
                               relay_state=request.form.get("RelayState", ""))
    kept = _pending(slug)
    try:
        identity = saml.finish(_saml_settings(provider), kept, saml_response=request.form.get("SAMLResponse", ""))
    except SignInFailed as e:
        return _failed(provider, e, kept)
    return _complete(provider, identity, kept, method="SAML ForceAuthn")


@bp.get("/<slug>/metadata")
def saml_metadata(slug: str):  # type: ignore[no-untyped-def]
    provider = service.provider_by_slug(db(), slug)
    if provider is None or provider.protocol != Protocol.SAML:
        abort(404)
    try:
        xml = saml.sp_metadata(_saml_settings(provider))
    except SignInFailed:
        abort(404)
    return current_app.response_class(xml, mimetype="application/samlmetadata+xml")


def _failed(provider: IdentityProvider, error: SignInFailed, kept: dict[str, Any]):  # type: ignore[no-untyped-def]
    log.warning("single sign-on answer from %s refused: %s", provider.slug, error)
    if kept.get("reauth") and current_user.is_authenticated:
        flash(_("%(provider)s did not confirm it is you: nothing can be signed with it.", provider=provider.name),
              "error")
        return redirect(_safe_next(kept.get("next")))
    flash(_("Signing in with %(provider)s did not succeed. Start again from the log-in page.",
            provider=provider.name), "error")
    return render_template("sso/failed.html", provider=provider), 400


def _complete(provider: IdentityProvider, identity: Identity, kept: dict[str, Any], *, method: str
              ):  # type: ignore[no-untyped-def]
    if kept.get("reauth"):
        return _complete_reauth(provider, identity, kept, method=method)
    with transaction(db()) as s:
        try:
            user = service.sign_in(s, provider=provider, identity=identity, now=now())
        except service.SignInRefused as refused:  # committed all the same: the refusal and any deactivation
            flash(str(refused), "error")
            return render_template("sso/failed.html", provider=provider), 403
    from qa_incidents.accounts.views import start_session

    start_session(user)
    session[SIGNED_IN] = {"provider": provider.slug, "hint": identity.logout_hint}
    return redirect(_safe_next(kept.get("next")))


def _complete_reauth(provider: IdentityProvider, identity: Identity, kept: dict[str, Any], *, method: str
                     ):  # type: ignore[no-untyped-def]
    next_url = _safe_next(kept.get("next"))
    if not current_user.is_authenticated:
        abort(401)
    if service.linked_user_id(db(), provider_id=provider.id, subject=identity.subject) != current_user.id:
        flash(_("%(provider)s confirmed a different person: nothing can be signed with it.", provider=provider.name),
              "error")
        return redirect(next_url)
    at = datetime.fromtimestamp(identity.authenticated_at or time.time(), UTC)
    with transaction(db()) as s:
        code = service.issue_reauthentication(s, user=current_user, provider=provider, method=method,
                                              authenticated_at=at, now=now())
    flash(_("%(provider)s confirmed it is you. To sign, enter this one-time signing code where the form asks "
            "for your password: %(code)s (valid for 5 minutes, once).", provider=provider.name, code=code),
          "success")
    return redirect(next_url)


def leave_to(url: str):  # type: ignore[no-untyped-def]
    """The page after log-out that sends the browser on to the provider's log-out (a redirect straight after the
    log-out form would break the form-action 'self' content security policy)."""
    return render_template("sso/leaving.html", url=url)


def logout_redirect(kept: dict[str, Any] | None) -> str | None:
    """Where to send the browser so the provider ends its session too (None: it cannot, or the user signed in
    with a password). Called by the log-out view with what the session kept, before the session is cleared."""
    if not kept:
        return None
    provider = service.provider_by_slug(db(), str(kept.get("provider", "")))
    if provider is None:
        return None
    back = _base() + url_for("accounts.login")
    if provider.protocol == Protocol.OIDC:
        return oidc.logout_url(provider.issuer, id_token=str(kept.get("hint", "")), post_logout_redirect_uri=back)
    return saml.logout_url(_saml_settings(provider), logout_hint=str(kept.get("hint", "")), relay_state="logout")


# --- administration ------------------------------------------------------------------------


def _division_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank), *[(d.id, d.name) for d in accounts.list_divisions(db(), active_only=True)]]


def _settings_form() -> SettingsForm:
    row = service.settings(db())
    form = SettingsForm(obj=row if request.method == "GET" else None)
    admins = [u for u in accounts.list_users(db()) if u.role == Role.ADMIN and u.active]
    form.break_glass_user_id.choices = [(0, "—"), *[(u.id, f"{u.name} <{u.email}>") for u in admins]]
    if request.method == "GET":
        form.break_glass_user_id.data = row.break_glass_user_id or 0
    return form


@admin_bp.route("/", methods=["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def index():  # type: ignore[no-untyped-def]
    form = _settings_form()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.save_settings(s, restricted=form.local_login_restricted.data,
                                      break_glass_user_id=form.break_glass_user_id.data or None,
                                      actor_id=current_user.id, now=now())
            flash(_("Log-in settings saved."), "success")
            return redirect(url_for("sso_admin.index"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    if form.errors:
        status = 422
    return render_template("sso/admin_index.html", form=form, providers=service.list_providers(db())), status


def _provider_input(form: ProviderForm) -> service.ProviderInput:
    return service.ProviderInput(
        slug=form.slug.data or "", name=form.name.data or "", protocol=Protocol(form.protocol.data),
        active=form.active.data, issuer=form.issuer.data or "", client_id=form.client_id.data or "",
        client_secret=form.client_secret.data or None, scopes=form.scopes.data or "",
        idp_metadata=form.idp_metadata.data or "", email_claim=form.email_claim.data or "",
        name_claim=form.name_claim.data or "", groups_claim=form.groups_claim.data or "",
        division_claim=form.division_claim.data or "", default_division_id=form.default_division_id.data or None)


@admin_bp.route("/providers/new", methods=["GET", "POST"], defaults={"provider_id": None})
@admin_bp.route("/providers/<id:provider_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def provider_form(provider_id: int | None):  # type: ignore[no-untyped-def]
    provider = (db().get(IdentityProvider, provider_id) or abort(404)) if provider_id else None
    form = ProviderForm(obj=provider)
    form.default_division_id.choices = _division_choices(_("(none: refuse such users)"))
    if request.method == "GET" and provider is not None:
        form.protocol.data = provider.protocol.value
        form.default_division_id.data = provider.default_division_id or 0
        form.client_secret.data = ""
    mapping_form = MappingForm(prefix="map")
    mapping_form.division_id.choices = _division_choices("—")
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                saved = service.save_provider(s, data=_provider_input(form), provider_id=provider_id,
                                              actor_id=current_user.id, now=now())
            flash(_("Identity provider %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("sso_admin.provider_form", provider_id=saved.id))
        except DomainError as e:
            for message in apply_errors(form, getattr(e, "errors", {"": str(e)})):
                flash(message, "error")
    return _provider_page(provider, form, mapping_form, 422 if form.errors else 200)


def _provider_page(provider: IdentityProvider | None, form: ProviderForm, mapping_form: MappingForm, status: int
                   ):  # type: ignore[no-untyped-def]
    mappings = service.list_mappings(db(), provider.id) if provider is not None else []
    divisions = {d.id: d.name for d in accounts.list_divisions(db())}
    addresses = None
    if provider is not None:
        addresses = {"redirect": _callback(provider), "metadata": _base() + url_for("sso.saml_metadata", slug=provider.slug),
                     "acs": _base() + url_for("sso.saml_acs", slug=provider.slug)}
    return render_template("sso/provider_form.html", provider=provider, form=form, mapping_form=mapping_form,
                           mappings=mappings, divisions=divisions, addresses=addresses,
                           retire_form=EmptyForm(prefix="retire")), status


@admin_bp.post("/providers/<id:provider_id>/mappings")
@requires(Capability.MANAGE_USERS)
def mapping_add(provider_id: int):  # type: ignore[no-untyped-def]
    provider = db().get(IdentityProvider, provider_id) or abort(404)
    mapping_form = MappingForm(prefix="map")
    mapping_form.division_id.choices = _division_choices("—")
    if mapping_form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.add_mapping(s, provider_id=provider.id, value=mapping_form.value.data or "",
                                    role=Role(mapping_form.role.data) if mapping_form.role.data else None,
                                    division_id=mapping_form.division_id.data or None,
                                    priority=mapping_form.priority.data or 0, actor_id=current_user.id, now=now())
            flash(_("Mapping added."), "success")
            return redirect(url_for("sso_admin.provider_form", provider_id=provider.id))
        except ValidationFailed as e:
            for message in apply_errors(mapping_form, e.errors):
                flash(message, "error")
    form = ProviderForm(obj=provider, formdata=None)
    form.default_division_id.choices = _division_choices(_("(none: refuse such users)"))
    form.protocol.data = provider.protocol.value
    form.default_division_id.data = provider.default_division_id or 0
    return _provider_page(provider, form, mapping_form, 422)


@admin_bp.post("/mappings/<id:mapping_id>/retire")
@requires(Capability.MANAGE_USERS)
def mapping_retire(mapping_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm(prefix="retire").validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            mapping = service.retire_mapping(s, mapping_id=mapping_id, actor_id=current_user.id, now=now())
    except DomainError:
        abort(404)
    flash(_("Mapping retired."), "success")
    return redirect(url_for("sso_admin.provider_form", provider_id=mapping.provider_id))


def signing_hint() -> Markup:
    """Under a signature's password field, for a user who signs in with a provider: how to sign without one."""
    if request.blueprint == "accounts" or not current_user.is_authenticated:
        return Markup("")
    providers = service.linked_providers(db(), current_user.id)
    if not providers:
        return Markup("")
    link = url_for("sso.reauthenticate", next=request.full_path.rstrip("?"))
    return Markup('<p class="hint sso-sign"><a class="button" href="{}">{}</a> {}</p>').format(
        link, _("Confirm it is you at %(provider)s", provider=providers[0].name),
        _("You then get a one-time signing code to enter here instead of a password."))


@bp.record_once
def _template_helpers(state: Any) -> None:
    # The log-in page asks for its buttons, signature fields for the hint; no other page pays for the query.
    state.app.jinja_env.globals["sso_login_buttons"] = lambda: service.list_providers(db(), active_only=True)
    state.app.jinja_env.globals["sso_signing_hint"] = signing_hint
