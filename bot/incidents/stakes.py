"""What an incident puts at stake for each customer it affects, read from the record
(the engine's part is ``bot.sla.stakes``; docs/semantics.md §6, "At stake in an incident").

- **Credit tiers**: for a customer whose contract has tiers, the instants its running
  period's tiers are crossed if the outages affecting it go on, its whole history of the
  period read as a report reads it (overlapping outages once, excluded outages and
  maintenance announced with enough notice taken off, pauses not: they stop timers, not
  downtime). The card shows the next one; the crossings this incident is running at are a
  timer's deadlines, with reminders.
- **Count rules**: how near each refund rule that counts this incident is, in the 28 days
  ending at its declaration.

A customer without tiers or count rules shows nothing. An incident that is no outage, or
is excluded from uptime, burns no budget.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.sla.calendar import as_utc
from bot.sla.clocks import WallClock
from bot.sla.contract import Contract
from bot.sla.credits import Failure, period_name
from bot.sla.stakes import (
    CountStake,
    SharedCountStakes,
    TierCrossing,
    crossings_from,
    during,
    next_crossing,
)
from bot.sla.uptime import (
    Interval,
    SharedDowntime,
    SharedOutages,
    notice_given,
    outage_interval,
    period_containing,
)
from config.policy import Contracts, Customer
from storage import queries
from storage.models import Incident

SHOWN = 5
"""Customers the card names; the others are counted ("and 3 more")."""


@dataclass(frozen=True)
class TierStake:
    """One customer's credit tiers against this incident."""

    customer: Customer
    crossings: tuple[TierCrossing, ...]
    """The crossings this incident is running at (past ones included): its reminders."""
    ahead: TierCrossing | None
    """The next tier, while this incident runs."""

    @property
    def period_name(self) -> str:
        period = (self.ahead or self.crossings[-1]).period
        return period_name(period, self.customer.zone)


@dataclass(frozen=True)
class CountLine:
    """One customer's count rule, this incident counted."""

    customer: Customer
    stake: CountStake


@dataclass(frozen=True)
class Stakes:
    """Everything an incident puts at stake, worst first."""

    tiers: tuple[TierStake, ...] = ()
    counts: tuple[CountLine, ...] = ()
    as_of: dt.datetime | None = None
    lines: tuple[TierStake | CountLine, ...] = field(default=())
    """What the card lists, worst first: refunds this incident triggers, then the tiers
    nearest to their crossing, then the count rules nearest to their refund."""

    @property
    def deadlines(self) -> frozenset[dt.datetime]:
        """Every crossing instant this incident is running at (its reminders' deadlines)."""
        return frozenset(c.at for t in self.tiers for c in t.crossings)

    def crossing_at(self, at: dt.datetime) -> list[tuple[Customer, TierCrossing]]:
        """The customers whose tier is crossed at ``at`` while this incident runs."""
        return [(t.customer, c) for t in self.tiers for c in t.crossings if c.at == at]


NOTHING = Stakes()


