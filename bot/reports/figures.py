"""A customer's figures for one contract period (downtime, uptime, credits), before and
after a correction of the record, for the weekly digest to flag.

A digest shows each customer's running period to date and the periods that closed in its
week; once a digest has been delivered after a period began, that period's figures are
"already reported". A correction that may change them stores the figures it found just
before (``storage.models.CorrectedPeriod``); the next digest computes them again and says
what changed, who corrected it and why. The figures come from ``customer_report``, the one
computation every report uses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.reports.service import _running_kind as period_kind
from bot.reports.service import customer_report
from bot.reports.views import CustomerReport
from bot.sla.clocks import WallClock
from bot.sla.credits import decimal_pct, money, period_name
from bot.sla.uptime import Interval, periods_between
from bot.text import format_span
from config.policy import Customer
from storage import digests, queries

_WALL = WallClock()


@dataclass(frozen=True)
class Figures:
    """What a report says of one customer's period, as far as a correction can move it."""

    downtime: Fraction | None
    """Minutes of downtime (``None``: the contract measures no uptime)."""
    uptime_pct: Fraction | None
    credit: Decimal | None
    """Owed for the period in ``currency``; ``None`` without a fee on file."""
    currency: str | None
    percents: tuple[Decimal, ...]
    """Each credit line's percentage of the fee."""

    @classmethod
    def of(cls, report: CustomerReport) -> Figures:
        up = report.uptime
        return cls(
            downtime=None if up is None else up.downtime_minutes,
            uptime_pct=None if up is None else up.uptime_pct,
            credit=report.credit_amount,
            currency=report.currency,
            percents=tuple(line.percent for line in report.credits),
        )

    def as_json(self) -> dict[str, Any]:
        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            "downtime_minutes": text(self.downtime),
            "uptime_pct": text(self.uptime_pct),
            "credit": text(self.credit),
            "currency": self.currency,
            "percents": [str(p) for p in self.percents],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figures:
        def fraction(value: str | None) -> Fraction | None:
            return None if value is None else Fraction(value)

        return cls(
            downtime=fraction(data.get("downtime_minutes")),
            uptime_pct=fraction(data.get("uptime_pct")),
            credit=None if data.get("credit") is None else Decimal(data["credit"]),
            currency=data.get("currency"),
            percents=tuple(Decimal(p) for p in data.get("percents") or ()),
        )


def changed_text(before: Figures, after: Figures) -> str:
    """``downtime 1h 30m → 2h, credit 200.00 → 400.00 EUR``: the figures that differ."""
    parts = []
    if before.downtime != after.downtime and after.downtime is not None:
        old = format_span(dt.timedelta(minutes=float(before.downtime or 0)))
        new = format_span(dt.timedelta(minutes=float(after.downtime)))
        parts.append(f"downtime {old} → {new}")
    if before.credit != after.credit and after.credit is not None and before.credit is not None:
        parts.append(f"credit {money(before.credit)} → {money(after.credit)} {after.currency}")
    elif before.percents != after.percents:

        def pcts(values: tuple[Decimal, ...]) -> str:
            return " + ".join(decimal_pct(p) for p in values) or "none"

        parts.append(f"credit {pcts(before.percents)} → {pcts(after.percents)} of the fee")
    return ", ".join(parts)


# --- which periods a correction touches ------------------------------------------------------


def _label(customer: Customer, period: Interval) -> str:
    local = period[0].astimezone(ZoneInfo(customer.zone))
    return f"{local:%Y}" if period_kind(customer) == "year" else f"{local:%Y-%m}"


