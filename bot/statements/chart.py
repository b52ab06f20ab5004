"""A statement's downtime chart as inline SVG: one bar per day (or month), downtime in red
with the excluded time stacked above it in grey, on a scale of minutes.

Plain SVG elements only (no script, no external font or image), so the HTML stays one file
and prints the same in any browser and in the PDF engine.
"""

from __future__ import annotations

import math
from fractions import Fraction
from html import escape

from bot.reports.statement import DowntimeChart
from bot.statements import words

WIDTH, HEIGHT = 680, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 14, 40
DOWN, EXCLUDED, GRID, INK, FUTURE = "#c1121f", "#adb5bd", "#dee2e6", "#343a40", "#f1f3f5"


def _scale_top(largest: float) -> tuple[float, float]:
    """A round top of the scale at or above ``largest`` minutes, and its step: the smallest
    step of 1, 2 or 5 × 10ⁿ minutes that needs at most five gridlines."""
    if largest <= 0:
        return 60.0, 15.0
    steps = sorted(m * 10.0**k for k in range(-1, 9) for m in (1, 2, 5))
    step = next(s for s in steps if math.ceil(largest / s) <= 5)
    return math.ceil(largest / step) * step, step


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def downtime_svg(chart: DowntimeChart, zone: str) -> str:
    """The chart as an ``<svg>`` element with a text alternative for screen readers."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    largest = max((float(b.downtime + b.excluded) for b in chart.bars), default=0.0)
    top, step = _scale_top(largest)
    slot = plot_w / len(chart.bars)
    bar_w = max(slot * 0.7, 1.0)
    base = TOP + plot_h

    def y(value: Fraction | float) -> float:
        return base - float(value) / top * plot_h

    down_days = [
        f"{words.bar_name(chart, b.start, zone)}: {words.minutes(b.downtime)} min"
        for b in chart.bars
        if b.downtime
    ]
    summary = f"{words.chart_title(chart, zone)}: " + (
        "; ".join(down_days) if down_days else "no downtime"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(summary)}" class="chart">',
        f"<title>{escape(summary)}</title>",
    ]
    tick = 0.0
    while tick <= top + 1e-9:
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{ty + 3:.1f}" text-anchor="end" font-size="9" '
            f'fill="{INK}">{_number(tick)}</text>'
        )
        tick += step
    parts.append(
        f'<text x="10" y="{TOP + plot_h / 2:.1f}" font-size="9" fill="{INK}" '
        f'transform="rotate(-90 10 {TOP + plot_h / 2:.1f})" text-anchor="middle">minutes</text>'
    )
    for index, bar in enumerate(chart.bars):
        x = LEFT + index * slot + (slot - bar_w) / 2
        name = escape(words.bar_name(chart, bar.start, zone))
        if not bar.known:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - 2:.1f}" width="{bar_w:.1f}" height="2" '
                f'fill="{FUTURE}"><title>{name}: not yet</title></rect>'
            )
        if bar.downtime:
            h = base - y(bar.downtime)
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{DOWN}"><title>{name}: {words.minutes(bar.downtime)} min down'
                "</title></rect>"
            )
        if bar.excluded:
            below = base - y(bar.downtime)
            h = base - y(bar.excluded)
            parts.append(
                f'<rect x="{x:.1f}" y="{base - below - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{EXCLUDED}"><title>{name}: '
                f"{words.minutes(bar.excluded)} min excluded</title></rect>"
            )
        every = 1 if len(chart.bars) <= 12 else 2
        if index % every == 0 or bar.downtime or bar.excluded:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{base + 12:.1f}" text-anchor="middle" '
                f'font-size="8.5" fill="{INK}">'
                f"{escape(words.bar_label(chart, bar.start, zone))}</text>"
            )
    parts.append(
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    legend_y = HEIGHT - 10
    parts.append(
        f'<rect x="{LEFT}" y="{legend_y - 8}" width="10" height="10" fill="{DOWN}"/>'
        f'<text x="{LEFT + 14}" y="{legend_y}" font-size="9" fill="{INK}">downtime</text>'
        f'<rect x="{LEFT + 80}" y="{legend_y - 8}" width="10" height="10" fill="{EXCLUDED}"/>'
        f'<text x="{LEFT + 94}" y="{legend_y}" font-size="9" fill="{INK}">'
        "excluded (maintenance announced in time, outages marked excluded)</text>"
    )
    if not largest:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">No downtime</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
