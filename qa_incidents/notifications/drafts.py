"""Pre-filled drafts: each field an authority asks for, taken from the incident where the incident knows it.

The laws map lists, per obligation, the fields the authority asks for in its own words (e.g. Japan's
Form 1: "casualties by class"; CPSC: "nature of the defect"). `prefill` matches each field name to
what the incident, its product and its division say; a field nothing matches stays empty and is
listed as missing until a person fills it. Plain Python: the facts come in as a `DraftFacts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DraftFacts:
    reference: str
    title: str
    division: str
    product_name: str
    model: str
    category: str
    lot_numbers: str
    serial_numbers: str
    country: str
    place: str
    occurred_at: datetime
    aware_at: datetime
    source: str
    description: str
    deaths: int
    serious_injuries: int
    minor_injuries: int
    fire: bool
    smoke: bool
    co_poisoning: bool
    property_damage: bool
    units_in_field: int
    similar_reports: int
    severity: str
    timezone: str = "UTC"
    #: The most serious care an injured person received (incidents.rules.Care value).
    injury_care: str = "not_stated"


def _local(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def harm_summary(f: DraftFacts) -> str:
    parts = [f"deaths: {f.deaths}", f"serious injuries: {f.serious_injuries}", f"minor injuries: {f.minor_injuries}"]
    flags = [name for name, on in (("fire", f.fire), ("smoke", f.smoke), ("CO poisoning", f.co_poisoning),
                                   ("property damage", f.property_damage)) if on]
    return "; ".join(parts) + (f"; also: {', '.join(flags)}" if flags else "")


def identification(f: DraftFacts) -> str:
    lines = [f"{f.product_name}, model {f.model} ({f.category})"]
    if f.lot_numbers:
        lines.append(f"lots: {f.lot_numbers}")
    if f.serial_numbers:
        lines.append(f"serial numbers: {f.serial_numbers}")
    return "\n".join(lines)


CARE_EN = {"none": "no care", "first_aid": "first aid only", "doctor_or_nurse": "treated by a doctor or nurse",
           "hospitalised": "hospitalised", "thirty_days": "30 days' treatment or more",
           "lasting_disability": "lasting disability", "life_threatening": "life-threatening"}


def injuries_en(f: DraftFacts) -> str:
    """The harm in English, with the most serious care an injured person received when stated."""
    text = harm_summary(f)
    if f.serious_injuries + f.minor_injuries and f.injury_care in CARE_EN:
        text += f"; most serious care received: {CARE_EN[f.injury_care]}"
    return text


def fire_co_damage(f: DraftFacts) -> str:
    """Fire is "yes" only when a fire was reported: smoke alone is said as smoke, never as fire."""
    fire = "yes" if f.fire else ("no (smoke only)" if f.smoke else "no")
    return f"fire: {fire}; CO: {_yes(f.co_poisoning)}; property damage: {_yes(f.property_damage)}"


def facts_en(f: DraftFacts) -> str:
    return f"{f.description}\n\nWhere: {f.place}, {f.country}. When: {_local(f.occurred_at, f.timezone)}."


# --- Japan, Form 1 (様式第一): Japanese throughout, labels and values ------------------------------------

SOURCE_JA = {"customer_complaint": "お客様からの申出", "service_report": "修理・サービス報告",
             "authority_inquiry": "行政機関からの照会", "media": "報道", "internal_test": "社内試験"}


def _ja_time(moment: datetime, zone: str) -> str:
    from qa_incidents.core.i18n import document_datetime

    return document_datetime(moment, zone, "ja")


def _ja_casualties(f: DraftFacts) -> str:
    if not (f.deaths or f.serious_injuries or f.minor_injuries):
        return "被害なし"
    parts = [f"死亡 {f.deaths}名", f"重傷（治療期間30日以上）{f.serious_injuries}名", f"軽傷（治療期間30日未満）{f.minor_injuries}名"]
    if f.injury_care == "lasting_disability":
        parts.append("後遺障害あり（等級は未確認）")
    return "、".join(parts)


def _ja_similar(f: DraftFacts) -> str:
    return (f"有（社内記録で同一製品の類似報告 {f.similar_reports}件）" if f.similar_reports
            else "無（社内記録による）")


#: The document's heading and addressee in the authority's language, where its form has its own: Form 1 of the
#: Cabinet Office Ordinance on reports under the Consumer Product Safety Act is addressed to the Prime Minister
#: (内閣総理大臣), whose power to receive it is delegated to the Consumer Affairs Agency (Art. 35(1); Art. 54).
HEADERS: dict[tuple[str, str], tuple[str, str]] = {
    ("JP-CPSA-35", "ja"): ("重大製品事故報告書（様式第一）", "内閣総理大臣 殿（提出先：消費者庁 消費者安全課）"),
}

#: Form 1's items as the laws map names them → what fills each (None: the incident does not know it; a person
#: fills it). The quantities and periods made, imported and sold are never filled from the units in the field.
FORM_1: dict[str, Filler | None] = {
    "報告者の氏名又は名称及び住所": lambda f: f.division,
    "製品の名称及び型式": lambda f: f"{f.product_name}（型式：{f.model}）",
    "商標": None,
    "製造国": None,
    "事故発生日時": lambda f: _ja_time(f.occurred_at, f.timezone),
    "事故発生場所": lambda f: f"{f.place}（{f.country}）",
    "事故を知った日及び経緯（誰から）": lambda f: f"{_ja_time(f.aware_at, f.timezone)}に把握。情報源：{SOURCE_JA.get(f.source.replace(' ', '_'), f.source)}",
    "火災の有無": lambda f: "有" if f.fire else ("無（発煙のみ）" if f.smoke else "無"),
    "CO中毒の有無": lambda f: "有" if f.co_poisoning else "無",
    "製品の損害の有無": None,
    "被害の状況（死亡・重傷（治療期間30日以上）・軽傷（30日未満）・後遺障害・被害なし）": _ja_casualties,
    "事故の内容": lambda f: f"{f.description}\n\n発生場所：{f.place}（{f.country}）。発生日時：{_ja_time(f.occurred_at, f.timezone)}。",
    "同一型式の製品による同種事故の有無": _ja_similar,
    "事故原因の区分": None,
    "製造（輸入）期間": None,
    "製造（輸入）数量": None,
    "販売期間": None,
    "販売数量": None,
    "再発防止措置": None,
}

# --- English authorities' forms, item by item ----------------------------------------------------------

#: 16 CFR 1115.13(d), 21 CFR 806.10(c), 49 CFR 573.6(c), CCPSA s.14(2)-(3), GPSR 2005 reg. 9 / Sch. 4: each item
#: → what fills it (None: a person fills it). "Number of products involved", quantities manufactured or
#: distributed and units sold are not the units in the field and are never filled from them.
FORM_ITEMS: dict[str, Filler | None] = {
    # CPSC, 16 CFR 1115.13(d)
    "(1) name and address of the manufacturer, distributor or retailer": lambda f: f.division,
    "(2) name and address of the manufacturing plants and country of origin": None,
    "(3) product identification: name, model, serial or date codes, markings, price, photo": identification,
    "(4) nature and extent of the possible defect, failure to comply or risk": facts_en,
    "(5) nature and extent of injury or risk of injury": injuries_en,
    "(6) how and when the information was obtained":
        lambda f: f"{f.source}; the company became aware at {_local(f.aware_at, f.timezone)}",
    "(7) number of products involved": None,
    "(8) production and distribution periods": None,
    "(9) number of products in the hands of consumers": lambda f: f"{f.units_in_field:,} units in the field (estimate)",
    "(10) corrective action taken or proposed": None,
    "(11) person to contact": None,
    # FDA, 21 CFR 806.10(c)
    "(1) report number": None,
    "(2) name, address and telephone of the manufacturer or importer and the responsible person": lambda f: f.division,
    "(3) name, address and telephone of the person to contact": None,
    "(4) brand name and common name, classification name and intended use of the device": identification,
    "(5) marketing status (510(k) or PMA number) and device listing number": None,
    "(6) model, catalogue, lot or serial numbers, and UDI": lambda f: "; ".join(x for x in (
        f"model {f.model}", f.lot_numbers and f"lots {f.lot_numbers}", f.serial_numbers and f"serials {f.serial_numbers}") if x),
    "(7) manufacturer contact": None,
    "(8) description of the event and of the correction or removal": facts_en,
    "(9) illnesses or injuries and the MDR numbers of related reports": injuries_en,
    "(10) total quantity of devices manufactured or distributed": None,
    "(11) date of manufacture or distribution and expiration dates": None,
    "(12) names and addresses of all consignees": None,
    "(13) copies of communications": None,
    "(14) statement of missing information and when it will follow": None,
    # NHTSA, 49 CFR 573.6(c)
    "(1) manufacturer's name": lambda f: f.division,
    "(2) identification of the vehicles or equipment (make, line, model year, VIN range or production dates)": identification,
    "(3) total number of vehicles or items potentially involved": None,
    "(4) estimated percentage with the defect": None,
    "(5) description of the defect or noncompliance": facts_en,
    "(6) chronology of events and the basis of the determination":
        lambda f: f"{_local(f.occurred_at, f.timezone)}: the incident ({f.place}, {f.country}). "
                  f"{_local(f.aware_at, f.timezone)}: the company became aware ({f.source}).",
    "(7) test results and other data": None,
    "(8) description of the remedy and the recall schedule": None,
    "(9) identification of component suppliers": None,
    "(10) copies of communications to owners and dealers": None,
    # Health Canada, CCPSA s.14(2)-(3)
    "reporting company and contact": lambda f: f.division,
    "product name, model, UPC or lot, and where it was sold": identification,
    "date and place of the incident": lambda f: f"{_local(f.occurred_at, f.timezone)}; {f.place}, {f.country}",
    "description of the incident and the defect, characteristic or labelling problem": facts_en,
    "injuries and their seriousness": injuries_en,
    "number of units sold in Canada": None,
    "actions taken or planned (recall, other measures)": None,
    # UK, General Product Safety Regulations 2005 reg. 9 and Schedule 4
    "information enabling a precise identification of the product or batch": identification,
    "a full description of the risks the product presents": lambda f: f"{facts_en(f)}\n\nHarm: {injuries_en(f)}",
    "all available information relevant for tracing the product": lambda f: "; ".join(x for x in (
        f"model {f.model}", f.lot_numbers and f"lots {f.lot_numbers}", f.serial_numbers and f"serials {f.serial_numbers}") if x),
    "a description of the action taken to prevent risks to consumers": None,
}

# --- FDA Form 3500A (mandatory MedWatch report, 21 CFR 803.32 and 803.52), section by section --------------------

FDA_3500A_DEATH = "death"


def _3500a_outcome(f: DraftFacts) -> str:
    """B2 outcomes, only those the incident states; anything else (e.g. "required intervention") a person adds."""
    said = [text for on, text in ((f.deaths > 0, "death"), (f.injury_care == "life_threatening", "life-threatening"),
                                  (f.injury_care == "hospitalised", "hospitalization (initial or prolonged)"),
                                  (f.injury_care == "lasting_disability", "disability or permanent damage")) if on]
    return "; ".join(said)


def _3500a_event_type(f: DraftFacts) -> str:
    """H1: death is a fact of the incident; whether an injury is a "serious injury" (803.3) or a malfunction is
    reportable is the reportability decision's, so it is not guessed here."""
    return "death" if f.deaths else ""


