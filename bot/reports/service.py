"""Uptime, credits and refunds per customer, each judged by its own contract (docs/semantics.md §5–§6).

``customer_report`` is one read unit of work: it loads every incident, customer link, pause
and maintenance window the period needs with a constant number of queries (however many
customers and incidents), applies the engine (``bot.sla.uptime``, ``bot.sla.credits``) to
each customer, and returns plain values (``bot.reports.views``).

What a requested period means for each contract (a support lead's reading, docs/decisions.md):

- ``YYYY-MM`` for a monthly contract: that calendar month in the contract's zone.
- ``YYYY`` for a monthly contract: its twelve months. Uptime is the year's (the months'
  minutes added up), the credits are every month's credits together, ``met`` means every
  month met the commitment, and the budget and claim deadline are those of the last month
  that has begun.
- ``YYYY`` for a yearly contract: that calendar year.
- ``YYYY-MM`` for a yearly contract: the year to date — data up to the end of that month,
  judged as the year, so available minutes are the whole year's.
- A period still running (or a year seen to date) counts open incidents until now and keeps
  the whole period's available minutes: its uptime, credits and budget mean "if nothing
  else goes down". They never exceed what the period will owe.
- Months are in the contract's zone: the customer's own for a ``timezone: customer`` policy.
- A policy without an uptime section: the uptime fields are null and a note says so; its
  refunds and response credits still apply to the requested month or year.
- Amounts come from the customer's fee: the monthly fee for monthly credits and refunds,
  the annual fee for yearly ones. Without a fee on file only percentages are known, and a
  note says so.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import attrgetter
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.record import breach_notes
from bot.reports.views import CustomerReport, CustomerStanding, Report
from bot.sla.calendar import BusinessCalendar
from bot.sla.clocks import WallClock
from bot.sla.contract import Contract
from bot.sla.credits import Failure, response_judge
from bot.sla.exposure import (
    UptimeOutcome,
    assess_refunds,
    assess_response_misses,
    assess_uptime,
    exposure,
    periods_begun,
)
from bot.sla.timers import Pause, TimerKind, TimerRule
from bot.sla.uptime import (
    Interval,
    Period,
    claim_deadline,
    notice_given,
    outage_interval,
    overlaps,
    period_bounds,
    period_containing,
    periods_between,
)
from config.policy import Customer, Duration, MaintenanceSpec
from storage import queries

PERIOD_FORMATS = "YYYY-MM for a month (e.g. 2026-10) or YYYY for a year (e.g. 2026)"
PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_EARLIEST_OFFSET = dt.timedelta(hours=14)  # the furthest-ahead zone (UTC+14) starts a day first
_MICROSECOND = dt.timedelta(microseconds=1)


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestedPeriod:
    """A month or a year as asked for; each customer sees it in its contract's zone."""

    year: int
    month: int | None = None

    @property
    def label(self) -> str:
        return f"{self.year:04d}" if self.month is None else f"{self.year:04d}-{self.month:02d}"

    def bounds(self, zone: str) -> Interval:
        if self.month is None:
            return period_bounds("year", zone, year=self.year)
        return period_bounds("month", zone, year=self.year, month=self.month)

    @property
    def earliest_start(self) -> dt.datetime:
        """When the period begins in the first zone to reach it."""
        first = dt.datetime(self.year, self.month or 1, 1, tzinfo=dt.UTC)
        return first - _EARLIEST_OFFSET


def parse_period(text: str) -> RequestedPeriod:
    """``2026-10`` or ``2026``; anything else is refused with what is accepted."""
    match = PERIOD_RE.match((text or "").strip())
    if not match:
        raise Refusal(f"{text!r} is not a period; write {PERIOD_FORMATS}")
    year = int(match.group(1))
    month = None if match.group(2) is None else int(match.group(2))
    if month is not None and not 1 <= month <= 12:
        raise Refusal(f"{text!r} has no month {month}; write {PERIOD_FORMATS}")
    if not 1970 <= year <= 9998:
        raise Refusal(f"{text!r}: the year must be between 1970 and 9998")
    return RequestedPeriod(year, month)


