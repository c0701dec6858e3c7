"""Which reporting obligations an incident triggers, and why. Pure Python.

The laws map says which obligations *could* apply (country, product category, date); this
module decides, from each obligation's trigger, whether the incident's harm makes it apply,
and says why in words. Triggers the data cannot decide (e.g. "a defect is determined to be
safety-related") are marked for a person to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from qa_incidents.core.enums import TitledEnum, titles
from qa_incidents.incidents.severity import HARM_CLASS_TITLES, HarmClass


class Verdict(TitledEnum):
    APPLIES = "applies", _l("Applies")
    DECIDE = "decide", _l("To decide")  # the trigger needs a person's judgement
    NOT_TRIGGERED = "not_triggered", _l("Not triggered")


VERDICT_TITLES = titles(Verdict)


@dataclass(frozen=True)
class Trigger:
    regime_code: str
    trigger_harms: tuple[str, ...]
    trigger_text: str


@dataclass(frozen=True)
class Assessment:
    regime_code: str
    verdict: Verdict
    reason: str


def data_text(text: str) -> str:
    from qa_incidents.core.i18n import data_text as translated

    return translated(text)


def _titles(classes: Sequence[str | HarmClass]) -> str:
    return ", ".join(str(HARM_CLASS_TITLES.get(HarmClass(c), c)) for c in classes)


def assess(trigger: Trigger, *, harms: Sequence[HarmClass]) -> Assessment:
    """Whether the incident's harm classes meet the obligation's trigger, with the reason."""
    if not trigger.trigger_harms:
        return Assessment(trigger.regime_code, Verdict.DECIDE, str(_l(
            "No harm class decides this one: %(text)s Decide whether it applies and record the decision.",
            text=data_text(trigger.trigger_text or ""))))
    matched = [h for h in harms if h.value in trigger.trigger_harms]
    if matched:
        return Assessment(trigger.regime_code, Verdict.APPLIES, str(_l(
            "Applies: the reported harm (%(harm)s) meets the trigger (%(trigger)s).",
            harm=_titles(matched), trigger=_titles(trigger.trigger_harms))))
    return Assessment(trigger.regime_code, Verdict.NOT_TRIGGERED, str(_l(
        "Not triggered: the reported harm (%(harm)s) is none of %(trigger)s. Check again if the facts change.",
        harm=_titles(harms), trigger=_titles(trigger.trigger_harms))))
