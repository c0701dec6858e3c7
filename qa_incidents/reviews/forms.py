"""Forms for reviews, why-chains, countermeasures, deployment answers, approval and the lessons library."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from qa_incidents.core.forms import Form
from qa_incidents.core.params import DayField
from qa_incidents.reviews.rules import (
    CM_TYPE_TITLES,
    DEPLOYMENT_TITLES,
    DIMENSION_TITLES,
    FACTOR_TITLES,
    MAY_HAVE_NO_CAUSE,
    STAGE_TITLES,
    TIER_ORDER,
    TIER_TITLES,
    DeploymentAnswer,
    Dimension,
)

BAD_DATE = _l("Enter a real date, e.g. 2026-12-13.")
NO_CUSTOMER = _l("No customer names, addresses or contact details: lessons are read across the group.")


def _dimension_field() -> SelectField:
    return SelectField(_l("Cause it addresses"), choices=[SelectChoice(d.value, t) for d, t in DIMENSION_TITLES.items()],
                       validators=[InputRequired()])


def _optional_int(value: object) -> int | None:
    """A select's value as an id, or None for the blank "choose" option."""
    return int(value) if value not in (None, "", "None") else None  # type: ignore[arg-type]


class StartReviewForm(Form):
    incident = HiddenField()
    title = StringField(_l("Review title"), validators=[InputRequired(_l("Give the review a title.")), Length(max=200)],
                        description=_l("The failure in a few words, e.g. 'Compressor relay contact overheating'."))


class ReviewForm(Form):
    title = StringField(_l("Review title"), validators=[InputRequired(_l("Give the review a title.")), Length(max=200)])
    meeting_on = DayField(_l("Meeting date"), validators=[Optional()], invalid_value_message=BAD_DATE)
    participants = TextAreaField(_l("Participants"), validators=[Length(max=4000)],
                                 description=_l("Names and functions of those who took part."))
    phenomenon = TextAreaField(_l("Phenomenon"), validators=[Length(max=20000)],
                               description=_l("What happened to the product, as observed. ") + NO_CUSTOMER)
    failure_mode = StringField(_l("Failure mode"), validators=[Length(max=80)],
                               description=_l("E.g. 'Fire / overheating', 'Fracture / breakage'."))
    mechanism = TextAreaField(_l("Failure mechanism (technical cause)"), validators=[Length(max=20000)],
                              description=_l("How the failure physically came about."))
    process_stage = SelectField(_l("Process stage where the cause was introduced"),
                                choices=[SelectChoice("", _l("— choose —"))]
                                + [SelectChoice(s.value, t) for s, t in STAGE_TITLES.items()])
    process_cause = TextAreaField(_l("Process cause"), validators=[Length(max=20000)],
                                  description=_l("What in that stage let the cause in."))
    escape_reason = TextAreaField(_l("Why it was not detected"), validators=[Length(max=20000)],
                                  description=_l("Which check should have caught it, and why it did not."))
    framework_cause = TextAreaField(_l("Framework cause"), validators=[Length(max=20000)],
                                    description=_l("Rules, standards, organisation that allowed it."))
    motivating_factors = SelectMultipleField(_l("Motivating factors"),
                                             choices=[SelectChoice(f.value, t) for f, t in FACTOR_TITLES.items()],
                                             validators=[Optional()],
                                             description=_l("Hold Ctrl (⌘ on a Mac) to choose several."))
    motivating_cause = TextAreaField(_l("Motivating factors in words"), validators=[Length(max=20000)])
    design_review_checks = TextAreaField(_l("Check this in your next design review"), validators=[Length(max=4000)],
                                         description=_l("One short question per line."))
    no_cause = SelectMultipleField(_l("No cause found in"), validators=[Optional()],
                                   choices=[SelectChoice(d.value, DIMENSION_TITLES[d]) for d in MAY_HAVE_NO_CAUSE],
                                   description=_l("Choose a dimension only when the team found no cause there; its "
                                                  "field then says why. Every other dimension needs a countermeasure."))
    no_cm_technical = StringField(_l("Technical cause: why no countermeasure"), validators=[Length(max=1000)])
    no_cm_process = StringField(_l("Process cause: why no countermeasure"), validators=[Length(max=1000)])
    no_cm_framework = StringField(_l("Framework cause: why no countermeasure"), validators=[Length(max=1000)])
    no_cm_motivating = StringField(_l("Motivating factors: why no countermeasure"), validators=[Length(max=1000)])
    version = HiddenField()

    def no_countermeasure_reasons(self) -> dict[str, str]:
        """The short form's reasons why a cause has no countermeasure, by dimension."""
        return {d.value: getattr(self, f"no_cm_{d.value}").data or "" for d in Dimension}


class WhyForm(Form):
    dimension = SelectField(_l("Dimension"), choices=[SelectChoice(d.value, t) for d, t in DIMENSION_TITLES.items()],
                            validators=[InputRequired()])
    question = StringField(_l("Why?"), validators=[InputRequired(_l("Ask the question (Why …?).")), Length(max=2000)])
    answer = TextAreaField(_l("Because"), validators=[InputRequired(_l("Give the answer found.")), Length(max=4000)])
    evidence = TextAreaField(_l("Evidence"), validators=[Length(max=4000)],
                             description=_l("Test results, measurements, attachment names on the incident."))


