"""One way for a view to run a use case: validate the form, run the service in one transaction, then say so and
redirect; or show the page again with the input kept and the reason given.

    return run_use_case(
        lambda s: service.approve(s, user=current_user, notice_id=notice.id, ...),
        form=form,
        done=lambda version: _("Version %(n)d is signed.", n=version.number),
        then=lambda version: redirect(url_for("safety_notices.show", safety_notice_id=notice.id), code=303),
        again=lambda status: _show(notice, sign_form=form, status=status),
        refusal_field="password",
    )

- The form is checked first (`validate=False` when the view already did); a form that does not validate is shown
  again with 422.
- The service runs inside `transaction()`: its change and its audit events commit together, or nothing does.
- `ValidationFailed`: its messages go on the form's fields; a message that matches no field is flashed (or, with
  `loose="form"`, listed among the form's own errors); the page again with 422.
- Another refusal (`DomainError`): with `refused="abort"` (the default) a 404 is a 404 page and any other refusal a
  403 page with the reason, except that with a `refusal_field` a refusal other than 403 goes on that field (e.g. a
  wrong password on the password field) and the page is shown again with 422. With `refused="flash"` every refusal
  is flashed and the page shown again with its status; with `refused="status"` it is an error page of its own
  status (a 409 for a conflict) with the reason.
- Success: `done(result)` is flashed (none when it gives None) and `then(result)` answered (usually a redirect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import sqlalchemy.orm as so
from flask import abort, flash
from flask_wtf import FlaskForm

from qa_incidents.core.db import transaction
from qa_incidents.core.errors import DomainError, ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.web import db

T = TypeVar("T")


def run_use_case(
    work: Callable[[so.Session], T],
    *,
    form: FlaskForm,
    then: Callable[[T], Any],
    again: Callable[[int], Any],
    done: Callable[[T], str | None] | None = None,
    validate: bool = True,
    loose: Literal["flash", "form"] = "flash",
    refused: Literal["abort", "status", "flash"] = "abort",
    refusal_field: str | None = None,
) -> Any:
    """Validate, run `work` in one transaction, flash and answer `then`; or `again(status)` with the reason."""
    if validate and not form.validate_on_submit():
        return again(422)
    try:
        with transaction(db()) as session:
            result = work(session)
    except ValidationFailed as e:
        for message in apply_errors(form, e.errors):
            if loose == "form":
                form.form_errors.append(message)
            else:
                flash(message, "error")
        return again(422)
    except DomainError as e:
        if refused == "flash":
            flash(str(e), "error")
            return again(e.status_code)
        if e.status_code == 404:
            abort(404)
        if refused == "status":
            abort(e.status_code, description=str(e))
        if refusal_field is not None and e.status_code != 403:
            field = getattr(form, refusal_field)
            field.errors = [*field.errors, str(e)]
            return again(422)
        abort(403, description=str(e))
    message = done(result) if done is not None else None
    if message:
        flash(message, "success")
    return then(result)
