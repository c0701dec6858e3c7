"""CSV formula injection: every CSV the application writes keeps a formula-like text as text (OWASP's rule: a cell
starting with =, +, -, @, a tab or a carriage return gets a leading apostrophe), export by export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import sqlalchemy as sa

from qa_incidents.api import exports, importer
from qa_incidents.core import csvsafe
from qa_incidents.incidents.models import Incident

ATTACK = "-2+3+cmd|' /C calc'!A0"
STARTS = ["=1+1", "+1+cmd|' /C calc'!A0", ATTACK, "@SUM(A1)", "\t=1", "\r=1"]


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) for cell in row]


def _assert_no_formula(text: str, expected: str = ATTACK) -> None:
    cells = _cells(text)
    assert "'" + expected in cells, cells[:40]
    assert not [c for c in cells if c[:1] in csvsafe.FORMULA_STARTS], "a cell a spreadsheet would run as a formula"


@pytest.mark.parametrize("value", STARTS)
def test_every_formula_start_is_neutralised_and_restored(value):  # type: ignore[no-untyped-def]
    assert csvsafe.neutralise(value) == "'" + value
    assert csvsafe.restore(csvsafe.neutralise(value)) == value
    assert csvsafe.neutralise(-5) == -5 and csvsafe.neutralise("A-1") == "A-1"  # numbers and plain text unchanged


@pytest.fixture
def hostile(demo):  # type: ignore[no-untyped-def]
    """The demo data with the recalls and lessons, every title an injection attempt."""
    from datetime import timedelta

    from qa_incidents.accounts.models import User
    from qa_incidents.incidents import workflow
    from qa_incidents.incidents.rules import Severity
    from qa_incidents.recalls.models import RecallCampaign
    from qa_incidents.recalls.seed import seed_demo
    from qa_incidents.reviews import lessons
    from qa_incidents.reviews.models import Lesson
    from qa_incidents.seed import DEMO_PASSWORD

    def user(email: str) -> User:
        return demo.scalar(sa.select(User).where(User.email == email))

    heater = demo.scalar(sa.select(Incident).where(Incident.title == "Suspected CO release from fan heater"))
    now = demo.scalar(sa.select(sa.func.max(Incident.created_at))) + timedelta(hours=1)
    workflow.triage(demo, user=user("division.qa@example.com"), incident_id=heater.id, severity=Severity.S1,
                    override_reason="", now=now)
    workflow.request_escalation(demo, user=user("division.qa@example.com"), incident_id=heater.id, reason="CO.",
                                now=now)
    workflow.decide_escalation(demo, user=user("hq.qa@example.com"), incident_id=heater.id, approve=True,
                               password=DEMO_PASSWORD, comment="Go.", now=now)  # its notification records derived
    seed_demo(demo)
    lessons.import_rows(demo, lessons.read_sample()[:5], now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    for model in (Incident, RecallCampaign, Lesson):
        demo.execute(sa.update(model).values(title=ATTACK))
    demo.commit()
    return demo


@pytest.mark.parametrize("kind", ["register", "deadlines", "recalls", "lessons"])
def test_exports_neutralise_formulas(hostile, demo_user, kind):  # type: ignore[no-untyped-def]
    user = demo_user("engineer@example.com" if kind == "lessons" else "hq.qa@example.com")
    body = exports.render(kind, "csv", session=hostile, user=user).decode("utf-8")
    _assert_no_formula(body)


def test_recall_json_export_carries_dates(hostile, demo_user):  # type: ignore[no-untyped-def]
    """A campaign's target date (a date, not a datetime) was "not JSON serializable"."""
    from qa_incidents.recalls.models import RecallCampaign

    hostile.execute(sa.update(RecallCampaign).values(target_date=date(2027, 3, 31)))
    hostile.commit()
    items = json.loads(exports.render("recalls", "json", session=hostile, user=demo_user("hq.qa@example.com")))["items"]
    assert items and {i["target_date"] for i in items} == {"2027-03-31"}


def test_laws_map_export_neutralises_and_reads_back(demo):  # type: ignore[no-untyped-def]
    from qa_incidents.laws import transfer
    from qa_incidents.laws.models import Law
    from qa_incidents.laws.seed import load_laws

    if demo.scalar(sa.select(sa.func.count(Law.id))) == 0:
        load_laws(demo, now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    demo.execute(sa.update(Law).where(Law.id == demo.scalar(sa.select(sa.func.min(Law.id)))).values(notes=ATTACK))
    demo.commit()
    text = transfer.export_csv(demo)
    _assert_no_formula(text)
    items = transfer._items_from_csv(text)
    assert any(item.raw.get("notes") == ATTACK for item in items)  # the apostrophe is taken off again


def test_import_report_neutralises():  # type: ignore[no-untyped-def]
    report = importer.ImportReport(rejected=[importer.Rejection(2, ATTACK, "=HYPERLINK(\"http://x\")")])
    _assert_no_formula(importer.rejected_csv(report))


def test_dashboard_chart_csv_neutralises():  # type: ignore[no-untyped-def]
    from qa_incidents.core.charts import Chart

    chart = Chart(name="pareto", title="t", description="", columns=["category", "count"], rows=[[ATTACK, 3]])
    _assert_no_formula(chart.csv())


def test_recall_progress_csv_neutralises():  # type: ignore[no-untyped-def]
    from qa_incidents.core import svgchart

    _assert_no_formula(svgchart.csv_text([svgchart.Series(ATTACK, [(date(2026, 1, 4), 5)])]))
