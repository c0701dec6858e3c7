"""Public recall pages (no login): the notice in the customer's words and the serial-number check."""

from __future__ import annotations

from flask import Blueprint

public_bp = Blueprint("public", __name__, url_prefix="/recall")
