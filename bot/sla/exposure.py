"""A customer's credit exposure over its contract periods: three steps and the rule that
combines them (docs/semantics.md §6).

Each step is a pure function of the contract's terms, the periods judged, the intervals and
failures that happened, and ``until`` (the end of what was asked for, or now when that comes
first). None of them knows the customer or its fee, so customers on identical terms can share
a step's outcome; their credit lines carry percentages and no amount.

1. ``assess_uptime`` — uptime month by month, whether the commitment was met, the tier credit
   of each period (the highest tier that applies), and the downtime left before each tier
   still ahead.
2. ``assess_refunds`` — the months that incident counts refund, and how near each rule is.
3. ``assess_response_misses`` — a credit for each period with too many missed responses,
   and the running period's count.

``exposure`` combines them for one customer: every credit line of the three kinds, priced at
the customer's fee; the tier budgets; each count rule's standing; and the claim deadline.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from bot.sla.credits import (
    CountStanding,
    CreditLine,
    Failure,
    SharedCount,
    TierBudget,
    counted_failures,
    incident_count_refunds,
    incident_count_standing,
    response_miss_credit,
    response_miss_standing,
    tier_budgets,
    uptime_credit,
)
from bot.sla.uptime import (
    Interval,
    UptimeResult,
    claim_deadline,
    combine,
    measure_periods,
    periods_between,
)
from config.policy import Fee, IncidentCountRefund, Policy, ResponseMissCredit, UptimeSpec

F = TypeVar("F", bound=Failure)


def periods_begun(periods: Sequence[Interval], until: dt.datetime) -> list[Interval]:
    """The periods that have begun by ``until`` (the first one at least)."""
    return [p for p in periods if p[0] < until] or [periods[0]]


# --- 1. uptime ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UptimeOutcome:
    """What uptime says about consecutive contract periods (a month, a year, twelve months)."""

    result: UptimeResult
    """All the periods together: their minutes added up."""
    met: bool
    """Every period begun met the commitment."""
    credits: tuple[CreditLine, ...]
    """One tier credit per period below a tier, without an amount."""
    budgets: tuple[TierBudget, ...]
    """The downtime the last period begun can still take before each tier not yet reached."""
    month_to_date: UptimeResult
    """The last calendar month begun, measured alike (also within a yearly period)."""


def assess_uptime(
    terms: UptimeSpec,
    zone: str,
    periods: Sequence[Interval],
    until: dt.datetime,
    outages: Sequence[Interval],
    exclusions: Sequence[Interval],
) -> UptimeOutcome:
    """Uptime of ``periods`` (consecutive, of ``terms.period`` in ``zone``) with what happened
    up to ``until``: ``outages`` every outage interval affecting the customer, ``exclusions``
    the excluded outages and the maintenance windows announced with enough notice."""
    months = measure_periods(uptime_months(periods, zone), until, outages, exclusions)
    return judge_uptime(terms, zone, periods, until, months)


def uptime_months(periods: Sequence[Interval], zone: str) -> list[Interval]:
    """The calendar months of ``zone`` that ``periods`` cover. Uptime is measured month by
    month (the months of a year add up to it exactly), so every outcome also knows the
    running month."""
    return periods_between("month", periods[0][0], periods[-1][1], zone)


def judge_uptime(
    terms: UptimeSpec,
    zone: str,
    periods: Sequence[Interval],
    until: dt.datetime,
    months: Sequence[UptimeResult],
) -> UptimeOutcome:
    """Step 1 once the ``uptime_months`` of ``periods`` are measured (``assess_uptime``, or
    ``SharedDowntime`` for customers who share most of their outages)."""
    begun = periods_begun(periods, until)
    month_to_date = next((m for m in reversed(months) if m.start < until), months[0])
    if terms.period == "month":
        results = months
    else:
        results = [combine([m for m in months if p[0] <= m.start < p[1]]) for p in periods]
    basis = "monthly" if terms.period == "month" else "annual"
    credits: list[CreditLine] = []
    for r in results:
        claim_by = claim_deadline(r.end, terms.claim_window, zone)
        credits += uptime_credit(
            r, terms.credits, None, fee_basis=basis, zone=zone, claim_by=claim_by
        )
    return UptimeOutcome(
        result=combine(results),
        met=all(r.meets(terms.commitment) for r in results if (r.start, r.end) in begun),
        credits=tuple(credits),
        budgets=tuple(tier_budgets(results[len(begun) - 1], terms.credits)),
        month_to_date=month_to_date,
    )


# --- 2. and 3. the count rules -------------------------------------------------------------------


@dataclass(frozen=True)
class CountOutcome(Generic[F]):
    """What a count rule (incident-count refunds, response misses) says about the periods."""

    credits: tuple[CreditLine, ...] = ()
    """Without an amount."""
    standings: tuple[CountStanding, ...] = ()
    """While the periods run: how near each rule is to its credit now."""
    counted: tuple[F, ...] = ()
    """The failures the rules counted (one may appear under two rules)."""


def assess_refunds(
    rules: Sequence[IncidentCountRefund],
    zone: str,
    failures: Sequence[F],
    since: dt.datetime,
    cut: dt.datetime,
    until: dt.datetime,
) -> CountOutcome[F]:
    """The months refunded by failures declared in ``[since, cut)``; ``failures`` must include
    those of the rules' ``within`` span before ``since``. While the periods run (``until``
    before ``cut``) each rule's standing counts the span ending at ``until``."""
    if not rules:
        return CountOutcome()
    standings = (
        tuple(incident_count_standing(rule, failures, until) for rule in rules)
        if until < cut
        else ()
    )
    credits = incident_count_refunds(
        failures, rules, zone=zone, monthly_fee=None, since=since, until=cut
    )
    counted = tuple(
        f
        for rule in rules
        for f in counted_failures(rule, failures)
        if since <= f.declared_at < cut
    )
    return CountOutcome(tuple(credits), standings, counted)


