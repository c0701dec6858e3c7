"""Forms of group-wide early alerts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from qa_incidents.alerts.rules import ANSWER_TITLES, GIVEN_ANSWERS
from qa_incidents.core.forms import Form, MultiCheckboxField


class AlertForm(Form):
    """Checked by the service (alerts.rules.send_errors): the form only carries the input."""

    division_ids = MultiCheckboxField(_l("Divisions to alert"), coerce=int, validate_choice=False)
    subject = StringField(_l("What to check (subject)"),
                          description=_l("The receiving divisions see this, the message and the catalogue match, "
                                         "not the incident itself."))
    message = TextAreaField(_l("Message to the divisions' QA"))
    due_on = DateField(_l("Answers due by"), validators=[Optional()])


class AnswerForm(Form):
    answer = RadioField(_l("Your division's answer"), choices=[SelectChoice(a.value, ANSWER_TITLES[a]) for a in GIVEN_ANSWERS],
                        validate_choice=False)
    evidence = TextAreaField(_l("Evidence"), description=_l("What you checked (models, lots, parts, supplier) and "
                                                            "what you found, or what you are still checking."))
    file = FileField(_l("Evidence file (optional)"))


class PartForm(Form):
    kind = SelectField(_l("Kind"), choices=[SelectChoice("part", _l("Part (with its supplier)")),
                                            SelectChoice("design", _l("Design platform shared with other models"))],
                       validate_choice=False)
    code = StringField(_l("Part number or design name"))
    name = StringField(_l("Part name"))
    supplier = StringField(_l("Supplier"))


class PartCorrectionForm(Form):
    code = StringField(_l("Part number or design name"))
    name = StringField(_l("Part name"))
    supplier = StringField(_l("Supplier"))
    reason = TextAreaField(_l("Why it is corrected"))


class PartRetireForm(Form):
    reason = StringField(_l("Reason"))
