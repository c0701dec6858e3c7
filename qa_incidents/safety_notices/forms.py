"""Forms of safety notices: the draft (texts per language), the signature, the withdrawal, the recall link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.core.forms import Form, MultiCheckboxField
from qa_incidents.safety_notices import rules
from qa_incidents.safety_notices.service import NoticeInput

#: The labels of the texts written per language (given the language's own name).
TEXT_LABELS = {
    "heading": lambda language: _l("Heading (%(language)s)", language=language),
    "product_name": lambda language: _l("Product, in customers' words (%(language)s)", language=language),
    "what_happened": lambda language: _l("What happened (%(language)s)", language=language),
    "what_to_do": lambda language: _l("What customers should do, in words (%(language)s)", language=language),
    "contact_hours": lambda language: _l("Contact hours and notes (%(language)s)", language=language),
    "change_note": lambda language: _l("What changed since the last version (%(language)s)", language=language),
}
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}


class NoticeForm(Form):
    languages = MultiCheckboxField(_l("Publish in"), choices=[SelectChoice("en", "English"), SelectChoice("ja", "日本語")],
                                   description=_l("Each language chosen must be complete, written in that language."))
    kind = RadioField(_l("This version is"), choices=[SelectChoice(rules.VersionKind.UPDATE.value, _l("Update")),
                                                       SelectChoice(rules.VersionKind.CORRECTION.value,
                                                                    _l("Correction"))],
                      validators=[Optional()])
    models = StringField(_l("Models"), validators=[Length(max=2000)],
                         description=_l("As the company writes them, e.g. R-HW540"))
    lots = TextAreaField(_l("Lots"), validators=[Length(max=5000)])
    serials = TextAreaField(_l("Serial numbers"), validators=[Length(max=5000)])
    actions = MultiCheckboxField(_l("What customers should do now"),
                                 choices=[SelectChoice(a.value, rules.ACTION_TITLES[a]) for a in rules.CustomerAction])
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=60)])
    contact_email = StringField(_l("Contact e-mail"), validators=[Length(max=254)])
    contact_url = StringField(_l("Contact web page"), validators=[Length(max=500)])

    def to_input(self) -> NoticeInput:
        texts = {lang: {name: getattr(self, f"{lang}_{name}").data or "" for name in rules.TEXT_FIELDS}
                 for lang in ("en", "ja")}
        return NoticeInput(languages=list(self.languages.data or []), texts=texts, models=self.models.data or "",
                           lots=self.lots.data or "", serials=self.serials.data or "",
                           actions=list(self.actions.data or []), contact_phone=self.contact_phone.data or "",
                           contact_email=self.contact_email.data or "", contact_url=self.contact_url.data or "",
                           kind=self.kind.data or "")

    def fill(self, data: NoticeInput) -> None:
        self.languages.data, self.models.data, self.lots.data = data.languages, data.models, data.lots
        self.serials.data, self.actions.data, self.kind.data = data.serials, data.actions, data.kind
        self.contact_phone.data, self.contact_email.data = data.contact_phone, data.contact_email
        self.contact_url.data = data.contact_url
        for lang in ("en", "ja"):
            for name in rules.TEXT_FIELDS:
                getattr(self, f"{lang}_{name}").data = data.texts.get(lang, {}).get(name, "")


for _lang in ("en", "ja"):
    for _name in rules.TEXT_FIELDS:
        setattr(NoticeForm, f"{_lang}_{_name}",
                (StringField if _name in ("heading", "product_name") else TextAreaField)(
                    TEXT_LABELS[_name](LANGUAGE_NAMES[_lang]), render_kw={"lang": _lang}, validators=[Optional()]))


class SignForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Re-enter your password to sign."))])


class WithdrawForm(Form):
    reason = TextAreaField(_l("Why is the notice withdrawn?"), validators=[InputRequired(_l("Say why.")),
                                                                            Length(max=5000)],
                           description=_l("Customers read this reason on the notice's page."))
    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Re-enter your password to sign."))])


class RecallLinkForm(Form):
    recall_id = SelectField(_l("Recall that follows"), validators=[Optional()])
