"""Import pages: upload, map columns, preview, run, report."""

from __future__ import annotations

from flask import Blueprint

import_bp = Blueprint("imports", __name__, url_prefix="/imports")
