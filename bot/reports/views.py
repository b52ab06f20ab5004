"""What a report returns, and how it is shown: JSON, a table a manager reads, CSV.

Values stay exact (``Fraction`` minutes and percentages, ``Decimal`` money) until shown:
minutes with up to three decimals (half-up; a budget is cut, never rounded up), uptime cut
to four decimals (99.89995 % never shows as meeting 99.9 %), money half-up to cents. A
customer's ``credit_amount`` is the sum of its lines as shown, so the lines add up to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from bot.sla.credits import (
    CountStanding,
    CreditLine,
    TierBudget,
    claim_expired,
    decimal_pct,
    money,
    pct_text,
    period_name,
    shown_pct,
)
from bot.sla.uptime import UptimeResult
from bot.text import format_span, table
from config.policy import CreditTier

_MINUTE_PLACES = Decimal("0.001")


CountedIncident = tuple[dt.datetime, int, str]
"""An incident that counted for a customer: ``(declared_at, id, ref)``, in declaration order
(``id`` breaks ties). A plain tuple of plain values: the cyclic garbage collector stops
tracking those, and a year's report keeps about 100,000 of them."""


@dataclass(frozen=True)
class IncidentsCounted(Sequence[str]):
    """The references of the incidents that counted for a customer, by declaration: downtime,
    failures a refund rule counted, missed responses.

    ``everyone`` are the incidents affecting every customer that counted on the customer's
    terms, one tuple shared by every customer on the same terms (a platform-wide outage is not
    copied a thousand times); ``dropped`` those of them that did not count for this customer
    (its own maintenance or excluded outages took their downtime away); ``own`` those naming
    the customer.
    """

    everyone: tuple[CountedIncident, ...] = ()
    own: tuple[CountedIncident, ...] = ()
    dropped: tuple[CountedIncident, ...] = ()

    def __iter__(self) -> Iterator[str]:
        everyone: Iterable[CountedIncident] = self.everyone
        if self.dropped:
            dropped = set(self.dropped)
            everyone = (i for i in self.everyone if i not in dropped)
        for _, _, ref in heapq.merge(everyone, self.own):
            yield ref

    def __len__(self) -> int:
        return len(self.everyone) - len(self.dropped) + len(self.own)

    def __getitem__(self, index):  # type: ignore[override]
        return list(self)[index]


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
    incidents: Sequence[str]
    """Incidents that counted: downtime, failures a refund rule counts, missed responses
    (an ``IncidentsCounted`` from the service)."""
    notes: tuple[str, ...] = ()
    budgets: tuple[TierBudget, ...] = ()
    """The downtime left before each tier not yet triggered, the next one first."""
    month_to_date: UptimeResult | None = None
    """The last calendar month of the period begun (contract zone), measured alike: a month of
    a monthly contract, or the running month of a yearly contract's year."""
    counts: tuple[CountStanding, ...] = ()
    """While the period runs: each count rule's standing now (incident-count refunds, the
    response misses of the running period), the nearest to its credit first."""
    as_of: dt.datetime | None = None
    """When the report was made: each credit's claim deadline is judged against its day in
    the contract's zone (``today``)."""

    @property
    def today(self) -> dt.date | None:
        """The day of ``as_of`` in the contract's zone (claim deadlines are days there)."""
        return None if self.as_of is None else self.as_of.astimezone(ZoneInfo(self.zone)).date()

    @property
    def expired_credits(self) -> tuple[CreditLine, ...]:
        """The credits whose claim deadline had passed when the report was made."""
        return tuple(line for line in self.credits if line.claim_expired(self.today))

    def next_claim_text(self) -> str | None:
        """What the "claim by" of a customer says: the first deadline of its credits still
        open; ``expired`` when every one has passed; without credits, the deadline of the
        last period begun (a credit it came to owe would be due then)."""
        dated = sorted({line.claim_deadline for line in self.credits if line.claim_deadline})
        if not dated:
            return None if self.claim_deadline is None or self.credits else str(self.claim_deadline)
        today = self.today
        open_ = [d for d in dated if not claim_expired(d, today)]
        return open_[0].isoformat() if open_ else f"{dated[-1].isoformat()} (expired)"

    @property
    def budget_minutes(self) -> Fraction | None:
        """Downtime minutes left before the next credit tier; ``None`` when no tier is left."""
        return self.budgets[0].minutes if self.budgets else None

    @property
    def next_tier(self) -> CreditTier | None:
        """The tier ``budget_minutes`` is measured before."""
        return self.budgets[0].tier if self.budgets else None

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

    def period_text(self, *, zone_named: bool = False) -> str:
        """``October 2026``, ``2026 through 2026-10-31``, ``November 2026 to 2026-11-20
        04:00`` (in the contract's zone; ``zone_named`` adds its name to a time, for a
        page that shows customers of several zones side by side: ``04:00 EST``)."""
        name = period_name((self.period_start, self.period_end), self.zone)
        if not self.is_running:
            return name
        local = self.until.astimezone(ZoneInfo(self.zone))
        if local.time() == dt.time(0):
            return f"{name} through {(local - dt.timedelta(days=1)):%Y-%m-%d}"
        zone = f" {local.tzname()}" if zone_named else ""
        return f"{name} to {local:%Y-%m-%d %H:%M}{zone}"

    def as_json(
        self, *, compact: bool = False, listed_once: Collection[str] = ()
    ) -> dict[str, Any]:
        """The customer's figures. ``compact`` (``Report.as_json(compact=True)``, which lists
        the incidents affecting everyone once, ``listed_once`` those of this customer):
        ``incidents`` lists only those naming the customer, a credit's reason does not
        repeat the incidents it counts, and a count rule's ``incidents`` leave out those
        ``listed_once``."""
        up = self.uptime
        zone = ZoneInfo(self.zone)
        incidents = self.incidents
        if compact and isinstance(incidents, IncidentsCounted):
            refs = [ref for _, _, ref in incidents.own]
        else:
            refs = list(incidents)
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
                    "reason": line.text(self.today, brief=compact),
                    "claim_deadline": None
                    if line.claim_deadline is None
                    else line.claim_deadline.isoformat(),
                    "claim_expired": line.claim_expired(self.today),
                }
                for line in self.credits
            ],
            "claim_deadline": None
            if self.claim_deadline is None
            else self.claim_deadline.isoformat(),
            "budget_minutes": None
            if self.budget_minutes is None
            else _number(self.budget_minutes, ROUND_DOWN),
            "incidents": refs,
            "notes": list(self.notes),
            "counts": [
                {
                    "kind": count.kind.value,
                    "counts": count.counts,
                    "counted": count.counted,
                    "owed_at": count.owed_at,
                    "credit": count.credit,
                    "incidents": [r for r in count.incidents if r not in listed_once],
                }
                for count in self.counts
            ],
        }


