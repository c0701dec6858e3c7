"""Each regime's own definition of what triggers it (notifications/reportability.py), one case per rule; each test
names the article it checks."""

from __future__ import annotations

import pytest

from qa_incidents.incidents.rules import Care
from qa_incidents.notifications.obligations import Trigger, Verdict
from qa_incidents.notifications.reportability import DEFINITIONS, ReportFacts, assess_obligation


def verdict(code: str, **facts) -> Verdict:
    return DEFINITIONS[code](code, ReportFacts(**facts)).verdict


def test_acl_s131_injury_treated_by_a_doctor_is_serious():
    result = DEFINITIONS["AU-ACL-131"]("AU-ACL-131", ReportFacts(minor_injuries=1, care=Care.DOCTOR_OR_NURSE))
    assert result.verdict == Verdict.APPLIES and "s.131" in result.reason


def test_acl_s131_first_aid_only_is_not_triggered_and_unstated_care_is_to_decide():
    assert verdict("AU-ACL-131", minor_injuries=1, care=Care.FIRST_AID) == Verdict.NOT_TRIGGERED
    assert verdict("AU-ACL-131", minor_injuries=1, care=Care.NOT_STATED) == Verdict.DECIDE


def test_cpsa_15b_repeated_smoke_without_injury_is_to_decide():
    assert verdict("US-CPSC-15B", smoke=True) == Verdict.DECIDE
    assert verdict("US-CPSC-15B") == Verdict.NOT_TRIGGERED
    assert verdict("US-CPSC-15B", fire=True) == Verdict.APPLIES


@pytest.mark.parametrize("facts, expected", [
    ({"suspected_defect": True}, Verdict.DECIDE),          # 14(1)(b)
    ({"labelling_problem": True}, Verdict.DECIDE),         # 14(1)(c)
    ({"foreign_action": True}, Verdict.APPLIES),           # 14(1)(d)
    ({"deaths": 1}, Verdict.APPLIES),                      # 14(1)(a)
    ({}, Verdict.NOT_TRIGGERED),
])
def test_ccpsa_s14_1_b_to_d(facts, expected):
    assert verdict("CA-CCPSA-14-2", **facts) == expected


def test_gpsr_2005_reg_9_known_unsafe_is_to_decide_on_a_defect_alone():
    assert verdict("UK-GPSR-9", suspected_defect=True) == Verdict.DECIDE
    assert verdict("UK-GPSR-9", co_poisoning=True) == Verdict.APPLIES


def test_21_cfr_803_50_a_2_malfunction_that_could_recur():
    assert verdict("US-FDA-803-30", recurrence_risk=True) == Verdict.APPLIES
    abroad = DEFINITIONS["US-FDA-803-30"]("US-FDA-803-30", ReportFacts(recurrence_risk=True, abroad=True))
    assert "marketed in the US" in abroad.reason


def test_mdr_art_2_65_incident_that_might_have_led_to_harm():
    assert verdict("EU-MDR-87-15", recurrence_risk=True) == Verdict.APPLIES
    assert verdict("EU-MDR-87-15", labelling_problem=True) == Verdict.DECIDE
    assert verdict("EU-MDR-87-15", deaths=1) == Verdict.NOT_TRIGGERED  # Art. 87(4): the 10-day report instead
    assert verdict("EU-MDR-87-10", deaths=1) == Verdict.APPLIES


def test_mdr_art_87_1_b_fsca_in_a_third_country():
    assert verdict("EU-MDR-87-FSCA", foreign_action=True, abroad=True) == Verdict.APPLIES
    assert verdict("EU-MDR-87-FSCA") == Verdict.NOT_TRIGGERED


def test_japan_cpsa_art_2_serious_is_30_days_or_lasting_disability_death_co_fire():
    assert verdict("JP-CPSA-35", serious_injuries=1, care=Care.THIRTY_DAYS) == Verdict.APPLIES
    assert verdict("JP-CPSA-35", minor_injuries=1, care=Care.DOCTOR_OR_NURSE) == Verdict.NOT_TRIGGERED
    assert verdict("JP-CPSA-35", smoke=True) == Verdict.DECIDE  # a fire only if the fire service recognises one
    assert verdict("JP-CPSA-35", co_poisoning=True) == Verdict.APPLIES


def test_cpsa_37_lawsuit_and_16_cfr_1117_choking():
    assert verdict("US-CPSC-37", lawsuit=True) == Verdict.DECIDE
    assert verdict("US-CPSC-37") == Verdict.NOT_TRIGGERED
    assert verdict("US-CPSC-1117", choking=True, minor_injuries=1, care=Care.DOCTOR_OR_NURSE) == Verdict.APPLIES
    assert verdict("US-CPSC-1117", choking=True) == Verdict.DECIDE


def test_medical_devices_regulations_s59_2_abroad_only_with_a_corrective_action():
    assert verdict("CA-MDR-60-10", deaths=1, abroad=True) == Verdict.NOT_TRIGGERED
    assert verdict("CA-MDR-60-10", deaths=1, abroad=True, foreign_action=True) == Verdict.APPLIES
    assert verdict("CA-MDR-60-30", recurrence_risk=True) == Verdict.APPLIES


def test_pmd_act_art_68_10_foreign_measure_is_15_days_and_recurring_malfunction_30():
    assert verdict("JP-PMD-68-10-15", foreign_action=True) == Verdict.APPLIES
    assert verdict("JP-PMD-68-10-30", recurrence_risk=True) == Verdict.APPLIES


def test_vehicle_regimes_ask_for_a_determination():
    for code in ("US-NHTSA-573", "JP-RTVA-63-3", "CA-MVSA-10", "EU-VEH-52"):
        assert verdict(code, suspected_defect=True) == Verdict.DECIDE
        assert verdict(code) == Verdict.NOT_TRIGGERED


def test_a_regime_without_a_definition_falls_back_to_the_laws_map_harm_classes():
    from qa_incidents.incidents.severity import HarmClass

    result = assess_obligation(Trigger("XX-OWN-1", ("fire",), "fire"), ReportFacts(fire=True), [HarmClass.FIRE])
    assert result.verdict == Verdict.APPLIES


def test_every_definition_has_a_deadline_rule():
    from qa_incidents.notifications.deadlines import RULES

    assert set(DEFINITIONS) <= set(RULES)