# --- what one customer's report covers --------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    customer: Customer
    periods: tuple[Interval, ...]
    """The contract periods judged: months of a monthly contract, the year of a yearly one."""
    cut: dt.datetime
    """The end of what was asked for: incidents declared before it count."""
    until: dt.datetime
    """Outages count up to here: the cut, or now when that comes first."""
    response_periods: tuple[Interval, ...] = ()

    @property
    def reads_from(self) -> dt.datetime:
        """The earliest instant the engine looks at: refunds count the days before the period."""
        policy = self.customer.policy
        lookback = max((WallClock().length(r.within) for r in policy.refunds), default=None)
        start = min(p[0] for p in (*self.periods, *self.response_periods))
        return start - lookback if lookback is not None else start


def _plan(customer: Customer, span: Interval, now: dt.datetime) -> _Plan:
    """The contract periods of ``customer`` that cover ``span``, with data up to its end.

    Nothing is declared after now, so declarations count up to the end of ``span``; outages
    count up to that end or now, whichever comes first.
    """
    zone, policy = customer.zone, customer.policy
    if policy.uptime is None:
        periods = [span]
    else:
        periods = periods_between(policy.uptime.period, span[0], span[1], zone)
    misses = policy.response_misses
    response_periods = (
        periods_between(misses.period, periods[0][0], periods[-1][1], zone) if misses else []
    )
    cut = span[1]
    until = min(max(now, periods[0][0]), cut)
    return _Plan(customer, tuple(periods), cut, until, tuple(response_periods))


def _running_kind(customer: Customer) -> Period:
    policy = customer.policy
    if policy.uptime is not None:
        return policy.uptime.period
    if policy.response_misses is not None:
        return policy.response_misses.period
    return "month"


# --- loading -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fact(Failure):
    """An incident as the engine needs it: a failure refund rules count, and more."""

    id: int = 0
    outage: Interval | None = None
    """Impact start to restore (or now), when the incident is an outage."""
    reported_at: dt.datetime | None = None
    """Response instants: loaded only for customers with response-miss credits."""
    acknowledged_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class _Window:
    ref: str
    span: Interval
    announced_at: dt.datetime


@dataclass
class _History:
    """What a report read, by whom it affects. Work on the incidents that affect everyone is
    done once here, not once per customer."""

    everyone: list[_Fact] = field(default_factory=list)
    named: dict[str, list[_Fact]] = field(default_factory=lambda: defaultdict(list))
    pauses: dict[int, tuple[Pause, ...]] = field(default_factory=dict)
    windows_everyone: list[_Window] = field(default_factory=list)
    windows_named: dict[str, list[_Window]] = field(default_factory=lambda: defaultdict(list))

    def incidents(self, customer_id: str) -> list[_Fact]:
        """Those affecting the customer: named, or affecting everyone (in no order)."""
        own = self.named.get(customer_id)
        return self.everyone + own if own else self.everyone

    def own(self, customer_id: str) -> list[_Fact]:
        return self.named.get(customer_id, [])

    @cached_property
    def outages_everyone(self) -> list[_Fact]:
        return [f for f in self.everyone if f.outage is not None]


_by_declaration = attrgetter("declared_at", "id")


def _load(
    ctx: Context,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    customer_id: str | None,
    response_customers: set[str],
    severities: set[int],
) -> _History:
    """Every incident, pause and maintenance window of ``[start, end)``: five queries in all.

    An incident that is no outage matters only to a refund rule of its severity or to a
    customer whose missed responses are credited: the others are not read."""
    history = _History()
    facts: dict[int, _Fact] = {}
    with ctx.db.read() as session:
        rows = queries.report_incidents(
            session, start, end, customer_id=customer_id,
            response_customers=response_customers, severities=severities,
        )  # fmt: skip
        for (
            incident_id, ref, severity, declared_at, outage, impact_pct, excluded, affects_all,
            customer, impact_start, restored_at, reported_at, acknowledged_at,
        ) in rows:  # streamed: one row per incident and customer it names  # fmt: skip
            fact = facts.get(incident_id)
            if fact is None:
                interval = outage_interval(impact_start, restored_at, now) if outage else None
                fact = facts[incident_id] = _Fact(
                    ref, severity, declared_at, impact_pct, excluded,
                    incident_id, interval, reported_at, acknowledged_at,
                )  # fmt: skip
                if affects_all:
                    history.everyone.append(fact)
            if customer is not None:
                history.named[customer].append(fact)
        if response_customers:
            history.pauses = {
                incident: tuple(Pause(started, ended) for started, ended in spans)
                for incident, spans in queries.report_pauses(session, start, end).items()
            }
        windows = queries.maintenance_between(session, start, end)
        window_customers = queries.maintenance_customers(session, [w.id for w in windows])
    for window in windows:
        item = _Window(window.ref, (window.starts_at, window.ends_at), window.announced_at)
        if window.affects_all:
            history.windows_everyone.append(item)
        else:
            for customer in window_customers.get(window.id, ()):
                history.windows_named[customer].append(item)
    return history


