"""The product catalogue: a category tree without cycles, one model number per division."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qa_incidents.catalogue import service as catalogue
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import ValidationFailed


def category(session, code: str) -> ProductCategory:
    return session.scalar(sa.select(ProductCategory).where(ProductCategory.code == code))


def save_category(session, now, code: str, parent: ProductCategory | None = None, category_id: int | None = None):
    return catalogue.save_category(session, data=catalogue.CategoryInput(code=code, name=code.title(),
                                                                         parent_id=parent.id if parent else None),
                                   category_id=category_id, actor_id=None, now=now)


@pytest.fixture
def chain(demo, clock) -> tuple[ProductCategory, ProductCategory, ProductCategory]:
    """a › b › c."""
    a = save_category(demo, clock(), "a")
    b = save_category(demo, clock(), "a.b", a)
    c = save_category(demo, clock(), "a.b.c", b)
    demo.commit()
    return a, b, c


@pytest.mark.parametrize("new_parent", ["a", "a.b", "a.b.c"])
def test_a_category_cannot_move_under_itself_or_its_descendants(demo, clock, chain, new_parent):
    a = chain[0]
    with pytest.raises(ValidationFailed) as failure:
        save_category(demo, clock(), "a", category(demo, new_parent), category_id=a.id)
    assert set(failure.value.errors) == {"parent_id"}
    demo.rollback()
    assert category(demo, "a").parent_id is None


def test_a_category_can_move_elsewhere(demo, clock, chain):
    a, b, c = chain
    moved = save_category(demo, clock(), "a.b.c", a, category_id=c.id)
    assert moved.parent_id == a.id
    assert moved.path == "A › A.B.C"
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "product_category",
                                                    AuditEvent.entity_id == c.id).order_by(AuditEvent.id.desc()))
    assert (event.action, event.changes) == ("updated", {"parent_id": [b.id, a.id]})


def test_an_unknown_parent_is_refused(demo, clock):
    with pytest.raises(ValidationFailed) as failure:
        catalogue.save_category(demo, data=catalogue.CategoryInput(code="x", name="X", parent_id=999_999),
                                category_id=None, actor_id=None, now=clock())
    assert set(failure.value.errors) == {"parent_id"}


def test_category_codes_are_unique(demo, clock):
    with pytest.raises(ValidationFailed) as failure:
        save_category(demo, clock(), "HOME")  # stored lower-case, so this clashes with "home"
    assert set(failure.value.errors) == {"code"}


def product_input(division_id: int, category_id: int, model: str) -> catalogue.ProductInput:
    return catalogue.ProductInput(division_id=division_id, category_id=category_id, model=model, name="Some product")


def test_a_model_number_is_unique_within_a_division(demo, clock, demo_division, demo_product):
    existing = demo_product("R-HW540")
    with pytest.raises(ValidationFailed) as failure:
        catalogue.save_product(demo, data=product_input(demo_division("HA").id, existing.category_id, " R-HW540 "),
                               product_id=None, actor_id=None, now=clock())
    assert set(failure.value.errors) == {"model"}
    assert demo.scalar(sa.select(sa.func.count(Product.id)).where(Product.model == "R-HW540")) == 1


def test_another_division_may_use_the_same_model_number(demo, clock, demo_division, demo_product):
    existing = demo_product("R-HW540")
    other = catalogue.save_product(demo, data=product_input(demo_division("SS").id, existing.category_id, "R-HW540"),
                                   product_id=None, actor_id=None, now=clock())
    assert other.id != existing.id and other.division.code == "SS"


def test_saving_a_product_keeps_its_own_model_number(demo, clock, demo_product):
    existing = demo_product("R-HW540")
    saved = catalogue.save_product(
        demo, data=catalogue.ProductInput(division_id=existing.division_id, category_id=existing.category_id,
                                          model="R-HW540", name="Renamed fridge"),
        product_id=existing.id, actor_id=None, now=clock())
    assert saved.name == "Renamed fridge"


def test_renaming_a_product_to_a_taken_model_is_refused(demo, clock, demo_product):
    existing = demo_product("R-HW540")
    with pytest.raises(ValidationFailed) as failure:
        catalogue.save_product(demo, data=product_input(existing.division_id, existing.category_id, "R-S38"),
                               product_id=existing.id, actor_id=None, now=clock())
    assert set(failure.value.errors) == {"model"}


def test_categories_list_in_tree_order(demo):
    paths = [c.path for c in catalogue.list_categories(demo)]
    assert paths == sorted(paths, key=str.lower)
    assert "Home appliances › Refrigerators" in paths


def test_a_products_markets_are_country_codes_kept_sorted_and_audited(demo, clock):
    product = demo.scalar(sa.select(Product).where(Product.model == "RS-FR95"))
    before = product.markets  # the demo sells it in Germany and the United Kingdom
    assert before == "DE GB"
    data = catalogue.ProductInput(division_id=product.division_id, category_id=product.category_id, model=product.model,
                                  name=product.name, markets=("us", "CA", "US"))
    saved = catalogue.save_product(demo, data=data, product_id=product.id, actor_id=None, now=clock())
    assert saved.markets == "CA US" and saved.market_codes == {"CA", "US"}
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "product", AuditEvent.entity_id == product.id)
                        .order_by(AuditEvent.id.desc()))
    assert event.changes == {"markets": ["DE GB", "CA US"]}
    with pytest.raises(ValidationFailed) as failure:
        catalogue.save_product(demo, data=catalogue.ProductInput(
            division_id=product.division_id, category_id=product.category_id, model=product.model, name=product.name,
            markets=("US", "EU", "XX")), product_id=product.id, actor_id=None, now=clock())
    assert failure.value.errors == {"markets": "Not a country code: EU, XX."}
