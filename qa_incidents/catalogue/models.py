"""Tables for product categories and products."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import Division
from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base


class ProductCategory(Base):
    """A node of the category tree, e.g. Home appliances › Refrigerators."""

    __tablename__ = "product_category"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    parent_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("product_category.id"), index=True)
    active: so.Mapped[bool] = so.mapped_column(default=True)

    parent: so.Mapped[ProductCategory | None] = so.relationship(remote_side=[id], lazy="joined", join_depth=3)

    @property
    def path(self) -> str:
        """The full name from the root, e.g. 'Home appliances › Refrigerators'."""
        names, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))


class Product(Base):
    """A product model sold by a division."""

    __tablename__ = "product"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    category_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("product_category.id"), index=True)
    model: so.Mapped[str] = so.mapped_column(sa.String(80))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: ISO codes of the countries the model is sold in, space-separated (migration 0023): obligations marked
    #: "also applies where sold" reach an incident abroad through them.
    markets: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default=sa.text("''"))

    @property
    def market_codes(self) -> set[str]:
        return set(self.markets.split())

    division: so.Mapped[Division] = so.relationship(lazy="joined")
    category: so.Mapped[ProductCategory] = so.relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("division_id", "model", name="uq_product_division_model"),)

    @property
    def label(self) -> str:
        return f"{self.model} — {self.name}"
