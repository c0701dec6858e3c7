"""Starting content of the laws map: the regimes of docs/regulations.md, and product laws of the demo divisions.

Facts come from docs/regulations.md (sources named there). Points the reference marks UNCONFIRMED
are carried in the `unconfirmed` fields and shown as "to be confirmed by the legal department".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.laws import service
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, Obligation

EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
CONSUMER = ["home", "cables.power"]

JURISDICTIONS = [
    dict(code="JP", name="Japan", timezone="Asia/Tokyo", holiday_country="JP"),
    dict(code="US", name="United States", timezone="America/New_York", holiday_country="US"),
    dict(code="EU", name="European Union", is_bloc=True, members=EU_MEMBERS, timezone="Europe/Brussels"),
    dict(code="CA", name="Canada", timezone="America/Toronto", holiday_country="CA", holiday_subdiv="ON"),
    dict(code="AU", name="Australia", timezone="Australia/Sydney", holiday_country="AU", holiday_subdiv="NSW"),
    dict(code="GB", name="United Kingdom", timezone="Europe/London", holiday_country="GB"),
]

SERIOUS = ["death", "serious_injury"]

LAWS: list[dict[str, Any]] = [
    dict(short_name="JP-CPSA", jurisdiction="JP", name_original="消費生活用製品安全法", name_en="Consumer Product Safety Act",
         citation="Act No. 31 of 1973, Art. 35", authority="Consumer Affairs Agency (reports); METI (recalls)",
         url="https://www.meti.go.jp/product_safety/", categories=CONSUMER,
         source="METI product safety guideline pages; Consumer Affairs Agency leaflet",
         obligations=[dict(
             regime_code="JP-CPSA-35", title="Serious product accident report (重大製品事故報告)",
             trigger_harms=["death", "serious_injury", "co_poisoning", "fire"],
             trigger_text="Serious product accident: death; CO poisoning (even minor); injury or illness needing 30 days' "
                          "treatment or more; fire recognised by the fire service (smoke or ignition counts); lasting "
                          "disability. Counted whatever the cause, unless clearly not a product defect. The clock starts "
                          "when any department first knows.",
             required_fields=["brand", "model", "country of production", "accident date and time", "fire / CO / product damage",
                              "casualties by class", "facts", "similar accidents with the same model", "cause code",
                              "quantities made or imported and sold", "recurrence prevention"],
             channel="Consumer Affairs Agency web form, or Form 1 by e-mail or fax",
             follow_ups="Recall reports go to METI.",
             unconfirmed="Whether a due date on a weekend or holiday moves.\nProgress-report frequency.",
             source="Consumer Product Safety Act Art. 35; Cabinet Office Ordinance Art. 3 Form 1")]),
    dict(short_name="JP-PSE", jurisdiction="JP", name_original="電気用品安全法", name_en="Electrical Appliance and Material Safety Act",
         citation="Act No. 234 of 1961", authority="METI", url="https://www.meti.go.jp/policy/consumer/seian/denan/",
         categories=["home", "cables.power"],
         source="METI PSE procedure pages",
         notes="Notify start of business within 30 days (Art. 3); technical standards and self-inspection (Art. 8); "
               "'specified' electrical appliances need a registered conformity assessment body (Art. 9); diamond PSE "
               "mark for specified items, round PSE for others.",
         unconfirmed="Item counts (116 specified, 341 others) come from secondary sources."),
    dict(short_name="US-CPSA", jurisdiction="US", name_original="Consumer Product Safety Act", name_en="Consumer Product Safety Act",
         citation="15 U.S.C. 2064(b); 16 CFR 1115", authority="Consumer Product Safety Commission (CPSC)",
         url="https://www.cpsc.gov/Business--Manufacturing/Duty-to-Report-to-CPSC", categories=CONSUMER,
         source="eCFR 16 CFR 1115.13–1115.14; CPSC Duty to Report pages",
         obligations=[
             dict(regime_code="US-CPSC-15B", title="Section 15(b) report", trigger_harms=["death", "serious_injury", "fire", "co_poisoning"],
                  trigger_text="Information that reasonably supports the conclusion that a product fails a rule or relied-upon "
                               "standard, contains a defect that could create a substantial product hazard, or creates an "
                               "unreasonable risk of serious injury or death.",
                  required_fields=["submitter", "manufacturer or importer and plant addresses", "country of origin",
                                   "product identification (price, brand, model, date codes, markings, photo)",
                                   "nature of the defect", "nature of injuries", "how and when the information was obtained",
                                   "complaints and chronology"],
                  channel="CPSC business reporting portal or the Section 15 e-mail address",
                  follow_ups="Full report (1115.13(d)); monthly progress reports during a corrective action (US-CPSC-MPR).",
                  source="16 CFR 1115.13–1115.14"),
             dict(regime_code="US-CPSC-MPR", title="Monthly progress report on a corrective action", trigger_harms=[],
                  trigger_text="While a corrective action (recall) is under way; typically for about a year.",
                  required_fields=["units corrected by location (period and cumulative)", "incidents, injuries, deaths before and after the recall",
                                   "notices sent", "consumer contacts", "homepage posting and hits", "social media posts"],
                  channel="CPSC monthly progress report form", source="CPSC monthly progress report form"),
             dict(regime_code="US-CPSC-FASTTRACK", title="Fast Track corrective action plan", trigger_harms=[],
                  trigger_text="When the firm chooses Fast Track: a corrective action plan and immediate stop-sale.",
                  channel="CPSC compliance officer", source="CPSC Fast Track pages"),
         ]),
    dict(short_name="US-FDA-MDR", jurisdiction="US", name_original="Medical Device Reporting; Corrections and Removals",
         name_en="Medical Device Reporting; Corrections and Removals", citation="21 CFR Parts 803 and 806",
         authority="Food and Drug Administration (FDA)", url="https://www.ecfr.gov/current/title-21/part-803",
         categories=["medical"], source="21 CFR Parts 803 and 806",
         obligations=[
             dict(regime_code="US-FDA-803-30", title="Medical device report (30 days)", trigger_harms=SERIOUS,
                  trigger_text="Awareness of a death, serious injury or malfunction that would be likely to cause one.",
                  required_fields=["Form 3500A"], channel="Electronic submission (eMDR), Form 3500A",
                  follow_ups="Supplemental reports within 30 calendar days (803.56).", source="21 CFR 803.50"),
             dict(regime_code="US-FDA-803-5", title="Five-day report", trigger_harms=[],
                  trigger_text="Remedial action needed to prevent an unreasonable risk of substantial harm, or FDA asks in writing.",
                  required_fields=["Form 3500A"], channel="Electronic submission (eMDR)", source="21 CFR 803.53"),
             dict(regime_code="US-FDA-806", title="Report of a correction or removal", trigger_harms=[],
                  trigger_text="A correction or removal started to reduce a risk to health.",
                  required_fields=["report number", "firm and responsible person", "brand, common name, intended use",
                                   "510(k)/PMA and listing number", "UDI, model, lot", "event and actions",
                                   "illnesses or injuries and MDR numbers", "quantities", "manufacture and distribution dates",
                                   "consignees", "communications"],
                  unconfirmed="Applying the 803.3 'work day' definition to Part 806 is an inference.", source="21 CFR 806.10"),
         ]),
    dict(short_name="US-MVSA", jurisdiction="US", name_original="National Traffic and Motor Vehicle Safety Act",
         name_en="National Traffic and Motor Vehicle Safety Act", citation="49 U.S.C. 30118; 49 CFR 573, 579",
         authority="National Highway Traffic Safety Administration (NHTSA)", url="https://www.ecfr.gov/current/title-49/part-573",
         categories=["vehicle"], source="49 CFR 573.6, 573.7, 573.9, 579.28",
         obligations=[dict(regime_code="US-NHTSA-573", title="Defect or noncompliance report (Part 573)", trigger_harms=[],
                           trigger_text="A defect is determined to be safety-related, or a noncompliance is determined.",
                           channel="NHTSA recalls portal",
                           follow_ups="Quarterly reports for 8 quarters, then annual reports for 3 years.",
                           unconfirmed="Applying the 803.3 'work day' definition to NHTSA is an inference.\nQuarterly report due dates.",
                           source="49 CFR 573.6(b)")]),
    dict(short_name="EU-GPSD", jurisdiction="EU", name_original="Directive 2001/95/EC on general product safety",
         name_en="General Product Safety Directive", citation="Directive 2001/95/EC", authority="Member-state authorities",
         status="repealed", repealed_on=dt.date(2024, 12, 13), categories=CONSUMER,
         source="Regulation (EU) 2023/988 (which repeals it from 13 December 2024)"),
    dict(short_name="EU-GPSR", jurisdiction="EU", name_original="Regulation (EU) 2023/988 on general product safety",
         name_en="General Product Safety Regulation", citation="Regulation (EU) 2023/988", authority="Member-state authorities via the Safety Business Gateway",
         url="https://eur-lex.europa.eu/eli/reg/2023/988/oj", in_force_from=dt.date(2024, 12, 13), categories=CONSUMER,
         source="Regulation (EU) 2023/988 Arts. 9, 15, 16, 20, 36, 37; Commission guidelines C/2025/6238",
         amendments=[dict(title="Regulation (EU) 2023/988 applies, replacing Directive 2001/95/EC",
                          promulgated_on=dt.date(2023, 5, 10), enforced_on=dt.date(2024, 12, 13),
                          summary="Accident notification (Art. 20) through the Safety Business Gateway; recall notice contents (Art. 36).",
                          affected_categories=CONSUMER)],
         obligations=[dict(regime_code="EU-GPSR-20", title="Accident notification (Art. 20)", trigger_harms=SERIOUS,
                           trigger_text="An accident caused by the product: death, or serious permanent or temporary harm to health and safety.",
                           required_fields=["product type", "identification number", "circumstances if known"],
                           channel="Safety Business Gateway, to the member state where the accident happened",
                           follow_ups="Authorities may require periodic progress reports (Art. 15(6)).",
                           unconfirmed="'Without undue delay' has no day count: the internal target is the company's.",
                           valid_from=dt.date(2024, 12, 13), source="Regulation (EU) 2023/988 Art. 20")]),
    dict(short_name="EU-MDR", jurisdiction="EU", name_original="Regulation (EU) 2017/745 on medical devices",
         name_en="Medical Device Regulation", citation="Regulation (EU) 2017/745, Arts. 87–89", authority="Competent authorities via EUDAMED",
         url="https://eur-lex.europa.eu/eli/reg/2017/745/oj", in_force_from=dt.date(2021, 5, 26), categories=["medical"],
         source="Regulation (EU) 2017/745 Arts. 2, 87, 89; MDCG 2023-3",
         obligations=[
             dict(regime_code="EU-MDR-87-15", title="Serious incident report", trigger_harms=["serious_injury"],
                  trigger_text="A serious incident involving a device made available in the Union.", channel="EUDAMED, MIR form",
                  unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).", source="MDR Art. 87"),
             dict(regime_code="EU-MDR-87-10", title="Serious incident: death or unanticipated serious deterioration",
                  trigger_harms=["death"], trigger_text="Death, or an unanticipated serious deterioration in health.",
                  channel="EUDAMED, MIR form", unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).",
                  source="MDR Art. 87"),
             dict(regime_code="EU-MDR-87-2", title="Serious public health threat", trigger_harms=[],
                  trigger_text="A serious public health threat.", channel="EUDAMED, MIR form",
                  unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).", source="MDR Art. 87"),
         ]),
    dict(short_name="EU-RoHS", jurisdiction="EU", name_original="Directive 2011/65/EU (RoHS)",
         name_en="Restriction of Hazardous Substances in electrical and electronic equipment", citation="Directive 2011/65/EU",
         authority="Member-state market surveillance authorities", url="https://eur-lex.europa.eu/eli/dir/2011/65/oj",
         categories=["home", "cables"], source="Directive 2011/65/EU"),
    dict(short_name="CA-CCPSA", jurisdiction="CA", name_original="Canada Consumer Product Safety Act",
         name_en="Canada Consumer Product Safety Act", citation="S.C. 2010, c. 21, s. 14", authority="Health Canada",
         url="https://laws-lois.justice.gc.ca/eng/acts/c-1.68/", categories=CONSUMER,
         source="Health Canada guidance on mandatory incident reporting; CCPSA s.14",
         obligations=[
             dict(regime_code="CA-CCPSA-14-2", title="Incident information (2 days)", trigger_harms=SERIOUS,
                  trigger_text="An occurrence, defect, or label/instruction problem that resulted or may reasonably be expected "
                               "to result in death or serious harm; or a foreign or provincial recall.",
                  channel="Health Canada consumer product incident report form",
                  unconfirmed="Whether Saturday counts as a holiday for the rollover.", source="CCPSA s.14(2)"),
             dict(regime_code="CA-CCPSA-14-3", title="Written report (10 days)", trigger_harms=SERIOUS,
                  trigger_text="As for 14(2); filed by the manufacturer or importer.",
                  channel="Health Canada", unconfirmed="Whether Saturday counts as a holiday for the rollover.",
                  source="CCPSA s.14(3)"),
         ]),
    dict(short_name="AU-ACL", jurisdiction="AU", name_original="Australian Consumer Law (Competition and Consumer Act 2010, Schedule 2)",
         name_en="Australian Consumer Law", citation="Competition and Consumer Act 2010 (Cth) Sch. 2 s.131",
         authority="ACCC", url="https://www.productsafety.gov.au/", categories=CONSUMER,
         source="ACCC / productsafety.gov.au mandatory reporting pages",
         obligations=[dict(regime_code="AU-ACL-131", title="Mandatory injury report", trigger_harms=SERIOUS,
                           trigger_text="Becoming aware of a death or serious injury or illness (treated by a doctor or nurse) "
                                        "that anyone thinks the product caused or may have caused.",
                           required_fields=["goods", "when and how many were supplied", "circumstances", "injury", "actions taken"],
                           channel="ACCC online form", source="ACL s.131")]),
    dict(short_name="UK-GPSR", jurisdiction="GB", name_original="General Product Safety Regulations 2005",
         name_en="General Product Safety Regulations 2005", citation="SI 2005/1803, reg. 9",
         authority="Office for Product Safety and Standards / local trading standards", categories=CONSUMER,
         source="General Product Safety Regulations 2005 reg. 9",
         obligations=[dict(regime_code="UK-GPSR-9", title="Notification of an unsafe product", trigger_harms=SERIOUS + ["fire", "co_poisoning"],
                           trigger_text="A producer or distributor knows a product is unsafe (serious risk: product identification, "
                                        "risks, tracing information, actions taken).",
                           channel="OPSS business notification", unconfirmed="Any new duty under the Product Regulation and Metrology Act 2025.",
                           source="GPSR 2005 reg. 9")]),
]


def load_laws(session: so.Session, *, now: dt.datetime) -> int:
    """Create whatever part of the starting map is missing; returns how many laws were created."""
    codes = {c.code: c.id for c in session.scalars(sa.select(ProductCategory))}
    jurisdictions: dict[str, int] = {}
    for j in JURISDICTIONS:
        found = session.scalar(sa.select(Jurisdiction).where(Jurisdiction.code == j["code"]))
        if found is None:
            data = {"is_bloc": False, "members": "", "holiday_country": "", "holiday_subdiv": "", "active": True, **j}
            found = service.save_jurisdiction(session, data=data, jurisdiction_id=None, actor_id=None, now=now)
        jurisdictions[j["code"]] = found.id
    created = 0
    for spec in LAWS:
        if session.scalar(sa.select(Law.id).where(Law.short_name == spec["short_name"])):
            continue
        data = {k: v for k, v in spec.items() if k in service.LAW_FIELDS}
        data.setdefault("status", "in_force")
        data["jurisdiction_id"] = jurisdictions[spec["jurisdiction"]]
        category_ids = [codes[c] for c in spec.get("categories", []) if c in codes]
        law = service.save_law(session, data=data, category_ids=None, law_id=None, actor_id=None, now=now)
        service.set_coverage(session, law=law, category_ids=category_ids, actor_id=None, now=now)
        for ob in spec.get("obligations", []):
            if session.scalar(sa.select(Obligation.id).where(Obligation.regime_code == ob["regime_code"])):
                continue
            service.save_obligation(session, data={"law_id": law.id, "applies_to_markets": False, **ob},
                                    obligation_id=None, actor_id=None, now=now)
        for am in spec.get("amendments", []):
            service.save_amendment(session, data={"law_id": law.id, **am}, amendment_id=None, actor_id=None, now=now)
        created += 1
    if created and not session.scalar(sa.select(Amendment.id).where(Amendment.title.like("Demo:%"))):
        pse = session.scalar(sa.select(Law).where(Law.short_name == "JP-PSE"))
        if pse is not None:
            service.save_amendment(session, data={
                "law_id": pse.id, "title": "Demo: training amendment (not a real legal change)",
                "promulgated_on": now.date(), "enforced_on": now.date() + dt.timedelta(days=45),
                "summary": "A fictitious amendment for the demonstration, so that enforcement alerts and the map's "
                           "'upcoming change' marks can be seen. It can be edited like any amendment.",
                "affected_categories": ["home.refrigerators"]}, amendment_id=None, actor_id=None, now=now)
    return created
