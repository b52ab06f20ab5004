"""Credits and refunds (docs/semantics.md §6): the three kinds the contracts use, and the budget.

Every function takes plain values and returns credit lines; money stays an exact
``Decimal`` (a fee times a percentage) until a renderer rounds it to cents.

1. **Uptime tiers**: the tiers read "below X" (so the contract tables have no gaps) and the
   highest applicable tier is the credit; tiers do not add up. Uptime exactly at X is not
   below it.
2. **Incident counts** (messaging platform §5.2): failures of the rule's severity that
   affect the customer, by declaration time, leaving out failures marked excluded and, when
   the rule sets ``min_impact_pct``, failures with a smaller or unknown impact. A failure
   whose 28 days — the ``within`` span of real time ending at its declaration, that instant
   included, ``(t − 28 × 24 h, t]`` — hold more failures than the limit refunds the
   calendar month (contract zone) it was declared in. A month is refunded once, whichever
   rules and failures trigger it (the largest percentage wins).
3. **Response misses** (Diplomasafe): incidents whose response timer, on this customer's
   own contract calendar (holidays included, pauses honoured), was breached — including an
   incident nobody acknowledged that is past its deadline now. More than ``more_than`` in a
   period owes ``percent`` of that period's fee (annual fee for a year, monthly for a month).

**Budget**: for each tier not yet triggered, the downtime minutes the period can still take
before uptime falls below the tier; the budget of a report is the one before the *next*
tier. A count rule's budget is its **count standing**: how many it counts now (the 28 days
ending now; the response misses of the running period) of the ``more_than + 1`` that owe
its credit. **Claim deadline**: ``bot.sla.uptime.claim_deadline``, one per credit line (the
line's own period's: a year's report lists October's credit with October's deadline); a
claim is in time through that day in the contract's zone and expired from the next
(``claim_expired``). A line's ``reason`` leaves the deadline out: ``CreditLine.text`` adds
it, judged against the day the reader names.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from bot.sla.calendar import as_utc
from bot.sla.clocks import WallClock
from bot.sla.timers import Pause, TimerRule, TimerState, read_timer, stopped_in_time
from bot.sla.uptime import Interval, UptimeResult, period_containing
from config.policy import CreditTier, IncidentCountRefund, ResponseMissCredit

_WALL = WallClock()
CENT = Decimal("0.01")
PCT_PLACES = Decimal("0.0001")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


class CreditKind(StrEnum):
    UPTIME = "uptime"
    INCIDENT_COUNT = "incident_count"
    RESPONSE_MISSES = "response_misses"


@dataclass(frozen=True)
class CreditLine:
    """One credit or refund owed for one period."""

    kind: CreditKind
    percent: Decimal
    """Of the fee named by ``fee``."""
    fee: Literal["monthly", "annual"]
    amount: Decimal | None
    """Exact; ``None`` when the customer's fee is not known."""
    brief: str
    """The reason without the list of the incidents it counts (a report that lists the
    incidents once, ``Report.as_json(compact=True)``, need not repeat them here)."""
    period: Interval
    """The contract period (month or year) the credit is owed for."""
    claim_deadline: dt.date | None
    incidents: tuple[str, ...] = ()
    listed_at: int | None = None
    """Where the reason lists ``incidents``: after ``brief[:listed_at]``, as ``: A, B``."""

    @cached_property
    def reason(self) -> str:
        """Why it is owed, with the incidents it counts. Joined when first read: a yearly
        report's refund lines can each count hundreds of incidents, and the compact JSON
        never reads it."""
        if self.listed_at is None:
            return self.brief
        head, tail = self.brief[: self.listed_at], self.brief[self.listed_at :]
        return f"{head}: {', '.join(self.incidents)}{tail}"

    def text(self, today: dt.date | None = None, *, brief: bool = False) -> str:
        """The reason (``brief``: without its incidents) and the claim deadline, marked
        expired when it had passed on ``today`` (the contract zone's date of "now")."""
        claim = claim_text(self.claim_deadline, today)
        base = self.brief if brief else self.reason
        return f"{base}; {claim}" if claim else base

    def claim_expired(self, today: dt.date | None) -> bool:
        return claim_expired(self.claim_deadline, today)


