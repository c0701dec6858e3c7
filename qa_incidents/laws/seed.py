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
from qa_incidents.notifications import drafts

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
#: FDA Form 3500A and the EU MIR form, section by section (the items and what fills them: notifications.drafts).
FDA_3500A_ITEMS = list(drafts.FDA_3500A)
EU_MIR_ITEMS = list(drafts.EU_MIR)

#: 消費生活用製品安全法第三十五条第一項の規定に基づく重大製品事故報告等に関する内閣府令 様式第一 (Form 1), its items in its
#: own words: a draft for the Consumer Affairs Agency is Japanese throughout.
JP_FORM_1 = ["報告者の氏名又は名称及び住所", "製品の名称及び型式", "商標", "製造国", "事故発生日時", "事故発生場所",
             "事故を知った日及び経緯（誰から）", "火災の有無", "CO中毒の有無", "製品の損害の有無",
             "被害の状況（死亡・重傷（治療期間30日以上）・軽傷（30日未満）・後遺障害・被害なし）", "事故の内容",
             "同一型式の製品による同種事故の有無", "事故原因の区分", "製造（輸入）期間", "製造（輸入）数量",
             "販売期間", "販売数量", "再発防止措置"]

#: 16 CFR 1115.13(d): the items of a firm's full report to the CPSC.
CPSC_1115_13_D = ["(1) name and address of the manufacturer, distributor or retailer", "(2) name and address of the "
                  "manufacturing plants and country of origin",
                  "(3) product identification: name, model, serial or date codes, markings, price, photo",
                  "(4) nature and extent of the possible defect, failure to comply or risk",
                  "(5) nature and extent of injury or risk of injury", "(6) how and when the information was obtained",
                  "(7) number of products involved", "(8) production and distribution periods",
                  "(9) number of products in the hands of consumers", "(10) corrective action taken or proposed",
                  "(11) person to contact"]

#: 21 CFR 806.10(c): the contents of a report of a correction or removal.
FDA_806_10_C = ["(1) report number", "(2) name, address and telephone of the manufacturer or importer and the "
                "responsible person", "(3) name, address and telephone of the person to contact",
                "(4) brand name and common name, classification name and intended use of the device",
                "(5) marketing status (510(k) or PMA number) and device listing number",
                "(6) model, catalogue, lot or serial numbers, and UDI", "(7) manufacturer contact",
                "(8) description of the event and of the correction or removal", "(9) illnesses or injuries and the "
                "MDR numbers of related reports", "(10) total quantity of devices manufactured or distributed",
                "(11) date of manufacture or distribution and expiration dates",
                "(12) names and addresses of all consignees", "(13) copies of communications",
                "(14) statement of missing information and when it will follow"]

#: 49 CFR 573.6(c): the contents of a defect or noncompliance information report.
NHTSA_573_6_C = ["(1) manufacturer's name", "(2) identification of the vehicles or equipment (make, line, model year, "
                 "VIN range or production dates)", "(3) total number of vehicles or items potentially involved",
                 "(4) estimated percentage with the defect", "(5) description of the defect or noncompliance",
                 "(6) chronology of events and the basis of the determination", "(7) test results and other data",
                 "(8) description of the remedy and the recall schedule", "(9) identification of component "
                 "suppliers", "(10) copies of communications to owners and dealers"]

#: CCPSA s.14(2)-(3) with Health Canada's incident report form: what the 2-day and 10-day reports give.
CCPSA_14 = ["reporting company and contact", "product name, model, UPC or lot, and where it was sold",
            "date and place of the incident", "description of the incident and the defect, characteristic or "
            "labelling problem", "injuries and their seriousness", "number of units sold in Canada",
            "actions taken or planned (recall, other measures)"]

