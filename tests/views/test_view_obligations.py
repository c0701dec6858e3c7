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
