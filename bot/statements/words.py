"""How a statement says its values, the same in every format: times in the customer's zone,
minutes, amounts, percentages and the contract's terms in words."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.reports.statement import DowntimeChart, ExclusionLine, ResponseLine, Statement
from bot.reports.views import amount_text
from bot.sla.credits import CreditLine, claim_expired, decimal_pct, pct_text
from bot.text import format_local, format_span
from config.policy import DURATION_UNITS, ClockKind, Duration, Policy

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_THOUSANDTH = Decimal("0.001")


def when(instant: dt.datetime | None, zone: str, *, missing: str = "—") -> str:
    """``Mon 2026-10-12 15:50 CEST``: an instant in the customer's zone."""
    return missing if instant is None else format_local(instant, zone)


def at(instant: dt.datetime | None, zone: str, *, missing: str = "—") -> str:
    """``2026-10-12 15:50 CEST``: an instant in a table (the zone's abbreviation tells the
    two 02:30s apart on the night the clocks go back)."""
    if instant is None:
        return missing
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def words_for(value: Duration) -> str:
    """``30 days``, ``24 hours``, ``4 business hours``: a contract's duration in words."""
    unit = DURATION_UNITS[value.unit]
    return f"{value.amount} {unit[:-1] if value.amount == 1 else unit}"


def target(line: ResponseLine) -> str:
    """``4 business hours``; ``30 minutes, around the clock`` for a 24x7 target."""
    if line.target.is_business_unit:
        return words_for(line.target)
    if line.clock is ClockKind.BUSINESS:
        return f"{words_for(line.target)} of business time"
    return f"{words_for(line.target)}, around the clock"


def day(value: dt.date) -> str:
    """``30 November 2026``."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def minutes(value: Fraction) -> str:
    """``44,700``, ``44.7``: minutes to at most three decimals (half-up), thousands grouped."""
    exact = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        _THOUSANDTH, rounding=ROUND_HALF_UP
    )
    whole, _, decimals = f"{exact:,.3f}".partition(".")
    decimals = decimals.rstrip("0")
    return f"{whole}.{decimals}" if decimals else whole


def span(value: dt.timedelta) -> str:
    """``5h 30m``."""
    return format_span(value)


def total(value: dt.timedelta) -> str:
    """``3h 20m``, or ``none``: a period's downtime or excluded time."""
    return format_span(value) if value else "none"


def uptime(statement: Statement) -> str:
    up = statement.figures.uptime
    return "—" if up is None else pct_text(up.uptime_pct)


def owed(statement: Statement) -> str:
    """What the period owes, all credits together: an amount, or shares of the fee."""
    figures = statement.figures
    if not figures.credits:
        return "none"
    amount = figures.credit_amount
    if amount is None:
        return " + ".join(f"{decimal_pct(c.percent)} of the {c.fee} fee" for c in figures.credits)
    return amount_text(amount, figures.currency)


def credit_amount(statement: Statement, index: int) -> str:
    line = statement.credits[index].line
    if line.amount is None:
        return "— (no fee on file)"
    return amount_text(line.amount, statement.figures.currency)


def period_title(statement: Statement) -> str:
    """``October 2026``, ``2026 through 2026-10-31``: what the figures cover."""
    return statement.figures.period_text()


def chart_title(chart: DowntimeChart, zone: str) -> str:
    start = chart.span[0].astimezone(ZoneInfo(zone))
    if chart.unit == "day":
        return f"Downtime per day, {MONTHS[start.month - 1]} {start.year}"
    return f"Downtime per month, {start.year}"


def bar_label(chart: DowntimeChart, start: dt.datetime, zone: str) -> str:
    """``12`` for a day, ``Oct`` for a month."""
    local = start.astimezone(ZoneInfo(zone))
    return str(local.day) if chart.unit == "day" else MONTHS[local.month - 1][:3]


def bar_name(chart: DowntimeChart, start: dt.datetime, zone: str) -> str:
    """``12 October 2026`` for a day, ``October 2026`` for a month."""
    local = start.astimezone(ZoneInfo(zone))
    if chart.unit == "day":
        return day(local.date())
    return f"{MONTHS[local.month - 1]} {local.year}"


def running(statement: Statement) -> str:
    """What the figures of a period not yet over mean."""
    figures, zone = statement.figures, statement.zone
    if figures.until < statement.as_of:  # a yearly contract's year to date, asked for a month
        return (
            f"These are the year's figures to date: they count up to "
            f"{when(figures.until, zone)}, with the whole year's minutes available."
        )
    return (
        f"The period is still running: these figures count up to {when(figures.until, zone)} "
        "and read “if nothing else goes down”."
    )


