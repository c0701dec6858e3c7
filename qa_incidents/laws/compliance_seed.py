"""Starting content of the technical-law compliance register: the technical laws of the demo divisions' products,
each with its instrument, article and source, as laws of the laws map marked technical.

Each law was checked against a public copy of its text or an official page (named in `source`); anything not
confirmed that way is in `unconfirmed` and shown as "to be confirmed by the legal department". Laws the starting map
already holds (JP-PSE, EU-RoHS) are only marked technical; their own fields are left as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.catalogue.models import ProductCategory
from qa_incidents.laws import compliance, service
from qa_incidents.laws.models import Amendment, Jurisdiction, Law, TechnicalLaw

#: Jurisdictions the technical laws need beyond the starting map's.
JURISDICTIONS = [dict(code="CN", name="China", timezone="Asia/Shanghai", holiday_country="CN")]

EU_CE = "EU declaration of conformity and technical documentation; CE marking"

TECHNICAL_LAWS: list[dict[str, Any]] = [
    dict(short_name="JP-PSE",
         evidence_expected="Conformity to the technical standards with a self-inspection record (Art. 8); for "
                           "specified electrical appliances, a conformity certificate from a registered conformity "
                           "assessment body (Art. 9); PSE mark (Art. 10)."),
    dict(short_name="EU-RoHS", evidence_expected=f"{EU_CE} (Art. 7); test reports or material declarations showing "
                                                 "each homogeneous material within the Annex II limits.",
         amendments=[dict(
             title="Delegated Directive (EU) 2015/863: four phthalates (DEHP, BBP, DBP, DIBP) added to Annex II",
             promulgated_on=dt.date(2015, 3, 31), enforced_on=dt.date(2019, 7, 22),
             summary="Annex II lists ten substances; DEHP, BBP, DBP and DIBP max. 0.1 % w/w in homogeneous materials. "
                     "Applies from 22 July 2019 to all EEE except medical devices and monitoring and control "
                     "instruments (from 22 July 2021).",
             affected_categories=["home", "cables"],
             source="Commission Delegated Directive (EU) 2015/863 of 31 March 2015, OJ L 137, 4.6.2015, p. 10 — "
                    "https://eur-lex.europa.eu/eli/dir_del/2015/863/oj")]),
    dict(short_name="EU-REACH-33", jurisdiction="EU",
         name_original="Regulation (EC) No 1907/2006 (REACH)",
         name_en="Registration, Evaluation, Authorisation and Restriction of Chemicals — substances in articles",
         citation="Regulation (EC) No 1907/2006, Art. 33", authority="European Chemicals Agency (ECHA); member-state "
         "enforcement authorities", url="https://eur-lex.europa.eu/eli/reg/2006/1907/oj", in_force_from=dt.date(2007, 6, 1),
         categories=["home", "cables", "magnets", "vehicle"],
         source="Regulation (EC) No 1907/2006 Art. 33 (duty to communicate information on substances in articles: a "
                "Candidate List substance above 0.1 % w/w); ECHA guidance on requirements for substances in articles",
         unconfirmed="The Candidate List is updated about twice a year: record each update as an amendment.\n"
                     "Whether steel bars are articles or substances/mixtures under REACH (left out of scope here).",
         evidence_expected="SVHC declaration per article (Candidate List substances above 0.1 % w/w, Art. 33(1)) "
                           "with supplier declarations; SCIP notification number where one was made."),
    dict(short_name="EU-RED", jurisdiction="EU",
         name_original="Directive 2014/53/EU (Radio Equipment Directive)", name_en="Radio Equipment Directive",
         citation="Directive 2014/53/EU, Art. 3 (essential requirements), Art. 10 and 18 (declaration)",
         authority="Member-state market surveillance authorities", url="https://eur-lex.europa.eu/eli/dir/2014/53/oj",
         in_force_from=dt.date(2016, 6, 13), categories=["home.aircon"],
         source="Directive 2014/53/EU of 16 April 2014, OJ L 153, 22.5.2014, p. 62",
         unconfirmed="Applies only to models with a radio module (Wi-Fi, Bluetooth): the catalogue does not say which "
                     "models have one; a division records \"not affected\" for those without.",
         evidence_expected=f"{EU_CE}; test reports against harmonised standards for Art. 3(1)(a), 3(1)(b) and 3(2)."),
    dict(short_name="EU-ENERGY-LABEL", jurisdiction="EU",
         name_original="Regulation (EU) 2017/1369 setting a framework for energy labelling",
         name_en="Energy Labelling Framework Regulation", citation="Regulation (EU) 2017/1369, Art. 3 and 4",
         authority="Member-state market surveillance authorities; European Commission (EPREL)",
         url="https://eur-lex.europa.eu/eli/reg/2017/1369/oj", in_force_from=dt.date(2017, 8, 1),
         categories=["home.refrigerators", "home.washers", "home.aircon"],
         source="Regulation (EU) 2017/1369 of 4 July 2017, OJ L 198, 28.7.2017, p. 1",
         unconfirmed="The article numbers of the suppliers' obligations (label, product information sheet, EPREL "
                     "registration) are to be checked against the text.\nThe product-specific delegated regulations "
                     "(e.g. refrigerating appliances) are not yet listed as separate laws.",
         evidence_expected="EPREL registration number; label and product information sheet per the delegated "
                           "regulation of the product group; test report of the declared values."),
    dict(short_name="EU-LVD", jurisdiction="EU", name_original="Directive 2014/35/EU (Low Voltage Directive)",
         name_en="Low Voltage Directive", citation="Directive 2014/35/EU, Art. 3 and Annex I (safety objectives)",
         authority="Member-state market surveillance authorities", url="https://eur-lex.europa.eu/eli/dir/2014/35/oj",
         in_force_from=dt.date(2016, 4, 20), categories=["home", "cables.power"],
         source="Directive 2014/35/EU of 26 February 2014, OJ L 96, 29.3.2014, p. 357 (50–1000 V a.c., 75–1500 V d.c.)",
         unconfirmed="Annex II excludes plugs and socket-outlets for domestic use: whether a cord set with a moulded "
                     "plug is in scope per member state is to be confirmed.",
         evidence_expected=f"{EU_CE} (Annex III internal production control); test report against the harmonised "
                           "standard (e.g. EN 60335 series)."),
    dict(short_name="US-FCC-15", jurisdiction="US", name_original="47 CFR Part 15 — Radio Frequency Devices",
         name_en="FCC Part 15 (radio frequency devices)", citation="47 CFR Part 15, §15.101 (equipment authorization "
         "of unintentional radiators); 47 CFR 2.906 (supplier's declaration of conformity)",
         authority="Federal Communications Commission (FCC)", url="https://www.ecfr.gov/current/title-47/chapter-I/subchapter-A/part-15",
         categories=["home"], source="eCFR 47 CFR Part 15 and 2.906–2.907",
         unconfirmed="Appliances whose only digital device is exempted by §15.103 (e.g. in an appliance) need no "
                     "authorization: which models are exempt is to be confirmed per model.",
         evidence_expected="Supplier's declaration of conformity (unintentional radiators) or an FCC ID grant "
                           "(intentional radiators), with the test report."),
    dict(short_name="US-NRTL", jurisdiction="US", name_original="29 CFR 1910.7 — Nationally recognized testing laboratory",
         name_en="NRTL listing (UL or other OSHA-recognised laboratory)", citation="29 CFR 1910.7; 29 CFR 1910.303(a)",
         authority="Occupational Safety and Health Administration (OSHA); local electrical inspection authorities",
         url="https://www.osha.gov/nationally-recognized-testing-laboratory-program", categories=["home", "cables.power"],
         source="29 CFR 1910.7 (definition and requirements for an NRTL); OSHA NRTL program pages",
         unconfirmed="For consumer products listing is required through workplace rules, local electrical codes and "
                     "retailers rather than one federal product law: the legal department confirms per category.",
         evidence_expected="Listing or certification by an NRTL (e.g. UL file number) with the certificate of "
                           "compliance; follow-up service inspection reports."),
    dict(short_name="CA-CSA", jurisdiction="CA", name_original="Canadian Electrical Code, Part I (CSA C22.1) and "
         "provincial electrical safety regulations", name_en="Approval of electrical equipment before sale (CSA or "
         "other SCC-accredited certification)", citation="CSA C22.1, Rule 2-024 (approved equipment); provincial "
         "regulations (e.g. Ontario Regulation 438/07)", authority="Provincial electrical safety authorities; Standards "
         "Council of Canada (accreditation)", url="https://www.scc.ca/", categories=["home", "cables.power"],
         source="Canadian Electrical Code Part I; SCC list of accredited certification bodies",
         unconfirmed="The rule number and each province's regulation are to be confirmed against the current code "
                     "edition.",
         evidence_expected="Certificate from an SCC-accredited certification body (CSA, cUL, cETL…) with the "
                           "certification mark on the product."),
    dict(short_name="CN-CCC", jurisdiction="CN", name_original="强制性产品认证管理规定",
         name_en="Provisions on the Administration of Compulsory Product Certification (CCC)",
         citation="Provisions on the Administration of Compulsory Product Certification; CCC catalogue (CNCA "
                  "Announcement 2020 No. 18)", authority="State Administration for Market Regulation (SAMR); CNCA",
         url="https://www.cnca.gov.cn/", categories=["home.refrigerators", "home.washers", "home.aircon", "cables.power"],
         source="CNCA announcement of the compulsory product certification catalogue (2020 No. 18: 103 products in "
                "17 categories); SAMR/CNCA adjustment of the catalogue (2018)",
         unconfirmed="The order number and latest amendment of the Provisions (AQSIQ Order No. 117 of 2009, amended "
                     "since) are to be confirmed.\nWhether a refrigerator model falls under the catalogue entry "
                     "(household refrigerators; those above 500 L moved from production licence in 2019).",
         evidence_expected="CCC certificate from a designated certification body (or a CCC self-declaration where the "
                           "catalogue allows it), valid 5 years with annual factory follow-up; CCC mark."),
    dict(short_name="JP-RADIO", jurisdiction="JP", name_original="電波法", name_en="Radio Act",
         citation="Act No. 131 of 1950, Art. 38-2-2 (technical conformity certification), Art. 38-24 (construction "
                  "design certification), Art. 38-33 (self-confirmation)", authority="Ministry of Internal Affairs "
         "and Communications (MIC)", url="https://www.tele.soumu.go.jp/j/sys/equ/tech/gitekimark/",
         categories=["home.aircon"],
         source="MIC page on the Giteki mark (Radio Act Art. 38-7, 38-26, 38-35); JATE page on the certification system",
         unconfirmed="The Act's number (No. 131 of 1950) is to be checked against e-Gov.\nApplies only to models with "
                     "specified radio equipment (Wi-Fi, Bluetooth modules).",
         evidence_expected="Technical conformity certification or construction design certification number of each "
                           "radio module (技適マーク), or a self-confirmation notification."),
]


def load_technical_laws(session: so.Session, *, now: dt.datetime) -> int:
    """Create whatever part of the register is missing (laws, their coverage, the technical marks, amendments) and
    open the re-assessments of amendments still to come. Returns how many laws were marked technical."""
    jurisdictions = {j.code: j.id for j in session.scalars(sa.select(Jurisdiction))}
    for j in JURISDICTIONS:
        if j["code"] not in jurisdictions:
            data = {"is_bloc": False, "members": "", "holiday_country": "", "holiday_subdiv": "", "active": True, **j}
            jurisdictions[j["code"]] = service.save_jurisdiction(session, data=data, jurisdiction_id=None,
                                                                 actor_id=None, now=now).id
    codes = {c.code: c.id for c in session.scalars(sa.select(ProductCategory))}
    marked = 0
    for spec in TECHNICAL_LAWS:
        law = session.scalar(sa.select(Law).where(Law.short_name == spec["short_name"]))
        if law is None:
            if "jurisdiction" not in spec:
                continue  # a law of the starting map that is not loaded
            data = {k: v for k, v in spec.items() if k in service.LAW_FIELDS}
            data.setdefault("status", "in_force")
            data["jurisdiction_id"] = jurisdictions[spec["jurisdiction"]]
            law = service.save_law(session, data=data, category_ids=None, law_id=None, actor_id=None, now=now)
            service.set_coverage(session, law=law, category_ids=[codes[c] for c in spec["categories"] if c in codes],
                                 actor_id=None, now=now)
        if session.scalar(sa.select(TechnicalLaw.id).where(TechnicalLaw.law_id == law.id)) is None:
            compliance.save_technical(session, law_id=law.id, evidence_expected=spec["evidence_expected"], active=True,
                                      actor_id=None, now=now)
            marked += 1
        for am in spec.get("amendments", []):
            if session.scalar(sa.select(Amendment.id).where(Amendment.law_id == law.id,
                                                            Amendment.title == am["title"])) is None:
                service.save_amendment(session, data={"law_id": law.id, **am}, amendment_id=None, actor_id=None,
                                       now=now)
    compliance.sync_reassessments(session, now=now)
    return marked


# --- demo data: where the demo models are sold, and some evidence ----------------------------------------------

#: Countries of sale of the demo models (set only where a model has none). No model with an incident abroad is sold
#: in Canada, whose "also applies where sold" duty would reach that incident.
DEMO_MARKETS = {
    "R-HW540": "JP CN", "R-S38": "JP", "BD-SX120": "US JP", "RAS-X40": "JP AU DE FR", "OH-F33": "JP",
    "RS-FR95": "GB DE", "EX-15A3": "CA US", "NEOMAX-48H": "JP DE", "VB-220": "JP",
}

#: (model, law, kind, issuer, number, issued days ago, expires in days or None, note)
DEMO_EVIDENCE = [
    ("R-HW540", "JP-PSE", "declaration", "Home Appliances QA", "HA-PSE-0540", 700, None,
     "Self-inspection record under Art. 8 (demo)."),
    ("R-HW540", "CN-CCC", "certificate", "China Quality Certification Centre (demo)", "2021010703000540", 1780, 45,
     "Demo certificate: expires within the warning period."),
    ("RAS-X40", "EU-LVD", "declaration", "Home Appliances QA", "HA-DoC-X40", 400, None, "EU declaration of conformity (demo)."),
    ("RAS-X40", "EU-RoHS", "test_report", "Demo Test Lab GmbH", "TR-2023-4471", 1100, -10,
     "Demo report: expired ten days ago."),
    ("EX-15A3", "CA-CSA", "certificate", "CSA Group (demo)", "CSA-80012345", 300, 430, "Demo certificate."),
]


def load_demo_register(session: so.Session, *, now: dt.datetime) -> int:
    """Demo countries of sale and evidence, so the register shows every state (compliant, expiring, expired, gap).
    Only fills what is missing; returns how many documents were added."""
    from qa_incidents.catalogue import service as catalogue
    from qa_incidents.catalogue.models import Product
    from qa_incidents.core.permissions import Actor, Role
    from qa_incidents.laws.models import ComplianceEvidence

    products = {p.model: p for p in session.scalars(sa.select(Product))}
    for model, markets in DEMO_MARKETS.items():
        product = products.get(model)
        if product is not None and not product.markets:
            catalogue.save_product(session, data=catalogue.ProductInput(
                division_id=product.division_id, category_id=product.category_id, model=product.model,
                name=product.name, active=product.active, markets=tuple(markets.split())),
                product_id=product.id, actor_id=None, now=now)
    if session.scalar(sa.select(ComplianceEvidence.id).limit(1)) is not None:
        return 0
    system = Actor(id=0, role=Role.HEAD_OFFICE_QA, division_id=0)
    laws = {law.short_name: law.id for law in session.scalars(sa.select(Law))}
    added = 0
    today = now.date()
    for model, short_name, kind, issuer, number, ago, expires_in, note in DEMO_EVIDENCE:
        product = products.get(model)
        if product is None or short_name not in laws:
            continue
        compliance.add_evidence(session, actor=system, product_id=product.id, stored=None, filename="", now=now,
                                data=compliance.EvidenceInput(
                                    law_id=laws[short_name], kind=kind, issuer=issuer, number=number,
                                    issued_on=today - dt.timedelta(days=ago),
                                    expires_on=None if expires_in is None else today + dt.timedelta(days=expires_in),
                                    note=note))
        added += 1
    compliance.sync_reassessments(session, now=now)
    return added
