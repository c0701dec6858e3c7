"""Server-drawn SVG line charts: no JavaScript, no inline styles (the CSP allows neither), accessible.

A chart is an `<svg role="img">` with a title and a description; each chart is meant to be
shown beside the table or CSV it was drawn from, so the numbers are never only in a picture.

    svg = line_chart([Series("Remedied", [(date(2026, 3, 1), 0), ...])], title="Completion",
                     target=Target("Target 90 %", 9000), y_label="units")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from qa_incidents.core import csvsafe

#: Colour-blind-safe line colours (Okabe–Ito), used in turn.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[date, float]]


@dataclass(frozen=True)
class Target:
    """A horizontal line: the value the series should reach."""

    name: str
    value: float


def _nice_max(value: float) -> float:
    """A round number at or above value, for the top of the y axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


#: The room between two date labels' anchors on the x axis: a label ("2026-11-23", 11 px type) is about 66 px wide;
#: the first is anchored at its start and the last at its end, so neighbours need one and a half widths, and a gap.
TICK_SPACING = 104


def _date_ticks(d0: date, d1: date, plot_w: float) -> list[date]:
    """Dates from the first to the last, a whole number of days apart, as many as fit without overlapping labels."""
    span = (d1 - d0).days
    if span <= 0:
        return [d0]
    per_day = plot_w / span
    step = max(1, math.ceil(TICK_SPACING / per_day))
    inner = [d0 + timedelta(days=k) for k in range(0, span, step) if (span - k) * per_day >= TICK_SPACING]
    return [*inner, d1] if inner else [d0, d1] if span * per_day >= TICK_SPACING else [d1]


def line_chart(series: Sequence[Series], *, title: str, description: str = "", target: Target | None = None,
               y_label: str = "", width: int = 720, height: int = 300, chart_id: str = "chart") -> Markup:
    """An SVG line chart of dated series, with an optional target line; safe to put in a template as is."""
    left, right, top, bottom = 64, 16, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [d for s in series for d, _ in s.points]
    values = [v for s in series for _, v in s.points]
    y_max = _nice_max(max([*values, target.value if target else 0, 1]))
    d0 = min(days) if days else date.today()
    d1 = max(days) if days else d0
    span = max((d1 - d0).days, 1)

    def x(d: date) -> float:
        return left + plot_w * (d - d0).days / span

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-labelledby="{title_id} {desc_id}">',
           f'<title id="{title_id}">{escape(title)}</title>',
           f'<desc id="{desc_id}">{escape(description)}</desc>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for i in range(5):  # grid and y ticks
        v = y_max * i / 4
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" stroke="#dddddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#333333">'
                   f'{escape(_number(v))}</text>')
    for d in _date_ticks(d0, d1, plot_w):
        anchor = "start" if d == d0 else "end" if d == d1 else "middle"  # the ends stay inside the chart
        out.append(f'<text x="{x(d):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" font-size="11" '
                   f'fill="#333333">{escape(d.isoformat())}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333333"/>')
    if y_label:
        out.append(f'<text x="14" y="{top + plot_h / 2:.1f}" transform="rotate(-90 14 {top + plot_h / 2:.1f})" '
                   f'text-anchor="middle" font-size="11" fill="#333333">{escape(y_label)}</text>')
    if target is not None:
        ty = y(target.value)
        out.append(f'<line class="target" x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
                   f'stroke="#D55E00" stroke-width="2" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{width - right - 4}" y="{ty - 6:.1f}" text-anchor="end" font-size="12" '
                   f'fill="#A04000">{escape(target.name)}</text>')
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        if not s.points:
            continue
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in s.points)
        out.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2.5" points="{path}">'
                   f'<title>{escape(s.name)}</title></polyline>')
        last_d, last_v = s.points[-1]
        out.append(f'<circle cx="{x(last_d):.1f}" cy="{y(last_v):.1f}" r="3.5" fill="{colour}"/>')
        out.append(f'<text x="{left + 8}" y="{top + 14 + 16 * n}" font-size="12" fill="{colour}">'
                   f'{escape(s.name)}: {escape(_number(last_v))}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # nosec B704: every text part above is escaped


def csv_text(series: Sequence[Series], *, date_header: str = "date") -> str:
    """The data behind a chart as CSV: one row per date, one column per series."""
    days = sorted({d for s in series for d, _ in s.points})
    lookup = [{d: v for d, v in s.points} for s in series]
    rows = [[d.isoformat(), *("" if d not in m else _number(m[d]).replace(",", "") for m in lookup)] for d in days]
    return csvsafe.text([date_header, *(s.name for s in series)], rows, lineterminator="\n")
