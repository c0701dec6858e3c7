"""Forms of recalls: the campaign, its population, notices, progress, signatures, and the public serial check."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.i18n import LANGUAGE_NAMES
from qa_incidents.core.params import DayField, WholeField
from qa_incidents.recalls import rules

BAD_DATE = _l("Enter a real date, e.g. 2026-11-20.")
WHOLE = _l("Enter a whole number.")


def _count(label: object, description: object = None) -> WholeField:
    return WholeField(label, validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))],
                        default=0, description=description)


class CampaignForm(Form):
    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the recall a title.")), Length(max=200)],
                        description=_l("Internal, e.g. “R-HW540 compressor relay: replace relay”."))
    remedy = SelectField(_l("Remedy"), choices=[SelectChoice(r.value, t) for r, t in rules.REMEDY_TITLES.items()])
    description = TextAreaField(_l("Decision and reasons (internal)"), validators=[Optional(), Length(max=20000)])
    countries = StringField(_l("Countries where affected units were sold"),
                            description=_l("Two-letter codes separated by commas, e.g. JP, US, DE."))
    units_affected = WholeField(_l("Affected units"), validators=[InputRequired(WHOLE), NumberRange(min=0)],
                                  default=0)
    target_percent = WholeField(_l("Target completion (%)"), default=100,
                                  validators=[InputRequired(WHOLE), NumberRange(min=1, max=100)],
                                  description=_l("The share of affected units that must be remedied before closure "
                                                 "without a justification."))
    target_date = DayField(_l("Target date"), validators=[Optional()], invalid_value_message=BAD_DATE)
    stall_weeks = WholeField(_l("Flag a stall after (weeks without progress)"), default=4,
                               validators=[InputRequired(WHOLE), NumberRange(min=1, max=52)])
    report_regimes = SelectMultipleField(
        _l("Progress reports to authorities"),
        choices=[SelectChoice(code, f"{code}: {s.title}") for code, s in rules.REPORT_SCHEDULES.items()],
        validators=[Optional()])
    owner_id = SelectField(_l("Owner"), coerce=int, invalid_choice_message=_l("Choose an owner from the list."))
    version = HiddenField()


class LinkIncidentForm(Form):
    reference = StringField(_l("Incident reference"), validators=[InputRequired(_l("Enter a reference.")),
                                                                  Length(max=20)],
                            description=_l("e.g. INC-2026-000012; the incident must belong to the same division."))


class PopulationForm(Form):
    exclude = BooleanField(_l("This line excludes units (e.g. already reworked at the factory)"))
    model = StringField(_l("Model"), validators=[InputRequired(_l("Enter the model number.")), Length(max=80)])
    lot = StringField(_l("Lot"), validators=[Optional(), Length(max=80)], description=_l("Leave empty for any lot."))
    serial_first = StringField(_l("First serial number"), validators=[Optional(), Length(max=80)],
                               description=_l("Leave both serial fields empty for every serial number."))
    serial_last = StringField(_l("Last serial number"), validators=[Optional(), Length(max=80)],
                              description=_l("Empty for a single serial number."))
    units = _count(_l("Units"))
    note = StringField(_l("Note (internal)"), validators=[Optional(), Length(max=500)])


class SignatureForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Re-enter your password to sign."))])


class ClosureForm(SignatureForm):
    justification = TextAreaField(_l("Justification (if the target is not reached)"),
                                  validators=[Optional(), Length(max=10000)])


class WithdrawForm(Form):
    reason = TextAreaField(_l("Why is the recall withdrawn?"), validators=[InputRequired(_l("Say why.")),
                                                                           Length(max=5000)])


class AdvertForm(Form):
    paper = StringField(_l("Newspaper"), validators=[InputRequired(_l("Name the newspaper.")), Length(max=200)])
    edition = StringField(_l("Edition"), validators=[Optional(), Length(max=120)],
                          description=_l("e.g. morning edition, national"))
    region = StringField(_l("Region"), validators=[Optional(), Length(max=120)])
    country = SelectField(_l("Country"), validators=[Optional()])
    run_on = DayField(_l("Ran on"), validators=[InputRequired(_l("Enter the day it ran."))],
                       invalid_value_message=BAD_DATE)
    size = StringField(_l("Size"), validators=[Optional(), Length(max=80)], description=_l("e.g. 2 columns × 10 cm"))
    cost = DecimalField(_l("Cost"), places=2, validators=[Optional(), NumberRange(min=0)],
                        invalid_value_message=_l("Enter an amount, e.g. 125000 or 980.50."))
    currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)], description=_l("e.g. JPY, USD"))
    text_as_run = TextAreaField(_l("Text as it ran"), validators=[InputRequired(_l("Paste the text as it ran."))])
    image = FileField(_l("Image as it ran (PNG or JPEG)"))


class WebNoticeForm(Form):
    language = SelectField(_l("Language of this notice"),
                           choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
                           description=_l("Customers read the notice in one language: publish one version in each "
                                          "language the campaign uses."))
    heading = StringField(rules.NOTICE_FIELDS["heading"], validators=[Optional(), Length(max=200)],
                          default=rules.EU_HEADING)
    product_name = TextAreaField(rules.NOTICE_FIELDS["product_name"], validators=[Optional()])
    brand = TextAreaField(rules.NOTICE_FIELDS["brand"], validators=[Optional()])
    identification = TextAreaField(rules.NOTICE_FIELDS["identification"], validators=[Optional()])
    where_sold = TextAreaField(rules.NOTICE_FIELDS["where_sold"], validators=[Optional()])
    units = TextAreaField(rules.NOTICE_FIELDS["units"], validators=[Optional()])
    hazard = TextAreaField(rules.NOTICE_FIELDS["hazard"], validators=[Optional()],
                           description=_l("Plain words; no “voluntary” or “in rare situations”."))
    incidents = TextAreaField(rules.NOTICE_FIELDS["incidents"], validators=[Optional()])
    what_to_do = TextAreaField(rules.NOTICE_FIELDS["what_to_do"], validators=[Optional()],
                               description=_l("Start with “Stop using the product”."))
    remedy = TextAreaField(rules.NOTICE_FIELDS["remedy"], validators=[Optional()])
    contact = TextAreaField(rules.NOTICE_FIELDS["contact"], validators=[Optional()])
    picture = FileField(rules.NOTICE_FIELDS["picture"])
    keep_picture_from = HiddenField()


class MailingForm(Form):
    kind = SelectField(_l("Sent as"), choices=[SelectChoice(k.value, t) for k, t in rules.MAILING_TITLES.items()])
    sent_on = DayField(_l("Sent on"), validators=[InputRequired(_l("Enter the day."))], invalid_value_message=BAD_DATE)
    recipients = WholeField(_l("Owners reached"), validators=[InputRequired(WHOLE), NumberRange(min=1)])
    country = SelectField(_l("Country"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                description=_l("e.g. letter template, mailing list used (no personal data here)."))


class ProgressForm(Form):
    recorded_on = DayField(_l("Day"), validators=[InputRequired(_l("Enter the day."))], invalid_value_message=BAD_DATE)
    country = SelectField(_l("Country"), validators=[InputRequired(_l("Choose a country."))])
    channel = SelectField(_l("Channel"), choices=[SelectChoice(c.value, t) for c, t in rules.CHANNEL_TITLES.items()])
    located = _count(_l("Units located"))
    notified = _count(_l("Owners notified"))
    repaired = _count(_l("Units repaired"))
    replaced = _count(_l("Units replaced"))
    refunded = _count(_l("Units refunded"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class ImportForm(Form):
    file = FileField(_l("CSV file from a service centre"))


class EffectivenessForm(Form):
    effectiveness_check = TextAreaField(
        _l("Effectiveness check"), validators=[InputRequired(_l("Describe the check and its result."))],
        description=_l("How you know the remedy works and reached the owners: e.g. sample of repaired units "
                       "re-tested, no new incidents since, residual units and why."))


class SerialCheckForm(Form):
    model = SelectField(_l("Model number"), validators=[InputRequired(_l("Choose your model."))],
                        invalid_choice_message=_l("Choose your model from the list."))
    serial = StringField(_l("Serial number"), validators=[InputRequired(_l("Type the serial number from the label.")),
                                                          Length(max=80)],
                         description=_l("Printed on the label next to “S/N” or “Serial”. Dashes and spaces do not matter."))
    lot = StringField(_l("Lot or date code (if asked)"), validators=[Optional(), Length(max=80)])