def _model_lot_serial(f: DraftFacts) -> str:
    return "; ".join(x for x in (f"model {f.model}", f.lot_numbers and f"lot {f.lot_numbers}",
                                 f.serial_numbers and f"serial {f.serial_numbers}") if x)


#: Form 3500A's sections for a device manufacturer (A, B, D, E, G, H; C and F are not the manufacturer's) → what
#: fills each item. H6 carries the FDA event problem and evaluation codes (IMDRF Annexes A–G) that a person chooses;
#: no count of devices or patients is filled from the units in the field or from the injury counts.
FDA_3500A: dict[str, Filler | None] = {
    "3500A A1–A5 patient: identifier, age, sex, weight, ethnicity and race": None,
    "3500A B1 adverse event and/or product problem": lambda f: "adverse event" if (
        f.deaths or f.serious_injuries or f.minor_injuries) else "",
    "3500A B2 outcomes attributed to the adverse event": _3500a_outcome,
    "3500A B3 date of event": lambda f: _local(f.occurred_at, f.timezone),
    "3500A B4 date of this report": None,
    "3500A B5 describe event or problem": facts_en,
    "3500A B6 relevant tests and laboratory data": None,
    "3500A B7 other relevant history, including pre-existing medical conditions": None,
    "3500A D1 brand name": lambda f: f.product_name,
    "3500A D2 common device name and FDA product code": None,
    "3500A D3 manufacturer name and address": lambda f: f.division,
    "3500A D4 model, catalogue, serial and lot numbers, expiration date, UDI": _model_lot_serial,
    "3500A D5 operator of the device": None,
    "3500A D6 implant and explant dates": None,
    "3500A D7–D8 single-use device reprocessed and reprocessor": None,
    "3500A D9 device available for evaluation": None,
    "3500A D10 concomitant medical products": None,
    "3500A E1–E4 initial reporter: name, address, health professional, occupation, also reported to FDA": None,
    "3500A G1 contact office (manufacturer site)": lambda f: f.division,
    "3500A G2 report source": lambda f: f.source.replace("_", " "),
    "3500A G3 date received by manufacturer": lambda f: _local(f.aware_at, f.timezone),
    "3500A G4 PMA or 510(k) number": None,
    "3500A G5 combination product": None,
    "3500A G6 type of report (5-day, 30-day, initial, follow-up)": None,
    "3500A G8 manufacturer report number": None,
    "3500A H1 type of reportable event (death, serious injury, malfunction)": _3500a_event_type,
    "3500A H2 if follow-up, what type": None,
    "3500A H3 device evaluated by manufacturer": None,
    "3500A H4 device manufacture date": None,
    "3500A H5 labelled for single use": None,
    "3500A H6 event problem and evaluation codes: medical device problem code (IMDRF Annex A), health effect "
    "clinical and impact codes (Annexes E, F), component code (Annex G), type of investigation, findings and "
    "conclusions (Annexes B–D)": None,
    "3500A H7 if remedial action initiated, what type": None,
    "3500A H8 usage of device": None,
    "3500A H9 correction or removal reporting number (21 CFR 806)": None,
    "3500A H10 additional manufacturer narrative": None,
}

