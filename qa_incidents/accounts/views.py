"""Log-in and log-out, one's own account, and the administration of users and divisions."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.datastructures import ImmutableMultiDict

from qa_incidents.accounts import service
from qa_incidents.accounts.forms import DivisionForm, LoginForm, PasswordChangeForm, PreferencesForm, UserForm
from qa_incidents.accounts.models import SESSION_VERSION_KEY, Division, User
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import EmptyForm, apply_errors, timezone_choices
from qa_incidents.core.permissions import Capability, Role
from qa_incidents.core.web import db, now, requires
from qa_incidents.sso import service as sso_service
from qa_incidents.sso import views as sso_views

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the log-in page cannot be used to redirect elsewhere."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc):
        return target
    return url_for("workflow.my_work")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("workflow.my_work"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            with transaction(db()) as s:
                user = service.authenticate(s, email=email, password=form.password.data or "", now=now())
                if user is not None and not sso_service.local_login_allowed(s, user):
                    s.rollback()  # not a log-in: nothing of it is kept
                    flash(_("Local passwords are switched off: sign in with your company account."), "error")
                    return render_template("accounts/login.html", form=form), 403
                until = None if user is not None else service.locked_until(s, email=email, now=now())
        except service.LoginLocked as locked:
            flash(str(locked), "error")
            return render_template("accounts/login.html", form=form), 429
        if until is not None:  # this failure was the last one allowed
            flash(str(service.LoginLocked(until, now())), "error")
            return render_template("accounts/login.html", form=form), 429
        if user is None:
            flash(_("The e-mail address or password is not correct."), "error")
            return render_template("accounts/login.html", form=form), 401
        start_session(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), (422 if form.errors else 200)


def start_session(user: User) -> None:
    """The one way a user's session begins (password log-in, single sign-on): a fresh session (no fixation) that
    carries the user's session version, so log-out, a password change or "sign out everywhere" ends it."""
    session.clear()
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version
    session["signed_in_at"] = session["seen_at"] = int(time.time())
    flash(_("Welcome, %(name)s.", name=user.name), "success")