#: General Product Safety Regulations 2005 reg. 9(2)-(3) and Schedule 4: a notification of a serious risk.
UK_REG_9 = ["information enabling a precise identification of the product or batch", "a full description of the "
            "risks the product presents", "all available information relevant for tracing the product",
            "a description of the action taken to prevent risks to consumers"]

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
             required_fields=JP_FORM_1,
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
                  required_fields=CPSC_1115_13_D,
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
             dict(regime_code="US-CPSC-37", title="Section 37 report of lawsuits (16 CFR 1116)", trigger_harms=[],
                  trigger_text="A model is the subject of at least three civil actions for death or grievous bodily "
                               "injury, each settled or decided for the plaintiff within a 24-month period.",
                  required_fields=["manufacturer", "model and name of the product", "each civil action: court, case "
                                   "number, plaintiffs, date of the settlement or judgment, amount",
                                   "injuries alleged in each action"],
                  channel="CPSC Office of Compliance", source="CPSA §37 (15 U.S.C. 2084); 16 CFR 1116",
                  unconfirmed="Which of 16 CFR 1116's sections holds each item; the 24-month period's start."),
             dict(regime_code="US-CPSC-1117", title="Choking incident report (16 CFR 1117)", trigger_harms=[],
                  trigger_text="A child choked on a marble, small ball, latex balloon or other small part and died, was "
                               "seriously injured, ceased breathing or was treated by a medical professional.",
                  required_fields=CPSC_1115_13_D[:6], channel="CPSC business reporting portal",
                  source="Child Safety Protection Act §102 (15 U.S.C. 1278 note); 16 CFR 1117.3",
                  unconfirmed="Whether weekends and holidays are excluded from the 24 hours as in 16 CFR 1115.14."),
         ]),
    dict(short_name="US-FDA-MDR", jurisdiction="US", name_original="Medical Device Reporting; Corrections and Removals",
         name_en="Medical Device Reporting; Corrections and Removals", citation="21 CFR Parts 803 and 806",
         authority="Food and Drug Administration (FDA)", url="https://www.ecfr.gov/current/title-21/part-803",
         categories=["medical"], source="21 CFR Parts 803 and 806",
         obligations=[
             dict(regime_code="US-FDA-803-30", title="Medical device report (30 days)", trigger_harms=SERIOUS,
                  trigger_text="Awareness of a death, serious injury or malfunction that would be likely to cause one.",
                  required_fields=FDA_3500A_ITEMS, channel="Electronic submission (eMDR), Form 3500A", applies_to_markets=True,
                  follow_ups="Supplemental reports within 30 calendar days (803.56).", source="21 CFR 803.50"),
             dict(regime_code="US-FDA-803-5", title="Five-day report", trigger_harms=[],
                  trigger_text="Remedial action needed to prevent an unreasonable risk of substantial harm, or FDA asks in writing.",
                  required_fields=FDA_3500A_ITEMS, channel="Electronic submission (eMDR)", source="21 CFR 803.53",
                  applies_to_markets=True),
             dict(regime_code="US-FDA-806", title="Report of a correction or removal", trigger_harms=[],
                  trigger_text="A correction or removal started to reduce a risk to health.",
                  required_fields=FDA_806_10_C,
                  unconfirmed="Applying the 803.3 'work day' definition to Part 806 is an inference.", source="21 CFR 806.10"),
         ]),
    dict(short_name="US-MVSA", jurisdiction="US", name_original="National Traffic and Motor Vehicle Safety Act",
         name_en="National Traffic and Motor Vehicle Safety Act", citation="49 U.S.C. 30118; 49 CFR 573, 579",
         authority="National Highway Traffic Safety Administration (NHTSA)", url="https://www.ecfr.gov/current/title-49/part-573",
         categories=["vehicle"], source="49 CFR 573.6, 573.7, 573.9, 579.28",
         obligations=[dict(regime_code="US-NHTSA-573", title="Defect or noncompliance report (Part 573)", trigger_harms=[],
                           trigger_text="A defect is determined to be safety-related, or a noncompliance is determined.",
                           required_fields=NHTSA_573_6_C, channel="NHTSA recalls portal",
                           follow_ups="Quarterly reports for 8 quarters, then annual reports for 3 years.",
                           unconfirmed="Applying the 803.3 'work day' definition to NHTSA is an inference.\nQuarterly report due dates.",
                           source="49 CFR 573.6(b)")]),
    dict(short_name="EU-GPSD", jurisdiction="EU", name_original="Directive 2001/95/EC on general product safety",
         name_en="General Product Safety Directive", citation="Directive 2001/95/EC", authority="Member-state authorities",
         status="repealed", repealed_on=dt.date(2024, 12, 13), categories=CONSUMER,
         source="Regulation (EU) 2023/988 (which repeals it from 13 December 2024)",
         obligations=[dict(regime_code="EU-GPSD-5-3", title="Notification of a dangerous product (Art. 5(3))",
                           trigger_harms=[],
                           trigger_text="The producer or distributor knows or ought to know that a product it placed "
                                        "on the market poses risks incompatible with the general safety requirement.",
                           required_fields=["product identification", "description of the risk", "tracing information",
                                            "actions taken to prevent risks"],
                           channel="Competent authority of the member state (GPSD business application)",
                           valid_to=dt.date(2024, 12, 13),
                           unconfirmed="The day counts (10 days; 3 days for a serious risk; immediately for an "
                                       "immediate risk) come from Commission Decision 2004/905/EC, guidance, not the "
                                       "Directive.",
                           source="Directive 2001/95/EC Art. 5(3), Annex I; Commission Decision 2004/905/EC")]),
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
                  trigger_text="A serious incident involving a device made available in the Union.", channel="EUDAMED, MIR form", required_fields=EU_MIR_ITEMS,
                  unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).", source="MDR Art. 87"),
             dict(regime_code="EU-MDR-87-10", title="Serious incident: death or unanticipated serious deterioration",
                  trigger_harms=["death"], trigger_text="Death, or an unanticipated serious deterioration in health.",
                  channel="EUDAMED, MIR form", required_fields=EU_MIR_ITEMS, unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).",
                  source="MDR Art. 87"),
             dict(regime_code="EU-MDR-87-2", title="Serious public health threat", trigger_harms=[],
                  trigger_text="A serious public health threat.", channel="EUDAMED, MIR form", required_fields=EU_MIR_ITEMS,
                  unconfirmed="Whether a period ending on a weekend or holiday rolls over (MDCG 2023-3).", source="MDR Art. 87"),
             dict(regime_code="EU-MDR-87-FSCA", title="Field safety corrective action (Art. 87(1)(b))", trigger_harms=[],
                  trigger_text="A field safety corrective action for a device made available in the Union, including "
                               "one undertaken in a third country for a device also made available in the Union; "
                               "reported before it is undertaken, except in urgency (Art. 87(8)).",
                  required_fields=["FSCA form: device identification", "reason for the action", "description of the "
                                   "action", "countries affected", "field safety notice"],
                  channel="EUDAMED, FSCA report form", applies_to_markets=True,
                  source="MDR Art. 87(1)(b), 87(8), 89(8)"),
             dict(regime_code="EU-MDR-88", title="Trend report (Art. 88)", trigger_harms=[],
                  trigger_text="A statistically significant increase in the frequency or severity of incidents that are "
                               "not serious incidents, or of expected undesirable side-effects.",
                  channel="EUDAMED, trend report form", source="MDR Art. 88",
                  unconfirmed="The MDR sets no day count for trend reports: the company's post-market surveillance plan "
                              "says how increases are found."),
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
                  required_fields=CCPSA_14, channel="Health Canada consumer product incident report form",
                  applies_to_markets=True,
                  unconfirmed="Whether Saturday counts as a holiday for the rollover.", source="CCPSA s.14(2)"),
             dict(regime_code="CA-CCPSA-14-3", title="Written report (10 days)", trigger_harms=SERIOUS,
                  trigger_text="As for 14(2); filed by the manufacturer or importer.",
                  required_fields=CCPSA_14, channel="Health Canada", applies_to_markets=True, unconfirmed="Whether Saturday counts as a holiday for the rollover.",
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
                           required_fields=UK_REG_9, channel="OPSS business notification", unconfirmed="Any new duty under the Product Regulation and Metrology Act 2025.",
                           source="GPSR 2005 reg. 9")]),

    dict(short_name="JP-PMD", jurisdiction="JP",
         name_original="医薬品、医療機器等の品質、有効性及び安全性の確保等に関する法律",
         name_en="Act on Pharmaceuticals and Medical Devices (PMD Act)", citation="Act No. 145 of 1960, Art. 68-10",
         authority="Ministry of Health, Labour and Welfare via PMDA", url="https://www.pmda.go.jp/safety/reports/mah/",
         categories=["medical"], source="PMD Act Art. 68-10(1); Enforcement Regulations Art. 228-20",
         obligations=[
             dict(regime_code="JP-PMD-68-10-15", title="不具合等報告（15日）", trigger_harms=[],
                  trigger_text="A death or serious case suspected to be caused by a device malfunction and not foreseen "
                               "in the package insert; a measure taken abroad to prevent harm (recall, stopped sale).",
                  channel="PMDA (electronic report)", applies_to_markets=True,
                  source="施行規則 第228条の20第1項",
                  unconfirmed="Which cases fall in the 15-day and which in the 30-day class is read from the "
                              "Enforcement Regulations Art. 228-20 as summarised by PMDA: to be checked against the text."),
             dict(regime_code="JP-PMD-68-10-30", title="不具合等報告（30日）", trigger_harms=[],
                  trigger_text="A malfunction that could cause death or a serious case if it recurred; a foreseen "
                               "serious case.",
                  channel="PMDA (electronic report)", source="施行規則 第228条の20第2項",
                  unconfirmed="As for the 15-day report."),
         ]),
    dict(short_name="JP-RTVA", jurisdiction="JP", name_original="道路運送車両法", name_en="Road Transport Vehicle Act",
         citation="Act No. 185 of 1951, Art. 63-3", authority="Ministry of Land, Infrastructure, Transport and Tourism",
         url="https://www.mlit.go.jp/jidosha/carinf/rcl/", categories=["vehicle"],
         source="Road Transport Vehicle Act Art. 63-3",
         obligations=[dict(regime_code="JP-RTVA-63-3", title="リコール届出（改善措置の届出）", trigger_harms=[],
                           trigger_text="A type of vehicle does not or may not meet the safety standards for a cause in "
                                        "design or manufacture: the recall is notified to the Minister before it starts.",
                           channel="MLIT recall notification", source="道路運送車両法 第63条の3第1項",
                           unconfirmed="Whether parts makers (not vehicle makers) notify under Art. 63-4 instead.")]),
    dict(short_name="CA-MDR", jurisdiction="CA", name_original="Medical Devices Regulations",
         name_en="Medical Devices Regulations", citation="SOR/98-282, ss. 59–61.1", authority="Health Canada",
         url="https://laws-lois.justice.gc.ca/eng/regulations/SOR-98-282/", categories=["medical"],
         source="Medical Devices Regulations ss. 59–61.1; Health Canada guidance on mandatory problem reporting",
         obligations=[
             dict(regime_code="CA-MDR-60-10", title="Mandatory problem report (10 days)", trigger_harms=[],
                  trigger_text="An incident (failure, deterioration in effectiveness, inadequate labelling or instructions) "
                               "that led to a death or a serious deterioration in health; abroad only when a corrective "
                               "action is taken or required there (s.59(2)).",
                  channel="Health Canada mandatory medical device problem report form", applies_to_markets=True,
                  source="Medical Devices Regulations s.59, 60(1)(a)"),
             dict(regime_code="CA-MDR-60-30", title="Mandatory problem report (30 days)", trigger_harms=[],
                  trigger_text="An incident that could lead to a death or a serious deterioration in health if it recurred.",
                  channel="Health Canada mandatory medical device problem report form", applies_to_markets=True,
                  source="Medical Devices Regulations s.59, 60(1)(b)"),
         ]),
    dict(short_name="CA-MVSA", jurisdiction="CA", name_original="Motor Vehicle Safety Act", name_en="Motor Vehicle Safety Act",
         citation="S.C. 1993, c. 16, s. 10", authority="Transport Canada", url="https://laws-lois.justice.gc.ca/eng/acts/m-10.01/",
         categories=["vehicle"], source="Motor Vehicle Safety Act s.10; Motor Vehicle Safety Regulations s.15",
         obligations=[dict(regime_code="CA-MVSA-10", title="Notice of defect", trigger_harms=[],
                           trigger_text="Knowledge of a defect in the design, construction or functioning of a vehicle or "
                                        "equipment that affects or is likely to affect the safety of any person.",
                           channel="Transport Canada recalls", source="Motor Vehicle Safety Act s.10(1)",
                           unconfirmed="The time allowed for the notice (the Act says 'as soon as feasible' in its "
                                       "current wording) and the Regulations' s.15 items.")]),
    dict(short_name="EU-2018-858", jurisdiction="EU", name_original="Regulation (EU) 2018/858 on the approval and "
         "market surveillance of motor vehicles", name_en="Motor Vehicle Type-Approval Regulation",
         citation="Regulation (EU) 2018/858, Art. 52", authority="The approval authority that granted the approval",
         url="https://eur-lex.europa.eu/eli/reg/2018/858/oj", in_force_from=dt.date(2020, 9, 1), categories=["vehicle"],
         source="Regulation (EU) 2018/858 Art. 52",
         obligations=[dict(regime_code="EU-VEH-52", title="Corrective measures and information (Art. 52)",
                           trigger_harms=[],
                           trigger_text="Vehicles, systems, components or separate technical units that present a serious "
                                        "risk or are not in conformity: corrective measures, and the approval authority is "
                                        "informed immediately.",
                           channel="Approval authority; market surveillance authorities",
                           source="Regulation (EU) 2018/858 Art. 52",
                           unconfirmed="Art. 52's paragraphs and who informs whom (approval vs. market surveillance "
                                       "authorities) are to be checked against the text.")]),
]


