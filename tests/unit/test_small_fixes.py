"""Small things users see: chart axis labels that do not overlap, a country list of countries only."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from qa_incidents.core.countries import country_names
from qa_incidents.core.svgchart import Series, line_chart

LABEL_WIDTH = 11 * 0.6 * 10  # ten characters of 11 px type, generously


def _label_spans(svg: str) -> list[tuple[float, float]]:
    spans = []
    for x, anchor in re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="(start|middle|end)"[^>]*>\d{4}-\d\d-\d\d<', svg):
        left = float(x) - {"start": 0, "middle": LABEL_WIDTH / 2, "end": LABEL_WIDTH}[anchor]
        spans.append((left, left + LABEL_WIDTH))
    return sorted(spans)


@pytest.mark.parametrize("days", [1, 3, 9, 40, 400])
def test_completion_chart_date_labels_do_not_overlap_and_stay_inside(days):
    start = date(2026, 1, 5)
    series = [Series("Remedied", [(start + timedelta(days=d), d * 10) for d in range(days + 1)]),
              Series("Notified", [(start + timedelta(days=d), d * 20) for d in range(0, days + 1, max(days // 3, 1))])]
    svg = str(line_chart(series, title="Completion"))
    spans = _label_spans(svg)
    assert len(spans) >= 2
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
    assert spans[0][0] >= 0 and spans[-1][1] <= 720


def test_country_list_holds_no_pseudo_regions():
    names = country_names("en")
    assert "XA" not in names and "XB" not in names
    assert not [n for n in names.values() if n.startswith("Pseudo")]
    assert names["JP"] == "Japan"