# --- EU Manufacturer Incident Report (MIR form, MDR Art. 87 and 89(5); MDCG guidance), section by section ---------

#: The MIR form's sections → what fills each. The numbers of patients and devices involved are not the injury
#: counts or the units in the field; similar incidents are counted by the manufacturer's trend analysis, not the
#: severity matrix's window: a person fills them.
EU_MIR: dict[str, Filler | None] = {
    "MIR 1 administrative: recipient competent authority, report date, reference numbers": None,
    "MIR 1 type of report (initial, follow-up, combined initial and final, final)": None,
    "MIR 1 classification: death, unanticipated serious deterioration in health, serious public health threat": (
        lambda f: "death" if f.deaths else ""),
    "MIR 1 other competent authorities this report is sent to": None,
    "MIR 2 submitter and manufacturer: name, SRN, address, contact": lambda f: f.division,
    "MIR 2 authorised representative (manufacturer outside the Union)": None,
    "MIR 3 device: Basic UDI-DI and UDI-DI, risk class, EMDN nomenclature code": None,
    "MIR 3 device: trade name, model, catalogue, serial and lot numbers, software version": lambda f: "\n".join(
        (f"{f.product_name}", _model_lot_serial(f))),
    "MIR 3 notified body and certificate number": None,
    "MIR 4 manufacturer's awareness date": lambda f: _local(f.aware_at, f.timezone),
    "MIR 4 date the incident occurred": lambda f: _local(f.occurred_at, f.timezone),
    "MIR 4 incident description narrative": facts_en,
    "MIR 4 IMDRF medical device problem code (Annex A)": None,
    "MIR 4 number of patients involved": None,
    "MIR 4 number of medical devices involved": None,
    "MIR 4 device's current location and disposition": None,
    "MIR 4 country where the incident occurred": lambda f: f.country,
    "MIR 4 patient: outcome and IMDRF health effect codes (Annexes E, F)": injuries_en,
    "MIR 4 healthcare facility": None,
    "MIR 5 manufacturer's preliminary analysis and initial actions": None,
    "MIR 5 expected date of the next report": None,
    "MIR 6 final investigation: IMDRF codes (Annexes B–D, G), root cause, remedial actions": None,
    "MIR 6 similar incidents by country and devices on the market": None,
    "MIR 7 comments": None,
}



