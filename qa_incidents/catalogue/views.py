"""Administration pages for the product catalogue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qa_incidents.accounts.service import list_divisions
from qa_incidents.catalogue import service
from qa_incidents.catalogue.forms import CategoryForm, ProductForm
from qa_incidents.catalogue.models import Product, ProductCategory
from qa_incidents.core.countries import country_names
from qa_incidents.core.db import transaction
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.forms import apply_errors
from qa_incidents.core.permissions import Capability
from qa_incidents.core.web import db, now, requires

bp = Blueprint("catalogue", __name__, url_prefix="/admin/catalogue")


@bp.get("/")
@requires(Capability.MANAGE_CATALOGUE)
def index():  # type: ignore[no-untyped-def]
    return render_template("catalogue/index.html", categories=service.list_categories(db()),
                           products=service.list_products(db()))


@bp.route("/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/categories/<id:category_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_CATALOGUE)
def category_form(category_id: int | None):  # type: ignore[no-untyped-def]
    category = (db().get(ProductCategory, category_id) or abort(404)) if category_id else None
    form = CategoryForm(obj=category)
    form.parent_id.choices = [(None, _("(top level)"))] + [
        (c.id, c.path) for c in service.list_categories(db()) if c.id != category_id]
    if form.validate_on_submit():
        data = service.CategoryInput(code=form.code.data or "", name=form.name.data or "",
                                     parent_id=form.parent_id.data, active=form.active.data)
        try:
            with transaction(db()) as s:
                service.save_category(s, data=data, category_id=category_id, actor_id=current_user.id, now=now())
            flash(_("Category %(name)s saved.", name=data.name), "success")
            return redirect(url_for("catalogue.index"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("catalogue/category_form.html", form=form, category=category), (422 if form.errors else 200)


@bp.route("/products/new", methods=["GET", "POST"], defaults={"product_id": None})
@bp.route("/products/<id:product_id>", methods=["GET", "POST"])
@requires(Capability.MANAGE_CATALOGUE)
def product_form(product_id: int | None):  # type: ignore[no-untyped-def]
    product = (db().get(Product, product_id) or abort(404)) if product_id else None
    form = ProductForm(obj=product)
    if product is not None and not form.is_submitted():
        form.markets.data = sorted(product.market_codes)
    form.markets.choices = sorted(country_names(current_user.locale or "en").items(), key=lambda kv: kv[1])
    form.division_id.choices = [(d.id, d.name) for d in list_divisions(db())]
    form.category_id.choices = [(c.id, c.path) for c in service.list_categories(db())]
    if form.validate_on_submit():
        data = service.ProductInput(division_id=form.division_id.data, category_id=form.category_id.data,
                                    model=form.model.data or "", name=form.name.data or "", active=form.active.data,
                                    markets=tuple(form.markets.data or ()))
        try:
            with transaction(db()) as s:
                service.save_product(s, data=data, product_id=product_id, actor_id=current_user.id, now=now())
            flash(_("Product %(model)s saved.", model=data.model), "success")
            return redirect(url_for("catalogue.index"))
        except ValidationFailed as e:
            for message in apply_errors(form, e.errors):
                flash(message, "error")
    return render_template("catalogue/product_form.html", form=form, product=product), (422 if form.errors else 200)
