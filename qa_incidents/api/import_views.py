"""Import pages: upload, map columns (saved profiles), preview, run with a progress page, report; and exports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from qa_incidents.api import exports, importer
from qa_incidents.api.models import ImportRun
from qa_incidents.core import params
from qa_incidents.core.db import begin_write, transaction
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.forms import Form
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.storage import TooLarge
from qa_incidents.core.web import db, now, requires

import_bp = Blueprint("imports", __name__, url_prefix="/imports")

KEEP, UNMAPPED = "", "-"


class UploadForm(Form):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a .csv, .xlsx or .json file (or .gz)."))],
                     description=_l("CSV (UTF-8), Excel .xlsx (first sheet) or JSON (a list of objects); "
                                    "gzip-compressed files (.gz) too. The first row names the columns."))
    profile = SelectField(_l("Mapping profile"), validators=[InputRequired(_l("Choose a mapping profile."))],
                          description=_l("Which column fills which field. You can change the mapping on the next page."))


class MappingForm(Form):
    profile_name = StringField(_l("Save this mapping as"), validators=[
        Optional(), Length(max=80),
        Regexp(r"^[a-z0-9][a-z0-9._-]*$", message=_l("Lower-case letters, digits, dots, hyphens, underscores."))],
        description=_l("Optional: a name to reuse this mapping for later files, e.g. “call-centre-weekly”."))


def _run_or_404(run_id: int) -> ImportRun:
    run = db().get(ImportRun, run_id)
    if run is None or (run.created_by_id != current_user.id and not can(current_user.actor, Capability.WORK_ALL_DIVISIONS)):
        abort(404)
    return run


def _profile_choices() -> list[tuple[str, str]]:
    shipped = [(name, d.get("title", name)) for name, d in importer.shipped_profiles().items()]
    saved = [(p.name, p.title) for p in importer.saved_profiles(db())]
    return [("", _("— choose a profile —"))] + shipped + saved


#: How many rows of the file the mapping page previews.
PREVIEW_ROWS = 10


def read_upload(app: Any, filename: str, sha256: str) -> importer.SourceFile:
    """The whole stored upload, within the configured limits of inflated size and rows."""
    content = app.extensions["qa_storage"].path_for(sha256).read_bytes()
    return importer.read_file(filename, content, max_bytes=app.config["IMPORT_MAX_INFLATED_BYTES"],
                              max_rows=app.config["IMPORT_MAX_ROWS"])


def _sample(source: importer.SourceFile) -> dict[str, Any]:
    return {"format": source.format, "columns": source.columns, "total": len(source.rows),
            "rows": [[line, record] for line, record in source.rows[:PREVIEW_ROWS]]}


def _source_of(run: ImportRun) -> tuple[importer.SourceFile, int]:
    """What the mapping page needs of the file (its columns, first rows and row count), kept at upload: the page
    does not read and parse the whole file again on every view."""
    sample = run.source_sample
    if sample is None:  # a run uploaded before samples were kept
        sample = _sample(read_upload(current_app, run.filename, run.file_sha256))
    rows = [(int(line), dict(record)) for line, record in sample["rows"]]
    return importer.SourceFile(sample["format"], list(sample["columns"]), rows), int(sample["total"])


@import_bp.get("/")
@requires(Capability.FILE_INCIDENT)
def index():  # type: ignore[no-untyped-def]
    form = UploadForm()
    form.profile.choices = _profile_choices()
    return _index(form)


def _index(form: UploadForm, status: int = 200):  # type: ignore[no-untyped-def]
    stmt = sa.select(ImportRun).order_by(ImportRun.id.desc()).limit(20)
    if not can(current_user.actor, Capability.WORK_ALL_DIVISIONS):
        stmt = stmt.where(ImportRun.created_by_id == current_user.id)
    return render_template("imports/index.html", form=form, runs=list(db().scalars(stmt)),
                           shipped=importer.shipped_profiles(), saved=importer.saved_profiles(db()),
                           exports=exports.kinds_for(current_user)), status


@import_bp.post("/")
@requires(Capability.FILE_INCIDENT)
def upload():  # type: ignore[no-untyped-def]
    form = UploadForm()
    form.profile.choices = _profile_choices()
    if not form.validate_on_submit():
        return _index(form, 422)
    upload_file = form.file.data
    filename = (upload_file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255]
    try:
        profile = importer.load_profile(db(), form.profile.data or "")
        stored = current_app.extensions["qa_storage"].put(upload_file.stream)
        sample = _sample(read_upload(current_app, filename, stored.sha256))
    except TooLarge:
        form.file.errors = [*form.file.errors, _("The file is larger than the upload limit.")]
        return _index(form, 422)
    except (importer.ImportFileError, importer.ProfileError) as e:
        form.file.errors = [*form.file.errors, str(e)]
        return _index(form, 422)
    with transaction(db()) as s:
        run = ImportRun(created_by_id=current_user.id, created_at=now(), filename=filename, file_sha256=stored.sha256,
                        profile_name=profile.name, definition=profile.to_dict(), status="draft", report=[], error="",
                        source_sample=sample)
        s.add(run)
    return redirect(url_for("imports.mapping", run_id=run.id))


def _mapping_page(run: ImportRun, form: MappingForm, status: int = 200):  # type: ignore[no-untyped-def]
    source, total = _source_of(run)
    profile = importer.Profile.from_dict(run.definition)
    missing = profile.missing_columns(set(source.columns))
    return render_template("imports/mapping.html", run=run, form=form, source=source, total=total, profile=profile,
                           fields=importer.TARGET_FIELDS, preview=importer.preview(profile, source, 10),
                           missing=missing, describe=_describe), status


def _describe(spec: Any) -> str:
    """A field's mapping in words, for the mapping table."""
    if spec is None:
        return _("not mapped")
    if isinstance(spec, str):
        return _("column “%(c)s”", c=spec)
    if "value" in spec:
        return _("always “%(v)s”", v=spec["value"])
    if "lines" in spec or "template" in spec:
        return _("composed from several columns")
    column = spec.get("column")
    if isinstance(column, list):
        return _("first filled of %(c)s", c=", ".join(f"“{c}”" for c in column))
    return _("column “%(c)s”", c=column)


