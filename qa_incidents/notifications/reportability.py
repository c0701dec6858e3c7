"""Each regime's own definitions: whether an incident's facts make an obligation apply. Pure Python.

The laws do not share one definition of "serious injury": Australia's is an injury treated by a doctor or
nurse (ACL s.2), Japan's one needing 30 days' treatment or more or leaving a lasting disability, the FDA's a
life-threatening injury or permanent impairment (21 CFR 803.3). Many triggers are not harm at all: a
malfunction that could cause death if it recurred (21 CFR 803.50(a)(2)), a defect or labelling problem (CCPSA
s.14(1)(b)–(c)), a recall abroad (CCPSA s.14(1)(d), MDR Art. 87(1)(b)), a lawsuit (CPSA §37), a choking incident
(16 CFR 1117). Each regime below reads the facts as its own text defines them and answers:

- "applies" where the facts meet the law's words;
- "to decide" where the law asks for a judgement (a defect, a risk, "could have led to") or a fact is not stated;
- "not triggered" only where the law's trigger is clearly absent from the facts.

The legal text is cited beside each rule; readings the legal department has not confirmed say so. A regime code
without a definition here (one an administrator added) falls back to the laws map's harm classes
(`obligations.assess`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from qa_incidents.incidents.rules import JP_SERIOUS_CARE, Care
from qa_incidents.notifications.obligations import Assessment, Trigger, Verdict, assess


@dataclass(frozen=True)
class ReportFacts:
    """What the regimes' definitions read: the incident's harm, the care received and the other facts."""

    deaths: int = 0
    serious_injuries: int = 0
    minor_injuries: int = 0
    care: Care = Care.NOT_STATED
    fire: bool = False
    smoke: bool = False
    co_poisoning: bool = False
    property_damage: bool = False
    recurrence_risk: bool = False
    suspected_defect: bool = False
    labelling_problem: bool = False
    foreign_action: bool = False
    lawsuit: bool = False
    choking: bool = False
    #: The incident happened outside the regime's jurisdiction: the obligation reaches it through a country the
    #: product is sold in.
    abroad: bool = False

    @property
    def injured(self) -> int:
        return self.serious_injuries + self.minor_injuries

    def care_at_least(self, *levels: Care) -> bool:
        return self.injured > 0 and self.care in levels

    @property
    def any_harm(self) -> bool:
        return bool(self.deaths or self.injured or self.fire or self.smoke or self.co_poisoning or self.property_damage)

    @property
    def any_concern(self) -> bool:
        """Any harm, or any fact besides harm that a regime reads."""
        return self.any_harm or self.recurrence_risk or self.suspected_defect or self.labelling_problem \
            or self.foreign_action or self.lawsuit or self.choking


def facts_of(incident: object, *, abroad: bool = False) -> ReportFacts:
    """The facts of a stored incident (or anything with the same attributes)."""
    def get(name: str, default: object = False) -> object:
        return getattr(incident, name, default)

    return ReportFacts(
        deaths=int(get("deaths", 0) or 0), serious_injuries=int(get("serious_injuries", 0) or 0),  # type: ignore[call-overload]
        minor_injuries=int(get("minor_injuries", 0) or 0), care=Care(get("injury_care", Care.NOT_STATED) or "not_stated"),  # type: ignore[call-overload]
        fire=bool(get("fire")), smoke=bool(get("smoke")), co_poisoning=bool(get("co_poisoning")),
        property_damage=bool(get("property_damage")), recurrence_risk=bool(get("recurrence_risk")),
        suspected_defect=bool(get("suspected_defect")), labelling_problem=bool(get("labelling_problem")),
        foreign_action=bool(get("foreign_action")), lawsuit=bool(get("lawsuit")), choking=bool(get("choking")),
        abroad=abroad)


#: Care that is treatment by, or under the supervision of, a doctor or nurse, or more.
DOCTOR_OR_MORE = (Care.DOCTOR_OR_NURSE, Care.HOSPITALISED, Care.THIRTY_DAYS, Care.LASTING_DISABILITY,
                  Care.LIFE_THREATENING)
#: Care that is a serious deterioration of health in the MDR's sense (Art. 2(58): life-threatening illness or
#: injury, permanent impairment, hospitalisation or its prolongation, intervention to prevent those).
SERIOUS_DETERIORATION = (Care.HOSPITALISED, Care.THIRTY_DAYS, Care.LASTING_DISABILITY, Care.LIFE_THREATENING)


def _say(code: str, verdict: Verdict, why: str, cite: str) -> Assessment:
    lead = {Verdict.APPLIES: _l("Applies"), Verdict.DECIDE: _l("To decide"),
            Verdict.NOT_TRIGGERED: _l("Not triggered")}[verdict]
    return Assessment(code, verdict, f"{lead}: {why} ({cite})")


Rule = Callable[[str, ReportFacts], Assessment]


# --- Japan --------------------------------------------------------------------------------------


def jp_cpsa_35(code: str, f: ReportFacts) -> Assessment:
    """CPSA Art. 2(6) and Enforcement Order Art. 5: a serious product accident is a death, an injury or illness
    needing 30 days' treatment or more, a lasting disability, CO poisoning or a fire (火災: one the fire service
    recognises). Art. 35(1): report within 10 days of knowing."""
    cite = "消費生活用製品安全法 第2条第6項, 施行令 第5条, 第35条"
    if f.deaths or f.serious_injuries or f.care_at_least(*JP_SERIOUS_CARE) or f.co_poisoning or f.fire:
        return _say(code, Verdict.APPLIES, str(_l(
            "a death, an injury needing 30 days' treatment or more or a lasting disability, CO poisoning or a fire "
            "is a serious product accident")), cite)
    if f.smoke:
        return _say(code, Verdict.DECIDE, str(_l(
            "smoke is a serious product accident when the fire service recognises it as a fire: find out")), cite)
    if f.care_at_least(Care.HOSPITALISED, Care.LIFE_THREATENING):
        return _say(code, Verdict.DECIDE, str(_l(
            "the injured were hospitalised: decide whether the treatment will last 30 days or more")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no death, serious injury (30 days or more, lasting disability), CO poisoning or fire is reported")), cite)


def jp_pmd_68_10_15(code: str, f: ReportFacts) -> Assessment:
    """PMD Act Art. 68-10(1); Enforcement Regulations Art. 228-20(1)(i)-(ii): 15 days for a death or serious case
    whose occurrence the package insert does not foresee, and for a measure taken abroad (a recall or stopped
    sale) to prevent harm."""
    cite = "医薬品医療機器等法 第68条の10第1項; 施行規則 第228条の20第1項"
    if f.foreign_action:
        return _say(code, Verdict.APPLIES, str(_l(
            "a recall or corrective action abroad to prevent harm is reported within 15 days")), cite)
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.DECIDE, str(_l(
            "a death or serious case suspected to be caused by a device malfunction: decide whether it was foreseeable "
            "from the package insert (15 days if not, 30 days if it was)")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no death, serious case or measure abroad is reported")), cite)


def jp_pmd_68_10_30(code: str, f: ReportFacts) -> Assessment:
    """PMD Act Art. 68-10(1); Enforcement Regulations Art. 228-20(2): 30 days for a malfunction that could cause
    death or a serious case if it recurred, and for a foreseen serious case."""
    cite = "医薬品医療機器等法 第68条の10第1項; 施行規則 第228条の20第2項"
    if f.recurrence_risk:
        return _say(code, Verdict.APPLIES, str(_l(
            "a malfunction that could cause death or serious harm if it recurred")), cite)
    if f.deaths or f.injured or f.suspected_defect:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether a malfunction caused or could cause a serious case, and whether it was foreseen")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no health harm and no malfunction that could cause it is reported")), cite)


def jp_rtva_63_3(code: str, f: ReportFacts) -> Assessment:
    """Road Transport Vehicle Act Art. 63-3(1): a manufacturer who will recall vehicles because a type does not
    or may not meet the safety standards for a cause in design or manufacture notifies the Minister beforehand."""
    cite = "道路運送車両法 第63条の3第1項"
    if f.suspected_defect or f.recurrence_risk or f.any_harm:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the vehicles fail or may fail the safety standards for a cause in design or manufacture; "
            "a recall is notified before it starts")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm and no suspected defect or noncompliance")), cite)


# --- United States ------------------------------------------------------------------------------


def us_cpsc_15b(code: str, f: ReportFacts) -> Assessment:
    """CPSA §15(b) (15 U.S.C. 2064(b)); 16 CFR 1115.4, 1115.6, 1115.12: information that reasonably supports the
    conclusion that a product fails a rule or relied-upon standard, contains a defect that could create a
    substantial product hazard, or creates an unreasonable risk of serious injury or death. CPSC: when in doubt,
    report."""
    cite = "15 U.S.C. 2064(b); 16 CFR 1115.4, 1115.6, 1115.12"
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION) or f.fire or f.co_poisoning:
        return _say(code, Verdict.APPLIES, str(_l(
            "a death, serious injury, fire or CO poisoning reasonably supports the conclusion of an unreasonable risk "
            "of serious injury or death")), cite)
    if f.any_concern:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the information reasonably supports the conclusion that the product could create a "
            "substantial product hazard (repeated smoke or malfunctions, a defect, a failed rule or standard)")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm, malfunction or defect is reported")), cite)


def us_cpsc_37(code: str, f: ReportFacts) -> Assessment:
    """CPSA §37 (15 U.S.C. 2084); 16 CFR 1116: a model that is the subject of at least three civil actions for death
    or grievous bodily injury, each settled or decided for the plaintiff within a 24-month period, is reported within
    30 days after the third."""
    cite = "15 U.S.C. 2084; 16 CFR 1116"
    if f.lawsuit:
        return _say(code, Verdict.DECIDE, str(_l(
            "a lawsuit: count the model's civil actions for death or grievous bodily injury settled or decided for the "
            "plaintiff in 24 months; the third starts 30 days")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no lawsuit is reported")), cite)


def us_cpsc_1117(code: str, f: ReportFacts) -> Assessment:
    """Child Safety Protection Act §102 (15 U.S.C. 1278 note); 16 CFR 1117.3: a child choked on a marble, small
    ball, latex balloon or other small part and, as a result, died, suffered serious injury, ceased breathing for
    any length of time, or was treated by a medical professional: report within 24 hours."""
    cite = "15 U.S.C. 1278 note; 16 CFR 1117.3"
    if not f.choking:
        return _say(code, Verdict.NOT_TRIGGERED, str(_l("no choking incident is reported")), cite)
    if f.deaths or f.serious_injuries or f.care_at_least(*DOCTOR_OR_MORE):
        return _say(code, Verdict.APPLIES, str(_l(
            "a child choked and died, was seriously injured or was treated by a medical professional")), cite)
    return _say(code, Verdict.DECIDE, str(_l(
        "a choking incident: decide whether the child ceased breathing for any length of time and whether the product "
        "is a marble, small ball, latex balloon or small part")), cite)


def us_fda_803_30(code: str, f: ReportFacts) -> Assessment:
    """21 CFR 803.50(a): within 30 days of information that reasonably suggests a marketed device (1) may have caused
    or contributed to a death or serious injury, or (2) malfunctioned and would be likely to cause or contribute to
    one if the malfunction recurred; serious injury (803.3): life-threatening, permanent impairment, or needing
    intervention to preclude it. Events abroad are reported for devices marketed in the US."""
    cite = "21 CFR 803.3, 803.50(a)"
    where = str(_l(" (the event abroad is reported because the device is marketed in the US)")) if f.abroad else ""
    if f.deaths or f.care_at_least(Care.LIFE_THREATENING, Care.LASTING_DISABILITY):
        return _say(code, Verdict.APPLIES, str(_l(
            "a death, or a life-threatening injury or permanent impairment (803.50(a)(1))")) + where, cite)
    if f.recurrence_risk:
        return _say(code, Verdict.APPLIES, str(_l(
            "a malfunction that would be likely to cause or contribute to a death or serious injury if it recurred "
            "(803.50(a)(2))")) + where, cite)
    if f.injured or f.suspected_defect:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the injury needed intervention to preclude permanent impairment, or whether the "
            "malfunction would be likely to cause a serious injury if it recurred")) + where, cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no death, injury or malfunction that could cause one is reported")), cite)


def us_nhtsa_573(code: str, f: ReportFacts) -> Assessment:
    """49 U.S.C. 30118; 49 CFR 573.6: a defect determined to be safety-related, or a noncompliance, is reported
    within 5 working days of the determination."""
    cite = "49 U.S.C. 30118; 49 CFR 573.6"
    if f.suspected_defect or f.recurrence_risk or f.any_harm:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether there is a safety-related defect or a noncompliance; the report is due 5 working days "
            "after that determination")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm and no suspected defect or noncompliance")), cite)


# --- European Union -----------------------------------------------------------------------------


def eu_gpsd_5_3(code: str, f: ReportFacts) -> Assessment:
    """Directive 2001/95/EC Art. 5(3) (until 12 December 2024): producers and distributors who know or ought to know
    that a product they placed on the market poses risks incompatible with the general safety requirement
    immediately inform the competent authorities (Annex I)."""
    cite = "Directive 2001/95/EC Art. 5(3), Annex I"
    if f.any_concern:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the product poses risks incompatible with the general safety requirement; if so, inform "
            "the authorities immediately")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm, defect or risk is reported")), cite)


def eu_gpsr_20(code: str, f: ReportFacts) -> Assessment:
    """Regulation (EU) 2023/988 Art. 20(1): an accident caused by a product, resulting in the death of a person or in
    serious adverse effects on a person's health and safety (permanent or temporary injuries, illness or harm)."""
    cite = "Regulation (EU) 2023/988 Art. 20(1)"
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.APPLIES, str(_l(
            "a death or serious permanent or temporary harm to health")), cite)
    if f.injured or f.co_poisoning:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the harm to health is serious (permanent or temporary)")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no person's health was harmed; a dangerous product is notified under Art. 9(8) instead")), cite)


