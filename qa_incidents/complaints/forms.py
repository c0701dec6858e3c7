"""Forms: one complaint taken by hand, a signal's dismissal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.complaints.rules import CHANNEL_TITLES, KIND_TITLES
from qa_incidents.core.forms import Form


class ComplaintForm(Form):
    model = StringField(_l("Product model"), validators=[InputRequired(_l("Give the product model.")), Length(max=80)])
    serial = StringField(_l("Serial number"), validators=[Optional(), Length(max=80)])
    symptom = StringField(_l("Symptom code"), validators=[Optional(), Length(max=80)],
                          description=_l("The call centre's symptom code, e.g. NOISE-COMPRESSOR."))
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, t) for k, t in KIND_TITLES.items()])
    channel = SelectField(_l("Channel"), choices=[SelectChoice(c.value, t) for c, t in CHANNEL_TITLES.items()])
    country = StringField(_l("Country (ISO code)"), validators=[InputRequired(_l("Give the country.")), Length(min=2, max=2)])
    place = StringField(_l("Place (city)"), validators=[Optional(), Length(max=200)])
    occurred_on = DateField(_l("Failure date"), validators=[Optional()])
    text = TextAreaField(_l("Customer's words"), validators=[InputRequired(_l("Give the customer's words.")),
                                                             Length(max=20000)])
    customer_name = StringField(_l("Customer name"), validators=[Optional(), Length(max=200)])
    customer_contact = StringField(_l("Customer phone or e-mail"), validators=[Optional(), Length(max=200)])


class DismissForm(Form):
    reason = TextAreaField(_l("Reason for dismissing"), validators=[InputRequired(_l("Say why the signal is dismissed.")),
                                                                    Length(max=4000)])