# --- applying the engine ---------------------------------------------------------------------------


class _Exclusions:
    """The maintenance windows a contract excludes. The windows affecting everyone are
    judged once per set of maintenance terms (most customers share their policy's)."""

    def __init__(self, history: _History) -> None:
        self._history = history
        self._shared: dict[tuple, list[Interval]] = {}

    def spans(
        self, customer_id: str, maintenance: MaintenanceSpec, calendar: BusinessCalendar
    ) -> list[Interval]:
        on_calendar = calendar if maintenance.notice.is_business_unit else None
        # The objects themselves, not their ids: a key keeps its calendar alive, so an id
        # can never be reused by another customer's calendar while the report runs.
        key = (maintenance, on_calendar)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = self._judge(
                self._history.windows_everyone, maintenance, calendar
            )
        named = self._history.windows_named.get(customer_id)
        return shared + self._judge(named, maintenance, calendar) if named else shared

    @staticmethod
    def _judge(
        windows: Sequence[_Window], maintenance: MaintenanceSpec, calendar: BusinessCalendar
    ) -> list[Interval]:
        return [
            w.span
            for w in windows
            if notice_given(w.announced_at, w.span[0], maintenance, calendar)
        ]


class _ResponseJudge:
    """Whether an incident's response was missed under a target and calendar; each answer
    computed once (an incident affecting every customer of one policy is judged once)."""

    def __init__(self, pauses: dict[int, tuple[Pause, ...]], now: dt.datetime):
        self._pauses, self._now = pauses, now
        self._answers: dict[tuple, dict[int, bool]] = {}

    def judge(self, rule: TimerRule) -> Callable[[_Fact], bool]:
        # The calendar itself (compared by identity), never its id: see ``_Exclusions``.
        key = (getattr(rule.clock, "calendar", None), str(rule.target), rule.clock.kind)
        answers = self._answers.setdefault(key, {})
        pauses, judged = self._pauses, response_judge(rule, self._now)

        def missed(fact: _Fact) -> bool:
            answer = answers.get(fact.id)
            if answer is None:
                answer = answers[fact.id] = judged(
                    fact.reported_at, fact.acknowledged_at, pauses.get(fact.id, ())
                )
            return answer

        return missed


def _assess(
    plan: _Plan, history: _History, judge: _ResponseJudge, exclusions: _Exclusions
) -> CustomerReport:
    """One customer's report: the engine's three steps on what affects it, then the rule
    that combines them (``bot.sla.exposure``)."""
    customer = plan.customer
    policy, zone = customer.policy, customer.zone
    facts = history.incidents(customer.id) if policy.refunds or policy.response_misses else []
    uptime, down = _uptime(plan, history, exclusions)
    refunds = assess_refunds(policy.refunds, zone, facts, plan.periods[0][0], plan.cut, plan.until)
    misses = assess_response_misses(
        policy.response_misses, zone, _missed_responses(plan, facts, judge),
        plan.response_periods, plan.cut, plan.until,
    )  # fmt: skip
    owed = exposure(
        policy, zone, customer.fee, periods_begun(plan.periods, plan.until)[-1],
        uptime, refunds, misses,
    )  # fmt: skip
    counted = {f.id: f for f in (*down, *refunds.counted, *misses.counted)}
    notes = []
    if policy.uptime is None:
        notes.append(f"the {policy.id} policy has no uptime section: uptime is not measured")
    if customer.fee is None and owed.credits:
        notes.append("no fee on file for this customer: credits are percentages only")
    return CustomerReport(
        customer=customer.id,
        name=customer.name,
        policy=policy.id,
        zone=zone,
        period_start=plan.periods[0][0],
        period_end=plan.periods[-1][1],
        until=plan.until,
        uptime=None if uptime is None else uptime.result,
        commitment_pct=None if policy.uptime is None else policy.uptime.commitment,
        met=None if uptime is None else uptime.met,
        credits=owed.credits,
        currency=None if customer.fee is None else customer.fee.currency,
        claim_deadline=owed.claim_deadline,
        budgets=owed.budgets,
        month_to_date=None if uptime is None else uptime.month_to_date,
        incidents=tuple(f.ref for f in sorted(counted.values(), key=_by_declaration)),
        notes=tuple(notes),
        counts=owed.counts,
    )