@bp.before_app_request
def _drop_nul_characters():  # type: ignore[no-untyped-def]
    """Remove NUL characters from submitted text and file names: PostgreSQL cannot store them, and no person
    types one (left in, they would turn a save into a server error)."""
    for name in ("args", "form"):
        values = getattr(request, name)
        # A multipart part whose name cannot be read arrives under the key None: it names no field, so it is dropped.
        if any(k is None or "\x00" in k or "\x00" in v for k, v in values.items(multi=True)):
            setattr(request, name, ImmutableMultiDict(
                [(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in values.items(multi=True) if k is not None]))
    if request.mimetype == "multipart/form-data":
        for upload in request.files.values():
            if upload.filename and "\x00" in upload.filename:
                upload.filename = upload.filename.replace("\x00", "")


@bp.before_app_request
def _expire_idle_session():  # type: ignore[no-untyped-def]
    """Log out a session left idle too long, or older than the longest allowed, and say why.

    Wall-clock time on purpose: the application's clock may be frozen or moved in tests and
    demonstrations, but a session's age is about the person at the keyboard.
    """
    if not current_user.is_authenticated or request.endpoint == "static":
        return None
    config = current_app.config
    idle = int(config.get("SESSION_IDLE_MINUTES", 30)) * 60
    longest = int(config.get("SESSION_MAX_HOURS", 12)) * 3600
    moment = int(time.time())
    seen, signed_in = session.get("seen_at", moment), session.get("signed_in_at", moment)
    if moment - seen > idle or moment - signed_in > longest:
        logout_user()
        session.clear()
        flash(_("Your session expired after a period without activity. Log in again; nothing you saved was lost."),
              "info")
        if request.method != "GET":
            abort(401)
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    if moment - seen > 60:  # refresh at most once a minute: fewer cookie rewrites
        session["seen_at"] = moment
    session.setdefault("signed_in_at", signed_in)
    return None


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    provider_logout = sso_views.logout_redirect(session.get(sso_views.SIGNED_IN))  # the provider's session too
    with transaction(db()) as s:  # every session of the user ends, a copied cookie too
        user = s.get(User, current_user.id)
        if user is not None:
            service.end_sessions(s, user=user, actor_id=user.id, now=now(), action="logged_out")
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return sso_views.leave_to(provider_logout) if provider_logout else redirect(url_for("accounts.login"))


@bp.post("/language")
def set_language():  # type: ignore[no-untyped-def]
    """The language switch in the page header: stored on the user once logged in, in the session before."""
    from qa_incidents.core.i18n import SESSION_KEY, supported_language

    language = supported_language(request.form.get("language"))
    if not EmptyForm(prefix="language").validate_on_submit() or language is None:
        abort(400)
    session[SESSION_KEY] = language
    if current_user.is_authenticated and current_user.locale != language:
        with transaction(db()) as s:
            service.update_own_preferences(s, user=current_user, timezone=current_user.timezone, locale=language,
                                           now=now())
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():  # type: ignore[no-untyped-def]
    prefs = PreferencesForm(prefix="prefs", obj=current_user)
    prefs.timezone.choices = timezone_choices()
    pw = PasswordChangeForm(prefix="pw")
    status = 200
    if request.method == "POST":
        which = request.form.get("which")
        try:
            if which == "prefs" and prefs.validate_on_submit():
                with transaction(db()) as s:
                    service.update_own_preferences(s, user=current_user, timezone=prefs.timezone.data,
                                                   locale=prefs.locale.data, era_dates=bool(prefs.era_dates.data),
                                                   now=now())
                flash(_("Preferences saved."), "success")
                return redirect(url_for("accounts.account"))
            if which == "pw" and pw.validate_on_submit():
                with transaction(db()) as s:
                    service.change_own_password(s, user=current_user, current=pw.current_password.data,
                                                new=pw.new_password.data, now=now(),
                                                revoke_tokens=bool(pw.revoke_tokens.data))
                session[SESSION_VERSION_KEY] = current_user.session_version  # this session goes on; no other does
                flash(_("Password changed. Every other session of yours has ended."), "success")
                return redirect(url_for("accounts.account"))
        except ValidationFailed as e:
            for message in apply_errors(prefs if which == "prefs" else pw, e.errors):
                flash(message, "error")
        status = 422
    return render_template("accounts/account.html", prefs=prefs, pw=pw, today=now()), status


# --- administration --------------------------------------------------------------------


def _user_form(obj: User | None = None) -> UserForm:
    form = UserForm(obj=obj)
    form.division_id.choices = [(d.id, d.name + ("" if d.active else " " + _("(inactive)")))
                                for d in service.list_divisions(db())]
    form.timezone.choices = timezone_choices()
    if obj is None and not form.is_submitted():
        form.timezone.data = "Asia/Tokyo"
    return form


def _user_input(form: UserForm) -> service.UserInput:
    return service.UserInput(email=form.email.data or "", name=form.name.data or "", role=Role(form.role.data),
                             division_id=form.division_id.data, timezone=form.timezone.data,
                             locale=form.locale.data, active=form.active.data)


@admin_bp.get("/users")
@requires(Capability.MANAGE_USERS)
def users():  # type: ignore[no-untyped-def]
    return render_template("admin/users.html", users=service.list_users(db()))


@admin_bp.route("/users/new", methods=["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_new():  # type: ignore[no-untyped-def]
    form = _user_form()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                user = service.create_user(s, data=_user_input(form), password=form.password.data or "",
                                           actor_id=current_user.id, now=now())
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("admin/user_form.html", form=form, user=None), (422 if form.errors else 200)


@admin_bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_edit(user_id: int):  # type: ignore[no-untyped-def]
    user = db().get(User, user_id) or abort(404)
    form = _user_form(obj=user)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                service.update_user(s, user_id=user_id, data=_user_input(form), new_password=form.password.data or None,
                                    actor_id=current_user.id, now=now())
            flash(_("User %(email)s saved.", email=form.email.data), "success")
            return redirect(url_for("admin.users"))
        except DomainError as e:
            for message in apply_errors(form, getattr(e, "errors", {"": str(e)})):
                flash(message, "error")
    return render_template("admin/user_form.html", form=form, user=user, signout_form=EmptyForm(prefix="signout")), \
        (422 if form.errors else 200)


@admin_bp.post("/users/<id:user_id>/sign-out")
@requires(Capability.MANAGE_USERS)
def user_sign_out(user_id: int):  # type: ignore[no-untyped-def]
    """End every session of the user at once (a lost laptop, a shared password, a departure)."""
    if not EmptyForm(prefix="signout").validate_on_submit():
        abort(400)
    with transaction(db()) as s:
        try:
            user = service.sign_out_everywhere(s, user_id=user_id, actor_id=current_user.id, now=now())
        except DomainError:
            abort(404)
    if user.id == current_user.id:
        session[SESSION_VERSION_KEY] = user.session_version  # the administrator's own current session goes on
    flash(_("Every session of %(email)s has ended.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@admin_bp.get("/divisions")
@requires(Capability.MANAGE_DIVISIONS)
def divisions():  # type: ignore[no-untyped-def]
    return render_template("admin/divisions.html", divisions=service.list_divisions(db()))


@admin_bp.route("/divisions/new", methods=["GET", "POST"], defaults={"division_id": None})
@admin_bp.route("/divisions/<id:division_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_DIVISIONS)
def division_form(division_id: int | None):  # type: ignore[no-untyped-def]
    division = (db().get(Division, division_id) or abort(404)) if division_id else None
    form = DivisionForm(obj=division)
    if form.validate_on_submit():
        data = service.DivisionInput(code=form.code.data or "", name=form.name.data or "",
                                     is_head_office=form.is_head_office.data, active=form.active.data)
        try:
            with transaction(db()) as s:
                if division is None:
                    service.create_division(s, data=data, actor_id=current_user.id, now=now())
                else:
                    service.update_division(s, division_id=division.id, data=data, actor_id=current_user.id, now=now())
            flash(_("Division %(name)s saved.", name=data.name), "success")
            return redirect(url_for("admin.divisions"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("admin/division_form.html", form=form, division=division), (422 if form.errors else 200)
