"""The home page: where each role starts."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from qa_incidents.core.permissions import Capability, can

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    """Incident workers land on the register; others on a page naming what they may do."""
    if can(current_user.actor, Capability.READ_INCIDENTS):
        return redirect(url_for("incidents.register"))
    return render_template("home.html")