def eu_mdr_87_15(code: str, f: ReportFacts) -> Assessment:
    """MDR Art. 87(1)(a), (3); Art. 2(64)-(65): a serious incident is an incident (a malfunction, deterioration or
    inadequate information supplied) that directly or indirectly led, might have led or might lead to a death, a
    serious deterioration in health or a serious public health threat; 15 days."""
    cite = "Regulation (EU) 2017/745 Art. 2(64)-(65), 87(1)(a), 87(3)"
    if f.deaths:
        return _say(code, Verdict.NOT_TRIGGERED, str(_l(
            "a death is reported within 10 days under Art. 87(4) (EU-MDR-87-10) instead")), cite)
    if f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION) or f.recurrence_risk:
        return _say(code, Verdict.APPLIES, str(_l(
            "a serious deterioration in health, or an incident that might lead to one if it recurred")), cite)
    if f.injured or f.suspected_defect or f.labelling_problem:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the incident might have led or might lead to a serious deterioration in health")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm, malfunction or inadequate information is reported")), cite)


def eu_mdr_87_10(code: str, f: ReportFacts) -> Assessment:
    """MDR Art. 87(4): a death or an unanticipated serious deterioration in health, within 10 days."""
    cite = "Regulation (EU) 2017/745 Art. 87(4)"
    if f.deaths:
        return _say(code, Verdict.APPLIES, str(_l("a death")), cite)
    if f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.DECIDE, str(_l("decide whether the serious deterioration in health was unanticipated")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no death or serious deterioration in health is reported")), cite)


def eu_mdr_87_2(code: str, f: ReportFacts) -> Assessment:
    """MDR Art. 87(3) and Art. 2(66): a serious public health threat (imminent risk of death or serious
    deterioration in health that may require prompt remedial action), within 2 days."""
    cite = "Regulation (EU) 2017/745 Art. 2(66), 87(3)"
    if f.deaths or f.serious_injuries or f.recurrence_risk or f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the incident is a serious public health threat needing prompt remedial action")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no death, serious harm or dangerous malfunction is reported")), cite)