@import_bp.get("/<id:run_id>/mapping")
@requires(Capability.FILE_INCIDENT)
def mapping(run_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    if run.status != "draft":
        return redirect(url_for("imports.show", run_id=run.id))
    return _mapping_page(run, MappingForm())


@import_bp.post("/<id:run_id>/mapping")
@requires(Capability.FILE_INCIDENT)
def apply_mapping(run_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    if run.status != "draft":
        return redirect(url_for("imports.show", run_id=run.id))
    form = MappingForm()
    if not form.validate_on_submit():
        return _mapping_page(run, form, 422)
    source, total = _source_of(run)
    definition = dict(run.definition)
    fields = dict(definition["fields"])
    for name in importer.TARGET_FIELDS:
        choice = request.form.get(f"map-{name}", KEEP)
        if choice == UNMAPPED:
            fields.pop(name, None)
        elif choice != KEEP:
            if choice not in source.columns:
                abort(400)
            fields[name] = choice
    definition["fields"] = fields
    try:
        profile = importer.Profile.from_dict(definition)
    except importer.ProfileError as e:
        flash(_("This mapping cannot be used: %(why)s", why=str(e)), "error")
        return _mapping_page(run, form, 422)
    with transaction(db()) as s:
        if form.profile_name.data:
            saved = importer.Profile.from_dict({**profile.to_dict(), "name": form.profile_name.data,
                                                "title": form.profile_name.data})
            try:
                importer.save_profile(s, profile=saved, user=current_user, now=now())
                profile = saved
            except ValidationFailed as e:
                form.profile_name.errors = [*form.profile_name.errors, *e.errors.values()]
                s.rollback()
                return _mapping_page(run, form, 422)
            flash(_("Mapping saved as profile “%(name)s”.", name=saved.name), "success")
        run.definition = profile.to_dict()
        run.profile_name = profile.name
        if request.form.get("action") == "run":
            run.status = "queued"
            run.rows = total
    if run.status == "queued":
        start(current_app._get_current_object(), run.id)  # type: ignore[attr-defined]
        return redirect(url_for("imports.show", run_id=run.id))
    return redirect(url_for("imports.mapping", run_id=run.id))


@import_bp.get("/<id:run_id>")
@requires(Capability.FILE_INCIDENT)
def show(run_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    busy = run.status in ("queued", "running")
    response = Response(render_template("imports/show.html", run=run, busy=busy, rejected=run.report[:500]))
    if busy:
        # The page follows the background run by reloading itself (an HTTP header: no script, CSP-safe).
        response.headers["Refresh"] = "2"
    return response


@import_bp.get("/<id:run_id>/report.csv")
@requires(Capability.FILE_INCIDENT)
def report_csv(run_id: int) -> Response:
    run = _run_or_404(run_id)
    report = importer.ImportReport(rejected=[importer.Rejection(r["line"], r["key"], r["reason"]) for r in run.report
                                             if r.get("outcome") == "rejected"],
                                   warnings=[importer.Rejection(r["line"], r["key"], r["reason"]) for r in run.report
                                             if r.get("outcome") != "rejected"])
    response = Response("\ufeff" + importer.rejected_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{run.id}-report.csv"'
    return response


# --- running in the background -------------------------------------------------------------------


def start(app: Flask, run_id: int) -> None:
    """Process a queued run in a background thread (waited for under test: IMPORT_INLINE, default app.testing);
    the status page follows."""
    worker = threading.Thread(target=process, args=(app, run_id), name=f"import-{run_id}", daemon=True)
    worker.start()
    if app.config.get("IMPORT_INLINE", app.testing):
        worker.join()  # the same thread as ever (no request of its own), waited for


def process(app: Flask, run_id: int) -> None:
    """Import the run's file chunk by chunk, committing counts and rejections after each chunk."""
    from qa_incidents.accounts.models import User

    with app.app_context():
        session = app.extensions["qa_session_factory"]()
        try:
            run = session.get(ImportRun, run_id)
            if run is None or run.status != "queued":
                return
            begin_write(session)
            run.status = "running"
            session.commit()
            try:
                source = read_upload(app, run.filename, run.file_sha256)
                profile = importer.Profile.from_dict(run.definition)
            except (importer.ImportFileError, importer.ProfileError, OSError) as e:
                run.status, run.error, run.finished_at = "failed", str(e), _now(app)
                session.commit()
                return
            user = session.get(User, run.created_by_id)
            report = importer.ImportReport()
            for chunk in range(0, len(source.rows), importer.CHUNK):
                begin_write(session)
                importer.import_rows(session, profile=profile, source=source, user=user, now=_now(app), run=run,
                                     start=chunk, stop=chunk + importer.CHUNK, report=report)
                run.processed = report.rows
                run.imported, run.rejected, run.already_present = (report.imported, len(report.rejected),
                                                                   report.already_present)
                run.report = ([{"line": r.line, "key": r.key, "reason": r.reason, "outcome": "rejected"}
                               for r in report.rejected]
                              + [{"line": w.line, "key": w.key, "reason": w.reason, "outcome": "warning"}
                                 for w in report.warnings])
                session.commit()
            run.status, run.finished_at = "done", _now(app)
            session.commit()
        except importer.ProfileError as e:
            session.rollback()
            _fail(session, run_id, str(e), app)
        except Exception as e:  # the run must not stay "running" for ever
            session.rollback()
            app.logger.exception("import %s failed", run_id)
            _fail(session, run_id, f"unexpected error: {e.__class__.__name__}", app)
        finally:
            session.close()


def _now(app: Flask) -> Any:
    from qa_incidents.core.clock import utcnow

    clock = app.config.get("CLOCK") or utcnow
    return clock()


def _fail(session: Any, run_id: int, message: str, app: Flask) -> None:
    run = session.get(ImportRun, run_id)
    if run is not None:
        run.status, run.error, run.finished_at = "failed", message, _now(app)
        session.commit()


# --- exports -------------------------------------------------------------------------------------


@import_bp.get("/export/<kind>.<fmt>")
@login_required
def export(kind: str, fmt: str) -> Response:
    """An export with its page's filters (query string), as the user may see it."""
    if kind not in exports.EXPORTS or fmt not in exports.FORMATS:
        abort(404)
    if not can(current_user.actor, exports.EXPORTS[kind].capability):
        abort(403)
    filters = {"recalls": _recall_filters_from_args, "lessons": _lesson_filters_from_args,
               "board": _board_filters_from_args}.get(kind, _filters_from_args)()
    session = db()
    body = exports.stream(kind, fmt, session=session, user=current_user, filters=filters)

    def body_then_close() -> Iterator[bytes]:
        # The rows are read as the response is sent, after the request's teardown closed its session (which
        # the reads reopen): end that transaction with the last piece, not whenever the session is collected.
        try:
            yield from body
        finally:
            session.close()

    response = Response(stream_with_context(body_then_close()), mimetype=exports.FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{kind}-{now().date().isoformat()}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _id_arg(name: str) -> int | None:
    """?name=ID, None if absent; anything that is not an id is a 400 (ValueError)."""
    if not request.args.get(name):
        return None
    value = params.arg_id(name)
    if value is None:
        raise ValueError(name)
    return value


def _recall_filters_from_args() -> exports.RecallFilter:
    """The recall list's filters (status, incident; division for those who read every division)."""
    from qa_incidents.recalls.rules import RecallStatus

    try:
        status = request.args.get("status") or None
        if status is not None:
            status = RecallStatus(status).value
        return exports.RecallFilter(status=status, division_id=_id_arg("division"), incident_id=_id_arg("incident"))
    except ValueError:
        abort(400)


def _board_filters_from_args() -> exports.BoardFilter:
    """The deadline board's filters, with the page's parameter names."""
    try:
        return exports.BoardFilter(authority=request.args.get("authority", "")[:200], division_id=_id_arg("division"),
                                   regime_code=request.args.get("regime", "")[:40])
    except ValueError:
        abort(400)


def _lesson_filters_from_args() -> exports.LessonFilter:
    """The lessons library's search words and facets, with the page's parameter names."""
    args = request.args
    year = params.arg_whole("year", 1, 9999)
    if args.get("year") and year is None:
        abort(400)
    return exports.LessonFilter(text=args.get("q", "")[:500], product_category=args.get("category") or None,
                                failure_mode=args.get("failure_mode") or None,
                                cause_dimension=args.get("cause_dimension") or None,
                                division=args.get("division") or None, year=year)


def _filters_from_args() -> Any:
    """The register page's filters from the query string (unknown or malformed values are a 400)."""
    from datetime import datetime, timedelta

    from qa_incidents.core.clock import localize
    from qa_incidents.core.web import viewer_timezone
    from qa_incidents.incidents.rules import Severity, Status
    from qa_incidents.incidents.service import RegisterFilter

    args = request.args
    filters = RegisterFilter(text=args.get("q", "")[:200])
    try:
        if args.get("status"):
            filters.status = Status(args["status"])
        if args.get("severity"):
            filters.severity = Severity(args["severity"])
        for name, attr in (("division", "division_id"), ("category", "category_id")):
            if args.get(name):
                setattr(filters, attr, _id_arg(name))
        if args.get("country"):
            filters.country = args["country"].upper()[:2]
        if args.get("assigned") == "me":
            filters.assignee_id = current_user.id
        elif args.get("assigned") == "nobody":
            filters.unassigned = True
        elif args.get("assigned"):
            raise ValueError("assigned")
        for name, shift in (("aware_from", 0), ("aware_to", 1)):
            if args.get(name):
                day = params.arg_day(name)
                if day is None:
                    raise ValueError(name)
                day += timedelta(days=shift)
                setattr(filters, name, localize(datetime.combine(day, datetime.min.time()), viewer_timezone()))
    except (ValueError, OverflowError):
        abort(400)
    return filters
