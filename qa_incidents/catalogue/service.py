"""Use cases for the product catalogue; every change audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core import audit
from qa_incidents.core.countries import country_codes
from qa_incidents.core.errors import NotFound, ValidationFailed

CATEGORY_FIELDS = ("code", "name", "parent_id", "active")
PRODUCT_FIELDS = ("division_id", "category_id", "model", "name", "active", "markets")


@dataclass
class CategoryInput:
    code: str
    name: str
    parent_id: int | None = None
    active: bool = True


@dataclass
class ProductInput:
    division_id: int
    category_id: int
    model: str
    name: str
    active: bool = True
    #: ISO 3166-1 alpha-2 codes of the countries the model is sold in.
    markets: tuple[str, ...] = ()


@dataclass
class CategoryTree:
    """The category tree, loaded once per request: parents, children, codes."""

    parent: dict[int, int | None]
    code: dict[int, str]
    by_code: dict[str, int]

    @classmethod
    def load(cls, session: so.Session) -> CategoryTree:
        rows = session.execute(sa.select(ProductCategory.id, ProductCategory.parent_id, ProductCategory.code)).all()
        return cls({r.id: r.parent_id for r in rows}, {r.id: r.code for r in rows}, {r.code: r.id for r in rows})

    def ancestors(self, category_id: int) -> list[int]:
        """The category and every category above it."""
        found: list[int] = []
        node: int | None = category_id
        while node is not None and node not in found:
            found.append(node)
            node = self.parent.get(node)
        return found

    def descendants(self, category_id: int) -> set[int]:
        return {c for c in self.parent if category_id in self.ancestors(c)}


def _validate_category(session: so.Session, data: CategoryInput, *, category_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    code = data.code.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,39}", code):
        errors["code"] = str(_l("Use 1 to 40 lower-case letters, digits, dots, hyphens or underscores."))
    elif session.scalar(sa.select(ProductCategory.id).where(ProductCategory.code == code,
                                                           ProductCategory.id != (category_id or -1))):
        errors["code"] = str(_l("Another category already has this code."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the category's name."))
    if data.parent_id is not None:
        if session.get(ProductCategory, data.parent_id) is None:
            errors["parent_id"] = str(_l("Choose an existing parent category."))
        elif category_id is not None and category_id in CategoryTree.load(session).ancestors(data.parent_id):
            errors["parent_id"] = str(_l("A category cannot sit under itself or its own sub-categories."))
    return errors


def save_category(
    session: so.Session, *, data: CategoryInput, category_id: int | None, actor_id: int | None, now: datetime
) -> ProductCategory:
    """Create (category_id None) or change a category; audited."""
    if errors := _validate_category(session, data, category_id=category_id):
        raise ValidationFailed(errors)
    if category_id is None:
        category, before, action = ProductCategory(), {}, "created"
        session.add(category)
    else:
        found = session.get(ProductCategory, category_id)
        if found is None:
            raise NotFound(str(_l("No such category.")))
        category, before, action = found, audit.snapshot(found, CATEGORY_FIELDS), "updated"
    category.code = data.code.strip().lower()
    category.name = data.name.strip()
    category.parent_id = data.parent_id
    category.active = data.active
    session.flush()
    if changes := audit.field_changes(before, audit.snapshot(category, CATEGORY_FIELDS)):
        audit.record(session, actor_id=actor_id, entity_type="product_category", entity_id=category.id,
                     action=action, now=now, changes=changes)
    return category


def _validate_product(session: so.Session, data: ProductInput, *, product_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if session.get(Division, data.division_id) is None:
        errors["division_id"] = str(_l("Choose a division."))
    if session.get(ProductCategory, data.category_id) is None:
        errors["category_id"] = str(_l("Choose a category."))
    model = data.model.strip()
    if not model:
        errors["model"] = str(_l("Enter the model number."))
    elif session.scalar(sa.select(Product.id).where(Product.division_id == data.division_id, Product.model == model,
                                                    Product.id != (product_id or -1))):
        errors["model"] = str(_l("This division already has a product with this model number."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the product's name."))
    unknown = sorted({code.strip().upper() for code in data.markets} - country_codes())
    if unknown:
        errors["markets"] = str(_l("Not a country code: %(codes)s.", codes=", ".join(unknown)))
    return errors


def save_product(
    session: so.Session, *, data: ProductInput, product_id: int | None, actor_id: int | None, now: datetime
) -> Product:
    """Create (product_id None) or change a product; audited."""
    if errors := _validate_product(session, data, product_id=product_id):
        raise ValidationFailed(errors)
    if product_id is None:
        product, before, action = Product(created_at=now), {}, "created"
        session.add(product)
    else:
        found = session.get(Product, product_id)
        if found is None:
            raise NotFound(str(_l("No such product.")))
        product, before, action = found, audit.snapshot(found, PRODUCT_FIELDS), "updated"
    product.division_id = data.division_id
    product.category_id = data.category_id
    product.model = data.model.strip()
    product.name = data.name.strip()
    product.active = data.active
    product.markets = " ".join(sorted({code.strip().upper() for code in data.markets}))
    session.flush()
    if changes := audit.field_changes(before, audit.snapshot(product, PRODUCT_FIELDS)):
        audit.record(session, actor_id=actor_id, entity_type="product", entity_id=product.id, action=action,
                     now=now, changes=changes)
    return product


def list_categories(session: so.Session, *, active_only: bool = False) -> list[ProductCategory]:
    """Categories in tree order (by their full path)."""
    stmt = sa.select(ProductCategory)
    if active_only:
        stmt = stmt.where(ProductCategory.active.is_(True))
    return sorted(session.scalars(stmt), key=lambda c: c.path.lower())


def list_products(session: so.Session, *, division_ids: set[int] | None = None, active_only: bool = False) -> list[Product]:
    stmt = sa.select(Product).join(Product.division).order_by(Division.name, Product.model)
    if division_ids is not None:
        stmt = stmt.where(Product.division_id.in_(division_ids))
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    return list(session.scalars(stmt))