def eu_mdr_87_fsca(code: str, f: ReportFacts) -> Assessment:
    """MDR Art. 87(1)(b), 87(8): a field safety corrective action for a device made available in the Union,
    including one undertaken in a third country for a device also legally made available in the Union, is reported
    before it is undertaken (except in urgency)."""
    cite = "Regulation (EU) 2017/745 Art. 87(1)(b), 87(8)"
    if f.foreign_action:
        return _say(code, Verdict.APPLIES, str(_l(
            "a corrective action taken in another country for a device also sold in the Union")), cite)
    if f.suspected_defect or f.recurrence_risk or f.labelling_problem:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether a field safety corrective action is needed; it is reported before it starts")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no corrective action, defect or dangerous malfunction")), cite)


def eu_mdr_88(code: str, f: ReportFacts) -> Assessment:
    """MDR Art. 88(1): any statistically significant increase in the frequency or severity of incidents that are not
    serious incidents, or of expected undesirable side-effects, that could significantly affect the benefit-risk
    analysis is reported (trend report)."""
    cite = "Regulation (EU) 2017/745 Art. 88(1)"
    if f.any_concern:
        return _say(code, Verdict.DECIDE, str(_l(
            "count it in the trend analysis of the post-market surveillance plan and decide whether the frequency or "
            "severity of such incidents has increased significantly")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no incident to count")), cite)


def eu_vehicles_52(code: str, f: ReportFacts) -> Assessment:
    """Regulation (EU) 2018/858 Art. 52: a manufacturer whose vehicles present a serious risk or are not in
    conformity takes corrective measures and immediately informs the approval authority."""
    cite = "Regulation (EU) 2018/858 Art. 52"
    if f.suspected_defect or f.recurrence_risk or f.any_harm:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the vehicles present a serious risk or are not in conformity")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm and no suspected defect or noncompliance")), cite)


