"""Server-drawn SVG bar and Pareto charts (no script, no inline style), each built from the table it shows.

Line charts are in `qa_incidents/core/svgchart.py`; these follow the same conventions: `role="img"`,
a title and description, colour-blind-safe colours, and the numbers always also in a table and CSV.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from qa_incidents.core import csvsafe
from qa_incidents.core.svgchart import COLOURS, _nice_max, _number


@dataclass
class Chart:
    """One chart: its table (columns, rows) and its picture."""

    name: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[object]]
    svg: Markup = Markup("")
    notes: list[str] = field(default_factory=list)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csvsafe.Writer(out)
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
              description: str = "", stacked: bool = True, width: int = 720, height: int = 300,
              chart_id: str = "bars", line: tuple[str, Sequence[float]] | None = None) -> Markup:
    """Vertical bars per category, one colour per series (stacked or side by side); an optional line in
    percent (0–100) on a right-hand axis, as a Pareto chart's cumulative share."""
    left, right, top, bottom = 56, 44 if line else 16, 24, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(categories), 1)
    totals = [sum(s[1][i] for s in series) for i in range(len(categories))] if stacked else \
        [max((s[1][i] for s in series), default=0) for i in range(len(categories))]
    y_max = _nice_max(max([*totals, 1]))
    slot = plot_w / n
    bar_w = slot * 0.7 / (1 if stacked else max(len(series), 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="{title_id} {desc_id}">',
           f'<title id="{title_id}">{escape(title)}</title><desc id="{desc_id}">{escape(description)}</desc>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for i in range(5):
        v = y_max * i / 4
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" stroke="#dddddd"/>'
                   f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#333333">'
                   f'{escape(_number(v))}</text>')
    for i, category in enumerate(categories):
        x0 = left + slot * i + slot * 0.15
        base = 0.0
        for k, (name, values) in enumerate(series):
            v = values[i]
            if v <= 0:
                continue
            colour = COLOURS[k % len(COLOURS)]
            x = x0 if stacked else x0 + bar_w * k
            y_top, y_bottom = (y(base + v), y(base)) if stacked else (y(v), y(0))
            out.append(f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}" '
                       f'fill="{colour}"><title>{escape(category)} · {escape(name)}: {escape(_number(v))}</title></rect>')
            if stacked:
                base += v
        label = category if len(category) <= 14 else category[:13] + "…"
        cx = left + slot * i + slot / 2
        out.append(f'<text x="{cx:.1f}" y="{height - bottom + 14}" text-anchor="end" font-size="10" fill="#333333" '
                   f'transform="rotate(-35 {cx:.1f} {height - bottom + 14})">{escape(label)}</text>')
    if line:
        name, values = line
        points = " ".join(f"{left + slot * i + slot / 2:.1f},{top + plot_h * (1 - v / 100):.1f}"
                          for i, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="#333333" stroke-width="2">'
                   f'<title>{escape(name)}</title></polyline>')
        for pct in (0, 50, 80, 100):
            out.append(f'<text x="{width - right + 4}" y="{top + plot_h * (1 - pct / 100) + 4:.1f}" font-size="10" '
                       f'fill="#333333">{pct}%</text>')
    legend_x = left
    for k, (name, _values) in enumerate(series):
        if len(series) == 1 and not line:
            break
        out.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{COLOURS[k % len(COLOURS)]}"/>'
                   f'<text x="{legend_x + 14}" y="15" font-size="11" fill="#333333">{escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    out.append("</svg>")
    return Markup("".join(out))  # nosec B704: every text part above is escaped
