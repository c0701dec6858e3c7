"""Forms of the laws map: the map's filters, "What applied?", and the editors' forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.params import DayField
from qa_incidents.incidents.severity import HARM_CLASS_TITLES
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, Obligation

LAW_STATUS_TITLES = {
    "in_force": _l("In force"),
    "planned": _l("Planned"),
    "repealed": _l("Repealed"),
}

BAD_DATE = _l("Enter a real date, e.g. 2024-12-13.")


def optional_int(value: object) -> int | None:
    """A select's value as an id, or None for the "choose…" option."""
    return int(value) if value not in (None, "", "None") else None  # type: ignore[arg-type]


def _text(value: str | None) -> str:
    return (value or "").strip()


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _date(label: Any, *, description: Any = None) -> DayField:
    return DayField(label, validators=[Optional()], invalid_value_message=BAD_DATE, description=description)


# --- reading -------------------------------------------------------------------------------


class MapFilterForm(Form):
    """The map's date and product line, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    on = DayField(_l("Laws in force on"), validators=[Optional()], invalid_value_message=BAD_DATE)
    division = SelectField(_l("Product line"), validators=[Optional()],
                           invalid_choice_message=_l("Choose a product line from the list."))


class ApplicableForm(Form):
    """A category, a country and a date: which laws applied (GET, so no CSRF)."""

    class Meta:
        csrf = False

    category = SelectField(_l("Product category"), validators=[InputRequired(_l("Choose a product category."))],
                           invalid_choice_message=_l("Choose a product category from the list."))
    country = SelectField(_l("Country"), validators=[InputRequired(_l("Choose a country."))],
                          invalid_choice_message=_l("Choose a country from the list."))
    on = DayField(_l("Date"), validators=[InputRequired(_l("Enter a date."))], invalid_value_message=BAD_DATE,
                   description=_l("The day of the incident, or any past or future day."))


# --- editing -------------------------------------------------------------------------------


class LawForm(Form):
    jurisdiction_id = SelectField(_l("Jurisdiction"), coerce=optional_int,
                                  validators=[InputRequired(_l("Choose a jurisdiction."))],
                                  invalid_choice_message=_l("Choose a jurisdiction from the list."))
    short_name = StringField(_l("Short name"), validators=[InputRequired(), Length(max=60)],
                             description=_l("Unique, as shown on the map, e.g. JP-CPSA."))
    name_original = StringField(_l("Name (original language)"), validators=[InputRequired(), Length(max=300)])
    name_en = StringField(_l("Name (English)"), validators=[InputRequired(), Length(max=300)])
    citation = StringField(_l("Citation"), validators=[Length(max=300)])
    authority = StringField(_l("Authority"), validators=[Length(max=200)])
    url = StringField(_l("Link to the text"), validators=[Optional(), Length(max=500)])
    status = SelectField(_l("Status"), choices=[SelectChoice(k, v) for k, v in LAW_STATUS_TITLES.items()],
                         validators=[InputRequired()])
    in_force_from = _date(_l("In force from"), description=_l("Leave empty if it has always applied in the map."))
    repealed_on = _date(_l("Repealed on"), description=_l("The first day it no longer applies."))
    category_ids = SelectMultipleField(_l("Product categories covered"), coerce=int,
                                       description=_l("Sub-categories are included. A category taken out stops "
                                                      "being covered today; its past coverage is kept. Hold Ctrl "
                                                      "(⌘ on a Mac) to choose several."))
    source = TextAreaField(_l("Source"), validators=[Length(max=4000)])
    unconfirmed = TextAreaField(_l("To be confirmed by the legal department"), validators=[Length(max=4000)],
                                description=_l("One open point per line."))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=8000)])


    @classmethod
    def initial(cls, law: Law) -> dict[str, Any]:
        return {name: getattr(law, name) for name in (
            "jurisdiction_id", "short_name", "name_original", "name_en", "citation", "authority", "url", "status",
            "in_force_from", "repealed_on", "source", "unconfirmed", "notes")} | {
            "category_ids": [c.category_id for c in law.coverage if c.valid_to is None]}

    def service_data(self) -> dict[str, Any]:
        return {
            "jurisdiction_id": self.jurisdiction_id.data, "short_name": _text(self.short_name.data),
            "name_original": _text(self.name_original.data), "name_en": _text(self.name_en.data),
            "citation": _text(self.citation.data), "authority": _text(self.authority.data),
            "url": _text(self.url.data), "status": self.status.data, "in_force_from": self.in_force_from.data,
            "repealed_on": self.repealed_on.data, "source": _text(self.source.data),
            "unconfirmed": _text(self.unconfirmed.data), "notes": _text(self.notes.data),
        }


class ObligationForm(Form):
    regime_code = SelectField(
        _l("Regime code"), validators=[InputRequired(_l("Choose a regime code."))],
        invalid_choice_message=_l("Choose a regime code the deadline engine knows."),
        description=_l("The deadline rule comes from the deadline engine under this code."))
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    trigger_harms = SelectMultipleField(
        _l("Harm classes that trigger it"), choices=[SelectChoice(h.value, t) for h, t in HARM_CLASS_TITLES.items()],
        invalid_choice_message=_l("Choose harm classes from the list."),
        description=_l("None chosen: a person decides from the trigger in words. Hold Ctrl (⌘ on a Mac) to "
                       "choose several."))
    trigger_text = TextAreaField(_l("Trigger in words"), validators=[Length(max=4000)])
    applies_to_markets = BooleanField(_l("Also applies when the product is only sold in the jurisdiction"))
    required_fields = TextAreaField(_l("Required report fields"), validators=[Length(max=4000)],
                                    description=_l("One per line."))
    follow_ups = TextAreaField(_l("Follow-ups"), validators=[Length(max=4000)])
    channel = StringField(_l("Channel"), validators=[Length(max=300)],
                          description=_l("Where and how the report is filed."))
    valid_from = _date(_l("Applies from"))
    valid_to = _date(_l("No longer applies from"),
                      description=_l("An obligation is never deleted: give the first day it no longer applies."))
    source = TextAreaField(_l("Source"), validators=[Length(max=4000)])
    unconfirmed = TextAreaField(_l("To be confirmed by the legal department"), validators=[Length(max=4000)],
                                description=_l("One open point per line."))


    @classmethod
    def initial(cls, obligation: Obligation) -> dict[str, Any]:
        data = {name: getattr(obligation, name) for name in (
            "regime_code", "title", "trigger_harms", "trigger_text", "applies_to_markets", "follow_ups", "channel",
            "valid_from", "valid_to", "source", "unconfirmed")}
        return data | {"required_fields": "\n".join(obligation.required_fields or [])}

    def service_data(self, law_id: int) -> dict[str, Any]:
        return {
            "law_id": law_id, "regime_code": self.regime_code.data, "title": _text(self.title.data),
            "trigger_harms": list(self.trigger_harms.data or []), "trigger_text": _text(self.trigger_text.data),
            "applies_to_markets": bool(self.applies_to_markets.data),
            "required_fields": _lines(self.required_fields.data), "follow_ups": _text(self.follow_ups.data),
            "channel": _text(self.channel.data), "valid_from": self.valid_from.data, "valid_to": self.valid_to.data,
            "source": _text(self.source.data), "unconfirmed": _text(self.unconfirmed.data),
        }


class AmendmentForm(Form):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=300)])
    promulgated_on = _date(_l("Promulgated on"))
    enforced_on = _date(_l("Enforced on"), description=_l("The day the change applies."))
    summary = TextAreaField(_l("Summary"), validators=[Length(max=8000)])
    affected_categories = SelectMultipleField(
        _l("Affected product categories"), invalid_choice_message=_l("Choose categories from the list."),
        description=_l("Sub-categories are included. None chosen: every category the law covers. Hold Ctrl "
                       "(⌘ on a Mac) to choose several."))
    source = TextAreaField(_l("Source"), validators=[Length(max=2000)],
                           description=_l("Where the amendment is published (official journal, gazette, ministry "
                                          "notice), with its address. Required for a technical law."))

    @classmethod
    def initial(cls, amendment: Amendment) -> dict[str, Any]:
        return {name: getattr(amendment, name) for name in (
            "title", "promulgated_on", "enforced_on", "summary", "affected_categories", "source")}

    def service_data(self, law_id: int) -> dict[str, Any]:
        return {
            "law_id": law_id, "title": _text(self.title.data), "promulgated_on": self.promulgated_on.data,
            "enforced_on": self.enforced_on.data, "summary": _text(self.summary.data),
            "affected_categories": list(self.affected_categories.data or []), "source": _text(self.source.data),
        }


class JurisdictionForm(Form):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=8)],
                       description=_l("ISO 3166 country code (JP, US…), or a bloc code such as EU."))
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    is_bloc = BooleanField(_l("A bloc of countries (its laws apply in each member country)"))
    members = TextAreaField(_l("Member countries"), validators=[Length(max=2000)],
                            description=_l("For a bloc: the ISO codes of its members, separated by spaces."))
    timezone = SelectField(_l("Time zone of the authority"), validators=[InputRequired()],
                           invalid_choice_message=_l("Choose a time zone from the list."))
    holiday_country = StringField(_l("Public-holiday calendar: country"), validators=[Length(max=8)],
                                  description=_l("ISO code; empty: weekends only."))
    holiday_subdiv = StringField(_l("Public-holiday calendar: region"), validators=[Length(max=16)],
                                 description=_l("e.g. ON for Ontario; usually empty."))
    active = BooleanField(_l("Shown on the map"), default=True)



    @classmethod
    def initial(cls, jurisdiction: Jurisdiction) -> dict[str, Any]:
        return {name: getattr(jurisdiction, name) for name in (
            "code", "name", "is_bloc", "members", "timezone", "holiday_country", "holiday_subdiv", "active")}

    def service_data(self) -> dict[str, Any]:
        is_bloc = bool(self.is_bloc.data)
        return {
            "code": _text(self.code.data).upper(), "name": _text(self.name.data), "is_bloc": is_bloc,
            "members": " ".join(sorted(set((self.members.data or "").upper().split()))) if is_bloc else "",
            "timezone": self.timezone.data, "holiday_country": _text(self.holiday_country.data).upper(),
            "holiday_subdiv": _text(self.holiday_subdiv.data).upper(), "active": bool(self.active.data),
        }