class SharedRefunds(Generic[F]):
    """Step 2 for customers on the same terms: the failures they all share (incidents
    affecting every customer) counted once per rule (``SharedCount``).

    ``assess(own)`` equals ``assess_refunds(rules, zone, shared + own, since, cut, until)``,
    except that its ``counted`` holds the customer's own failures only; the shared ones the
    rules counted are ``counted`` here, the same for every customer on these terms.
    """

    def __init__(
        self,
        rules: Sequence[IncidentCountRefund],
        zone: str,
        failures: Sequence[F],
        since: dt.datetime,
        cut: dt.datetime,
        until: dt.datetime,
    ) -> None:
        self._rules = tuple(rules)
        self._counts = [
            SharedCount(rule, failures, zone=zone, since=since, until=cut) for rule in rules
        ]
        self._since, self._cut, self._until = since, cut, until
        self.counted: tuple[F, ...] = tuple(
            f for count in self._counts for f in count.failures if since <= f.declared_at < cut
        )
        """The shared failures the rules counted (one may appear under two rules)."""

    def assess(self, own: Sequence[F] = ()) -> CountOutcome[F]:
        if not self._rules:
            return CountOutcome()
        months: dict[Interval, CreditLine] = {}
        for count in self._counts:  # a month is refunded once: the largest percentage wins
            for month, line in count.refunds(own).items():
                held = months.get(month)
                if held is None or held.percent < count.rule.percent_of_monthly_fee:
                    months[month] = line
        standings = (
            tuple(count.standing(own, self._until) for count in self._counts)
            if self._until < self._cut
            else ()
        )
        counted = tuple(
            f
            for rule in self._rules
            for f in counted_failures(rule, own)
            if self._since <= f.declared_at < self._cut
        )
        return CountOutcome(tuple(months[m] for m in sorted(months)), standings, counted)


def assess_response_misses(
    spec: ResponseMissCredit | None,
    zone: str,
    missed: Sequence[F],
    periods: Sequence[Interval],
    cut: dt.datetime,
    until: dt.datetime,
) -> CountOutcome[F]:
    """A credit for each of ``periods`` (consecutive, of ``spec.period``) in which more than
    ``spec.more_than`` responses were missed. ``missed``: the failures whose response was
    missed, declared before ``cut``, in the order they are listed. While the periods run
    (``until`` before ``cut``) the running period's count is its standing."""
    if spec is None:
        return CountOutcome()
    credits: list[CreditLine] = []
    standings: list[CountStanding] = []
    counted: list[F] = []
    for period in periods:
        end = min(period[1], cut)
        in_period = [f for f in missed if period[0] <= f.declared_at < end]
        counted += in_period
        refs = [f.ref for f in in_period]
        if until < cut and period[0] <= until < period[1]:
            standings.append(response_miss_standing(refs, spec))
        credits += response_miss_credit(
            refs, spec, None, period=period, zone=zone,
            claim_by=claim_deadline(period[1], spec.claim_window, zone),
        )  # fmt: skip
    return CountOutcome(tuple(credits), tuple(standings), tuple(counted))


