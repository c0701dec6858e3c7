"""qa-incidents: product incidents from the first report to the last lesson learned."""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, render_template, request, session
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import Forbidden

from config import BASE_DIR, Config
from qa_incidents.core.web import csrf

babel = Babel()


class _LoginManager(LoginManager):
    """Flask-Login's "strong" session protection, for signed-in sessions only.

    Flask-Login treats a session without its fingerprint ("_id") as stolen, and clears its keys and marks the
    remember cookie for deletion. An anonymous visitor's session (a CSRF token, a pending single sign-on) has no
    fingerprint, so every request of theirs, a style sheet or a missing /favicon.ico included, rewrote the session
    cookie. The browser keeps whichever response arrives last: a favicon request answered after the single sign-on
    redirect put back the cookie without the sign-in it had just started ("no sign-in was started in this session").
    A session that holds no signed-in user has nothing to protect, so it is left as it is.
    """

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session:
            return False
        return bool(super()._session_protection_failed())


login_manager = _LoginManager()


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the application: configuration, extensions, blueprints. Only wiring here."""
    from qa_incidents.core import web
    from qa_incidents.core.db import make_engine, make_session_factory
    from qa_incidents.core.storage import Storage

    config = config or Config()
    if not config.TESTING:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(Path(overrides.get("INSTANCE_DIR", config.INSTANCE_DIR)).resolve()),
    )
    app.config.from_object(config)
    app.config.update(overrides)

    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["qa_engine"] = engine
    app.extensions["qa_session_factory"] = make_session_factory(engine)
    app.extensions["qa_storage"] = Storage(Path(app.config["ATTACHMENT_DIR"]), app.config["ATTACHMENT_MAX_BYTES"])
    app.teardown_appcontext(web.close_db)

    if app.config.get("PASSWORD_HASH_FAST"):
        from qa_incidents.accounts.service import use_fast_hashing

        use_fast_hashing()

    csrf.init_app(app)
    from qa_incidents.core import i18n

    babel.init_app(app, locale_selector=i18n.request_language, timezone_selector=web.viewer_timezone)
    i18n.init_app(app)  # catalogues under translations/, each request's language, locale-aware filters
    _init_login(app)
    from qa_incidents.core.params import IdConverter

    # Every id in a path (<id:…>; a stray <int:…> gets the same): 404 past 64 bits, never a server error.
    app.url_map.converters["id"] = app.url_map.converters["int"] = IdConverter
    _register_blueprints(app)
    _register_errors(app)
    _register_template_helpers(app)
    app.after_request(_security_headers)
    from qa_incidents.core import heap

    heap.install(app)
    if app.config.get("CACHE_STATS"):
        from qa_incidents.core.freshness import add_lookups_header

        app.after_request(add_lookups_header)

    from qa_incidents.cli import register_commands

    register_commands(app)
    if app.config.get("SCHEDULER_IN_PROCESS"):
        from qa_incidents.core.scheduler import start_in_process

        start_in_process(app)
    return app


def _init_login(app: Flask) -> None:
    from qa_incidents.accounts.models import SESSION_VERSION_KEY, User
    from qa_incidents.core.db import is_db_id
    from qa_incidents.core.web import db

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    # Built once: the user is read on every request.
    by_id = sa.select(User).where(User.id == sa.bindparam("user_id"))

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdecimal() or not is_db_id(int(user_id)):
            return None
        user = db().scalars(by_id, {"user_id": int(user_id)}).one_or_none()
        if user is None or not user.active:
            return None
        # A session begun before the user's last log-out, password change or "sign out everywhere" has ended.
        return user if session.get(SESSION_VERSION_KEY) == user.session_version else None


def _register_blueprints(app: Flask) -> None:
    from qa_incidents.accounts.views import admin_bp
    from qa_incidents.accounts.views import bp as accounts_bp
    from qa_incidents.catalogue.views import bp as catalogue_bp
    from qa_incidents.incidents.views import bp as incidents_bp
    from qa_incidents.incidents.workflow_views import bp as workflow_bp
    from qa_incidents.main import bp as main_bp

    for blueprint in (main_bp, accounts_bp, admin_bp, catalogue_bp, incidents_bp, workflow_bp):
        app.register_blueprint(blueprint)
    from qa_incidents.alerts.views import bp as alerts_bp

    app.register_blueprint(alerts_bp)
    from qa_incidents.laws.views import bp as laws_bp

    app.register_blueprint(laws_bp)
    from qa_incidents.laws.transfer_views import bp as laws_transfer_bp

    app.register_blueprint(laws_transfer_bp)
    from qa_incidents.laws.compliance_views import bp as compliance_bp

    app.register_blueprint(compliance_bp)
    from qa_incidents.notifications.views import bp as notifications_bp

    app.register_blueprint(notifications_bp)
    from qa_incidents.notifications.record_views import bp as records_bp

    app.register_blueprint(records_bp)
    from qa_incidents.reviews.views import bp as reviews_bp

    app.register_blueprint(reviews_bp)
    from qa_incidents.recalls.views import bp as recalls_bp

    app.register_blueprint(recalls_bp)
    from qa_incidents.synthetic.views import bp as health_bp

    app.register_blueprint(health_bp)
    from qa_incidents.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    from qa_incidents.recalls.public import public_bp

    app.register_blueprint(public_bp)
    from qa_incidents.safety_notices.views import bp as safety_notices_bp
    from qa_incidents.safety_notices.views import public_bp as safety_public_bp

    app.register_blueprint(safety_notices_bp)
    app.register_blueprint(safety_public_bp)
    from qa_incidents.api.views import bp as api_bp

    app.register_blueprint(api_bp)
    from qa_incidents.api.import_views import import_bp
    from qa_incidents.api.pending_views import pending_bp
    from qa_incidents.api.token_views import tokens_bp

    app.register_blueprint(import_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(pending_bp)
    from qa_incidents.complaints.views import bp as complaints_bp

    app.register_blueprint(complaints_bp)
    from qa_incidents.sso.views import admin_bp as sso_admin_bp
    from qa_incidents.sso.views import bp as sso_bp

    app.register_blueprint(sso_bp)
    app.register_blueprint(sso_admin_bp)
    from qa_incidents.inbox.views import bp as inbox_bp

    app.register_blueprint(inbox_bp)


def _register_errors(app: Flask) -> None:
    from qa_incidents.core import web

    def page(code: int, title: Any, message: Any) -> tuple[str, int]:
        return render_template("errors/error.html", code=code, title=title, message=message), code

    app.register_error_handler(400, lambda e: page(400, _l("Bad request"), _l("The request could not be understood.")))
    app.register_error_handler(
        CSRFError, lambda e: page(400, _l("Form expired"), _l("The form was out of date or incomplete. Go back, reload the page and try again.")))
    def forbidden(e: Any) -> tuple[str, int]:
        # A rule that refuses an action says why (e.g. "Only S1 and S2 incidents are escalated").
        custom = e.description if e.description != Forbidden.description else None
        return page(403, _l("Not allowed"), custom or _l("Your role does not allow this."))

    app.register_error_handler(403, forbidden)
    app.register_error_handler(404, lambda e: page(404, _l("Not found"), _l("There is nothing here, or you may not see it.")))
    app.register_error_handler(
        413, lambda e: page(413, _l("Too large"), _l("The upload is larger than the limit of %(limit)s.",
                                                    limit=web.size_text(app.config["ATTACHMENT_MAX_BYTES"]))))
    app.register_error_handler(500, lambda e: page(500, _l("Something went wrong"), _l("The error has been logged. Nothing was saved from this request.")))


def _register_template_helpers(app: Flask) -> None:
    from qa_incidents.core import i18n, web
    from qa_incidents.core.permissions import ROLE_TITLES, Capability, can
    from qa_incidents.incidents import rules
    from qa_incidents.incidents.lifecycle import ACTION_TITLES, Action, may_take
    from qa_incidents.notifications.obligations import VERDICT_TITLES
    from qa_incidents.notifications.rules import REPORT_KIND_TITLES
    from qa_incidents.notifications.rules import SHOWN_STATE_TITLES as NOTIFICATION_STATE_TITLES
    from qa_incidents.reports.rules import TRIGGER_TITLES

    app.jinja_env.filters["localtime"] = i18n.localtime_filter  # era dates for Japanese readers who chose them
    app.jinja_env.filters["in_zone"] = web.in_zone
    from qa_incidents.core.signatures import meaning_title

    app.jinja_env.filters["meaning"] = meaning_title
    from qa_incidents.notifications.rules import shown_state

    app.jinja_env.filters["shown_state"] = lambda state, pending: shown_state(state, decision_pending=bool(pending))
    from qa_incidents.reports.render import when

    app.jinja_env.filters["when"] = when
    app.jinja_env.globals.update(
        Capability=Capability,
        ROLE_TITLES=ROLE_TITLES,
        STATUS_TITLES=rules.STATUS_TITLES,
        SEVERITY_TITLES=rules.SEVERITY_TITLES,
        SOURCE_TITLES=rules.SOURCE_TITLES,
        HAZARD_TITLES=rules.HAZARD_TITLES,
        HARM_FLAG_TITLES=rules.HARM_FLAG_TITLES,
        ACTION_TITLES=ACTION_TITLES,
        VERDICT_TITLES=VERDICT_TITLES,
        NOTIFICATION_STATE_TITLES=NOTIFICATION_STATE_TITLES,  # "to_decide" included
        ACTION_TITLES_BY_VALUE={a.value: t for a, t in ACTION_TITLES.items()},
        REPORT_TRIGGER_TITLES={k.value: t for k, t in TRIGGER_TITLES.items()},
        REPORT_KIND_TITLES=REPORT_KIND_TITLES,
    )

    # The main navigation is the same for every user of a role, in a language, on a page: rendered once per process
    # for each (role, language, page) and reused, rather than 20 permission checks, links and translations per page.
    # The user's name, division and the log-out form's token are outside it.
    fragments: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()

    def cached_fragment(*key: Any, caller: Any) -> Markup:
        full = (key, i18n.current_language(), request.script_root)
        html = fragments.get(full)
        if html is None:
            # caller() is the block's own template output, already escaped by Jinja's autoescape.
            html = fragments[full] = Markup(caller())  # nosec B704
            if len(fragments) > 256:
                fragments.popitem(last=False)
        return html

    # A form field as the `field` macro draws it (label, control, hint), kept per field, value, choices and language:
    # the register's ten filters cost more to draw than its fifty rows, yet each shows one of a few values. Fields
    # with errors, and text typed into a field, are drawn anew every time.
    fields: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()

    def remembered_field(f: Any, **attrs: Any) -> Markup:
        macro = app.jinja_env.get_template("macros/forms.html").module.field  # type: ignore[attr-defined]
        choices = getattr(f, "choices", None)
        if f.errors or (choices is None and f.data not in (None, "")):
            return macro(f, **attrs)  # type: ignore[no-any-return]
        key = (f.name, f.id, f.type, str(f.data), tuple(sorted(attrs.items())), i18n.current_language(),
               None if choices is None else tuple(_choice_key(c) for c in choices))
        html = fields.get(key)
        if html is None:
            html = fields[key] = Markup(macro(f, **attrs))  # nosec B704: the macro's own autoescaped output
            if len(fields) > 2_048:
                fields.popitem(last=False)
        return html

    @app.context_processor
    def helpers() -> dict[str, Any]:
        # The user once per page (current_user is a proxy looked up on every use), with what the helpers ask of it.
        user = current_user._get_current_object() if has_request_context() else None
        authenticated = bool(user is not None and user.is_authenticated)
        actor = user.actor if authenticated else None
        role = user.role if authenticated else None
        countries = _countries(user.locale if authenticated else "en")

        def user_can(capability: Capability) -> bool:
            return actor is not None and can(actor, capability)

        def user_may(action: str) -> bool:
            """Whether the lifecycle lets the user's role take this action at all (menus only; pages check again)."""
            return role is not None and may_take(role, Action(action))

        def country_name(code: str) -> str:
            return countries.get(code, code)

        def inbox_unread() -> int:
            """The bell's count of unread notifications (read only when the header shows it)."""
            from qa_incidents.inbox.service import unread_count

            return unread_count(web.db(), user=user) if authenticated else 0

        return {"user_can": user_can, "user_may": user_may, "country_name": country_name, "viewer_timezone": web.viewer_timezone,
                "inbox_unread": inbox_unread,
                "now_utc": web.now(), "cached_fragment": cached_fragment, "remembered_field": remembered_field}


def _choice_key(choice: Any) -> tuple[str, str]:
    """A select's choice as (value, label shown), whether written as a tuple or as a WTForms SelectChoice."""
    value, label = (choice[0], choice[1]) if isinstance(choice, tuple) else (choice.value, choice.label)
    return str(value), str(label)


@functools.lru_cache(maxsize=8)
def _countries(locale: str | None) -> dict[str, str]:
    """Country names in a language (CLDR data, fixed for the life of the process)."""
    from qa_incidents.core.countries import country_names

    return country_names(locale or "en")


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    )
    return response
