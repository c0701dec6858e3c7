"""Demo parts, suppliers and designs, so that a group-wide alert about the demo's escalated heater suggests divisions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.alerts.models import ProductPart
from qa_incidents.alerts.service import add_part
from qa_incidents.catalogue.models import Product

# (model, kind, code, name, supplier)
PARTS = [
    ("OH-F33", "part", "TS-40", "Overheat thermostat", "Kanto Relay Co."),
    ("OH-F33", "design", "WarmFlow 3", "", ""),
    ("R-HW540", "part", "PR-7", "PTC starter relay", "Kanto Relay Co."),
    ("EX-15A3", "part", "TF-152", "Thermal fuse", "Kanto Relay Co."),
    ("RAS-X40", "design", "WarmFlow 3", "", ""),
    ("MR-GC1", "part", "TS-40", "Overheat thermostat", "Kanto Relay Co."),
]


def seed_demo(session: so.Session, *, now: datetime) -> int:
    """Add the demo parts that are missing; returns how many were added."""
    added = 0
    for model, kind, code, name, supplier in PARTS:
        product_id = session.scalar(sa.select(Product.id).where(Product.model == model))
        if product_id is None or session.scalar(sa.select(ProductPart.id).where(
                ProductPart.product_id == product_id, ProductPart.kind == kind, ProductPart.code == code)):
            continue
        add_part(session, product_id=product_id, kind=kind, code=code, name=name, supplier=supplier, actor_id=None,
                 now=now)
        added += 1
    return added
