"""Pages to download the whole laws map as JSON or CSV, and (admin, head-office QA) to import such a file."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired

from qa_incidents.core.db import transaction
from qa_incidents.core.forms import Form
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now, requires
from qa_incidents.laws import transfer

bp = Blueprint("laws_transfer", __name__, url_prefix="/laws/transfer")


class LawsMapImportForm(Form):
    file = FileField(_l("Laws-map file"), validators=[FileRequired(_l("Choose a .json or .csv file to import."))],
                     description=_l("A JSON or CSV file in the format of the exports above (UTF-8; the format is told "
                                    "by the extension, .json or .csv)."))


def _page(form: LawsMapImportForm | None, report: transfer.ImportReport | None = None) -> str:
    return render_template("laws_transfer/index.html", form=form, report=report)


@bp.get("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    form = LawsMapImportForm() if can(current_user.actor, Capability.EDIT_LAWS_MAP) else None
    return _page(form)


@bp.post("/import")
@requires(Capability.EDIT_LAWS_MAP)
def import_():  # type: ignore[no-untyped-def]
    form = LawsMapImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            with transaction(db()) as s:
                report = transfer.import_file(s, filename=upload.filename or "", content=upload.read(),
                                              actor_id=current_user.id, now=now())
        except transfer.TransferFileError as e:
            form.file.errors = [*form.file.errors, str(e)]
    refused = any(f.errors for f in form) or bool(report and report.rejected)
    return _page(form, report), (422 if refused else 200)


def _download(body: str, *, ext: str, mimetype: str) -> Response:
    name = f"laws-map-{now().date().isoformat()}.{ext}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.json")
@login_required
def export_json() -> Any:
    return _download(transfer.dumps_json(transfer.export_json(db())), ext="json", mimetype="application/json")


@bp.get("/export.csv")
@login_required
def export_csv() -> Any:
    # With a byte-order mark, so that spreadsheet programs read the UTF-8 (Japanese law names) correctly.
    return _download("\ufeff" + transfer.export_csv(db()), ext="csv", mimetype="text/csv")
