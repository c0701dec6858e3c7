"""The home page: where each role starts."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    """Every role starts on My work: what waits for them, and where their role's work is."""
    return redirect(url_for("workflow.my_work"))
