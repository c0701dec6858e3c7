"""Forms for log-in, one's own account, and the administration of users and divisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.permissions import ROLE_TITLES


class LoginForm(Form):
    email = EmailField(_l("E-mail"), validators=[InputRequired(_l("Enter your e-mail address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])


class PreferencesForm(Form):
    timezone = SelectField(_l("Time zone"), validators=[InputRequired()])
    locale = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("ja", "日本語")], validators=[InputRequired()])
    era_dates = BooleanField(_l("Japanese-era dates"),
                             description=_l("When you read in Japanese, dates are written as 令和8年11月29日."))


class PasswordChangeForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()])
    new_password = PasswordField(_l("New password"), validators=[InputRequired()],
                                 description=_l("At least 12 characters."))
    revoke_tokens = BooleanField(_l("Also revoke my API tokens"),
                                 description=_l("Programs using them stop working until you give them new tokens."))


class UserForm(Form):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, t) for r, t in ROLE_TITLES.items()], validators=[InputRequired()])
    division_id = SelectField(_l("Division"), coerce=int, validators=[InputRequired()])
    timezone = SelectField(_l("Time zone"), validators=[InputRequired()])
    locale = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("ja", "日本語")], validators=[InputRequired()])
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional()],
                             description=_l("At least 12 characters. Leave empty to keep the current password."))


class DivisionForm(Form):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=16)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    is_head_office = BooleanField(_l("Head office"))
    active = BooleanField(_l("Active"), default=True)
