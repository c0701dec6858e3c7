"""Forms of the technical-law compliance register."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.params import DayField
from qa_incidents.laws.compliance_rules import EVIDENCE_KIND_TITLES, STATE_TITLES
from qa_incidents.laws.forms import BAD_DATE

ALL = ""


class MatrixFilterForm(Form):
    """The matrix's filters, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    division = SelectField(_l("Division"), validators=[Optional()], invalid_choice_message=_l("Choose a division from the list."))
    law = SelectField(_l("Technical law"), validators=[Optional()], invalid_choice_message=_l("Choose a law from the list."))
    category = SelectField(_l("Product category"), validators=[Optional()],
                           invalid_choice_message=_l("Choose a category from the list."))
    state = SelectField(_l("State"), validators=[Optional()], invalid_choice_message=_l("Choose a state from the list."),
                        choices=[SelectChoice(ALL, _l("Any state"))] + [SelectChoice(s.value, t) for s, t in STATE_TITLES.items()])
    q = StringField(_l("Model or name"), validators=[Optional(), Length(max=80)])
    warn_days = IntegerField(_l("Expiring within (days)"), validators=[Optional(), NumberRange(min=0, max=3650)],
                             description=_l("Evidence expiring within this many days shows as expiring."))


class EvidenceForm(Form):
    law_id = SelectField(_l("Technical law"), validators=[InputRequired(_l("Choose a technical law."))],
                         invalid_choice_message=_l("Choose a law from the list."))
    kind = SelectField(_l("Kind of document"), choices=[SelectChoice(k, t) for k, t in EVIDENCE_KIND_TITLES.items()],
                       validators=[InputRequired()], invalid_choice_message=_l("Choose the kind of document."))
    issuer = StringField(_l("Issued by"), validators=[InputRequired(), Length(max=200)],
                         description=_l("The certification body, test laboratory or, for a declaration, the company."))
    number = StringField(_l("Certificate, report or declaration number"), validators=[InputRequired(), Length(max=120)])
    issued_on = DayField(_l("Issued on"), validators=[InputRequired(_l("Give the day the document was issued."))],
                         invalid_value_message=BAD_DATE)
    expires_on = DayField(_l("Expires on"), validators=[Optional()], invalid_value_message=BAD_DATE,
                          description=_l("Leave empty when the document does not expire."))
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])
    file = FileField(_l("Document"), validators=[FileRequired(_l("Attach the certificate, report or declaration."))])


class WithdrawEvidenceForm(Form):
    reason = TextAreaField(_l("Why is the document withdrawn?"),
                           validators=[InputRequired(_l("Say why the document is withdrawn.")), Length(max=2000)])


class CloseTaskForm(Form):
    evidence_id = SelectField(_l("Evidence"), validators=[Optional()],
                              invalid_choice_message=_l("Choose evidence of this model for this law."),
                              description=_l("Evidence of this model for the amended law (record new evidence on the "
                                             "model's page first)."))
    conclusion = TextAreaField(_l("Conclusion"), validators=[Length(max=4000)],
                               description=_l("E.g. \"Not affected because the model contains no DIBP (supplier "
                                              "declarations 2026-03).\" Needed when no evidence is chosen."))


class TechnicalLawForm(Form):
    law_id = SelectField(_l("Law of the map"), validators=[InputRequired(_l("Choose a law."))],
                         invalid_choice_message=_l("Choose a law from the list."))
    evidence_expected = TextAreaField(_l("What shows conformity"),
                                      validators=[InputRequired(_l("Say what shows conformity.")), Length(max=4000)],
                                      description=_l("The certificates, test reports or declarations expected."))
    active = BooleanField(_l("Products must show conformity to this law"), default=True)
