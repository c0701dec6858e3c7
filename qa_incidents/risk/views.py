"""The risk assessment page, shared by the features whose decisions need one (recalls, safety notices).

Not a blueprint: the owning feature's route checks who may assess its subject, then hands over here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template
from flask_babel import gettext as _

from qa_incidents.core.db import transaction
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.web import db, now
from qa_incidents.risk import rules, service
from qa_incidents.risk.forms import AssessmentForm


def assessment_page(*, subject_type: str, subject_id: int, save: Callable[..., Any], heading: str, back_url: str,
                    done_url: str, suggested_frequency: str = "") -> Any:
    """GET: the form (with both methods' grids); POST: `save(session, data=…, now=…)` (the owning feature's use case,
    which checks permissions and records), or the form again with the input and the reasons (422)."""
    form = AssessmentForm()
    if not form.is_submitted() and suggested_frequency:
        form.frequency.data = suggested_frequency
    steps_error = ""
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                assessment = save(s, data=form.data_for_service(), now=now())
            flash(_("Risk assessment recorded: %(result)s.",
                    result=rules.result_title(assessment.method, assessment.result)), "success")
            return redirect(done_url, code=303)
        except ValidationFailed as e:
            steps_error = e.errors.pop("steps", "")
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    current = service.latest(db(), subject_type, subject_id)
    status = 422 if form.errors or steps_error else 200
    return render_template("risk/assess.html", form=form, heading=heading, back_url=back_url,
                           steps=range(1, service.MAX_STEPS + 1), steps_error=steps_error,
                           r_map=service.grid(rules.Method.R_MAP.value), eu=service.grid(rules.Method.EU.value),
                           current=service.describe(current) if current else None,
                           frequency_titles=rules.R_MAP_FREQUENCY_TITLES), status


def panel_context(subject_type: str, subject_id: int) -> dict[str, Any]:
    """What the subject's page needs to show the assessment in force and its grid (`risk/_panel.html`)."""
    current = service.latest(db(), subject_type, subject_id)
    return {"risk": service.describe(current) if current else None,
            "risk_grid": service.grid_of(current) if current else None,
            "risk_count": len(service.history(db(), subject_type, subject_id))}