#: The field lists the starting map gave these obligations before it listed each authority's form item by item. A
#: map loaded then still holds them: `form_items_update` replaces them (and empty lists) with the items above; a
#: list an administrator has changed is theirs and stays.
EARLIER_FORM_ITEMS: dict[str, list[list[str]]] = {
    "JP-CPSA-35": [["brand", "model", "country of production", "accident date and time", "fire / CO / product damage",
                    "casualties by class", "facts", "similar accidents with the same model", "cause code",
                    "quantities made or imported and sold", "recurrence prevention"]],
    "US-CPSC-15B": [["submitter", "manufacturer or importer and plant addresses", "country of origin",
                     "product identification (price, brand, model, date codes, markings, photo)", "nature of the defect",
                     "nature of injuries", "how and when the information was obtained", "complaints and chronology"]],
    "US-FDA-803-30": [["Form 3500A"]],
    "US-FDA-803-5": [["Form 3500A"]],
    "US-FDA-806": [["report number", "firm and responsible person", "brand, common name, intended use",
                    "510(k)/PMA and listing number", "UDI, model, lot", "event and actions",
                    "illnesses or injuries and MDR numbers", "quantities", "manufacture and distribution dates",
                    "consignees", "communications"]],
}


def starting_form_items() -> dict[str, list[str]]:
    """Regime code → the form items the starting map lists for it (only obligations that list any)."""
    return {ob["regime_code"]: list(ob["required_fields"]) for spec in LAWS for ob in spec.get("obligations", [])
            if ob.get("required_fields")}


