"""Public recall pages (no login): the notice in the customer's words and the serial-number check.

These pages show only what the published website notice says and the model numbers concerned:
never incident references, internal notes, owners, counts of other customers' checks, or
anything about other customers. The serial check is rate-limited per client address, in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import begin_write, transaction
from qa_incidents.core.i18n import LANGUAGES, current_language, supported_language
from qa_incidents.core.web import db, now
from qa_incidents.recalls import rules, service
from qa_incidents.recalls.forms import SerialCheckForm
from qa_incidents.recalls.models import CheckLimit

public_bp = Blueprint("public", __name__, url_prefix="/recall")


def allow_check(session: so.Session, client: str, *, limit: int, window: float, now: datetime, secret: str) -> bool:
    """Count one serial check for a client; False if it is over `limit` checks per `window` seconds (the check is
    then not counted). Kept in the database (one row per client, a keyed hash of its address), so every worker
    process and host shares the count. Call inside a writing transaction: the row is locked while it is counted.

    The window slides: the previous window's count weighs in by the share of it still inside the last `window`
    seconds, so two bursts either side of a window's edge do not double the limit."""
    key = hmac.new(secret.encode(), f"recall-check:{client}".encode(), hashlib.sha256).hexdigest()
    span = timedelta(seconds=window)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    current = epoch + span * ((now - epoch) // span)
    for _attempt in range(3):
        row = session.scalar(sa.select(CheckLimit).where(CheckLimit.client == key).with_for_update())
        if row is None:
            try:
                with session.begin_nested():
                    session.add(CheckLimit(client=key, window_start=current, hits=1, previous=0))
                return limit >= 1
            except IntegrityError:  # another worker counted this client's first check at the same moment
                continue
        if row.window_start != current:
            row.previous = row.hits if row.window_start == current - span else 0
            row.hits, row.window_start = 0, current
        weight = 1 - (now - current) / span
        if math.ceil(row.previous * weight) + row.hits >= limit:
            session.flush()
            return False
        row.hits += 1
        session.flush()
        return True
    return False


def _wanted_language() -> str:
    """The language the reader asked for with the page's switch (?lang=), else the one they read."""
    return supported_language(request.args.get("lang")) or current_language()


def _campaign_or_404(reference: str):  # type: ignore[no-untyped-def]
    """The campaign and its notice in the reader's language (or the language the campaign has)."""
    found = service.public_campaign(db(), reference, _wanted_language())
    if found is None:
        abort(404)
    return found


def _in_notice_language(recall, web_notice, render):  # type: ignore[no-untyped-def]
    """Render the page wholly in the notice's language (labels, hints, dates), with a switch to the campaign's
    other languages: a customer reads one language, never a mix."""
    with force_locale(web_notice.language):
        return render(lang=web_notice.language, languages=service.notice_languages(db(), recall.id))


@public_bp.get("/")
def index():  # type: ignore[no-untyped-def]
    from qa_incidents.safety_notices.service import public_notices

    lang = _wanted_language()
    with force_locale(lang):
        return render_template("public/index.html", campaigns=service.public_campaigns(db(), lang), lang=lang,
                               languages=list(LANGUAGES), safety_notices=public_notices(db(), lang))


@public_bp.get("/<reference>")
def notice(reference: str):  # type: ignore[no-untyped-def]
    recall, web_notice = _campaign_or_404(reference)
    return _in_notice_language(recall, web_notice, lambda **language: render_template(
        "public/notice.html", recall=recall, notice=web_notice, form=_check_form(recall),
        models=service.public_models(db(), recall.id), **language))


@public_bp.get("/<reference>/notice.pdf")
def notice_pdf(reference: str):  # type: ignore[no-untyped-def]
    """The customer notice as PDF (for letters and shops), in the notice's language: the page's notice, printed."""
    import base64

    from qa_incidents.core.pdf import html_to_pdf

    recall, web_notice = _campaign_or_404(reference)
    picture = ""
    if web_notice.picture_sha256 and web_notice.picture_type.startswith("image/"):
        data = current_app.extensions["qa_storage"].path_for(web_notice.picture_sha256).read_bytes()
        picture = f"data:{web_notice.picture_type};base64,{base64.b64encode(data).decode()}"
    with force_locale(web_notice.language):
        html = render_template("public/notice_print.html", recall=recall, notice=web_notice, picture_src=picture,
                               lang=web_notice.language,
                               check_url=url_for("public.notice", reference=recall.reference,
                                                 lang=web_notice.language, _external=True))
    pdf = html_to_pdf(html, extra_css="img.product-picture { max-width: 60mm; } dt { font-weight: bold; }")
    name = f"{recall.reference}-notice-{web_notice.language}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@public_bp.get("/<reference>/picture/<sha256>")
def picture(reference: str, sha256: str):  # type: ignore[no-untyped-def]
    """The picture of the published notice, and no other file."""
    recall, web_notice = _campaign_or_404(reference)
    if web_notice.picture_sha256 != sha256:
        abort(404)
    return send_file(current_app.extensions["qa_storage"].path_for(sha256), mimetype=web_notice.picture_type)


def _check_form(recall, formdata=None) -> SerialCheckForm:  # type: ignore[no-untyped-def]
    form = SerialCheckForm(formdata=formdata) if formdata is not None else SerialCheckForm()
    models = service.public_models(db(), recall.id)
    form.model.choices = [SelectChoice(m, m) for m in models]
    if len(models) > 1:
        form.model.choices = [SelectChoice("", _("— choose your model —")), *form.model.choices]
    return form


@public_bp.route("/<reference>/check", methods=["GET", "POST"])
def check(reference: str):  # type: ignore[no-untyped-def]
    recall, web_notice = _campaign_or_404(reference)
    return _in_notice_language(recall, web_notice, lambda **language: _check(recall, web_notice, **language))


def _check(recall, web_notice, **language):  # type: ignore[no-untyped-def]
    form = _check_form(recall)
    verdict = None
    if request.method == "POST":
        with transaction(db()) as s:  # the check is counted (and committed) before anything else can fail
            allowed = allow_check(s, request.remote_addr or "unknown", now=now(), secret=current_app.secret_key or "",
                                  limit=int(current_app.config.get("RECALL_CHECK_LIMIT", 20)),
                                  window=float(current_app.config.get("RECALL_CHECK_WINDOW_SECONDS", 600)))
        begin_write(db())
        if not allowed:
            return render_template("public/check.html", recall=recall, notice=web_notice, form=form, verdict=None,
                                   limited=True, **language), 429, {"Retry-After": "600"}
        if form.validate_on_submit():
            today = to_zone(now(), "UTC").date()
            with transaction(db()) as s:
                verdict = service.check_serial(s, recall=recall, model=form.model.data or "",
                                               serial=form.serial.data or "", lot=form.lot.data or "", today=today)
            if verdict.outcome is rules.Outcome.CHECK_FORMAT:
                form.serial.errors = [*form.serial.errors, _("This does not look like a serial number of this model.")]
    status = 422 if form.errors else 200
    return render_template("public/check.html", recall=recall, notice=web_notice, form=form, verdict=verdict,
                           limited=False, Outcome=rules.Outcome, **language), status