# --- Canada -------------------------------------------------------------------------------------


def ca_ccpsa_14(code: str, f: ReportFacts) -> Assessment:
    """CCPSA s.14(1): an incident is (a) an occurrence in Canada or elsewhere that resulted or may reasonably have
    been expected to result in death or serious adverse effects on health, including serious injury; (b) a defect or
    characteristic, or (c) incorrect or insufficient labelling or instructions, that may reasonably be expected to
    result in them; (d) a recall or measure initiated for health or safety reasons by a foreign entity, a province,
    a public body or an aboriginal government."""
    cite = "Canada Consumer Product Safety Act s.14(1)"
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.APPLIES, str(_l(
            "an occurrence (in Canada or elsewhere) that resulted in death or serious adverse effects on health "
            "(14(1)(a))")), cite)
    if f.foreign_action:
        return _say(code, Verdict.APPLIES, str(_l(
            "a recall or measure taken in another country (14(1)(d)); whether one of the company's own initiative "
            "counts is to be confirmed by the legal department")), cite)
    if f.suspected_defect or f.recurrence_risk:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the defect or characteristic may reasonably be expected to result in death or serious "
            "adverse effects on health (14(1)(b))")), cite)
    if f.labelling_problem:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the labelling or instructions problem may reasonably be expected to result in death or "
            "serious adverse effects on health (14(1)(c))")), cite)
    if f.any_harm or f.choking:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the occurrence may reasonably have been expected to result in death or serious adverse "
            "effects on health (14(1)(a))")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm, defect, labelling problem or recall abroad")), cite)