class CountermeasureForm(Form):
    dimension = _dimension_field()
    kind = SelectField(_l("Type"), choices=[SelectChoice(k.value, t) for k, t in CM_TYPE_TITLES.items()],
                       validators=[InputRequired()])
    safety_tier = SelectField(_l("Safety tier (technical cause only)"),
                              choices=[SelectChoice("", _l("— choose —"))]
                              + [SelectChoice(t.value, TIER_TITLES[t]) for t in TIER_ORDER],
                              description=_l("Design first, then safeguards, then usage information (manuals, "
                                             "labels), in that order of priority."))
    tier_reason = TextAreaField(_l("Why a higher tier is not practicable"), validators=[Length(max=4000)],
                                description=_l("Required for a safeguard or usage information."))
    description = TextAreaField(_l("Countermeasure"), validators=[InputRequired(_l("Describe the countermeasure.")),
                                                                   Length(max=4000)])
    owner_id = SelectField(_l("Owner"), coerce=_optional_int, validators=[InputRequired(_l("Choose an owner."))])
    due_on = DayField(_l("Due"), validators=[InputRequired(_l("Enter the due date."))], invalid_value_message=BAD_DATE)
    check_method = TextAreaField(_l("How its effect will be checked"), validators=[Length(max=4000)])
    check_due_on = DayField(_l("Effectiveness check due"), validators=[Optional()], invalid_value_message=BAD_DATE)


class CheckForm(Form):
    check_method = TextAreaField(_l("How the effect was checked"), validators=[Length(max=4000)])
    check_result = TextAreaField(_l("Result"), validators=[Length(max=4000)])
    check_effective = SelectField(_l("Effective?"), choices=[SelectChoice("", _l("— choose —")),
                                                             SelectChoice("yes", _l("Yes: verified")),
                                                             SelectChoice("no", _l("No: reopen"))])


class DeploymentForm(Form):
    division_id = SelectField(_l("Division"), coerce=int, validators=[InputRequired()])
    target = StringField(_l("Products, part, process or design that share the cause"),
                         validators=[InputRequired(_l("Name what shares the cause.")), Length(max=300)])


class AnswerForm(Form):
    answer = SelectField(_l("Answer"), choices=[SelectChoice(a.value, DEPLOYMENT_TITLES[a]) for a in DeploymentAnswer
                                                if a != DeploymentAnswer.PENDING], validators=[InputRequired()])
    reason = TextAreaField(_l("Reason or what was done"), validators=[Length(max=4000)])


class ApproveForm(Form):
    password = PasswordField(_l("Your password (electronic signature)"), validators=[InputRequired(_l("Enter your password to sign."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])


class DeferCheckForm(Form):
    reason = TextAreaField(_l("Why the check can wait"), validators=[Length(max=4000)])
    check_due_on = DateField(_l("Check to be done by"), validators=[Optional()], invalid_value_message=BAD_DATE)
    password = PasswordField(_l("Your password (electronic signature)"), validators=[InputRequired(_l("Enter your password to sign."))])


class ReturnForm(Form):
    reason = TextAreaField(_l("What is missing"), validators=[InputRequired(_l("Say what is missing.")), Length(max=4000)])


class LinkForm(Form):
    reference = StringField(_l("Incident reference"), validators=[InputRequired(_l("Enter a reference.")), Length(max=20)])


class SubscribeForm(Form):
    kind = SelectField(_l("Subscribe to"), choices=[SelectChoice("category", _l("Product category")),
                                                    SelectChoice("failure_mode", _l("Failure mode"))])
    value = SelectField(_l("Which"), validate_choice=False)


class QaTermForm(Form):
    en = StringField(_l("English term"), validators=[InputRequired(), Length(max=120)])
    ja = StringField(_l("Japanese term"), validators=[InputRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("failure_mode", _l("Failure mode")), SelectChoice("hazard", _l("Hazard")),
                                            SelectChoice("component", _l("Component")), SelectChoice("process", _l("Process")),
                                            SelectChoice("cause", _l("Cause")), SelectChoice("quality", _l("Quality"))])
    source = StringField(_l("Source"), validators=[InputRequired(), Length(max=200)])
    active = BooleanField(_l("In use"), default=True)
    version = HiddenField()


class TierCorrectionForm(Form):
    safety_tier = SelectField(_l("Safety tier"), choices=[SelectChoice("", _l("— choose —"))]
                              + [SelectChoice(t.value, TIER_TITLES[t]) for t in TIER_ORDER])
    tier_reason = TextAreaField(_l("Why a higher tier is not practicable"), validators=[Length(max=4000)],
                                description=_l("Required for a safeguard or usage information."))
    reason = TextAreaField(_l("Why the tier is corrected"), validators=[Length(max=2000)])
