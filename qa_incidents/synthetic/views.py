"""`/healthz`: the cheapest page the server answers (a load balancer's health check, and the benchmark's yardstick)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response

from qa_incidents.core.web import db

bp = Blueprint("synthetic", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 "ok" when the application and its database answer."""
    db().execute(sa.text("SELECT 1"))
    return Response("ok\n", mimetype="text/plain")