def _uptime(
    plan: _Plan, history: _History, exclusions: _Exclusions
) -> tuple[UptimeOutcome | None, list[_Fact]]:
    """Step 1: the customer's uptime, and the outages that left downtime (the incidents a
    report lists for it). ``None`` for a policy without an uptime section."""
    customer = plan.customer
    terms = customer.policy.uptime
    if terms is None:
        return None, []
    outages = history.outages_everyone + [
        f for f in history.own(customer.id) if f.outage is not None
    ]
    calendar = Contract.of_customer(customer).calendar
    excluded = [f.outage for f in outages if f.excluded]
    excluded += exclusions.spans(customer.id, terms.maintenance, calendar)
    outcome = assess_uptime(
        terms, customer.zone, plan.periods, plan.until, [f.outage for f in outages], excluded
    )
    result = outcome.result
    if not result.spans:
        return outcome, []
    if not result.excluded:  # nothing excluded: every outage within the period left downtime
        start, until = plan.periods[0][0], plan.until
        return outcome, [
            f for f in outages if not f.excluded and f.outage[0] < until and f.outage[1] > start
        ]
    return outcome, [f for f in outages if not f.excluded and overlaps(result.spans, f.outage)]


def _missed_responses(plan: _Plan, facts: Sequence[_Fact], judge: _ResponseJudge) -> list[_Fact]:
    """Step 3's input: the incidents of the response periods whose response was missed on
    the customer's own contract, by declaration."""
    if plan.customer.policy.response_misses is None or not plan.response_periods:
        return []
    contract = Contract.of_customer(plan.customer)
    since, cut = plan.response_periods[0][0], min(plan.response_periods[-1][1], plan.cut)
    judges: dict[int, Callable[[_Fact], bool] | None] = {}
    missed = []
    for f in facts:
        if not since <= f.declared_at < cut:
            continue
        if f.severity not in judges:
            rule = contract.rule(TimerKind.RESPONSE, f.severity)
            judges[f.severity] = None if rule is None else judge.judge(rule)
        missed_by = judges[f.severity]
        if missed_by is not None and missed_by(f):
            missed.append(f)
    missed.sort(key=_by_declaration)
    return missed


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def _cycles_collected_after():
    """The cyclic garbage collector paused while a report runs, and resumed after the last
    report running at once has ended. A year's report makes some 700,000 small objects and
    no cycles: two full collections over them cost an eighth of its time. Reference counting
    still frees everything as usual."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def _assess_all(
    ctx: Context, plans: Sequence[_Plan], now: dt.datetime, customer_id: str | None
) -> list[CustomerReport]:
    if not plans:
        return []
    with _cycles_collected_after():
        return _assess_plans(ctx, plans, now, customer_id)


def _assess_plans(
    ctx: Context, plans: Sequence[_Plan], now: dt.datetime, customer_id: str | None
) -> list[CustomerReport]:
    start = min(p.reads_from for p in plans)
    end = max(max(p.cut for p in plans), start)
    responders = {p.customer.id for p in plans if p.customer.policy.response_misses is not None}
    severities = {r.severity for p in plans for r in p.customer.policy.refunds}
    history = _load(
        ctx, start, end, now, customer_id=customer_id, response_customers=responders,
        severities=severities,
    )  # fmt: skip
    judge, exclusions = _ResponseJudge(history.pauses, now), _Exclusions(history)
    return [_assess(plan, history, judge, exclusions) for plan in plans]


def _customers(ctx: Context, customer_id: str | None) -> list[Customer]:
    if customer_id is not None:
        try:
            return [ctx.contracts.customer(customer_id)]
        except LookupError as exc:
            raise Refusal(str(exc.args[0])) from None
    return sorted(ctx.contracts.customers.values(), key=lambda c: c.id)


# --- the use-cases ---------------------------------------------------------------------------


def customer_report(ctx: Context, period: str, customer_id: str | None = None) -> Report:
    """Uptime, credits, budget and claim deadline of every customer (or one) for ``period``.

    ``period`` is ``YYYY-MM`` or ``YYYY`` (module docstring: what it means for monthly and
    yearly contracts). For a period still running, uptime and credits mean "if nothing else
    goes down". Refused: a malformed period, a period not begun anywhere yet, an unknown
    customer (with the closest id), no customers configured.
    """
    requested = parse_period(period)
    now = ctx.clock.now()
    if requested.earliest_start > now:
        raise Refusal(
            f"{requested.label} has not begun yet (it is {now:%Y-%m-%d %H:%M} UTC); "
            "ask for the current or an earlier month or year"
        )
    customers = _customers(ctx, customer_id)
    if not customers:
        raise Refusal(
            "no customers are configured; list them with their policy and fee in the customers "
            "file (SLABOT_CUSTOMERS_FILE)"
        )
    plans = []
    for customer in customers:
        plans.append(_plan(customer, requested.bounds(customer.zone), now))
    # The id, not what was typed: a customer may be named by its name.
    reports = _assess_all(ctx, plans, now, customers[0].id if customer_id is not None else None)
    return Report(period=requested.label, as_of=now, customers=tuple(_with_history(ctx, reports)))


def _with_history(ctx: Context, reports: list[CustomerReport]) -> list[CustomerReport]:
    """Each report with notes on what happened before to its incidents: breaches a re-grade
    or a correction withdrew (``bot.incidents.record.breach_notes``)."""
    notes = breach_notes(ctx, {r.customer: (r.period_start, r.period_end, r.zone) for r in reports})
    return [replace(r, notes=(*r.notes, *notes[r.customer])) if r.customer in notes else r
            for r in reports]  # fmt: skip


def periods_closed(ctx: Context, start: dt.datetime, cut: dt.datetime) -> dict[str, CustomerReport]:
    """Each customer's contract period (month or year, in its zone) that ended in
    ``(start, cut]``, with its final figures: the period before the one running at ``cut``,
    for the customers whose running period began after ``start`` (a span shorter than a
    month holds one such end at most). One read for all of them."""
    now = ctx.clock.now()
    plans = []
    for customer in _customers(ctx, None):
        uptime = customer.policy.uptime
        if uptime is None:
            continue
        boundary = period_containing(uptime.period, cut, customer.zone)[0]
        if start < boundary <= cut:
            ended = period_containing(uptime.period, boundary - _MICROSECOND, customer.zone)
            plans.append(_plan(customer, ended, now))
    return {r.customer: r for r in _assess_all(ctx, plans, now, None)}


def uptime_to_date(ctx: Context, now: dt.datetime | None = None) -> list[CustomerStanding]:
    """Each customer's running contract period to date (App Home, the weekly digest).

    Uptime, budget and credits of the period running at ``now`` (default: the clock's now),
    meaning "if nothing else goes down", and the credits of the period before it whose claim
    deadline has not passed (in the contract's zone), so nobody forgets to claim them.
    """
    now = now or ctx.clock.now()
    customers = _customers(ctx, None)
    current, previous = [], []
    for customer in customers:
        kind = _running_kind(customer)
        running = period_containing(kind, now, customer.zone)
        before = period_containing(kind, running[0] - _MICROSECOND, customer.zone)
        current.append(_plan(customer, running, now))
        earlier = _plan(customer, before, now)
        today = now.astimezone(ZoneInfo(customer.zone)).date()
        if _claims_may_be_open(earlier, today):  # else nothing there can still be claimed
            previous.append(earlier)
    reports = _assess_all(ctx, [*current, *previous], now, None)
    earlier_reports = {r.customer: r for r in reports[len(current) :]}
    standings = []
    for index, customer in enumerate(customers):
        today = now.astimezone(ZoneInfo(customer.zone)).date()
        earlier = earlier_reports.get(customer.id)
        claimable = tuple(
            line
            for line in (earlier.credits if earlier is not None else ())
            if line.claim_deadline is not None and line.claim_deadline >= today
        )
        standings.append(CustomerStanding(current=reports[index], claimable=claimable))
    return standings


def _claims_may_be_open(plan: _Plan, today: dt.date) -> bool:
    """Whether any credit of the plan's periods could still be claimed on ``today``."""
    policy, zone = plan.customer.policy, plan.customer.zone
    pairs: list[tuple[Interval, Duration]] = []
    if policy.uptime is not None and policy.uptime.claim_window is not None:
        pairs += [(p, policy.uptime.claim_window) for p in plan.periods]
    misses = policy.response_misses
    if misses is not None and misses.claim_window is not None:
        pairs += [(p, misses.claim_window) for p in plan.response_periods]
    return any(claim_deadline(p[1], window, zone) >= today for p, window in pairs)