def _ca_mdr_abroad(code: str, f: ReportFacts, cite: str) -> Assessment | None:
    if f.abroad and not f.foreign_action:
        return _say(code, Verdict.NOT_TRIGGERED, str(_l(
            "an incident outside Canada is reported only when the manufacturer has told that country's regulator it "
            "will take corrective action, or the regulator required it (s.59(2))")), cite)
    return None


def ca_mdr_60_10(code: str, f: ReportFacts) -> Assessment:
    """Medical Devices Regulations s.59(1), 60(1)(a): an incident involving a failure, a deterioration in
    effectiveness or inadequate labelling or instructions that led to a death or a serious deterioration in health,
    within 10 days; s.59(2) for incidents outside Canada."""
    cite = "Medical Devices Regulations (SOR/98-282) s.59, 60(1)(a)"
    if (abroad := _ca_mdr_abroad(code, f, cite)) is not None:
        return abroad
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION):
        return _say(code, Verdict.APPLIES, str(_l("a death or a serious deterioration in health")), cite)
    if f.injured:
        return _say(code, Verdict.DECIDE, str(_l("decide whether the injury is a serious deterioration in health")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no death or serious deterioration in health is reported")), cite)


def ca_mdr_60_30(code: str, f: ReportFacts) -> Assessment:
    """Medical Devices Regulations s.59(1)(b), 60(1)(b): an incident that could lead to a death or a serious
    deterioration in health if it were to recur, within 30 days."""
    cite = "Medical Devices Regulations (SOR/98-282) s.59(1)(b), 60(1)(b)"
    if (abroad := _ca_mdr_abroad(code, f, cite)) is not None:
        return abroad
    if f.recurrence_risk:
        return _say(code, Verdict.APPLIES, str(_l(
            "a failure that could lead to a death or serious deterioration in health if it recurred")), cite)
    if f.suspected_defect or f.labelling_problem or f.injured:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the incident could lead to a death or serious deterioration in health if it recurred")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no failure, labelling problem or injury is reported")), cite)


def ca_mvsa_10(code: str, f: ReportFacts) -> Assessment:
    """Motor Vehicle Safety Act s.10(1): a company that obtains knowledge of a defect in the design, construction or
    functioning of a vehicle or equipment that affects or is likely to affect safety gives notice to the Minister."""
    cite = "Motor Vehicle Safety Act (S.C. 1993, c. 16) s.10(1)"
    if f.suspected_defect or f.recurrence_risk or f.any_harm:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether there is a defect that affects or is likely to affect the safety of any person")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm and no suspected defect or noncompliance")), cite)


