"""The benchmark's writing scenario posts what the filing form accepts (a refused post would measure nothing)."""

from __future__ import annotations

import sqlalchemy as sa
from view_helpers import csrf_token

from bench.run import incident_form
from qa_incidents.catalogue.models import Product
from qa_incidents.incidents.models import Incident


def test_the_bench_filing_is_accepted_and_files_an_incident(login_as, fresh):  # type: ignore[no-untyped-def]
    client = login_as("division.qa@example.com")
    before = fresh(sa.select(sa.func.count(Incident.id)))
    product = fresh(sa.select(Product).where(Product.model == "R-HW540"))
    form = incident_form(csrf_token(client, "/incidents/new"), str(product.division_id), str(product.id))
    response = client.post("/incidents/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert fresh(sa.select(sa.func.count(Incident.id))) == before + 1
    assert fresh(sa.select(Incident.title).order_by(Incident.id.desc()).limit(1)) == form["title"]


def test_the_bench_files_varied_reports_and_each_is_accepted(login_as, fresh):  # type: ignore[no-untyped-def]
    import random

    client = login_as("division.qa@example.com")
    before = fresh(sa.select(sa.func.count(Incident.id)))
    products = fresh(sa.select(Product).where(Product.model == "R-HW540"))
    rng = random.Random(3)
    forms = [incident_form(csrf_token(client, "/incidents/new"), str(products.division_id), str(products.id), rng)
             for _ in range(6)]
    for form in forms:
        response = client.post("/incidents/new", data=form)
        assert response.status_code == 302, (form, response.get_data(as_text=True)[-6000:])
    assert fresh(sa.select(sa.func.count(Incident.id))) == before + 6
    assert len({(f["title"], f["lot_numbers"], f["aware_at"]) for f in forms}) == 6  # no two alike
