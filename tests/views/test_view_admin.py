"""Administration over HTTP: users, divisions and the product catalogue; and who may not."""

from __future__ import annotations

import re

import sqlalchemy as sa
from view_helpers import flashes, form_with, location_path, login, text

from qa_incidents.accounts.models import Division, User

NEW_PASSWORD = "correct-horse-battery"


def _user_id(fresh, email: str) -> int:  # type: ignore[no-untyped-def]
    return fresh(sa.select(User.id).where(User.email == email))


def _row(response, name: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the table row that links to the given name."""
    for row in re.findall(r"<tr\b.*?</tr>", response.get_data(as_text=True), re.S):
        cells = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        if f">{name}</a>" in row:
            return cells
    raise AssertionError(f"no row for {name}")


def test_admin_lists_users(login_as):
    client = login_as("admin@example.com")
    response = client.get("/admin/users")
    assert response.status_code == 200
    row = _row(response, "Aiko Tanaka")
    assert "reporter@example.com" in row and "Reporter (division QA staff)" in row and "Home Appliances" in row
    assert "active" in row
    for name in ("Kenji Sato", "Emma Walsh", "Yuki Nakamura", "Hiroshi Mori", "Priya Raman", "Sam Admin"):
        assert name in text(response)


def test_admin_creates_a_user_who_can_then_log_in(app, login_as):
    client = login_as("admin@example.com")
    form = form_with(client.get("/admin/users/new"), "email")
    assert form.values["timezone"] == "Asia/Tokyo"
    data = form.data(name="Mei Suzuki", email="Mei.Suzuki@Example.com", role="reporter",
                     division_id=form.option_value("division_id", "Magnetic Materials"), password=NEW_PASSWORD,
                     active=True)
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 302 and location_path(response) == "/admin/users"
    listing = client.get("/admin/users")
    assert "User mei.suzuki@example.com created." in flashes(listing)
    row = _row(listing, "Mei Suzuki")
    assert "mei.suzuki@example.com" in row and "Magnetic Materials" in row

    newcomer = app.test_client()
    assert login(newcomer, "mei.suzuki@example.com", NEW_PASSWORD).status_code == 302
    register = newcomer.get("/incidents/")
    assert register.status_code == 200
    assert "0 incidents" in text(register)  # Magnetic Materials has none yet


def test_too_short_password_is_refused_and_input_kept(login_as, fresh):
    client = login_as("admin@example.com")
    form = form_with(client.get("/admin/users/new"), "email")
    data = form.data(name="Mei Suzuki", email="mei@example.com", role="reporter", password="short-1")
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    again = form_with(response, "email")
    assert again.errors["password"] == "Use at least 12 characters."
    assert again.values["name"] == "Mei Suzuki"
    assert again.values["email"] == "mei@example.com"
    assert again.values["password"] == ""  # a password is never echoed back
    assert _user_id(fresh, "mei@example.com") is None


def test_duplicate_email_is_refused(login_as, fresh):
    client = login_as("admin@example.com")
    form = form_with(client.get("/admin/users/new"), "email")
    data = form.data(name="Another Aiko", email="REPORTER@example.com", role="reporter", password=NEW_PASSWORD)
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert form_with(response, "email").errors["email"] == "Another user already has this e-mail address."
    assert fresh(sa.select(sa.func.count(User.id))) == 8


def test_deactivated_user_is_logged_out_and_cannot_log_in(app, login_as, browser_as, fresh):
    cable = browser_as("cable.reporter@example.com")  # logged in before being deactivated
    client = login_as("admin@example.com")
    user_id = _user_id(fresh, "cable.reporter@example.com")
    form = form_with(client.get(f"/admin/users/{user_id}"), "email")
    assert form.values["active"] == "y"
    response = client.post(f"/admin/users/{user_id}", data=form.data(active=False))
    assert response.status_code == 302
    listing = client.get("/admin/users")
    assert "User cable.reporter@example.com saved." in flashes(listing)
    assert "Cable Materials inactive" in _row(listing, "Emma Walsh")

    kicked = cable.get("/incidents/")
    assert kicked.status_code == 302 and location_path(kicked).startswith("/login")
    again = login(app.test_client(), "cable.reporter@example.com")
    assert again.status_code == 401
    assert "The e-mail address or password is not correct." in flashes(again)


def test_admin_cannot_deactivate_or_demote_themselves(login_as, fresh):
    client = login_as("admin@example.com")
    user_id = _user_id(fresh, "admin@example.com")
    form = form_with(client.get(f"/admin/users/{user_id}"), "email")
    for change in ({"active": False}, {"role": "reporter"}):
        response = client.post(f"/admin/users/{user_id}", data=form.data(**change))
        assert response.status_code == 422, change
        assert "You cannot deactivate yourself or change your own role." in text(response)
    assert fresh(sa.select(User.active).where(User.id == user_id)) is True
    assert client.get("/admin/users").status_code == 200  # still an administrator


def test_admin_resets_a_password(app, login_as, fresh):
    client = login_as("admin@example.com")
    user_id = _user_id(fresh, "reporter@example.com")
    form = form_with(client.get(f"/admin/users/{user_id}"), "email")
    assert client.post(f"/admin/users/{user_id}", data=form.data(password=NEW_PASSWORD)).status_code == 302
    assert login(app.test_client(), "reporter@example.com", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "reporter@example.com").status_code == 401


def test_divisions_create_and_rename(login_as, browser_as, fresh):
    client = login_as("admin@example.com")
    listing = client.get("/admin/divisions")
    assert listing.status_code == 200 and "Cable Materials" in text(listing)
    form = form_with(client.get("/admin/divisions/new"), "code")
    response = client.post("/admin/divisions/new", data=form.data(code="ev", name="Electric Vehicle Parts", active=True))
    assert response.status_code == 302 and location_path(response) == "/admin/divisions"
    listing = client.get("/admin/divisions")
    assert "Division Electric Vehicle Parts saved." in flashes(listing)
    assert _row(listing, "Electric Vehicle Parts").startswith("EV Electric Vehicle Parts")
    user_form = form_with(client.get("/admin/users/new"), "email")
    assert "Electric Vehicle Parts" in [o.label for o in user_form.selects["division_id"]]
    hq = browser_as("hq.qa@example.com")
    assert "Electric Vehicle Parts" in [o.label for o in form_with(hq.get("/incidents/new"), "title").selects["division_id"]]
    assert fresh(sa.select(Division.code).where(Division.name == "Electric Vehicle Parts")) == "EV"

    link = re.search(r'<a href="(/admin/divisions/\d+)">Electric Vehicle Parts</a>', listing.get_data(as_text=True))
    assert link
    form = form_with(client.get(link.group(1)), "code")
    assert form.values["code"] == "EV"
    assert client.post(link.group(1), data=form.data(name="E-Mobility Components")).status_code == 302
    body = text(client.get("/admin/divisions"))
    assert "E-Mobility Components" in body and "Electric Vehicle Parts" not in body

    # A clash is refused and named.
    form = form_with(client.get("/admin/divisions/new"), "code")
    response = client.post("/admin/divisions/new", data=form.data(code="CM", name="Copy of cables"))
    assert response.status_code == 422
    assert form_with(response, "code").errors["code"] == "Another division already has this code."


def test_catalogue_category_and_product_create(login_as, browser_as):
    client = login_as("admin@example.com")
    index = client.get("/admin/catalogue/")
    assert index.status_code == 200 and "RS-FR95" in text(index)

    form = form_with(client.get("/admin/catalogue/categories/new"), "code")
    data = form.data(code="cables.ev", name="EV charging cables",
                     parent_id=form.option_value("parent_id", "Wires & cables"), active=True)
    response = client.post("/admin/catalogue/categories/new", data=data)
    assert response.status_code == 302 and location_path(response) == "/admin/catalogue/"
    index = client.get("/admin/catalogue/")
    assert "Category EV charging cables saved." in flashes(index)
    assert "Wires & cables › EV charging cables cables.ev" in text(index)

    form = form_with(client.get("/admin/catalogue/products/new"), "model")
    data = form.data(division_id=form.option_value("division_id", "Cable Materials"),
                     category_id=form.option_value("category_id", "EV charging cables"),
                     model="EVC-32A", name="Type 2 charging cable 32 A", active=True)
    response = client.post("/admin/catalogue/products/new", data=data)
    assert response.status_code == 302
    index = client.get("/admin/catalogue/")
    assert "Product EVC-32A saved." in flashes(index)
    assert "EVC-32A Type 2 charging cable 32 A Wires & cables › EV charging cables Cable Materials — active" in text(index)

    # The cable reporter can now file against it.
    cable = browser_as("cable.reporter@example.com")
    models = [o.label for o in form_with(cable.get("/incidents/new"), "title").selects["product_id"]]
    assert any("EVC-32A" in m for m in models)

    # The same model twice in one division is refused.
    response = client.post("/admin/catalogue/products/new", data=data)
    assert response.status_code == 422
    assert form_with(response, "model").errors["model"] == "This division already has a product with this model number."


def test_an_administrator_sets_the_countries_a_model_is_sold_in(login_as, demo, fresh):
    from qa_incidents.catalogue.models import Product
    from qa_incidents.core.audit import AuditEvent

    client = login_as("admin@example.com")
    product = demo.scalar(sa.select(Product).where(Product.model == "RS-FR95"))
    path = f"/admin/catalogue/products/{product.id}"
    form = form_with(client.get(path), "model")
    # the demo sells this model in Germany and the United Kingdom: the form shows them chosen
    assert sorted(o.label for o in form.selects["markets"] if o.selected) == ["Germany", "United Kingdom"]
    us, ca = form.option_value("markets", "United States"), form.option_value("markets", "Canada")
    response = client.post(path, data=form.data(markets=[us, ca]))
    assert response.status_code == 302
    assert "CA, US" in text(client.get("/admin/catalogue/"))
    assert fresh(sa.select(Product.markets).where(Product.id == product.id)) == "CA US"
    event = fresh(sa.select(AuditEvent).where(AuditEvent.entity_type == "product",
                                              AuditEvent.entity_id == product.id).order_by(AuditEvent.id.desc()))
    assert event.action == "updated" and event.changes["markets"][1] == "CA US"
    # the form shows the countries chosen
    shown = form_with(client.get(path), "model")
    assert sorted(o.label for o in shown.selects["markets"] if o.selected) == ["Canada", "United States"]
    # a code that is not a country is refused, with the other input kept
    response = client.post(path, data=shown.data(markets=["US", "XX"], name="Renamed fridge"))
    assert response.status_code == 422
    again = form_with(response, "model")
    assert again.errors["markets"]
    assert again.values["name"] == "Renamed fridge"
    assert fresh(sa.select(Product.markets).where(Product.id == product.id)) == "CA US"


def test_non_admins_are_refused(app, demo, browser_as):
    for email in ("reporter@example.com", "division.qa@example.com", "hq.qa@example.com", "executive@example.com",
                  "engineer@example.com"):
        client = browser_as(email)
        for path in ("/admin/users", "/admin/users/new", "/admin/users/1", "/admin/divisions",
                     "/admin/divisions/new", "/admin/catalogue/", "/admin/catalogue/products/new"):
            response = client.get(path)
            assert response.status_code == 403, (email, path)
            assert "Not allowed" in text(response)
        assert "Users" not in text(client.get("/account"))  # no admin links in the nav