#: (words in the field name, what fills it), for fields named otherwise (an administrator's own, older maps). The
#: first match wins, so specific entries come first. Quantities are never matched: no other figure stands for them.
Filler = Callable[[DraftFacts], str]
FILLERS: Sequence[tuple[tuple[str, ...], Filler]] = (
    (("fire / co",), fire_co_damage),
    (("similar accidents",), lambda f: f"{f.similar_reports} similar report(s) of the same product in the matrix window"),
    (("accident date", "date and time"), lambda f: _local(f.occurred_at, f.timezone)),
    (("how and when the information was obtained",),
     lambda f: f"{f.source}; the company became aware at {_local(f.aware_at, f.timezone)}"),
    (("casualties", "nature of injuries", "illnesses or injuries", "injury"), injuries_en),
    (("udi, model, lot",), lambda f: "; ".join(x for x in (f"model {f.model}", f.lot_numbers and f"lots {f.lot_numbers}",
                                                          f.serial_numbers and f"serials {f.serial_numbers}") if x)),
    (("product identification", "identification number", "product type", "goods"), identification),
    (("facts", "circumstances", "event and actions", "nature of the defect"), facts_en),
    (("submitter", "firm and responsible person"), lambda f: f.division),
    (("model",), lambda f: f.model),
)


def filler_for(field: str) -> Filler | None:
    for exact in (FORM_1, FORM_ITEMS, FDA_3500A, EU_MIR):
        if field in exact:
            return exact[field]
    name = field.lower()
    for words, filler in FILLERS:
        if any(word in name for word in words):
            return filler
    return None


def prefill(required: Sequence[str], facts: DraftFacts) -> dict[str, str]:
    """A draft: every required field, filled from the facts where they say it, else empty."""
    draft = {}
    for field in required:
        filler = filler_for(field)
        draft[field] = filler(facts).strip() if filler else ""
    return draft
