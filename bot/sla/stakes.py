"""Money at stake while an outage runs (docs/semantics.md §6, "At stake in an incident").

A report knows the downtime a period can still take before its next credit tier; an
incident running now spends that budget minute by minute. ``tier_crossings`` turns the
budget into deadlines: for each credit tier of the contract period running at ``now``, the
instant at which uptime falls below it if the running outages go on — computed exactly as
the report computes downtime (overlapping outages once, exclusions taken off: an excluded
outage burns no budget, announced maintenance ahead stops the burn while it lasts). A pause
is no exclusion: it stops the contract's timers, not the downtime (reports do not take it
off either), so a pause never moves a crossing.

At the crossing the report's tier changes: one microsecond before it, downtime is exactly
the most the tier allows (uptime at the tier, which is not below it).

``tier_crossings`` is the definition, over every outage of the period; ``crossings_from``
is how one outage's crossings are worked out in practice, from the downtime before it
began and the excluded time after (while it runs nothing else matters), which a report's
shared measure gives for a thousand customers at once. A property test holds them equal.

``count_stake`` says how near a count rule (the messaging platform's refunds) is, counting
the incident itself: "3rd severity 1 failure within 28d: one more refunds the month";
``SharedCountStakes`` the same for customers who share most failures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.sla.calendar import as_utc
from bot.sla.clocks import WallClock
from bot.sla.credits import CountStanding, Failure, SharedCount, incident_count_standing
from bot.sla.reminders import PlannedReminder, ReminderKind
from bot.sla.timers import BudgetTimer
from bot.sla.uptime import Interval, clip, least_below, period_containing, subtract
from config.policy import CreditTier, IncidentCountRefund, ReminderSpec, UptimeSpec

_MICROSECOND = dt.timedelta(microseconds=1)
_WALL = WallClock()
CROSSED = "crossed"
"""The step of the notice posted when a tier is crossed (warnings are ``15m``, ``5m``)."""


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage affecting the customer: impact start to restore (``None`` while it runs)."""

    start: dt.datetime
    end: dt.datetime | None = None
    excluded: bool = False


@dataclass(frozen=True)
class TierCrossing:
    """The instant a credit tier of ``period`` is crossed if the running outages go on."""

    tier: CreditTier
    at: dt.datetime
    period: Interval


def tier_crossings(
    terms: UptimeSpec,
    zone: str,
    now: dt.datetime,
    outages: Iterable[Outage],
    maintenance: Iterable[Interval] = (),
) -> list[TierCrossing]:
    """Each tier of the contract period running at ``now`` (in ``zone``) and when it is
    crossed, in order; past crossings included (a tier crossed earlier in the period), tiers
    the period cannot reach before it ends left out.

    ``outages``: every outage affecting the customer that overlaps the period, running ones
    with no end; ``maintenance``: the windows its contract excludes (announced with enough
    notice). Running outages are assumed to go on to the period's end.
    """
    now = as_utc(now)
    period = period_containing(terms.period, now, zone)
    start, end = period
    listed = list(outages)
    raw = clip(((as_utc(o.start), as_utc(o.end) if o.end else end) for o in listed), start, end)
    cuts = [(as_utc(o.start), as_utc(o.end) if o.end else end) for o in listed if o.excluded]
    cuts += [(as_utc(s), as_utc(e)) for s, e in maintenance]
    down = subtract(raw, cuts)
    available = (end - start) // _MICROSECOND
    found = []
    for tier in terms.credits:
        at = _instant_of(down, least_below(available, tier.below))
        if at is not None:
            found.append(TierCrossing(tier, at, period))
    return found


def crossings_from(
    terms: UptimeSpec,
    period: Interval,
    spent: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime | None,
    cuts: Iterable[Interval],
) -> list[TierCrossing]:
    """The tiers of ``period`` crossed while one outage runs from ``start`` to ``end``
    (``None``: it goes on): ``during(tier_crossings(…), start, end)``, worked out from what
    the report already knows instead of every outage of the period.

    ``spent``: the period's downtime before ``start`` (``start`` cut to the period), as the
    report measures it; ``cuts``: the excluded time (excluded outages, running ones to the
    period's end, and the maintenance the contract excludes). While the outage runs, every
    instant that is not cut is downtime, whatever else is down, so its crossings depend on
    nothing else.
    """
    first, last = period
    start = max(as_utc(start), first)
    stop = min(as_utc(end), last) if end is not None else last
    if stop <= start:
        return []
    burn = subtract([(start, stop)], ((as_utc(s), as_utc(e)) for s, e in cuts))
    available = (last - first) // _MICROSECOND
    found = []
    for tier in terms.credits:
        needed = least_below(available, tier.below) - spent // _MICROSECOND
        at = _instant_of(burn, needed) if needed > 0 else None
        if at is not None:
            found.append(TierCrossing(tier, at, period))
    return found


