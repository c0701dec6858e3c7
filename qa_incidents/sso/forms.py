"""Forms for the administration of single sign-on."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.permissions import ROLE_TITLES


class ProviderForm(Form):
    name = StringField(_l("Name on the log-in button"), validators=[InputRequired(), Length(max=120)])
    slug = StringField(_l("Short name"), validators=[InputRequired(), Length(max=40)],
                       description=_l("Lower-case letters, digits and hyphens; part of the addresses below."))
    protocol = SelectField(_l("Protocol"), choices=[SelectChoice("oidc", "OpenID Connect"),
                                                    SelectChoice("saml", "SAML 2.0")])
    active = BooleanField(_l("Active (button shown on the log-in page)"), default=True)
    issuer = StringField(_l("Issuer (OpenID Connect)"), validators=[Optional(), Length(max=500)],
                         description=_l("For example https://login.microsoftonline.com/<tenant>/v2.0"))
    client_id = StringField(_l("Client ID (OpenID Connect)"), validators=[Optional(), Length(max=255)])
    client_secret = PasswordField(_l("Client secret (OpenID Connect)"), validators=[Optional(), Length(max=500)],
                                  description=_l("Leave empty to keep the stored secret."))
    scopes = StringField(_l("Scopes (OpenID Connect)"), default="openid email profile",
                         validators=[Optional(), Length(max=255)])
    idp_metadata = TextAreaField(_l("Identity provider metadata XML (SAML)"), validators=[Optional()])
    email_claim = StringField(_l("E-mail claim or attribute"), default="email", validators=[Length(max=120)])
    name_claim = StringField(_l("Name claim or attribute"), default="name", validators=[Length(max=120)])
    groups_claim = StringField(_l("Groups claim or attribute"), default="groups", validators=[Length(max=120)])
    division_claim = StringField(_l("Division claim or attribute (optional)"), validators=[Length(max=120)])
    default_division_id = SelectField(_l("Division when no mapping gives one"), coerce=int)


class MappingForm(Form):
    value = StringField(_l("Group (or division claim value)"), validators=[InputRequired(), Length(max=255)])
    role = SelectField(_l("Role"), choices=[SelectChoice("", "—"), *[SelectChoice(r.value, t)
                                                                     for r, t in ROLE_TITLES.items()]])
    division_id = SelectField(_l("Division"), coerce=int)
    priority = IntegerField(_l("Priority (lower wins)"), default=100,
                            validators=[InputRequired(), NumberRange(min=0, max=10000)])


class SettingsForm(Form):
    local_login_restricted = BooleanField(_l("Local passwords only for the break-glass administrator"))
    break_glass_user_id = SelectField(_l("Break-glass administrator"), coerce=int)
