"""The risk assessment form (one form for both methods and for the reason to skip)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from qa_incidents.core.forms import Form
from qa_incidents.risk import rules
from qa_incidents.risk.service import MAX_STEPS, AssessmentInput


class AssessmentForm(Form):
    method = RadioField(_l("Method"), choices=[SelectChoice(m.value, t) for m, t in rules.METHOD_TITLES.items()],
                        default=rules.Method.R_MAP.value, validate_choice=False)
    frequency = StringField(_l("Frequency (accidents per unit-year)"), validators=[Optional(), Length(max=60)],
                            description=_l("Accidents ÷ (units in the field × years in use), e.g. 3/1500000 or "
                                           "2e-6."))
    frequency_basis = TextAreaField(_l("How the frequency was estimated"), validators=[Optional(), Length(max=2000)])
    harm_level = SelectField(_l("Severity of harm"),
                             choices=[SelectChoice("", "—")] + [SelectChoice(str(h), t)
                                                                for h, t in rules.R_MAP_HARM_TITLES.items()],
                             validate_choice=False)
    scenario = TextAreaField(_l("Injury scenario"), validators=[Optional(), Length(max=5000)],
                             description=_l("Who uses the product, how, and step by step how the hazard injures "
                                            "them."))
    severity = SelectField(_l("Severity of injury"),
                           choices=[SelectChoice("", "—")] + [SelectChoice(str(s), t)
                                                              for s, t in rules.EU_SEVERITY_TITLES.items()],
                           validate_choice=False)
    rationale = TextAreaField(_l("Rationale"), validators=[Length(max=5000)],
                              description=_l("Why these values, and what the result means for this decision; or, "
                                             "with no assessment, why none is made."))

    def data_for_service(self) -> AssessmentInput:
        steps = [((self[f"step_{n}_text"].data or ""), (self[f"step_{n}_probability"].data or ""))
                 for n in range(1, MAX_STEPS + 1)]
        return AssessmentInput(method=self.method.data or "", rationale=self.rationale.data or "",
                               frequency=self.frequency.data or "", harm_level=self.harm_level.data or "",
                               frequency_basis=self.frequency_basis.data or "", scenario=self.scenario.data or "",
                               severity=self.severity.data or "", steps=steps)


for _n in range(1, MAX_STEPS + 1):
    setattr(AssessmentForm, f"step_{_n}_text",
            StringField(_l("Step %(n)d: what happens", n=_n), validators=[Optional(), Length(max=500)]))
    setattr(AssessmentForm, f"step_{_n}_probability",
            StringField(_l("Step %(n)d: probability", n=_n), validators=[Optional(), Length(max=40)]))
