"""The incident page lists the reporting obligations with their deadlines."""

from view_helpers import text


def test_incident_page_lists_obligations_with_deadline(browser_as):
    page = text(browser_as("division.qa@example.com").get("/incidents/1"))
    section = page.split("Regulator reporting obligations", 1)[1].split("Facts", 1)[0]
    assert "JP-CPSA-35" in section and "Applies: the reported harm (Fire)" in section
    assert "10 days counting the day of knowledge" in section


def test_not_triggered_obligations_say_why(browser_as):
    page = text(browser_as("division.qa@example.com").get("/incidents/3"))
    assert "US-CPSC-15B" in page and "Not triggered: the reported harm (Minor injury)" in page