def shown_periods(
    ctx: Context,
    customer_ids: Collection[str] | None,
    instants: Iterable[dt.datetime],
) -> list[tuple[Customer, Interval]]:
    """The contract periods of these customers (``None``: every customer) that facts at
    ``instants`` feed, among those a weekly digest has already shown: a digest was
    delivered after the period began. A refund rule's window reaches into the periods after
    (a failure counts towards the ones that follow it within 28 days)."""
    found = sorted(instants)
    if not found:
        return []
    with ctx.db.read() as session:
        shown_until = digests.last_sent(session)
    if shown_until is None:
        return []
    registry = ctx.contracts.customers
    customers = (
        list(registry.values())
        if customer_ids is None
        else [registry[c] for c in customer_ids if c in registry]
    )
    wanted = []
    for customer in customers:
        policy = customer.policy
        reach = max((_WALL.length(r.within) for r in policy.refunds), default=dt.timedelta(0))
        start, end = found[0], found[-1] + reach + dt.timedelta(microseconds=1)
        for period in periods_between(period_kind(customer), start, end, customer.zone):
            if period[0] <= shown_until:
                wanted.append((customer, period))
    return wanted


def figures(
    ctx: Context, periods: Sequence[tuple[Customer, Interval]]
) -> dict[tuple[str, dt.datetime], Figures]:
    """The figures of each customer's period, by ``(customer id, period start)``: one report
    per period asked for (every customer at once when more than one is asked)."""
    by_label: dict[str, set[str]] = defaultdict(set)
    for customer, period in periods:
        by_label[_label(customer, period)].add(customer.id)
    found: dict[tuple[str, dt.datetime], Figures] = {}
    for label, ids in by_label.items():
        only = next(iter(ids)) if len(ids) == 1 else None
        for report in customer_report(ctx, label, only).customers:
            if report.customer in ids:
                found[(report.customer, report.period_start)] = Figures.of(report)
    return {key: found[key] for key in ((c.id, p[0]) for c, p in periods) if key in found}


# --- what the digest says ----------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectedFigures:
    """A period already shown in a digest whose figures corrections changed since."""

    customer: str
    name: str
    period: str
    """``October 2026``."""
    before: Figures
    """As the last digest could have shown them: before the first of ``corrections``."""
    after: Figures
    corrections: tuple[tuple[str, str, str | None], ...]
    """``(incident ref, who, why)`` of each correction, in order."""

    def text(self, who: Callable[[str], str] = str) -> str:
        """``Acme Retail Inc., October 2026: downtime 1h 30m → 2h, credit 200.00 → 400.00
        USD, corrected by U1 (INC-4: restore time was wrong)``."""
        by = " and ".join(
            f"{who(actor)} ({ref}: {reason})" if reason else f"{who(actor)} ({ref})"
            for ref, actor, reason in self.corrections
        )
        return f"{self.name}, {self.period}: {changed_text(self.before, self.after)}, corrected by {by}"


def corrected_since_digest(ctx: Context, week: str, now: dt.datetime) -> list[CorrectedFigures]:
    """What ``week``'s digest flags: corrections made since a digest of an earlier week was
    last delivered (a digest sent again says the same), up to ``now``."""
    with ctx.db.read() as session:
        since = digests.last_sent(session, before_week=week)
    return corrected_since(ctx, since, now)


def corrected_since(
    ctx: Context, since: dt.datetime | None, until: dt.datetime
) -> list[CorrectedFigures]:
    """The periods corrected in ``(since, until]`` whose figures differ now from those found
    before the first of those corrections, in order of the first."""
    with ctx.db.read() as session:
        rows = queries.corrected_periods(session, since, until)
    if not rows:
        return []
    grouped: dict[tuple[str, dt.datetime], list] = {}
    for row, ref in rows:
        grouped.setdefault((row.customer_id, row.period_start), []).append((row, ref))
    registry = ctx.contracts.customers
    periods = [
        (registry[customer], (start, group[0][0].period_end))
        for (customer, start), group in grouped.items()
        if customer in registry
    ]
    now = figures(ctx, periods)
    found = []
    for customer, period in periods:
        group = grouped[(customer.id, period[0])]
        before = Figures.from_json(group[0][0].before)
        after = now.get((customer.id, period[0]))
        if after is None or not changed_text(before, after):
            continue
        found.append(
            CorrectedFigures(
                customer=customer.id,
                name=customer.name,
                period=period_name(period, customer.zone),
                before=before,
                after=after,
                corrections=tuple((ref, row.actor, row.reason) for row, ref in group),
            )
        )
    return found
