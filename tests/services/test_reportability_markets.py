"""Obligations that reach an incident abroad through the countries the product is sold in, where the law says so."""

from __future__ import annotations

import sqlalchemy as sa

from qa_incidents.incidents.models import Incident
from qa_incidents.notifications.obligations import Verdict
from qa_incidents.notifications.service import obligations_for, obligations_shown


def fire_in_japan(session):
    return session.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))


def test_ccpsa_s14_1_a_reaches_an_occurrence_elsewhere_for_a_product_sold_in_canada(demo):
    fire = fire_in_japan(demo)
    fire.product.markets = "CA US JP"
    fire.serious_injuries, fire.injury_care = 1, "thirty_days"
    found = {o.obligation.regime_code: o for o in obligations_for(demo, fire)}
    # CCPSA s.14(1)(a): "an occurrence in Canada or elsewhere"; CPSA §15(b) is not marked to reach events abroad
    assert found["CA-CCPSA-14-2"].via_market == "CA"
    assert found["CA-CCPSA-14-2"].assessment.verdict == Verdict.APPLIES and found["CA-CCPSA-14-2"].deadline is not None
    assert "US-CPSC-15B" not in found
    assert found["JP-CPSA-35"].via_market == ""
    # the page's remembered map gives the same
    shown = {o.obligation.regime_code: o.via_market for o in obligations_shown(demo, fire)}
    assert shown.get("CA-CCPSA-14-2") == "CA" and "US-CPSC-15B" not in shown
    demo.rollback()


def test_without_markets_only_the_country_of_occurrence_reaches(demo):
    fire = fire_in_japan(demo)
    fire.product.markets = ""
    assert [o.obligation.regime_code for o in obligations_for(demo, fire)] == ["JP-CPSA-35"]
    demo.rollback()