def claim_expired(deadline: dt.date | None, today: dt.date | None) -> bool:
    """Whether a claim due by ``deadline`` is too late on ``today`` (both in the contract's
    zone): in time through the deadline day itself. No deadline (or no day to judge it on)
    never expires."""
    return deadline is not None and today is not None and today > deadline


def claim_text(deadline: dt.date | None, today: dt.date | None = None) -> str | None:
    """``claim by 2026-11-30``, or ``claim by 2026-11-30 (expired)`` once it has passed on
    ``today``; ``None`` without a claim window."""
    if deadline is None:
        return None
    expired = " (expired)" if claim_expired(deadline, today) else ""
    return f"claim by {deadline.isoformat()}{expired}"


@dataclass(frozen=True)
class TierBudget:
    """Downtime a period can still take before uptime falls below ``tier``."""

    tier: CreditTier
    minutes: Fraction


# --- presentation helpers (exact in, rounded out) ---------------------------------------


def money(amount: Decimal) -> Decimal:
    """Rounded half-up to cents: only for showing and summing what is shown."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def shown_pct(value: Fraction) -> Decimal:
    """A percentage cut (never rounded up) to four decimals: 99.89995 shows as 99.8999."""
    cut = Decimal(value.numerator) / Decimal(value.denominator)
    return cut.quantize(PCT_PLACES, rounding=ROUND_DOWN)


def decimal_pct(value: Decimal) -> str:
    """A contract's percentage as written: ``99.9 %``, ``2.5 %``."""
    return f"{value.normalize():f} %"


def pct_text(value: Fraction) -> str:
    """An exact uptime as shown: cut to four decimals, never rounded up to a threshold."""
    return f"{shown_pct(value)} %"