def form_items_update(regime_code: str, current: list[str] | None) -> list[str] | None:
    """The form items an obligation already in a map should now list, or None to leave it: only a list the
    starting map itself gave earlier (or an empty one) is replaced."""
    new = starting_form_items().get(regime_code)
    if new is None or list(current or []) == new:
        return None
    if current and list(current) not in EARLIER_FORM_ITEMS.get(regime_code, []):
        return None
    return new


def refresh_form_items(session: so.Session, *, now: dt.datetime) -> list[str]:
    """Bring the obligations of a map loaded before the item-by-item forms up to date; audited; idempotent.
    Returns the regime codes changed."""
    from qa_incidents.core import audit

    changed = []
    for obligation in session.scalars(sa.select(Obligation).where(
            Obligation.regime_code.in_(list(starting_form_items()))).order_by(Obligation.regime_code)):
        new = form_items_update(obligation.regime_code, obligation.required_fields)
        if new is None:
            continue
        before = list(obligation.required_fields or [])
        obligation.required_fields = new
        session.flush()
        audit.record(session, actor_id=None, entity_type="obligation", entity_id=obligation.id, action="updated",
                     now=now, changes={"required_fields": [before, new]})
        changed.append(obligation.regime_code)
    return changed


def _add_obligations(session: so.Session, law: Law, spec: dict[str, Any], *, now: dt.datetime) -> None:
    for ob in spec.get("obligations", []):
        if session.scalar(sa.select(Obligation.id).where(Obligation.regime_code == ob["regime_code"])):
            continue
        service.save_obligation(session, data={"law_id": law.id, "applies_to_markets": False, **ob},
                                obligation_id=None, actor_id=None, now=now)


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
        existing = session.scalar(sa.select(Law).where(Law.short_name == spec["short_name"]))
        if existing is not None:
            # A law already in the map gets the obligations added to the starting map since it was loaded.
            _add_obligations(session, existing, spec, now=now)
            continue
        data = {k: v for k, v in spec.items() if k in service.LAW_FIELDS}
        data.setdefault("status", "in_force")
        data["jurisdiction_id"] = jurisdictions[spec["jurisdiction"]]
        category_ids = [codes[c] for c in spec.get("categories", []) if c in codes]
        law = service.save_law(session, data=data, category_ids=None, law_id=None, actor_id=None, now=now)
        service.set_coverage(session, law=law, category_ids=category_ids, actor_id=None, now=now)
        _add_obligations(session, law, spec, now=now)
        for am in spec.get("amendments", []):
            service.save_amendment(session, data={"law_id": law.id, **am}, amendment_id=None, actor_id=None, now=now)
        created += 1
    refresh_form_items(session, now=now)
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
