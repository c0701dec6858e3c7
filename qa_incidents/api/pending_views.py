"""Head-office QA's review of the lessons learned that imports proposed: publish (signed) or reject."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.api import pending_lessons
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import Form, apply_errors
from qa_incidents.core.permissions import Capability
from qa_incidents.core.signatures import SignatureRefused
from qa_incidents.core.web import db, now, requires

pending_bp = Blueprint("pending_lessons", __name__, url_prefix="/lessons/proposed")


class PublishForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Re-enter your password to sign."))])


class RejectForm(Form):
    reason = TextAreaField(_l("Why it is not published"), validators=[InputRequired(_l("Say why.")),
                                                                      Length(max=2000)])


def _forms(pending_id: int) -> tuple[PublishForm, RejectForm]:
    """Each proposed lesson's own forms (own field names and ids on a page that lists many)."""
    return PublishForm(prefix=f"publish-{pending_id}"), RejectForm(prefix=f"reject-{pending_id}")


def _page(status: int = 200, failed: dict[int, tuple[PublishForm, RejectForm]] | None = None):  # type: ignore[no-untyped-def]
    items = pending_lessons.waiting(db())
    forms = {item.id: (failed or {}).get(item.id) or _forms(item.id) for item in items}
    return render_template("api/pending_lessons.html", items=items, now=now(), preview=pending_lessons.preview,
                           forms=forms, publish_meaning=pending_lessons.PUBLISH_MEANING), status


@pending_bp.get("/")
@requires(Capability.APPROVE)
def index():  # type: ignore[no-untyped-def]
    return _page()


@pending_bp.post("/<id:pending_id>/publish")
@requires(Capability.APPROVE)
def publish(pending_id: int):  # type: ignore[no-untyped-def]
    form, other = _forms(pending_id)
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                lesson = pending_lessons.publish(s, user=current_user, pending_id=pending_id,
                                                 password=form.password.data or "", comment=form.comment.data or "",
                                                 now=now())
            flash(_("Signed: the lesson “%(title)s” is published.", title=lesson.title), "success")
            return redirect(url_for("pending_lessons.index"))
        except SignatureRefused as e:
            form.password.errors = [*form.password.errors, str(e)]
            form.password.data = ""
            return _page(e.status_code, {pending_id: (form, other)})
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            abort(e.status_code, description=str(e))
    form.password.data = ""
    return _page(422, {pending_id: (form, other)})


@pending_bp.post("/<id:pending_id>/reject")
@requires(Capability.APPROVE)
def reject(pending_id: int):  # type: ignore[no-untyped-def]
    other, form = _forms(pending_id)
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                pending_lessons.reject(s, user=current_user, pending_id=pending_id, reason=form.reason.data or "",
                                       now=now())
            flash(_("The proposed lesson is not published."), "success")
            return redirect(url_for("pending_lessons.index"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
        except DomainError as e:
            abort(e.status_code, description=str(e))
    return _page(422, {pending_id: (other, form)})
