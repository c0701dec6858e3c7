"""The incident page lists the reporting obligations with their deadlines."""

from view_helpers import text


def test_incident_page_lists_obligations_with_deadline(browser_as):
    page = text(browser_as("division.qa@example.com").get("/incidents/1"))
    section = page.split("Regulator reporting obligations", 1)[1].split("Facts", 1)[0]
    assert "JP-CPSA-35" in section and "is a serious product accident" in section and "第35条" in section
    assert "10 days counting the day of knowledge" in section


def test_obligations_to_decide_say_what_the_law_asks(browser_as):
    page = text(browser_as("division.qa@example.com").get("/incidents/3"))
    # a minor injury in the US: CPSA §15(b) asks for a judgement, with its citation
    assert "US-CPSC-15B" in page and "To decide: decide whether the information reasonably supports" in page
    assert "15 U.S.C. 2064(b)" in page


def test_an_obligation_reaching_through_a_market_says_where_the_product_is_sold(browser_as, demo):
    import sqlalchemy as sa

    from qa_incidents.incidents.models import Incident

    fire = demo.scalar(sa.select(Incident).where(Incident.title.contains("Refrigerator caught fire")))
    fire.product.markets = "CA JP"
    fire.serious_injuries, fire.injury_care = 1, "thirty_days"
    demo.commit()
    page = text(browser_as("division.qa@example.com").get(f"/incidents/{fire.id}"))
    section = page.split("Regulator reporting obligations", 1)[1].split("Facts", 1)[0]
    row = section.split("CA-CCPSA-14-2", 1)[1].split("JP-CPSA-35", 1)[0] if "CA-CCPSA-14-2" in section else ""
    assert "sold in CA" in row
    assert "sold in JP" not in section  # the country where it happened is not a market abroad