# --- Australia and the United Kingdom -------------------------------------------------------------


def au_acl_131(code: str, f: ReportFacts) -> Assessment:
    """ACL s.131(1): a supplier who becomes aware of a death or serious injury or illness that it considers was or may
    have been caused by the goods reports within 2 days; s.2(1): a serious injury or illness is an acute physical
    injury or illness requiring medical or surgical treatment by, or under the supervision of, a medical practitioner
    or a nurse."""
    cite = "Australian Consumer Law s.2(1), s.131(1)"
    if f.deaths or f.serious_injuries or f.care_at_least(*DOCTOR_OR_MORE):
        return _say(code, Verdict.APPLIES, str(_l(
            "a death, or an injury treated by a doctor or nurse, is a serious injury under the ACL")), cite)
    if f.injured and f.care == Care.NOT_STATED:
        return _say(code, Verdict.DECIDE, str(_l(
            "state whether a doctor or nurse treated the injured: that makes it a serious injury")), cite)
    if f.co_poisoning:
        return _say(code, Verdict.DECIDE, str(_l("decide whether the CO poisoning needed medical treatment")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l(
        "no death and no injury treated by a doctor or nurse is reported")), cite)


def uk_gpsr_9(code: str, f: ReportFacts) -> Assessment:
    """General Product Safety Regulations 2005 reg. 9(1): a producer or distributor who knows or ought to know that a
    product it placed on the market is unsafe (reg. 2: does not meet the general safety requirement) notifies an
    enforcement authority forthwith; reg. 9(2)-(3) and Schedule 4: what to give for a serious risk."""
    cite = "General Product Safety Regulations 2005 reg. 2, 9, Sch. 4"
    if f.deaths or f.serious_injuries or f.care_at_least(*SERIOUS_DETERIORATION) or f.fire or f.co_poisoning:
        return _say(code, Verdict.APPLIES, str(_l(
            "a death, serious injury, fire or CO poisoning in use: the product is to be treated as unsafe unless "
            "shown otherwise")), cite)
    if f.any_concern:
        return _say(code, Verdict.DECIDE, str(_l(
            "decide whether the company knows or ought to know the product is unsafe")), cite)
    return _say(code, Verdict.NOT_TRIGGERED, str(_l("no harm, defect or risk is reported")), cite)


#: Regime code → its definition. One place for each rule.
DEFINITIONS: dict[str, Rule] = {
    "JP-CPSA-35": jp_cpsa_35,
    "JP-PMD-68-10-15": jp_pmd_68_10_15,
    "JP-PMD-68-10-30": jp_pmd_68_10_30,
    "JP-RTVA-63-3": jp_rtva_63_3,
    "US-CPSC-15B": us_cpsc_15b,
    "US-CPSC-37": us_cpsc_37,
    "US-CPSC-1117": us_cpsc_1117,
    "US-FDA-803-30": us_fda_803_30,
    "US-NHTSA-573": us_nhtsa_573,
    "EU-GPSD-5-3": eu_gpsd_5_3,
    "EU-GPSR-20": eu_gpsr_20,
    "EU-MDR-87-15": eu_mdr_87_15,
    "EU-MDR-87-10": eu_mdr_87_10,
    "EU-MDR-87-2": eu_mdr_87_2,
    "EU-MDR-87-FSCA": eu_mdr_87_fsca,
    "EU-MDR-88": eu_mdr_88,
    "EU-VEH-52": eu_vehicles_52,
    "CA-CCPSA-14-2": ca_ccpsa_14,
    "CA-CCPSA-14-3": ca_ccpsa_14,
    "CA-MDR-60-10": ca_mdr_60_10,
    "CA-MDR-60-30": ca_mdr_60_30,
    "CA-MVSA-10": ca_mvsa_10,
    "AU-ACL-131": au_acl_131,
    "UK-GPSR-9": uk_gpsr_9,
}


def assess_obligation(trigger: Trigger, facts: ReportFacts, harms: list) -> Assessment:  # type: ignore[type-arg]
    """The obligation assessed by its regime's own definition, else by the laws map's harm classes."""
    rule = DEFINITIONS.get(trigger.regime_code)
    if rule is None:
        return assess(trigger, harms=harms)
    return rule(trigger.regime_code, facts)
