"""Forms for triage, lifecycle actions, signed escalation decisions and the severity matrix."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    FieldList,
    FormField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from qa_incidents.core.forms import Form, SubForm
from qa_incidents.core.params import WholeField
from qa_incidents.incidents.rules import HAZARD_TITLES, SEVERITY_TITLES
from qa_incidents.incidents.severity import HARM_CLASS_TITLES

SEVERITY_CHOICES = [SelectChoice(s.value, t) for s, t in SEVERITY_TITLES.items()]


class TriageForm(Form):
    severity = SelectField(_l("Severity"), choices=SEVERITY_CHOICES, validators=[InputRequired()])
    override_reason = TextAreaField(
        _l("Reason"), validators=[Length(max=4000)],
        description=_l("Required when you choose another severity than the matrix suggests, or change it later."))


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=4000)])


class SignedReasonForm(ReasonForm):
    """A reason and an electronic signature (reopening a closed incident)."""

    password = PasswordField(_l("Your password (signature)"), validators=[InputRequired(_l("Enter your password to sign."))],
                             description=_l("Re-entering your password signs this in your name."))


class DecisionForm(Form):
    """Approve or reject with an electronic signature."""

    decision = SelectField(_l("Decision"), choices=[SelectChoice("approve", _l("Approve escalation")), SelectChoice("reject", _l("Reject escalation"))],
                           validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)],
                            description=_l("Required when rejecting: the division sees it."))
    password = PasswordField(_l("Your password (signature)"), validators=[InputRequired(_l("Enter your password to sign."))],
                             description=_l("Re-entering your password signs this decision in your name."))


class RuleForm(SubForm):
    code = StringField(_l("Rule"), validators=[Optional(), Length(max=20)])
    harm = SelectMultipleField(_l("Harm classes"), choices=[SelectChoice(h.value, t) for h, t in HARM_CLASS_TITLES.items()])
    hazards = SelectMultipleField(_l("Hazards (any if none)"), choices=[SelectChoice(h.value, t) for h, t in HAZARD_TITLES.items()])
    min_units = WholeField(_l("Units ≥"), validators=[Optional(), NumberRange(min=0)])
    min_similar = WholeField(_l("Similar reports ≥"), validators=[Optional(), NumberRange(min=0)])
    severity = SelectField(_l("Severity"), choices=SEVERITY_CHOICES)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class MatrixForm(Form):
    rules = FieldList(FormField(RuleForm), min_entries=1)
    fallback = SelectField(_l("When no rule matches"), choices=SEVERITY_CHOICES)
    similar_window_days = WholeField(_l("Similar reports counted over (days)"),
                                       validators=[InputRequired(), NumberRange(min=1, max=3650)])
    note = TextAreaField(_l("Why this change"), validators=[InputRequired(_l("Say why the matrix changes.")), Length(max=2000)])