def why(line: ExclusionLine) -> str:
    """Why an exclusion takes time out of downtime, or why a maintenance window does not."""
    if line.kind == "outage":
        return f"marked excluded: {line.reason}"
    notice = line.notice
    if notice is None:
        return "the contract does not exclude maintenance: an outage during it is downtime"
    if notice.amount == 0:
        if line.excluded:
            return "scheduled maintenance: announced before it began"
        return "announced only after it began, so not scheduled: an outage during it is downtime"
    if line.excluded:
        return f"planned maintenance announced at least {words_for(notice)} ahead, as agreed"
    return (
        f"announced less than the agreed {words_for(notice)} ahead: an outage during it is downtime"
    )


def response_result(line: ResponseLine) -> str:
    if line.missed:
        return "missed"
    return "open" if line.open else "met"


def commitment(policy: Policy, zone: str) -> str | None:
    """``99.9 % of every minute of each calendar month, in Europe/Copenhagen``."""
    terms = policy.uptime
    if terms is None:
        return None
    return (
        f"{decimal_pct(terms.commitment)} of every minute of each calendar {terms.period}, "
        f"in {zone}"
    )


def contract_terms(policy: Policy) -> list[tuple[str, str]]:
    """The contract's credit terms as (what, the contract's words and clause) pairs."""
    terms: list[tuple[str, str]] = []
    up = policy.uptime
    if up is not None:
        fee = "monthly" if up.period == "month" else "annual"
        tiers = "; ".join(
            f"below {decimal_pct(t.below)}: {decimal_pct(t.percent)} of the {fee} fee"
            for t in up.credits
        )
        terms.append(("Uptime credits", (tiers or "none") + cited(up.clause)))
        maintenance = up.maintenance
        if not maintenance.excluded:
            text = "not excluded: an outage during maintenance is downtime"
        elif maintenance.notice.amount == 0:
            text = "excluded when scheduled (announced before it begins)"
        else:
            text = f"excluded when announced at least {words_for(maintenance.notice)} ahead"
        terms.append(("Maintenance", text))
    for rule in policy.refunds:
        impact = (
            f" affecting at least {decimal_pct(rule.min_impact_pct)} of messages"
            if rule.min_impact_pct is not None
            else ""
        )
        terms.append((
            "Refund",
            f"more than {rule.more_than} severity {rule.severity} failures{impact} within "
            f"{words_for(rule.within)}: {decimal_pct(rule.percent_of_monthly_fee)} of that month's fee"
            + cited(rule.clause),
        ))  # fmt: skip
    misses = policy.response_misses
    if misses is not None:
        basis = "annual" if misses.period == "year" else "monthly"
        terms.append((
            "Response-time credit",
            f"more than {misses.more_than} missed response commitments in a {misses.period}: "
            f"{decimal_pct(misses.percent)} of the {basis} fee" + cited(misses.clause),
        ))  # fmt: skip
    windows = {w for w in ((up.claim_window if up else None),
                           (misses.claim_window if misses else None)) if w}  # fmt: skip
    if windows:
        terms.append((
            "Claims",
            " / ".join(
                f"within {words_for(w)} after the period ends" for w in sorted(windows, key=str)
            ),
        ))  # fmt: skip
    return terms


def cited(clause: str | None) -> str:
    return f" ({clause})" if clause else ""


def claim_day(line: CreditLine, today: dt.date | None) -> str:
    """A credit's claim deadline, ``30 November 2026 (expired)`` once it has passed."""
    if line.claim_deadline is None:
        return "—"
    return day(line.claim_deadline) + (" (expired)" if line.claim_expired(today) else "")


def claim(statement: Statement) -> str:
    """When and under which clause the period's credits can be claimed; the deadlines already
    passed on the statement's day say so."""
    figures = statement.figures
    deadline = figures.claim_deadline
    if not figures.credits:
        if deadline is None:
            return "Nothing to claim for this period."
        return f"Nothing to claim for this period (claims would be due by {day(deadline)})."
    today = figures.today
    dated = sorted({c.line.claim_deadline for c in statement.credits if c.line.claim_deadline})
    undated = [c for c in statement.credits if c.line.claim_deadline is None]
    open_ = [d for d in dated if not claim_expired(d, today)]
    passed = [d for d in dated if claim_expired(d, today)]
    parts = []
    if open_:
        parts.append("Claim by " + " and ".join(day(d) for d in open_) + ".")
    if passed:
        parts.append(
            "The claim deadline of "
            + " and ".join(day(d) for d in passed)
            + " has passed (expired)."
        )
    if undated:
        parts.append(
            "The contract names no claim window for "
            + ("this refund." if len(undated) == 1 else "these refunds.")
        )
    return " ".join(parts)