@dataclass(frozen=True)
class Report:
    period: str
    """As asked: ``2026-10`` or ``2026``."""
    as_of: dt.datetime
    customers: tuple[CustomerReport, ...]

    def as_json(self, *, compact: bool = False) -> dict[str, Any]:
        """Every customer's figures, with every incident that counted for it.

        ``compact`` (what ``slabot report --format json`` prints) lists each incident that
        affects every customer once, not once per customer: each customer's ``incidents``
        are those naming it, and ``incidents_affecting_everyone`` holds one entry per list
        that customers on the same terms share — ``customers`` it applies to, the
        ``incidents`` that counted for them, and ``except``: for a customer whose own
        exclusions (maintenance announced to it, outages marked excluded) took some of
        them away, those that did not count. The size then grows with customers plus
        incidents × distinct terms, not with customers × incidents.
        """
        if not compact:
            return {"period": self.period, "customers": [c.as_json() for c in self.customers]}
        listed: dict[int, frozenset[str]] = {}

        def listed_once(c: CustomerReport) -> frozenset[str]:
            """The refs of the incidents affecting everyone listed for ``c`` (counts only)."""
            shared = c.incidents.everyone if isinstance(c.incidents, IncidentsCounted) else ()
            if not c.counts or not shared:
                return frozenset()
            if id(shared) not in listed:
                listed[id(shared)] = frozenset(ref for _, _, ref in shared)
            return listed[id(shared)]

        return {
            "period": self.period,
            "customers": [
                c.as_json(compact=True, listed_once=listed_once(c)) for c in self.customers
            ],
            "incidents_affecting_everyone": _shared_incidents(self.customers),
        }

    def json_text(self) -> str:
        """``as_json(compact=True)`` as ``slabot report --format json`` prints it: each
        customer, and each list of incidents affecting everyone, on a line of its own (a
        reader can grep for a customer; and encoding line by line keeps to the JSON
        encoder's fast path, which indenting a whole document leaves)."""
        document = self.as_json(compact=True)

        def lines(values: list) -> str:
            return ",\n".join(f"    {json.dumps(v, ensure_ascii=False)}" for v in values)

        return (
            f'{{\n  "period": {json.dumps(document["period"])},\n'
            f'  "customers": [\n{lines(document["customers"])}\n  ],\n'
            f'  "incidents_affecting_everyone": [\n'
            f"{lines(document['incidents_affecting_everyone'])}\n  ]\n}}"
        )

    def as_text(self) -> str:
        """A table a manager reads, then the totals owed, each credit's reason and each note."""
        head = (
            f"Uptime and credits for {self.period}, as of {self.as_of:%Y-%m-%d %H:%M} UTC, each "
            "customer by its own contract. A period still running reads 'if nothing else goes "
            "down'."
        )
        if not self.customers:
            return head + "\nno customers"
        rows = [
            (
                c.customer,
                c.policy,
                c.period_text(),
                None if c.uptime is None else pct_text(c.uptime.uptime_pct),
                None if c.commitment_pct is None else decimal_pct(c.commitment_pct),
                None if c.met is None else ("yes" if c.met else "NO"),
                None if c.uptime is None else format_span(c.uptime.downtime),
                budget_text(c),
                owed_text(c),
                c.next_claim_text(),
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
        owed = totals_text(self.customers)
        if owed:
            lines += ["", f"Owed in total: {owed}."]
        details = []
        for c in self.customers:
            details += [
                f"- {c.customer}: {line_text(line, c.currency, c.today)}" for line in c.credits
            ]
            if c.uptime is not None and c.uptime.excluded:
                details.append(
                    f"- {c.customer}: {format_span(c.uptime.excluded)} of outage excluded "
                    "(maintenance announced in time, outages marked excluded)"
                )
            details += [f"- {c.customer}: {count_text(n)} so far" for n in approaching(c.counts)]
            details += [f"- {c.customer}: {note}" for note in c.notes]
        if details:
            lines += ["", *details]
        return "\n".join(lines)

    def as_csv(self, *, money: bool = True) -> str:
        """One row per customer; numbers without units, so a spreadsheet can add them up.

        ``money=False`` leaves the amounts out (the columns stay, empty), for readers who may
        not see money. Text cells that a spreadsheet would run as a formula are quoted.
        """
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for c in self.customers:
            data = c.as_json()
            amount = c.credit_amount if money else None
            writer.writerow(
                [
                    _cell(c.customer),
                    _cell(c.name),
                    _cell(c.policy),
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
                    "" if amount is None else f"{amount}",
                    (c.currency or "") if money else "",
                    _cell(
                        "; ".join(
                            line_text(line, c.currency, c.today, money=money) for line in c.credits
                        )
                    ),
                    "" if c.claim_deadline is None else c.claim_deadline.isoformat(),
                    str(len(c.expired_credits)),
                    _csv_number(c.budget_minutes, 3, ROUND_DOWN),
                    _cell(" ".join(c.incidents)),
                    _cell(" ".join(c.notes)),
                ]
            )
        return out.getvalue()


def _shared_incidents(customers: Sequence[CustomerReport]) -> list[dict[str, Any]]:
    """The lists of incidents affecting everyone, each once, with the customers it applies to
    (``Report.as_json(compact=True)``)."""
    lists: dict[int, tuple[CountedIncident, ...]] = {}  # one tuple per set of terms
    members: dict[int, list[tuple[int, str, IncidentsCounted]]] = {}
    for index, c in enumerate(customers):
        counted = c.incidents
        if isinstance(counted, IncidentsCounted) and counted.everyone:
            lists.setdefault(id(counted.everyone), counted.everyone)
            members.setdefault(id(counted.everyone), []).append((index, c.customer, counted))
    groups: list[tuple[tuple[CountedIncident, ...], list[tuple[int, str, IncidentsCounted]]]] = []
    for key, shared in lists.items():  # terms that differ may still count the same ones
        same = next((group for listed, group in groups if listed == shared), None)
        if same is None:
            groups.append((shared, list(members[key])))
        else:
            same.extend(members[key])
    for _, group in groups:
        group.sort(key=lambda member: member[0])  # in the report's order
    return [
        {
            "customers": [customer for _, customer, _ in group],
            "incidents": [ref for _, _, ref in shared],
            "except": {
                customer: [ref for _, _, ref in counted.dropped]
                for _, customer, counted in group
                if counted.dropped
            },
        }
        for shared, group in groups
    ]


CSV_COLUMNS = (
    "customer", "name", "policy", "period_start", "period_end", "available_minutes",
    "downtime_minutes", "excluded_minutes", "uptime_pct", "commitment_pct", "met",
    "credit_amount", "currency", "credits", "claim_deadline", "claims_expired", "budget_minutes",
    "incidents", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class CustomerStanding:
    """Where a customer stands now (App Home, weekly digest): its running period to date,
    and the credits of the period before that can still be claimed."""

    current: CustomerReport
    claimable: tuple[CreditLine, ...]
    lapsed: tuple[CreditLine, ...] = ()
    """Credits of earlier periods whose claim deadline passed in the last week (expired)."""

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
    def month_to_date(self) -> UptimeResult | None:
        """The running calendar month so far (contract zone), also for a yearly contract, whose
        commitment is judged on the year (``current.uptime``)."""
        return self.current.month_to_date

    @property
    def claimable_amount(self) -> Decimal | None:
        """What the earlier period's credits still to claim come to (``None``: fee unknown)."""
        if any(line.amount is None for line in self.claimable):
            return None
        return sum((money(line.amount) for line in self.claimable), Decimal("0.00"))

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


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ``=``, ``+``, ``-`` or ``@`` (an imported
    incident reference, a customer's name) would otherwise be run as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# --- shared with the Slack surfaces (bot.slack.blocks) ------------------------------------


def amount_text(amount: Decimal, currency: str | None) -> str:
    """``1,500.00 DKK``: rounded half-up to cents, thousands grouped."""
    return f"{money(amount):,.2f} {currency or ''}".rstrip()


def minutes_text(value: Fraction) -> str:
    """Minutes as a span a person reads, cut to the second: never more than there is."""
    return format_span(dt.timedelta(seconds=int(value * 60)))


def budget_text(c: CustomerReport) -> str | None:
    """``1h 36m to the 10 % tier``: the downtime the period can still take before the next
    credit tier; ``None`` when no tier is left (or the contract has none)."""
    return tier_budget_text(c.budgets[0]) if c.budgets else None


def tier_budget_text(budget: TierBudget) -> str:
    """``1h 36m to the 10 % tier``."""
    return f"{minutes_text(budget.minutes)} to the {decimal_pct(budget.tier.percent)} tier"


def approaching(counts: Sequence[CountStanding]) -> list[CountStanding]:
    """The count rules that have counted something and do not owe their credit yet (one that
    does is among the report's credits)."""
    return [n for n in counts if n.counted and n.left]


def count_text(n: CountStanding, *, incidents: bool = True) -> str:
    """``2 of the 4 severity 1 failures within 28d that owe a refund of 100 % of the monthly
    fee (INC-K, INC-E)``: a count rule's budget, as the downtime budget is a tier's."""
    text = f"{n.counted} of the {n.owed_at} {n.counts} that owe {n.credit}"
    return f"{text} ({', '.join(n.incidents)})" if incidents else text


def budgets_text(c: CustomerReport) -> str | None:
    """``14m 42s to the 5 % tier, 6h 57m to the 10 % tier``: every tier not yet triggered."""
    return ", ".join(tier_budget_text(b) for b in c.budgets) or None


def owed_text(c: CustomerReport, *, money: bool = True) -> str:
    """What the period owes: an amount, or percentages of a fee (no fee on file, or a reader
    who may not see money)."""
    if not c.credits:
        return "none"
    amount = c.credit_amount
    if amount is None or not money:
        return " + ".join(
            f"{decimal_pct(line.percent)} of the {line.fee} fee" for line in c.credits
        )
    return amount_text(amount, c.currency)


def totals_text(customers: Sequence[CustomerReport]) -> str:
    """Everything owed, summed per currency (``1,500.00 DKK + 200.00 USD``); ``""`` for nothing."""
    sums: dict[str, Decimal] = {}
    for c in customers:
        amount = c.credit_amount
        if c.credits and amount is not None:
            sums[c.currency or ""] = sums.get(c.currency or "", Decimal(0)) + amount
    return " + ".join(amount_text(sums[k], k) for k in sorted(sums))


def line_text(
    line: CreditLine, currency: str | None, today: dt.date | None, *, money: bool = True
) -> str:
    """A credit's reason and claim deadline (marked expired once passed on ``today``), with
    its amount when the fee is known (and ``money``: the reader may see it)."""
    text = line.text(today)
    if line.amount is None or not money:
        return text
    return f"{text} = {amount_text(line.amount, currency)}"