def at_stake(
    session: Session,
    incident: Incident,
    customer_ids: Sequence[str],
    registry: Contracts,
    now: dt.datetime,
) -> Stakes:
    """The stakes of ``incident`` (affecting ``customer_ids``, none: every customer) at
    ``now``: one read of the outages and failures of its customers' running periods."""
    named = [registry.customers[c] for c in customer_ids if c in registry.customers]
    customers = named or ([] if customer_ids else list(registry.customers.values()))
    burns = incident.outage and not incident.excluded_reason
    tiered = [c for c in customers if burns and c.policy.uptime and c.policy.uptime.credits]
    counting = [
        c for c in customers if any(r.severity == incident.severity for r in c.policy.refunds)
    ]
    if not tiered and not counting:
        return NOTHING
    now = as_utc(now)
    periods = [period_containing(c.policy.uptime.period, now, c.zone) for c in tiered]
    end = now + dt.timedelta(seconds=1)
    # The outages of the running periods (a year, for a yearly contract), and the failures
    # of the count rules' 28 days: two reads, each of only what it needs.
    everyone: list[tuple] = []
    own: dict[str, list[tuple]] = defaultdict(list)
    if tiered:
        _read(session, min(p[0] for p in periods), end, set(), everyone, own)
    failed: list[tuple] = []
    failed_own: dict[str, list[tuple]] = defaultdict(list)
    if counting:
        since = min(
            incident.declared_at - WallClock().length(r.within)
            for c in counting
            for r in c.policy.refunds
        )
        _read(session, since, end, {incident.severity}, failed, failed_own)
    # Only the downtime before this outage began is measured (as reports measure it: the
    # outages affecting everyone once, each customer adding its own); from then on every
    # instant not excluded is downtime. Customers on the same terms with nothing of their
    # own share their outcome (an outage of the whole platform affects a thousand
    # customers on three contracts).
    windows = (
        _Windows(session, min(p[0] for p in periods), max(p[1] for p in periods))
        if tiered
        else None
    )
    shared_outages = SharedOutages([_interval(r, now) for r in everyone if r.outage])
    excluded_everyone = [r for r in everyone if r.outage and r.excluded]
    measured: dict[tuple, SharedDowntime] = {}
    crossings_of: dict[tuple, list[TierCrossing]] = {}
    tiers = []
    for customer, period in zip(tiered, periods, strict=True):
        terms = customer.policy.uptime
        assert terms is not None and windows is not None
        mine = [r for r in own[customer.id] if r.outage]
        shared_cuts = [_cut(r, period) for r in excluded_everyone]
        shared_cuts += windows.excluded(customer, period, everyone=True)
        own_cuts = [_cut(r, period) for r in mine if r.excluded]
        own_cuts += windows.excluded(customer, period, everyone=False)
        key = (id(terms), customer.zone, period, tuple(shared_cuts))
        crossings = None if mine or own_cuts else crossings_of.get(key)
        if crossings is None:
            start = max(incident.impact_start, period[0])
            shared = measured.get(key)
            if shared is None:
                shared = measured[key] = SharedDowntime(
                    [period], start, shared_outages, shared_cuts
                )
            spent = shared.measure([_interval(r, now) for r in mine], own_cuts).results[0].downtime
            crossings = crossings_from(
                terms, period, spent, incident.impact_start, incident.restored_at,
                [*shared_cuts, *own_cuts],
            )  # fmt: skip
            if not mine and not own_cuts:
                crossings_of[key] = crossings
        stake = _stake(customer, crossings, incident, now)
        if stake is not None:
            tiers.append(stake)
    this = Failure(
        incident.ref, incident.severity, incident.declared_at, incident.impact_pct,
        bool(incident.excluded_reason),
    )  # fmt: skip
    shared_failures = [_failure(r) for r in failed if r.id != incident.id]
    shared_counts: dict[int, SharedCountStakes] = {}
    stakes_of: dict[int, list[CountStake]] = {}
    counts = []
    for customer in counting:
        rules = customer.policy.refunds
        theirs = [_failure(r) for r in failed_own[customer.id] if r.id != incident.id]
        found = None if theirs else stakes_of.get(id(rules))
        if found is None:
            shared = shared_counts.get(id(rules))
            if shared is None:
                shared = shared_counts[id(rules)] = SharedCountStakes(rules, this, shared_failures)
            found = shared.of(theirs)
            if not theirs:
                stakes_of[id(rules)] = found
        counts += [CountLine(customer, stake) for stake in found]
    return Stakes(tuple(tiers), tuple(counts), now, _worst_first(tiers, counts))


def _read(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    severities: set[int],
    everyone: list[tuple],
    own: dict[str, list[tuple]],
) -> None:
    """The outages of ``[start, end)`` (and the failures of ``severities``), split into
    those affecting everyone and each customer's own."""
    rows = queries.report_incidents(
        session, start, end, response_customers=(), severities=severities
    )
    for row in map(queries.ReportRow._make, rows):
        if row.affects_all:
            everyone.append(row)
        elif row.customer is not None:
            own[row.customer].append(row)


def _failure(row) -> Failure:
    return Failure(row.ref, row.severity, row.declared_at, row.impact_pct, bool(row.excluded))


def _interval(row, now: dt.datetime) -> Interval:
    return outage_interval(row.impact_start, row.restored_at, now)


def _cut(row, period: Interval) -> Interval:
    """An excluded outage's time: to the period's end while it runs."""
    return row.impact_start, row.restored_at or period[1]


def _stake(
    customer: Customer, crossings: list[TierCrossing], incident: Incident, now: dt.datetime
) -> TierStake | None:
    """The crossings ``incident`` runs at, and the next one while it runs."""
    mine = during(crossings, incident.impact_start, incident.restored_at)
    if not mine:
        return None
    ahead = next_crossing(mine, now) if incident.restored_at is None else None
    return TierStake(customer, tuple(mine), ahead)


class _Windows:
    """The maintenance windows of the periods read, read once for every customer."""

    def __init__(self, session: Session, start: dt.datetime, end: dt.datetime) -> None:
        self._windows = queries.maintenance_between(session, start, end)
        self._named = queries.maintenance_customers(
            session, [w.id for w in self._windows if not w.affects_all]
        )

    def excluded(self, customer: Customer, period: Interval, *, everyone: bool) -> list[Interval]:
        """The windows affecting ``customer`` in ``period`` that its contract excludes
        (announced with enough notice): those affecting ``everyone``, or those naming it."""
        terms = customer.policy.uptime
        assert terms is not None
        found = [
            w
            for w in self._windows
            if w.starts_at < period[1]
            and w.ends_at > period[0]
            and (w.affects_all if everyone else customer.id in self._named.get(w.id, ()))
        ]
        if not found:  # most periods have none: no calendar to build
            return []
        calendar = Contract.of_customer(customer).calendar
        return [
            (w.starts_at, w.ends_at)
            for w in found
            if notice_given(w.announced_at, w.starts_at, terms.maintenance, calendar)
        ]


def _worst_first(
    tiers: Sequence[TierStake], counts: Sequence[CountLine]
) -> tuple[TierStake | CountLine, ...]:
    owed = [c for c in counts if c.stake.left == 0]
    ahead = sorted((t for t in tiers if t.ahead is not None), key=lambda t: t.ahead.at)
    near = sorted((c for c in counts if c.stake.left > 0), key=lambda c: c.stake.left)
    return (*owed, *ahead, *near)
