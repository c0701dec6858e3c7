"""Forms for filing and editing incidents, comments and attachments."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import Choice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import Select, html_params

from qa_incidents.core.clock import localize
from qa_incidents.core.forms import FixedChoices, Form
from qa_incidents.core.params import MomentField, WholeField
from qa_incidents.incidents.rules import (
    CARE_TITLES,
    CONTACT_FIELDS,
    HAZARD_TITLES,
    REPORTABILITY_FLAG_TITLES,
    SOURCE_TITLES,
    Care,
    Hazard,
    IncidentFacts,
    Source,
    validate_facts,
)

DT_FORMAT = "%Y-%m-%dT%H:%M"


class _RememberedOptions(Select):
    """A select whose long option list (countries, categories) is turned into HTML once per list of choices
    (and language: the key holds the labels as shown) and reused; only the chosen option is written anew."""

    _built: dict[tuple[tuple[str, str], ...], list[tuple[str, str]]] = {}

    def __call__(self, field: SelectField, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        pairs = tuple((str(v), str(label)) for v, label in (_pair(c) for c in field.choices or ()))
        built = self._built.get(pairs)
        if built is None:
            if len(self._built) > 64:
                self._built.clear()
            built = self._built[pairs] = [(v, self.render_option(Choice(v, label, False, None))) for v, label in pairs]
        chosen = None if field.data is None else str(field.data)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for (value, option), (_v, label) in zip(built, pairs, strict=True):
            html.append(self.render_option(Choice(value, label, True, None)) if value == chosen else option)
        html.append("</select>")
        # Safe: html_params and render_option escape every attribute value and label.
        return Markup("".join(html))  # nosec B704


def _pair(choice: Any) -> tuple[Any, Any]:
    return (choice.value, choice.label) if isinstance(choice, SelectChoice) else (choice[0], choice[1])


class LookupSelectField(SelectField):
    """A SelectField for long lists (countries, time zones, products) validated by looking the value up, rather
    than by building every choice (which costs more than the rest of filing an incident)."""

    def pre_validate(self, form: Any) -> None:
        if self.process_errors or not self.validate_choice:
            return
        if self.data is None and not (self.raw_data and self.raw_data[0]):
            return  # nothing chosen: the field's InputRequired says so, in its own words
        choices = self.choices or ()
        values = choices.values if isinstance(choices, FixedChoices) else {str(_pair(c)[0]) for c in choices}
        if self.data is None or str(self.data) not in values:
            raise ValidationError(self.invalid_choice_message or self.gettext("Not a valid choice."))


class LongSelectField(LookupSelectField):
    """A LookupSelectField shown on every page of the register: rendered from remembered HTML."""

    widget = _RememberedOptions()


def _int_or_none(value: Any) -> int | None:
    """A chosen id, or None for the blank "choose…" option (never a silently pre-selected first entry)."""
    return None if value is None or value == "" else int(value)


# The columns' limits (INTEGER, BIGINT): a larger number is refused here, not by the database.
_TOO_LARGE_INT = NumberRange(max=2**31 - 1, message=_l("This number is too large."))
_TOO_LARGE_BIGINT = NumberRange(max=2**63 - 1, message=_l("This number is too large."))


class IncidentForm(Form):
    """The facts of an incident. Times are typed as wall-clock times in the chosen zone."""

    division_id = LookupSelectField(_l("Division"), coerce=int, validators=[InputRequired()])
    product_id = LookupSelectField(_l("Product (model)"), coerce=_int_or_none,
                                   validators=[InputRequired(_l("Choose a product."))])
    title = StringField(_l("Short title"), validators=[InputRequired(_l("Give the incident a short title.")), Length(max=200)])
    lot_numbers = TextAreaField(_l("Lot numbers"), validators=[Length(max=2000)],
                                description=_l("One or more, separated by commas or new lines."))
    serial_numbers = TextAreaField(_l("Serial numbers"), validators=[Length(max=4000)],
                                   description=_l("Give the lot numbers, the serial numbers, or both."))
    country = LookupSelectField(_l("Country of occurrence"), validators=[InputRequired(_l("Choose the country where it happened."))])
    place = StringField(_l("Place of occurrence"), validators=[InputRequired(_l("Say where it happened.")), Length(max=200)],
                        description=_l("City, site or address; no customer names."))
    timezone = LookupSelectField(_l("Times below are in"), validators=[InputRequired()])
    occurred_at = MomentField(_l("Occurred at"), format=DT_FORMAT,
                                     validators=[InputRequired(_l("Enter when it happened (date and time)."))])
    aware_at = MomentField(_l("Company became aware at"), format=DT_FORMAT,
                                  validators=[InputRequired(_l("Enter when the company became aware (date and time)."))],
                                  description=_l("The first moment anyone in the company knew: legal reporting clocks start here."))
    aware_timezone = LookupSelectField(
        _l("Where the company became aware (time zone)"), validators=[InputRequired()],
        description=_l("The zone of the site or person who first knew: legal days are counted on its calendar."))
    source = SelectField(_l("Source"), choices=[SelectChoice(s.value, t) for s, t in SOURCE_TITLES.items()],
                         validators=[InputRequired()])
    hazard = SelectField(_l("Hazard type"), choices=[SelectChoice(h.value, t) for h, t in HAZARD_TITLES.items()],
                         validators=[InputRequired()])
    deaths = WholeField(_l("Deaths"), default=0, validators=[InputRequired(_l("Enter a number (0 if none).")), NumberRange(min=0, message=_l("Cannot be negative.")), _TOO_LARGE_INT])
    serious_injuries = WholeField(_l("Serious injuries"), default=0, validators=[InputRequired(_l("Enter a number (0 if none).")), NumberRange(min=0, message=_l("Cannot be negative.")), _TOO_LARGE_INT],
                                    description=_l("E.g. needing 30 days' treatment or more, or lasting disability."))
    minor_injuries = WholeField(_l("Minor injuries"), default=0, validators=[InputRequired(_l("Enter a number (0 if none).")), NumberRange(min=0, message=_l("Cannot be negative.")), _TOO_LARGE_INT])
    fire = BooleanField(_l("Fire"))
    smoke = BooleanField(_l("Smoke"))
    co_poisoning = BooleanField(_l("CO poisoning"))
    property_damage = BooleanField(_l("Property damage"))
    no_harm = BooleanField(_l("No harm"))
    units_in_field = WholeField(_l("Units in the field"), default=0, validators=[InputRequired(_l("Enter a number (0 if unknown).")), NumberRange(min=0, message=_l("Cannot be negative.")), _TOO_LARGE_BIGINT])
    description = TextAreaField(_l("Description"), validators=[InputRequired(_l("Describe what happened.")), Length(max=20000)])
    injury_care = SelectField(_l("Most serious care an injured person received"),
                              choices=[SelectChoice(c.value, t) for c, t in CARE_TITLES.items()],
                              default=Care.NOT_STATED.value, validators=[InputRequired()],
                              description=_l("Each country defines a serious injury by the care: e.g. Australia, "
                                             "treated by a doctor or nurse; Japan, 30 days' treatment or more."))
    recurrence_risk = BooleanField(REPORTABILITY_FLAG_TITLES["recurrence_risk"])
    suspected_defect = BooleanField(REPORTABILITY_FLAG_TITLES["suspected_defect"])
    labelling_problem = BooleanField(REPORTABILITY_FLAG_TITLES["labelling_problem"])
    foreign_action = BooleanField(REPORTABILITY_FLAG_TITLES["foreign_action"])
    lawsuit = BooleanField(REPORTABILITY_FLAG_TITLES["lawsuit"])
    choking = BooleanField(REPORTABILITY_FLAG_TITLES["choking"])
    # Customer contact (its own fields, never the description): shown and accepted only for READ_CUSTOMER_CONTACT.
    customer_name = StringField(_l("Customer name"), validators=[Optional(), Length(max=200)])
    customer_phone = StringField(_l("Customer phone"), validators=[Optional(), Length(max=50)])
    customer_email = StringField(_l("Customer e-mail"), validators=[Optional(), Length(max=254)])
    customer_address = TextAreaField(_l("Customer address"), validators=[Optional(), Length(max=500)])
    version = HiddenField()

    def contact(self) -> dict[str, str]:
        """The customer contact fields as typed."""
        return {name: getattr(self, name).data or "" for name in CONTACT_FIELDS}

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """Field checks, then the domain rules, so one submit shows every problem at once."""
        ok = super().validate(extra_validators)
        for name in ("occurred_at", "aware_at"):  # e.g. year 1 in Tokyo is before the first representable instant
            field = getattr(self, name)
            if field.data is not None and not field.errors and self.timezone.data and not self.timezone.errors:
                try:
                    localize(field.data, self.timezone.data)
                except OverflowError:
                    field.errors = [*field.errors, _l("This date is out of range.")]
                    ok = False
        needed = ("occurred_at", "aware_at", "timezone", "source", "hazard", "injury_care")
        counts = ("deaths", "serious_injuries", "minor_injuries", "units_in_field")
        # A negative count is still a number: only a missing or unreadable value stops the domain rules.
        if any(getattr(self, name).errors or getattr(self, name).data is None for name in needed) or any(
                getattr(self, name).data is None for name in counts):
            return ok
        from qa_incidents.core.countries import country_codes
        from qa_incidents.core.web import now

        errors = validate_facts(self.to_facts(), now=now(), known_countries=country_codes())
        for name, message in errors.items():
            field = getattr(self, name)
            if not field.errors:
                field.errors = [*field.errors, message]
        return ok and not errors

    def to_facts(self) -> IncidentFacts:
        """The typed facts, times converted from the chosen zone to UTC."""
        tz = self.timezone.data
        return IncidentFacts(
            division_id=self.division_id.data,
            product_id=self.product_id.data,
            title=self.title.data or "",
            lot_numbers=self.lot_numbers.data or "",
            serial_numbers=self.serial_numbers.data or "",
            country=self.country.data or "",
            place=self.place.data or "",
            occurred_at=localize(self.occurred_at.data, tz),
            aware_at=localize(self.aware_at.data, tz),
            source=Source(self.source.data),
            hazard=Hazard(self.hazard.data),
            deaths=self.deaths.data or 0,
            serious_injuries=self.serious_injuries.data or 0,
            minor_injuries=self.minor_injuries.data or 0,
            fire=self.fire.data,
            smoke=self.smoke.data,
            co_poisoning=self.co_poisoning.data,
            property_damage=self.property_damage.data,
            no_harm=self.no_harm.data,
            units_in_field=self.units_in_field.data or 0,
            description=self.description.data or "",
            injury_care=Care(self.injury_care.data or Care.NOT_STATED.value),
            recurrence_risk=self.recurrence_risk.data,
            suspected_defect=self.suspected_defect.data,
            labelling_problem=self.labelling_problem.data,
            foreign_action=self.foreign_action.data,
            lawsuit=self.lawsuit.data,
            choking=self.choking.data,
            aware_timezone=self.aware_timezone.data or tz,
        )


class CommentForm(Form):
    body = TextAreaField(_l("Comment"), validators=[InputRequired(_l("Write something before posting.")), Length(max=10000)])


class AttachmentForm(Form):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))])


class RegisterFilterForm(Form):
    """The register's filters, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Text"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validators=[Optional()])
    severity = SelectField(_l("Severity"), validators=[Optional()])
    division = SelectField(_l("Division"), validators=[Optional()])
    category = LongSelectField(_l("Product category"), validators=[Optional()])
    country = LongSelectField(_l("Country"), validators=[Optional()])
    aware_from = StringField(_l("Aware from"), validators=[Optional()])
    aware_to = StringField(_l("Aware to"), validators=[Optional()])
    assigned = SelectField(_l("Assigned"), validators=[Optional()])
    sort = SelectField(_l("Sort"), validators=[Optional()])
