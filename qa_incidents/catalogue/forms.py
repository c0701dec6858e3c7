"""Forms for product categories and products."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length

from qa_incidents.core.forms import Form


def _optional_int(value: object) -> int | None:
    return int(value) if value not in (None, "", "None") else None  # type: ignore[arg-type]


class CategoryForm(Form):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    parent_id = SelectField(_l("Parent category"), coerce=_optional_int)
    active = BooleanField(_l("Active"), default=True)


class ProductForm(Form):
    division_id = SelectField(_l("Division"), coerce=int, validators=[InputRequired()])
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired()])
    model = StringField(_l("Model number"), validators=[InputRequired(), Length(max=80)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    markets = SelectMultipleField(
        _l("Countries sold in"),
        description=_l("Obligations whose law reaches events abroad (e.g. FDA reports for devices sold in the US) "
                       "follow these countries. Hold Ctrl or Cmd to choose several."))
    active = BooleanField(_l("Active"), default=True)
