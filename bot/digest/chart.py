"""The digest's chart: each customer's downtime this period against its commitment and tiers.

One row per customer (at risk first, at most ``MAX_ROWS``), each on its own scale: a bar of
the downtime so far, and a line where each limit falls — the commitment and every credit
tier up to the next one not yet reached (a yearly contract's 80 % tier would flatten the
rest). Drawn with matplotlib's Agg backend (no display needed) to PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.digest.views import CustomerLine, Digest, Limit, Risk
from bot.reports.views import minutes_text
from bot.sla.credits import decimal_pct

MAX_ROWS = 12
COLOURS = {Risk.MISSED: "#d62828", Risk.AT_RISK: "#f77f00", Risk.ON_TRACK: "#2a9d8f"}


def _shown_limits(line: CustomerLine) -> list[Limit]:
    """The limits already crossed, and the next one."""
    down = line.downtime_minutes or 0
    shown = []
    for limit in line.limits:  # in order of minutes
        shown.append(limit)
        if limit.minutes > down:
            break
    return shown


def charted(digest: Digest) -> list[CustomerLine]:
    """The customers the chart shows: those whose uptime is measured, at risk first."""
    return [c for c in digest.customers if c.downtime is not None and c.limits][:MAX_ROWS]


def subtitle(line: CustomerLine) -> str:
    """``Acme Retail Inc. — November 2026 to 2026-11-20 04:00 EST: 2h down``: a period to
    a time names the customer's zone (the rows are of many zones)."""
    return f"{line.name} — {line.period}: {minutes_text(line.downtime_minutes or 0)} down"


def budget_chart(digest: Digest) -> bytes | None:
    """A PNG of the customers' downtime budgets; ``None`` when no customer's uptime is measured."""
    lines = charted(digest)
    if not lines:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = 1.0 + 0.85 * len(lines)  # inches
    figure = Figure(figsize=(8, height), dpi=100)
    axes: Sequence = figure.subplots(len(lines), 1, squeeze=False)[:, 0]
    figure.suptitle(
        f"Downtime this period against each contract's limits — {digest.week.label}",
        fontsize=11,
        x=0.02,
        ha="left",
    )
    for ax, line in zip(axes, lines, strict=True):
        down = float(line.downtime_minutes or 0)
        limits = _shown_limits(line)
        right = max([down, *(float(m.minutes) for m in limits)]) * 1.18 or 1.0
        ax.barh([0], [down], height=0.55, color=COLOURS[line.risk])
        for limit in limits:
            x = float(limit.minutes)
            ax.axvline(x, color="#333333", linewidth=1, linestyle="--")
            label = (
                f"{decimal_pct(limit.below)} commitment" if limit.credit_pct is None
                else f"<{decimal_pct(limit.below)}: {decimal_pct(limit.credit_pct)} credit"
            )  # fmt: skip
            ax.text(x, 0.42, f" {label}", fontsize=7, va="bottom", ha="left", color="#333333")
        ax.set_xlim(0, right)
        ax.set_ylim(-0.5, 0.9)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(subtitle(line), fontsize=8, loc="left")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlabel("downtime minutes", fontsize=8)
    # Fixed margins: tight_layout would draw the figure twice for the same result.
    figure.subplots_adjust(
        left=0.03, right=0.97, bottom=0.5 / height, top=1 - 0.6 / height, hspace=0.9
    )
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
