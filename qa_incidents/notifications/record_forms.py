"""Forms of the notification record pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.params import MomentField, WholeField

DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def refuse_sent_before_approval(record: Any, submitted_at: datetime | None) -> None:
    """A report cannot have been sent before its draft was approved (signed): such a time is refused, never marked
    "on time". Raises ValidationFailed on the submission time; the page and the API call it before recording."""
    from qa_incidents.core.errors import ValidationFailed

    signed = record.approval_signature.signed_at if record.approval_signature is not None else None
    if submitted_at is not None and signed is not None and submitted_at < signed.replace(second=0, microsecond=0):
        raise ValidationFailed({"submitted_at": str(_l(
            "That is before the draft was approved: a report is sent only after its approval. Check the date and "
            "time it was sent."))})


class SignatureMixin:
    password = PasswordField(_l("Your password (signature)"), validators=[InputRequired(_l("Enter your password to sign."))],
                             description=_l("Re-entering your password signs this in your name."))


class DraftForm(Form):
    """The authority's fields are added per record (their names come from the laws map)."""

    version = HiddenField()
    missing_explanation = TextAreaField(
        _l("Information to follow"), validators=[Length(max=4000)],
        description=_l("If a field cannot be filled yet, say what is missing and when it will follow "
                       "(authorities expect the report on time even if incomplete)."))


class ApproveForm(SignatureMixin, Form):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])


class SubmitForm(Form):
    channel = StringField(_l("Sent through"), validators=[InputRequired(_l("Say how it was sent.")), Length(max=200)],
                          description=_l("e.g. the authority's web portal, e-mail to its address, fax."))
    authority_reference = StringField(_l("Authority's reference number"), validators=[Optional(), Length(max=120)],
                                      description=_l("As the authority's receipt gives it; add it later with the acknowledgement if none yet."))
    submitted_at = MomentField(_l("Sent at"), format=DT_FORMATS,
                                      validators=[InputRequired(_l("Give the date and time it was sent."))],
                                      invalid_value_message=_l("Enter a real date and time, e.g. 2026-03-05 10:00."))
    document = FileField(_l("The document sent (optional)"),
                         description=_l("The exact file sent. Without one, the approved draft is kept as a PDF."))


class AcknowledgeForm(Form):
    acknowledged_at = MomentField(_l("Acknowledged at"), format=DT_FORMATS,
                                         validators=[InputRequired(_l("Give the date and time of the acknowledgement."))],
                                         invalid_value_message=_l("Enter a real date and time, e.g. 2026-03-05 10:00."))
    text = TextAreaField(_l("Acknowledgement"), validators=[Length(max=4000)],
                         description=_l("The authority's reference, case officer, what they asked for next."))


class NotRequiredForm(SignatureMixin, Form):
    reason = TextAreaField(_l("Justification"), validators=[InputRequired(_l("Give the justification.")), Length(max=4000)],
                           description=_l("Why the law does not require this report for this incident. It is signed and kept."))


class DecideForm(SignatureMixin, Form):
    reasons = TextAreaField(_l("Reasons"), validators=[InputRequired(_l("Give the reasons.")), Length(max=4000)])


class RequestEventForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])


class RecordEventForm(SignatureMixin, Form):
    event_at = MomentField(_l("Decided at (your time zone)"), format=DT_FORMATS, validators=[Optional()],
                                  description=_l("When the decision was made or the action started; empty: now. "
                                                 "The legal clock runs from this moment."))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])


class ReopenForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(_l("Give a reason.")), Length(max=4000)])


class AddObligationForm(Form):
    obligation_id = SelectField(_l("Obligation from the laws map"), coerce=str, validate_choice=False,
                                description=_l("Or leave empty and name an authority the laws map does not list."))
    regime_code = StringField(_l("Regime code"), validators=[Optional(), Length(max=40)])
    authority = StringField(_l("Authority"), validators=[Optional(), Length(max=200)])
    title = StringField(_l("What is reported"), validators=[Optional(), Length(max=200)])
    due_at = MomentField(_l("Deadline (your time zone)"), format=DT_FORMATS, validators=[Optional()],
                                invalid_value_message=_l("Enter a real date and time, e.g. 2026-03-05 10:00."))
    # Checked by the service with the other fields, so one submit shows every problem.
    reason = TextAreaField(_l("Why it is required"), validators=[Length(max=4000)])


class BoardFilterForm(Form):
    class Meta:
        csrf = False

    authority = SelectField(_l("Authority"), coerce=str, validate_choice=False)
    division = WholeField(_l("Division"), validators=[Optional()])