@lru_cache(maxsize=4096)
def period_name(period: Interval, zone: str) -> str:
    """``October 2026`` for a month, ``2026`` for a year (in the contract's zone)."""
    tz = ZoneInfo(zone)
    start, end = period[0].astimezone(tz), period[1].astimezone(tz)
    whole_days = start.time() == end.time() == dt.time(0) and start.day == end.day == 1
    if whole_days and start.month == end.month == 1 and end.year == start.year + 1:
        return str(start.year)
    if whole_days and (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1:
        return f"{_MONTH_NAMES[start.month - 1]} {start.year}"
    last = (period[1] - dt.timedelta(microseconds=1)).astimezone(tz)
    return f"{start:%Y-%m-%d} – {last:%Y-%m-%d}"


@lru_cache(maxsize=4096)
def _local(instant: dt.datetime, zone: str) -> str:
    local = as_utc(instant).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _of_fee(fee: Decimal | None, percent: Decimal) -> Decimal | None:
    return None if fee is None else fee * percent / 100


# --- 1. uptime tiers ------------------------------------------------------------------------


def applicable_tier(result: UptimeResult, tiers: Sequence[CreditTier]) -> CreditTier | None:
    """The highest tier whose "below" the uptime is under (tiers go from high to low)."""
    found = None
    for tier in tiers:
        if not result.below(tier.below):
            break
        found = tier
    return found


def uptime_credit(
    result: UptimeResult,
    tiers: Sequence[CreditTier],
    fee: Decimal | None,
    *,
    fee_basis: Literal["monthly", "annual"],
    zone: str,
    claim_by: dt.date | None,
) -> list[CreditLine]:
    """The uptime tier credit of one period, if any (``fee``: that period's fee)."""
    tier = applicable_tier(result, tiers)
    if tier is None:
        return []
    period = (result.start, result.end)
    return [
        CreditLine(
            kind=CreditKind.UPTIME,
            percent=tier.percent,
            fee=fee_basis,
            amount=_of_fee(fee, tier.percent),
            brief=(
                f"uptime {pct_text(result.uptime_pct)} in {period_name(period, zone)} is "
                f"below {decimal_pct(tier.below)}: {decimal_pct(tier.percent)} of the {fee_basis} fee"
            ),
            period=period,
            claim_deadline=claim_by,
        )
    ]


def tier_budgets(result: UptimeResult, tiers: Sequence[CreditTier]) -> list[TierBudget]:
    """For each tier not yet triggered, the downtime minutes left before it triggers.

    Uptime falls below ``X`` when downtime exceeds ``available × (100 − X) / 100``; at
    exactly that downtime uptime equals ``X``, which is not below it.
    """
    budgets = []
    for tier in tiers:
        left = downtime_left(result, tier.below)
        if left >= 0:
            budgets.append(TierBudget(tier, left))
    return budgets


def downtime_allowed(result: UptimeResult, below: Decimal) -> Fraction:
    """The downtime minutes the period can have with uptime still at ``below`` % (not under it)."""
    return result.available_minutes * (100 - Fraction(below)) / 100


def downtime_left(result: UptimeResult, below: Decimal) -> Fraction:
    """The downtime minutes the period can still take with uptime at ``below`` % (negative:
    it is under ``below`` by that much downtime)."""
    return downtime_allowed(result, below) - result.downtime_minutes


def next_tier(result: UptimeResult, tiers: Sequence[CreditTier]) -> TierBudget | None:
    """The next tier to trigger and the minutes left before it; ``None`` when no tier is left."""
    budgets = tier_budgets(result, tiers)
    return budgets[0] if budgets else None


def next_tier_budget(result: UptimeResult, tiers: Sequence[CreditTier]) -> Fraction | None:
    """Minutes left before the next tier triggers; ``None`` when no tier is left (or none exists)."""
    found = next_tier(result, tiers)
    return None if found is None else found.minutes


# --- 2. incident-count refunds --------------------------------------------------------------


@dataclass(slots=True)
class Failure:
    """An incident as a refund rule counts it (not frozen: a report makes 100,000 of them)."""

    ref: str
    severity: int
    declared_at: dt.datetime
    impact_pct: float | None = None
    excluded: bool = False


def counted_failures(rule: IncidentCountRefund, failures: Iterable[Failure]) -> list[Failure]:
    """The failures ``rule`` counts: its severity, not excluded, enough impact (as given)."""
    least = None if rule.min_impact_pct is None else float(rule.min_impact_pct)
    return [
        f
        for f in failures
        if f.severity == rule.severity
        and not f.excluded
        and (least is None or (f.impact_pct is not None and f.impact_pct >= least))
    ]


def incident_count_refunds(
    failures: Iterable[Failure],
    rules: Sequence[IncidentCountRefund],
    *,
    zone: str,
    monthly_fee: Decimal | None,
    since: dt.datetime,
    until: dt.datetime,
) -> list[CreditLine]:
    """Months refunded by failures declared in ``[since, until)``, one line per month.

    ``failures`` must include those of the ``within`` span before ``since``, which the first
    windows reach back into.
    """
    since, until = as_utc(since), as_utc(until)
    candidates = list(failures)
    months: dict[Interval, CreditLine] = {}
    for rule in rules:
        counted = sorted(counted_failures(rule, candidates), key=_declared)
        # In UTC: an aware local time minus 28 days would be 28 calendar days, not 28 × 24 h.
        times = [as_utc(f.declared_at) for f in counted]
        span = _WALL.length(rule.within)  # real time: 28d is 28 × 24 h
        first = last = 0
        month: Interval | None = None
        for failure, at in zip(counted, times, strict=True):
            while last < len(times) and times[last] <= at:  # the window ends at ``at``,
                last += 1  # failures declared at the same instant included
            while times[first] <= at - span:  # and reaches back ``span``, exclusive
                first += 1
            if last - first <= rule.more_than or not since <= at < until:
                continue
            if month is None or not month[0] <= at < month[1]:
                month = period_containing("month", at, zone)
            held = months.get(month)
            if held is not None and held.percent >= rule.percent_of_monthly_fee:
                continue
            refs = tuple(f.ref for f in counted[first:last])
            months[month] = _refund(rule, refs, failure.ref, at, month, zone, monthly_fee)
    return [months[m] for m in sorted(months)]


class SharedCount:
    """One refund rule over failures that many customers share (an incident of the whole
    platform affects them all), counted once; each customer then adds its own.

    ``refunds(own)`` and ``standing(own, at)`` equal ``incident_count_refunds`` with this
    one rule and ``incident_count_standing`` over the shared and own failures together
    (listed shared first), at a cost that grows with the customer's own failures: only
    the instants whose 28 days hold one of them are counted again.
    """

    def __init__(
        self,
        rule: IncidentCountRefund,
        failures: Iterable[Failure],
        *,
        zone: str,
        since: dt.datetime,
        until: dt.datetime,
    ) -> None:
        self.rule = rule
        self.failures = sorted(counted_failures(rule, failures), key=_declared)
        """The shared failures the rule counts, by declaration."""
        self._times = [as_utc(f.declared_at) for f in self.failures]
        self._refs = [f.ref for f in self.failures]
        self._span = _WALL.length(rule.within)
        self._zone, self._since, self._until = zone, as_utc(since), as_utc(until)
        self._alone = self._first_triggers(self._times, [])
        self._alone_lines: dict[Interval, CreditLine] | None = None
        self._alone_standings: dict[dt.datetime, CountStanding] = {}

    def refunds(self, own: Iterable[Failure] = ()) -> dict[Interval, CreditLine]:
        """The months the rule refunds, with the customer's ``own`` failures added: for each,
        the line (without an amount) of the first failure that brought the count over the
        limit."""
        if self._alone_lines is None:
            self._alone_lines = self._lines(self._alone, [], [], {})
        mine = sorted(counted_failures(self.rule, own), key=_declared)
        if not mine:
            return self._alone_lines
        own_times = [as_utc(f.declared_at) for f in mine]
        triggers = self._first_triggers(self._candidates(own_times), own_times, self._alone)
        return self._lines(triggers, mine, own_times, self._alone_lines)

    def _lines(
        self,
        triggers: dict[Interval, dt.datetime],
        own: Sequence[Failure],
        own_times: Sequence[dt.datetime],
        alone: dict[Interval, CreditLine],
    ) -> dict[Interval, CreditLine]:
        """A line per month; the shared one where the customer's own failures change nothing
        (the same first failure, none of its own within the span before it)."""
        lines = {}
        for month, at in sorted(triggers.items()):
            start = at - self._span
            if (
                month in alone
                and self._alone[month] == at
                and bisect.bisect_right(own_times, at) == bisect.bisect_right(own_times, start)
            ):
                lines[month] = alone[month]
                continue
            refs, trigger = self._window_refs(own, own_times, at)
            lines[month] = _refund(self.rule, refs, trigger, at, month, self._zone, None)
        return lines

    def _window_refs(
        self, own: Sequence[Failure], own_times: Sequence[dt.datetime], at: dt.datetime
    ) -> tuple[tuple[str, ...], str]:
        """The references of the failures of the span ending at ``at``, ``(at − within,
        at]``, by declaration (at one instant the shared ones first, as the refund rule lists
        them), and the first of those declared at ``at``: slices of the shared ones with the
        customer's own ``own`` (counted, by declaration) put in their place."""
        start, times = at - self._span, self._times
        first, last = bisect.bisect_right(times, start), bisect.bisect_right(times, at)
        refs: list[str] = []
        taken = first
        for f, when in zip(own, own_times, strict=True):
            if start < when <= at:  # after the shared ones declared at the same instant
                place = bisect.bisect_right(times, when, taken, last)
                refs += self._refs[taken:place]
                refs.append(f.ref)
                taken = place
        refs += self._refs[taken:last]
        if first < last and times[last - 1] == at:
            trigger = self._refs[bisect.bisect_left(times, at, first, last)]
        else:  # only the customer's own were declared at ``at`` (or none: a standing)
            index = bisect.bisect_left(own_times, at)
            trigger = own[index].ref if index < len(own) else ""
        return tuple(refs), trigger

    def standing(self, own: Iterable[Failure], at: dt.datetime) -> CountStanding:
        """``incident_count_standing`` at ``at``, the customer's ``own`` failures added."""
        at = as_utc(at)
        mine = sorted(counted_failures(self.rule, own), key=_declared)
        own_times = [as_utc(f.declared_at) for f in mine]
        start = at - self._span
        if bisect.bisect_right(own_times, at) == bisect.bisect_right(own_times, start):
            alone = self._alone_standings.get(at)  # none of the customer's own in the span
            if alone is None:
                alone = self._alone_standings[at] = _count_standing(
                    self.rule, self._window_refs([], [], at)[0]
                )
            return alone
        return _count_standing(self.rule, self._window_refs(mine, own_times, at)[0])

    def _count(self, own_times: Sequence[dt.datetime], at: dt.datetime) -> int:
        start, times = at - self._span, self._times
        shared = bisect.bisect_right(times, at) - bisect.bisect_right(times, start)
        return shared + bisect.bisect_right(own_times, at) - bisect.bisect_right(own_times, start)

    def _candidates(self, own_times: Sequence[dt.datetime]) -> Iterable[dt.datetime]:
        """The instants whose count the customer's own failures change: their own, and the
        shared failures' within the span after one. A month whose first refund is already
        earlier needs none of its later instants (counts only grow)."""
        since, until = self._since, self._until
        yield from (t for t in own_times if since <= t < until)
        times, alone = self._times, self._alone
        reach = [(max(t, since), min(t + self._span, until)) for t in own_times]
        for start, end in _merged(r for r in reach if r[0] < r[1]):
            index = bisect.bisect_left(times, start)
            month: Interval | None = None
            while index < len(times) and times[index] < end:
                at = times[index]
                if month is None or not month[0] <= at < month[1]:
                    month = period_containing("month", at, self._zone)
                first = alone.get(month)
                if first is not None and at >= first:  # on to the next month
                    index = bisect.bisect_left(times, month[1], index)
                    continue
                yield at
                index += 1

    def _first_triggers(
        self,
        candidates: Iterable[dt.datetime],
        own_times: Sequence[dt.datetime],
        found: dict[Interval, dt.datetime] | None = None,
    ) -> dict[Interval, dt.datetime]:
        """For each month, the first of ``candidates`` (and of ``found``) at which the count
        is over the limit, declared in ``[since, until)``."""
        found = {} if found is None else dict(found)
        month: Interval | None = None
        for at in sorted(set(candidates)):
            if not self._since <= at < self._until:
                continue
            if month is None or not month[0] <= at < month[1]:
                month = period_containing("month", at, self._zone)
            first = found.get(month)
            if first is not None and first <= at:
                continue
            if self._count(own_times, at) > self.rule.more_than:
                found[month] = at
        return found


def _merged(
    spans: Iterable[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _failures_counted(rule: IncidentCountRefund) -> str:
    """``severity 2 failures affecting ≥ 25 % of traffic``: what the rule counts, in words."""
    impact = (
        f" affecting ≥ {decimal_pct(rule.min_impact_pct)} of traffic"
        if rule.min_impact_pct is not None
        else ""
    )
    return f"severity {rule.severity} failures{impact}"


def _declared(failure: Failure) -> dt.datetime:
    return failure.declared_at


def _refund(
    rule: IncidentCountRefund,
    refs: tuple[str, ...],
    trigger: str,
    at: dt.datetime,
    month: Interval,
    zone: str,
    monthly_fee: Decimal | None,
) -> CreditLine:
    """The refund of ``month``: ``refs`` the failures of the span ending at ``at``, when
    ``trigger`` was declared."""
    head = (
        f"{len(refs)} {_failures_counted(rule)} within {rule.within} up to {trigger} "
        f"({_local(at, zone)}), more than {rule.more_than}"
    )
    return CreditLine(
        kind=CreditKind.INCIDENT_COUNT,
        percent=rule.percent_of_monthly_fee,
        fee="monthly",
        amount=_of_fee(monthly_fee, rule.percent_of_monthly_fee),
        brief=(
            f"{head}; refund of {decimal_pct(rule.percent_of_monthly_fee)} of the "
            f"{period_name(month, zone)} monthly fee"
        ),
        period=month,
        claim_deadline=None,
        incidents=refs,
        listed_at=len(head),
    )


# --- how near the count rules are to their credits -------------------------------------------


@dataclass(frozen=True)
class CountStanding:
    """``counted`` of the ``owed_at`` that owe a count rule's credit (its count budget)."""

    kind: CreditKind
    counted: int
    owed_at: int
    """``more_than + 1``: the count at which the credit is owed."""
    counts: str
    """What is counted, and over what: ``severity 1 failures within 28d``."""
    credit: str
    """What the credit is: ``a refund of 100% of the monthly fee``."""
    incidents: tuple[str, ...]

    @property
    def left(self) -> int:
        """How many more would owe the credit now (0: it is owed)."""
        return max(self.owed_at - self.counted, 0)

    @property
    def used(self) -> Fraction:
        return Fraction(self.counted, self.owed_at)


def incident_count_standing(
    rule: IncidentCountRefund, failures: Iterable[Failure], at: dt.datetime
) -> CountStanding:
    """The failures ``rule`` counts in the ``within`` span ending at ``at``, ``(at − 28 × 24 h,
    at]``: a failure declared at ``at`` would be counted with them."""
    at = as_utc(at)
    span = _WALL.length(rule.within)
    window = sorted(
        (f for f in counted_failures(rule, failures) if at - span < as_utc(f.declared_at) <= at),
        key=_declared,
    )
    return _count_standing(rule, tuple(f.ref for f in window))


def _count_standing(rule: IncidentCountRefund, refs: tuple[str, ...]) -> CountStanding:
    """``refs``, the failures of the span ending now, of the ``more_than + 1`` that owe."""
    return CountStanding(
        kind=CreditKind.INCIDENT_COUNT,
        counted=len(refs),
        owed_at=rule.more_than + 1,
        counts=f"{_failures_counted(rule)} within {rule.within}",
        credit=f"a refund of {decimal_pct(rule.percent_of_monthly_fee)} of the monthly fee",
        incidents=refs,
    )


def response_miss_standing(missed: Sequence[str], spec: ResponseMissCredit) -> CountStanding:
    """The running period's missed responses, of the ``more_than + 1`` that owe the credit."""
    return CountStanding(
        kind=CreditKind.RESPONSE_MISSES,
        counted=len(missed),
        owed_at=spec.more_than + 1,
        counts=f"missed response commitments this {spec.period}",
        credit=f"{decimal_pct(spec.percent)} of the {_fee_basis(spec)} fee",
        incidents=tuple(missed),
    )


# --- 3. response-time misses ------------------------------------------------------------------


def response_missed(
    rule: TimerRule,
    reported_at: dt.datetime,
    acknowledged_at: dt.datetime | None,
    pauses: Sequence[Pause],
    now: dt.datetime,
) -> bool:
    """Whether the response timer on ``rule``'s contract was breached (by now, if still open).

    Pauses that begin after the acknowledgement cannot touch the stopped timer.
    """
    return response_judge(rule, now)(reported_at, acknowledged_at, pauses)


def response_judge(
    rule: TimerRule, now: dt.datetime
) -> Callable[[dt.datetime, dt.datetime | None, Sequence[Pause]], bool]:
    """``response_missed`` for many incidents under one rule.

    A response within the target's length of real time is met on any clock: business time
    and pauses only move a deadline later. Most responses are quick, so most need no calendar.
    """
    length = rule.length

    def missed(
        reported_at: dt.datetime, acknowledged_at: dt.datetime | None, pauses: Sequence[Pause]
    ) -> bool:
        if acknowledged_at is not None:
            if acknowledged_at - reported_at <= length:
                return False
            pauses = tuple(p for p in pauses if p.start < acknowledged_at)
            return not stopped_in_time(rule, reported_at, acknowledged_at, pauses)[0]
        return read_timer(rule, reported_at, now, pauses=pauses).state is TimerState.BREACHED

    return missed


def _fee_basis(spec: ResponseMissCredit) -> Literal["monthly", "annual"]:
    """The fee a response-miss credit is a share of: the annual fee for a yearly period."""
    return "annual" if spec.period == "year" else "monthly"


def response_miss_credit(
    missed: Sequence[str],
    spec: ResponseMissCredit,
    fee: Decimal | None,
    *,
    period: Interval,
    zone: str,
    claim_by: dt.date | None,
) -> list[CreditLine]:
    """The credit owed when more than ``spec.more_than`` responses were missed in ``period``."""
    if len(missed) <= spec.more_than:
        return []
    basis = _fee_basis(spec)
    head = (
        f"{len(missed)} response commitments missed in {period_name(period, zone)}, "
        f"more than {spec.more_than}"
    )
    return [
        CreditLine(
            kind=CreditKind.RESPONSE_MISSES,
            percent=spec.percent,
            fee=basis,
            amount=_of_fee(fee, spec.percent),
            brief=f"{head}; {decimal_pct(spec.percent)} of the {basis} fee",
            period=period,
            claim_deadline=claim_by,
            incidents=tuple(missed),
            listed_at=len(head),
        )
    ]
