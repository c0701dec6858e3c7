"""The bell: what changed for me, marking it read; watching an incident."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from qa_incidents.core.db import is_db_id, transaction
from qa_incidents.core.errors import DomainError
from qa_incidents.core.forms import EmptyForm
from qa_incidents.core.permissions import Capability
from qa_incidents.core.web import db, now, requires
from qa_incidents.inbox import service
from qa_incidents.incidents.timeline import sentence

bp = Blueprint("inbox", __name__)


@bp.get("/notifications/inbox")
@login_required
def index():  # type: ignore[no-untyped-def]
    return render_template("inbox/index.html", items=service.items(db(), user=current_user),
                           unread=service.unread_count(db(), user=current_user), sentence=sentence, form=EmptyForm())


@bp.post("/notifications/inbox/read")
@login_required
def read():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    raw = request.form.get("item")
    item_id = int(raw) if raw and raw.isdigit() and is_db_id(int(raw)) else None
    with transaction(db()) as s:
        service.mark_read(s, user=current_user, now=now(), item_id=item_id)
    target = request.form.get("open")
    if item_id is not None and target and target.isdigit():
        return redirect(url_for("incidents.show", incident_id=int(target)))
    return redirect(url_for("inbox.index"))


@bp.post("/incidents/<id:incident_id>/watch")
@requires(Capability.READ_INCIDENTS)
def watch(incident_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    watching = request.form.get("watching") == "1"
    try:
        with transaction(db()) as s:
            service.set_watching(s, user=current_user, incident_id=incident_id, watching=watching, now=now())
    except DomainError:
        abort(404)
    flash(_("You are watching this incident: its changes appear under your notifications.") if watching
          else _("You no longer watch this incident."), "success")
    return redirect(url_for("incidents.show", incident_id=incident_id))