class SharedMisses(Generic[F]):
    """Step 3 for customers on the same terms: the missed responses of incidents affecting
    every customer, split into the periods once.

    ``assess(own)`` equals ``assess_response_misses(spec, zone, missed, periods, cut,
    until)`` where ``missed`` are the shared and the customer's ``own`` missed responses
    together in ``key`` order (both given in that order), except that its ``counted`` holds
    the customer's own; a customer's few are put in their places among the shared ones.
    """

    def __init__(
        self,
        spec: ResponseMissCredit | None,
        zone: str,
        missed: Sequence[F],
        periods: Sequence[Interval],
        cut: dt.datetime,
        until: dt.datetime,
        key: Callable[[F], Any] = attrgetter("declared_at"),
    ) -> None:
        self._spec, self._zone, self._periods = spec, zone, tuple(periods)
        self._cut, self._until, self._key = cut, until, key
        self._shared = []  # per period: the keys and the references of the shared ones
        for period in self._periods:
            end = min(period[1], cut)
            found = [f for f in missed if period[0] <= f.declared_at < end]
            self._shared.append(([key(f) for f in found], [f.ref for f in found]))
        self._alone: CountOutcome[F] | None = None

    def assess(self, own: Sequence[F] = ()) -> CountOutcome[F]:
        spec = self._spec
        if spec is None:
            return CountOutcome()
        if not own and self._alone is not None:
            return self._alone
        credits: list[CreditLine] = []
        standings: list[CountStanding] = []
        counted: list[F] = []
        for period, (keys, shared) in zip(self._periods, self._shared, strict=True):
            end = min(period[1], self._cut)
            mine = [f for f in own if period[0] <= f.declared_at < end]
            counted += mine
            refs = list(shared)
            for shift, f in enumerate(mine):  # in key order: each after those before it
                refs.insert(bisect_right(keys, self._key(f)) + shift, f.ref)
            if self._until < self._cut and period[0] <= self._until < period[1]:
                standings.append(response_miss_standing(refs, spec))
            credits += response_miss_credit(
                refs, spec, None, period=period, zone=self._zone,
                claim_by=claim_deadline(period[1], spec.claim_window, self._zone),
            )  # fmt: skip
        outcome = CountOutcome(tuple(credits), tuple(standings), tuple(counted))
        if not own:
            self._alone = outcome
        return outcome


# --- the combining rule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """What one customer's periods owe it, and what a report can foresee."""

    credits: tuple[CreditLine, ...]
    """Every kind, priced, in period order (within a period: uptime, refunds, misses)."""
    budgets: tuple[TierBudget, ...]
    """The downtime left before each tier not yet reached, the next one first."""
    counts: tuple[CountStanding, ...]
    """Each count rule's standing while the period runs, the nearest to its credit first."""
    claim_deadline: dt.date | None
    """The last day to claim the credits of the last period begun (contract's zone)."""


def exposure(
    terms: Policy,
    zone: str,
    fee: Fee | None,
    last_period: Interval,
    uptime: UptimeOutcome | None,
    refunds: CountOutcome,
    misses: CountOutcome,
) -> Exposure:
    """The three kinds together for one customer (``last_period``: the last period begun).

    The kinds add up: a period's tier credit, a refunded month and a response-miss credit
    are all owed. Within a kind the steps already took only what is owed once: the highest
    tier of a period, a month refunded once. Each line is a percentage of the customer's
    monthly or annual fee, as the line says.
    """
    lines = (*(uptime.credits if uptime else ()), *refunds.credits, *misses.credits)
    credits = sorted((priced(line, fee) for line in lines), key=lambda line: line.period)
    window = (terms.uptime.claim_window if terms.uptime else None) or (
        terms.response_misses.claim_window if terms.response_misses else None
    )
    return Exposure(
        credits=tuple(credits),
        budgets=uptime.budgets if uptime else (),
        counts=tuple(
            sorted((*refunds.standings, *misses.standings), key=lambda c: (-c.used, c.counts))
        ),
        claim_deadline=claim_deadline(last_period[1], window, zone),
    )


def priced(line: CreditLine, fee: Fee | None) -> CreditLine:
    """``line`` with its amount: its percentage of the monthly or annual fee (none unknown)."""
    if fee is None:
        return line
    basis = fee.monthly if line.fee == "monthly" else fee.annual
    return CreditLine(  # not dataclasses.replace: a report prices thousands of lines
        kind=line.kind,
        percent=line.percent,
        fee=line.fee,
        amount=basis * line.percent / 100,
        brief=line.brief,
        period=line.period,
        claim_deadline=line.claim_deadline,
        incidents=line.incidents,
        listed_at=line.listed_at,
    )
