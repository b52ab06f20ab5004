"""What a report returns, and how it is shown: JSON, a table a manager reads, CSV.

Values stay exact (``Fraction`` minutes and percentages, ``Decimal`` money) until shown:
minutes with up to three decimals (half-up; a budget is cut, never rounded up), uptime cut
to four decimals (99.89995 % never shows as meeting 99.9 %), money half-up to cents. A
customer's ``credit_amount`` is the sum of its lines as shown, so the lines add up to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from bot.sla.credits import CreditLine, money, period_name, shown_pct
from bot.sla.uptime import UptimeResult
from bot.text import format_span, table

_MINUTE_PLACES = Decimal("0.001")


@dataclass(frozen=True)
class CustomerReport:
    """One customer's uptime, credits and budget over a report's period, by its own contract."""

    customer: str
    name: str
    policy: str
    zone: str
    period_start: dt.datetime
    period_end: dt.datetime
    until: dt.datetime
    """Data counts up to here: the period's end, the requested month's end, or now."""
    uptime: UptimeResult | None
    """``None`` when the policy has no uptime section."""
    commitment_pct: Decimal | None
    met: bool | None
    credits: tuple[CreditLine, ...]
    currency: str | None
    claim_deadline: dt.date | None
    """The last day to claim credits of the last contract period begun (contract's zone)."""
    budget_minutes: Fraction | None
    """Downtime minutes left before the next credit tier; ``None`` when no tier is left."""
    incidents: tuple[str, ...]
    """Incidents that counted: downtime, failures a refund rule counts, missed responses."""
    notes: tuple[str, ...] = ()

    @property
    def credit_amount(self) -> Decimal | None:
        """Everything owed for the period, all kinds together (``None``: fee unknown)."""
        if not self.credits:
            return Decimal("0.00")
        if any(line.amount is None for line in self.credits):
            return None
        return sum((money(line.amount) for line in self.credits), Decimal("0.00"))

    @property
    def is_running(self) -> bool:
        return self.until < self.period_end

    def period_text(self) -> str:
        name = period_name((self.period_start, self.period_end), self.zone)
        if not self.is_running:
            return name
        local = self.until.astimezone(ZoneInfo(self.zone))
        if local.time() == dt.time(0):
            return f"{name} through {(local - dt.timedelta(days=1)):%Y-%m-%d}"
        return f"{name} to {local:%Y-%m-%d %H:%M}"

    def as_json(self) -> dict[str, Any]:
        up = self.uptime
        zone = ZoneInfo(self.zone)
        return {
            "customer": self.customer,
            "name": self.name,
            "policy": self.policy,
            "period_start": self.period_start.astimezone(zone).isoformat(),
            "period_end": self.period_end.astimezone(zone).isoformat(),
            "available_minutes": None if up is None else _number(up.available_minutes),
            "downtime_minutes": None if up is None else _number(up.downtime_minutes),
            "excluded_minutes": None if up is None else _number(up.excluded_minutes),
            "uptime_pct": None if up is None else float(shown_pct(up.uptime_pct)),
            "commitment_pct": None if self.commitment_pct is None else float(self.commitment_pct),
            "met": self.met,
            "credit_amount": _money(self.credit_amount),
            "currency": self.currency,
            "credits": [
                {
                    "kind": line.kind.value,
                    "percent": float(line.percent),
                    "amount": _money(line.amount),
                    "reason": line.reason,
                }
                for line in self.credits
            ],
            "claim_deadline": None
            if self.claim_deadline is None
            else self.claim_deadline.isoformat(),
            "budget_minutes": None
            if self.budget_minutes is None
            else _number(self.budget_minutes, ROUND_DOWN),
            "incidents": list(self.incidents),
        }


@dataclass(frozen=True)
class Report:
    period: str
    """As asked: ``2026-10`` or ``2026``."""
    as_of: dt.datetime
    customers: tuple[CustomerReport, ...]

    def as_json(self) -> dict[str, Any]:
        return {"period": self.period, "customers": [c.as_json() for c in self.customers]}

    def as_text(self) -> str:
        """A table a manager reads, then each credit's reason and each note."""
        head = (
            f"Uptime and credits for {self.period}, as of {self.as_of:%Y-%m-%d %H:%M} UTC. "
            "A period still running reads 'if nothing else goes down'."
        )
        if not self.customers:
            return head + "\nno customers"
        rows = [
            (
                c.customer,
                c.policy,
                c.period_text(),
                None if c.uptime is None else f"{shown_pct(c.uptime.uptime_pct)} %",
                None if c.commitment_pct is None else f"{c.commitment_pct.normalize():f} %",
                None if c.met is None else ("yes" if c.met else "NO"),
                None if c.uptime is None else format_span(c.uptime.downtime),
                _budget_text(c.budget_minutes),
                _owed_text(c),
                None if c.claim_deadline is None else c.claim_deadline.isoformat(),
            )
            for c in self.customers
        ]
        lines = [
            head,
            "",
            table(
                (
                    "customer", "policy", "period", "uptime", "commitment", "met", "downtime",
                    "budget left", "credits owed", "claim by",
                ),
                rows,
            ),
        ]  # fmt: skip
        details = [
            f"- {c.customer}: {_line_text(line, c.currency)}"
            for c in self.customers
            for line in c.credits
        ] + [f"- {c.customer}: {note}" for c in self.customers for note in c.notes]
        if details:
            lines += ["", *details]
        return "\n".join(lines)

    def as_csv(self) -> str:
        """One row per customer; numbers without units, so a spreadsheet can add them up."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for c in self.customers:
            data = c.as_json()
            writer.writerow(
                [
                    c.customer,
                    c.name,
                    c.policy,
                    data["period_start"],
                    data["period_end"],
                    *(
                        _csv_number(v, places)
                        for v, places in (
                            (None if c.uptime is None else c.uptime.available_minutes, 3),
                            (None if c.uptime is None else c.uptime.downtime_minutes, 3),
                            (None if c.uptime is None else c.uptime.excluded_minutes, 3),
                        )
                    ),
                    "" if c.uptime is None else f"{shown_pct(c.uptime.uptime_pct)}",
                    "" if c.commitment_pct is None else f"{c.commitment_pct.normalize():f}",
                    "" if c.met is None else ("yes" if c.met else "no"),
                    "" if c.credit_amount is None else f"{c.credit_amount}",
                    c.currency or "",
                    "; ".join(_line_text(line, c.currency) for line in c.credits),
                    "" if c.claim_deadline is None else c.claim_deadline.isoformat(),
                    _csv_number(c.budget_minutes, 3, ROUND_DOWN),
                    " ".join(c.incidents),
                    " ".join(c.notes),
                ]
            )
        return out.getvalue()


CSV_COLUMNS = (
    "customer", "name", "policy", "period_start", "period_end", "available_minutes",
    "downtime_minutes", "excluded_minutes", "uptime_pct", "commitment_pct", "met",
    "credit_amount", "currency", "credits", "claim_deadline", "budget_minutes", "incidents",
    "notes",
)  # fmt: skip


@dataclass(frozen=True)
class CustomerStanding:
    """Where a customer stands now (App Home, weekly digest): its running period to date,
    and the credits of the period before that can still be claimed."""

    current: CustomerReport
    claimable: tuple[CreditLine, ...]

    @property
    def customer(self) -> str:
        return self.current.customer

    @property
    def uptime_pct(self) -> Fraction | None:
        return None if self.current.uptime is None else self.current.uptime.uptime_pct

    @property
    def commitment_pct(self) -> Decimal | None:
        return self.current.commitment_pct

    @property
    def met(self) -> bool | None:
        return self.current.met

    @property
    def budget_minutes(self) -> Fraction | None:
        return self.current.budget_minutes

    @property
    def credit_amount(self) -> Decimal | None:
        return self.current.credit_amount

    @property
    def currency(self) -> str | None:
        return self.current.currency

    @property
    def claim_deadlines(self) -> tuple[dt.date, ...]:
        """Every day by which a claim must be in: earlier credits first, then the running period."""
        days = {line.claim_deadline for line in self.claimable if line.claim_deadline}
        if self.current.claim_deadline is not None:
            days.add(self.current.claim_deadline)
        return tuple(sorted(days))


# --- formatting --------------------------------------------------------------------------


def _decimal(value: Fraction, rounding: str = ROUND_HALF_UP, places: Decimal = _MINUTE_PLACES):
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(places, rounding=rounding)


def _number(value: Fraction, rounding: str = ROUND_HALF_UP) -> float:
    """Minutes for JSON: a number with up to three decimals."""
    return float(_decimal(value, rounding))


def _csv_number(value: Fraction | None, places: int, rounding: str = ROUND_HALF_UP) -> str:
    if value is None:
        return ""
    return f"{_decimal(value, rounding, Decimal(1).scaleb(-places))}"


def _money(amount: Decimal | None) -> float | None:
    return None if amount is None else float(money(amount))


def _budget_text(budget: Fraction | None) -> str | None:
    if budget is None:
        return None
    seconds = int(budget * 60)  # cut: never show more budget than there is
    return format_span(dt.timedelta(seconds=seconds))


def _owed_text(c: CustomerReport) -> str:
    amount = c.credit_amount
    if amount is None:
        return " + ".join(f"{line.percent.normalize():f} % {line.fee} fee" for line in c.credits)
    if not c.credits:
        return "none"
    return f"{amount} {c.currency or ''}".strip()


def _line_text(line: CreditLine, currency: str | None) -> str:
    if line.amount is None:
        return line.reason
    return f"{line.reason} = {money(line.amount)} {currency or ''}".rstrip()
