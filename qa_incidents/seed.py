"""Demo data: divisions, a product catalogue, one user per role and a few incidents. Idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts import service as accounts
from qa_incidents.accounts.models import Division, User
from qa_incidents.catalogue import service as catalogue
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core.permissions import Role
from qa_incidents.incidents import service as incidents
from qa_incidents.incidents.models import Incident
from qa_incidents.incidents.rules import Hazard, IncidentFacts, Source

DEMO_PASSWORD = "demo-password-2026"

DIVISIONS = [
    ("HQ", "Head Office Quality Assurance", True),
    ("HA", "Home Appliances", False),
    ("SS", "Specialty Steel", False),
    ("MM", "Magnetic Materials", False),
    ("CM", "Cable Materials", False),
]

# (code, name, parent code)
CATEGORIES = [
    ("home", "Home appliances", None),
    ("home.refrigerators", "Refrigerators", "home"),
    ("home.washers", "Washing machines", "home"),
    ("home.aircon", "Air conditioners", "home"),
    ("home.heaters", "Oil and gas heaters", "home"),
    ("cables", "Wires & cables", None),
    ("cables.rolling-stock", "Rolling-stock cables", "cables"),
    ("cables.power", "Power cords and extension cables", "cables"),
    ("medical", "Medical devices", None),
    ("vehicle", "Motor-vehicle equipment", None),
    ("steel", "Specialty steel", None),
    ("magnets", "Magnetic materials", None),
    ("magnets.ndfeb", "Rare-earth (NdFeB) magnets", "magnets"),
]

# (division code, category code, model, name)
PRODUCTS = [
    ("HA", "home.refrigerators", "R-HW540", "French-door refrigerator 540 L"),
    ("HA", "home.refrigerators", "R-S38", "Two-door refrigerator 380 L"),
    ("HA", "home.washers", "BD-SX120", "Drum washer-dryer 12 kg"),
    ("HA", "home.aircon", "RAS-X40", "Room air conditioner 4.0 kW"),
    ("HA", "home.heaters", "OH-F33", "Fan-forced oil heater"),
    ("CM", "cables.rolling-stock", "RS-FR95", "Flame-retardant rolling-stock cable 95 mm²"),
    ("CM", "cables.power", "EX-15A3", "Extension cord 15 A, 3 outlets"),
    ("SS", "steel", "YSS-SKD11", "Cold-work tool steel bar"),
    ("SS", "vehicle", "VB-220", "Valve-spring wire for engines"),
    ("MM", "magnets.ndfeb", "NEOMAX-48H", "Sintered NdFeB magnet segment"),
    ("MM", "medical", "MR-GC1", "MRI gradient-coil magnet assembly"),
]

# (email, name, role, division code)
DEMO_USERS = [
    ("reporter@example.com", "Aiko Tanaka", "reporter", "HA"),
    ("division.qa@example.com", "Kenji Sato", "division_qa", "HA"),
    ("cable.reporter@example.com", "Emma Walsh", "reporter", "CM"),
    ("cable.qa@example.com", "Oliver Hughes", "division_qa", "CM"),
    ("hq.qa@example.com", "Yuki Nakamura", "head_office_qa", "HQ"),
    ("executive@example.com", "Hiroshi Mori", "executive", "HQ"),
    ("engineer@example.com", "Priya Raman", "engineer", "MM"),
    ("admin@example.com", "Sam Admin", "admin", "HQ"),
]

USER_TIMEZONES = {"CM": "Europe/London"}

# (reporter email, product model, title, country, place, days ago, hours to awareness, harm, source, hazard, units, text)
INCIDENTS = [
    ("reporter@example.com", "R-HW540", "Refrigerator caught fire in kitchen", "JP", "Setagaya, Tokyo", 6, 20,
     {"fire": True, "property_damage": True, "minor_injuries": 1}, Source.CUSTOMER_COMPLAINT, Hazard.FIRE_BURN, 48200,
     "Customer reports smoke from the rear of the unit followed by flames around the compressor relay. "
     "Fire brigade attended. Kitchen wall scorched; one occupant treated for a minor burn to the hand."),
    ("reporter@example.com", "OH-F33", "Suspected CO release from fan heater", "JP", "Sapporo, Hokkaido", 14, 30,
     {"co_poisoning": True, "serious_injuries": 1}, Source.SERVICE_REPORT, Hazard.CO_GAS, 12000,
     "Service engineer found a cracked heat exchanger. Occupant hospitalised with CO poisoning symptoms."),
    ("division.qa@example.com", "BD-SX120", "Door glass shattered during drying cycle", "US", "Columbus, Ohio", 21, 48,
     {"minor_injuries": 1}, Source.CUSTOMER_COMPLAINT, Hazard.STRUCTURAL_FAILURE, 31000,
     "Customer reports the door glass broke at the end of a high-temperature drying cycle; small cut to a finger."),
    ("division.qa@example.com", "RAS-X40", "Indoor unit emitted smoke, breaker tripped", "AU", "Parramatta, NSW", 3, 5,
     {"smoke": True}, Source.SERVICE_REPORT, Hazard.OVERHEATING, 9000,
     "Installer found a discoloured terminal block on the indoor unit; no flame; circuit breaker tripped."),
    ("cable.reporter@example.com", "RS-FR95", "Overheated rolling-stock cable in depot test", "GB", "Derby depot", 10, 2,
     {"no_harm": True}, Source.INTERNAL_TEST, Hazard.OVERHEATING, 1800,
     "Thermal imaging during a depot load test showed a 40 K hot spot at a crimped joint. Train withdrawn from service."),
    ("cable.reporter@example.com", "EX-15A3", "Extension cord plug melted", "CA", "Mississauga, Ontario", 30, 72,
     {"property_damage": True, "smoke": True}, Source.CUSTOMER_COMPLAINT, Hazard.FIRE_BURN, 64000,
     "Customer reports the plug body melted while powering a space heater; carpet scorched."),
]


def _by_code(session: so.Session, model: type, code: str):  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(model).where(model.code == code))


def load_demo(session: so.Session, *, now: datetime) -> str:
    """Create whatever part of the demo data is missing; return a one-line summary."""
    created = {"divisions": 0, "categories": 0, "products": 0, "users": 0, "incidents": 0, "laws": 0}
    for code, name, head in DIVISIONS:
        if _by_code(session, Division, code) is None:
            accounts.create_division(session, data=accounts.DivisionInput(code=code, name=name, is_head_office=head),
                                     actor_id=None, now=now)
            created["divisions"] += 1
    for code, name, parent in CATEGORIES:
        if _by_code(session, ProductCategory, code) is None:
            parent_id = _by_code(session, ProductCategory, parent).id if parent else None
            catalogue.save_category(session, data=catalogue.CategoryInput(code=code, name=name, parent_id=parent_id),
                                    category_id=None, actor_id=None, now=now)
            created["categories"] += 1
    for division_code, category_code, model, name in PRODUCTS:
        division = _by_code(session, Division, division_code)
        exists = session.scalar(sa.select(Product.id).where(Product.division_id == division.id, Product.model == model))
        if exists is None:
            category = _by_code(session, ProductCategory, category_code)
            catalogue.save_product(session, data=catalogue.ProductInput(division_id=division.id, category_id=category.id,
                                                                        model=model, name=name),
                                   product_id=None, actor_id=None, now=now)
            created["products"] += 1
    for email, name, role, division_code in DEMO_USERS:
        if session.scalar(sa.select(User.id).where(User.email == email)) is None:
            division = _by_code(session, Division, division_code)
            accounts.create_user(session, data=accounts.UserInput(
                email=email, name=name, role=Role(role), division_id=division.id,
                timezone=USER_TIMEZONES.get(division_code, "Asia/Tokyo")),
                password=DEMO_PASSWORD, actor_id=None, now=now)
            created["users"] += 1
    if session.scalar(sa.select(sa.func.count(Incident.id))) == 0:
        for (email, model, title, country, place, days, hours, harm, source, hazard, units, text) in INCIDENTS:
            user = session.scalar(sa.select(User).where(User.email == email))
            product = session.scalar(sa.select(Product).where(Product.model == model))
            occurred = now - timedelta(days=days)
            facts = IncidentFacts(
                division_id=product.division_id, product_id=product.id, title=title, lot_numbers=f"L{occurred:%y%m}-07",
                serial_numbers="", country=country, place=place, occurred_at=occurred,
                aware_at=occurred + timedelta(hours=hours), source=source, hazard=hazard,
                deaths=harm.get("deaths", 0), serious_injuries=harm.get("serious_injuries", 0),
                minor_injuries=harm.get("minor_injuries", 0), fire=harm.get("fire", False),
                smoke=harm.get("smoke", False), co_poisoning=harm.get("co_poisoning", False),
                property_damage=harm.get("property_damage", False), no_harm=harm.get("no_harm", False),
                units_in_field=units, description=text)
            incidents.file_incident(session, user=user, facts=facts, now=now)
            created["incidents"] += 1
    from qa_incidents.laws.seed import load_laws

    created["laws"] = load_laws(session, now=now)
    from qa_incidents.laws.compliance_seed import load_demo_register, load_technical_laws

    load_technical_laws(session, now=now)
    load_demo_register(session, now=now)
    return ", ".join(f"{n} {k} created" for k, n in created.items())


def load_demo_activity(session: so.Session, *, now: datetime) -> dict[str, int]:
    """Work done on the demo incidents, so every page has something to show: the CO heater case triaged,
    escalated and approved (its regulator notification derived, its first status report issued), the demo
    recalls and the lessons library with one approved review. Safe to run twice: each part checks first."""
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity
    from qa_incidents.recalls.seed import seed_demo as seed_recalls
    from qa_incidents.reports import service as reports
    from qa_incidents.reviews.seed import seed_demo as seed_reviews

    done = {"triaged": 0, "status_reports": 0}
    heater = session.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    qa = session.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    hq = session.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    if heater is not None and qa is not None and hq is not None and heater.severity is None:
        workflow.triage(session, user=qa, incident_id=heater.id, severity=Severity.S1, override_reason="",
                        now=now - timedelta(hours=6))
        workflow.request_escalation(session, user=qa, incident_id=heater.id, now=now - timedelta(hours=5, minutes=30),
                                    reason="CO poisoning at a customer's home; the same model is sold nationwide.")
        workflow.decide_escalation(session, user=hq, incident_id=heater.id, approve=True, password=DEMO_PASSWORD,
                                   comment="Head office takes the lead.", now=now - timedelta(hours=5))
        reports.issue(session, incident=heater, now=now - timedelta(hours=4, minutes=30))
        done["triaged"] += 1
        # report 1 went out at triage (the first reportable obligation), report 2 after the escalation
        done["status_reports"] += len(reports.reports_of(session, heater.id))
    seed_reviews(session)
    seed_recalls(session)
    from qa_incidents.alerts.seed import seed_demo as seed_parts

    seed_parts(session, now=now)
    from qa_incidents.api.seed import seed_demo as seed_imports

    seed_imports(session)
    return done
