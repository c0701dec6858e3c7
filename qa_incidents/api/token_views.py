"""The user's API tokens: create (shown once), list (with last use), revoke."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.api import tokens
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import EmptyForm, Form, apply_errors
from qa_incidents.core.permissions import Capability
from qa_incidents.core.web import db, now, requires

tokens_bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(Form):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Name the token.")), Length(max=80)],
                       description=_l("What will use it, e.g. “call-centre bridge” or “QA analysis notebook”."))
    days = IntegerField(_l("Days until it expires"), validators=[Optional()],
                        description=_l("Leave empty for the usual lifetime; a new token can be made at any time."))


def _lifetimes() -> tuple[int, int]:
    config = current_app.config
    maximum = int(config.get("API_TOKEN_MAX_DAYS", tokens.MAX_DAYS))
    return min(int(config.get("API_TOKEN_DAYS", tokens.DEFAULT_DAYS)), maximum), maximum


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    default_days, max_days = _lifetimes()
    return render_template("api/tokens.html", form=form, tokens=tokens.tokens_of(db(), current_user),
                           new_token=new_token, revoke_form=EmptyForm(), now=now(), default_days=default_days,
                           max_days=max_days, expiry_of=lambda t: tokens.expiry_of(t, max_days=max_days)), status


@tokens_bp.get("/")
@requires(Capability.USE_API)
def index():  # type: ignore[no-untyped-def]
    return _page(TokenForm())


@tokens_bp.post("/")
@requires(Capability.USE_API)
def create():  # type: ignore[no-untyped-def]
    form = TokenForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                default_days, max_days = _lifetimes()
                token, text = tokens.create_token(s, user=current_user, name=form.name.data or "", now=now(),
                                                  days=form.days.data, default_days=default_days, max_days=max_days)
            flash(_("Token “%(name)s” created. Copy it now: it is not shown again.", name=token.name), "success")
            # Rendered, not redirected: the token text must never travel in a URL or a session cookie.
            body, status = _page(TokenForm(formdata=None), new_token=text, status=201)
            return body, status, {"Cache-Control": "no-store"}
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return _page(form, status=422)


@tokens_bp.post("/<id:token_id>/revoke")
@requires(Capability.USE_API)
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            token = tokens.revoke_token(s, user=current_user, token_id=token_id, now=now())
    except DomainError:
        abort(404)
    flash(_("Token “%(name)s” revoked: requests with it are refused from now on.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