def _instant_of(spans: Sequence[Interval], needed: int) -> dt.datetime | None:
    """The instant at which the merged ``spans`` hold ``needed`` microseconds."""
    held = 0
    for start, end in spans:
        length = (end - start) // _MICROSECOND
        if held + length >= needed:
            return start + (needed - held) * _MICROSECOND
        held += length
    return None


def next_crossing(crossings: Sequence[TierCrossing], now: dt.datetime) -> TierCrossing | None:
    """The first tier still ahead (crossed after ``now``); ``None`` when none is."""
    now = as_utc(now)
    return next((c for c in crossings if c.at > now), None)


def during(
    crossings: Sequence[TierCrossing], start: dt.datetime, end: dt.datetime | None
) -> list[TierCrossing]:
    """The crossings an outage from ``start`` to ``end`` (``None``: running) is running at:
    the ones its channel hears about."""
    start = as_utc(start)
    return [c for c in crossings if start < c.at and (end is None or c.at <= as_utc(end))]


def plan_crossing_reminders(
    crossings: Sequence[TierCrossing], spec: ReminderSpec, now: dt.datetime
) -> list[PlannedReminder]:
    """Warnings at the contract's lead times before each crossing still ahead, and a notice
    at each crossing (also one already past, which has not been announced: the outbox's
    keys make it once). Warnings already past are left out, as for the other timers."""
    now = as_utc(now)
    plan = []
    for crossing in crossings:
        at = crossing.at
        for lead in spec.before:
            due = at - _WALL.length(lead)
            if due >= now:
                plan.append(PlannedReminder(due, BudgetTimer.BUDGET, ReminderKind.WARNING, at, str(lead)))  # fmt: skip
        plan.append(PlannedReminder(at, BudgetTimer.BUDGET, ReminderKind.BREACH, at, CROSSED))  # fmt: skip
    return sorted(set(plan))


MANAGERS_BEFORE = dt.timedelta(minutes=15)
"""Managers hear of a crossing this long before it (and when it comes)."""


def plan_manager_notices(
    crossings: Sequence[TierCrossing], now: dt.datetime
) -> list[PlannedReminder]:
    """The direct messages to managers: 15 minutes before each crossing still ahead (not
    once that is past), and at each crossing."""
    now = as_utc(now)
    plan = []
    for crossing in crossings:
        at = crossing.at
        if at - MANAGERS_BEFORE >= now:
            plan.append(PlannedReminder(at - MANAGERS_BEFORE, BudgetTimer.DM, ReminderKind.WARNING, at, "15m"))  # fmt: skip
        plan.append(PlannedReminder(at, BudgetTimer.DM, ReminderKind.BREACH, at, CROSSED))
    return sorted(plan)


# --- count rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountStake:
    """How near a count rule is to its refund, the incident counted."""

    rule: IncidentCountRefund
    standing: CountStanding

    @property
    def counted(self) -> int:
        return self.standing.counted

    @property
    def left(self) -> int:
        """How many more would refund the month (0: this one does)."""
        return self.standing.left


def count_stake(
    rules: Sequence[IncidentCountRefund], incident: Failure, others: Iterable[Failure]
) -> list[CountStake]:
    """The count rules that count ``incident``, each standing in the span ending at its
    declaration (``others``: the customer's other failures; those declared later are not in
    that span)."""
    failures = [incident, *others]
    found = []
    for rule in rules:
        standing = incident_count_standing(rule, failures, incident.declared_at)
        if incident.ref in standing.incidents:
            found.append(CountStake(rule, standing))
    return found


class SharedCountStakes:
    """``count_stake`` for many customers who share most failures (those affecting
    everyone): the shared ones counted once per rule (``SharedCount``); ``of(own)`` equals
    ``count_stake(rules, incident, [*shared, *own])``."""

    def __init__(
        self, rules: Sequence[IncidentCountRefund], incident: Failure, shared: Iterable[Failure]
    ) -> None:
        at = incident.declared_at
        listed = list(shared)
        self._incident = incident
        self._counts = [SharedCount(r, listed, zone="UTC", since=at, until=at) for r in rules]

    def of(self, own: Iterable[Failure] = ()) -> list[CountStake]:
        incident, failures = self._incident, [self._incident, *own]
        found = []
        for count in self._counts:
            standing = count.standing(failures, incident.declared_at)
            if incident.ref in standing.incidents:
                found.append(CountStake(count.rule, standing))
        return found
