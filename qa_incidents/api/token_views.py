"""The user's API tokens: create, list (last used), revoke."""

from __future__ import annotations

from flask import Blueprint

tokens_bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")
