"""Uptime, credits and refunds per customer, each judged by its own contract (docs/semantics.md §5–§6).

``customer_report`` is one read unit of work: it loads every incident, customer link, pause
and maintenance window the period needs with a constant number of queries (however many
customers and incidents), applies the engine (``bot.sla.uptime``, ``bot.sla.credits``,
``bot.sla.exposure``) to each customer, and returns plain values (``bot.reports.views``).
The incidents affecting every customer are worked on once for all the customers judged on
the same terms (``_Terms``, ``_Shared``); each customer then adds only its own, so the work
grows with incidents × distinct terms, not incidents × customers.

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
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.record import breach_notes
from bot.reports.views import (
    CountedIncident,
    CustomerReport,
    CustomerStanding,
    IncidentsCounted,
    Report,
)
from bot.sla.calendar import BusinessCalendar
from bot.sla.clocks import WallClock
from bot.sla.contract import Contract
from bot.sla.credits import CreditLine, Failure, claim_expired, response_judge
from bot.sla.exposure import (
    CountOutcome,
    SharedMisses,
    SharedRefunds,
    UptimeOutcome,
    exposure,
    judge_uptime,
    periods_begun,
    uptime_months,
)
from bot.sla.timers import Pause, TimerKind, TimerRule
from bot.sla.uptime import (
    Interval,
    Period,
    SharedDowntime,
    SharedOutages,
    UptimeResult,
    claim_deadline,
    notice_given,
    outage_interval,
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
    listed: bool = True
    """Whether the report lists the incidents that counted; App Home reads only the credits
    of the periods before the running one (``uptime_to_date``), and the weekly digest only
    the figures of a period that closed (``periods_closed``), so those are not listed."""

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
    seq: int = -1
    """Its place among those affecting everyone (``_History.everyone``)."""


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

    def own(self, customer_id: str) -> list[_Fact]:
        """Those naming the customer, by declaration."""
        return self.named.get(customer_id, [])

    @cached_property
    def outages_everyone(self) -> list[_Fact]:
        return [f for f in self.everyone if f.outage is not None]

    @cached_property
    def listed(self) -> list[_Fact]:
        """The outages affecting everyone that a report lists when they left downtime."""
        return [f for f in self.outages_everyone if not f.excluded]

    @cached_property
    def shared_outages(self) -> SharedOutages:
        """The outages affecting everyone, merged once for every set of terms."""
        outages = [f.outage for f in self.outages_everyone]
        return SharedOutages(outages, [f.outage for f in self.listed])

    @cached_property
    def _declared(self) -> list[dt.datetime]:
        return [f.declared_at for f in self.everyone]

    @cached_property
    def _counted(self) -> list[CountedIncident]:
        return [(f.declared_at, f.id, f.ref) for f in self.everyone]

    def counted(self, places: Iterable[int]) -> tuple[CountedIncident, ...]:
        """Those at ``places`` in ``everyone``, as a report lists them, by declaration."""
        counted = self._counted
        return tuple(counted[seq] for seq in sorted(places))

    def everyone_declared(self, start: dt.datetime, end: dt.datetime) -> list[_Fact]:
        """Those affecting everyone declared in ``[start, end)``, by declaration."""
        declared = self._declared
        return self.everyone[bisect_left(declared, start) : bisect_left(declared, end)]


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
    customer whose missed responses are credited: the others are not read. ``now`` may be
    in the past (a past week's digest): what was declared, restored or acknowledged after
    it had not happened yet."""
    history = _History()
    facts: dict[int, _Fact] = {}
    declared_by = min(end, now + _MICROSECOND)
    with ctx.db.read() as session:
        rows = queries.report_incidents(
            session, start, declared_by, customer_id=customer_id,
            response_customers=response_customers, severities=severities,
        )  # fmt: skip
        for (
            incident_id, ref, severity, declared_at, outage, impact_pct, excluded, affects_all,
            customer, impact_start, restored_at, reported_at, acknowledged_at,
        ) in rows:  # streamed: one row per incident and customer it names  # fmt: skip
            if declared_at > now:  # an impact declared later, back-dated: not known yet
                continue
            fact = facts.get(incident_id)
            if fact is None:
                if restored_at is not None and restored_at > now:
                    restored_at = None
                if acknowledged_at is not None and acknowledged_at > now:
                    acknowledged_at = None
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
    # By declaration, so that a set of terms reads only its periods' (an instant shared by
    # several is ordered by id, the same on both databases).
    history.everyone.sort(key=_by_declaration)
    for seq, fact in enumerate(history.everyone):
        fact.seq = seq
    for named in history.named.values():
        named.sort(key=_by_declaration)
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

    def shared(self, maintenance: MaintenanceSpec, calendar: BusinessCalendar) -> list[Interval]:
        """The windows affecting everyone that ``maintenance`` excludes."""
        on_calendar = calendar if maintenance.notice.is_business_unit else None
        # The objects themselves, not their ids: a key keeps its calendar alive, so an id
        # can never be reused by another customer's calendar while the report runs.
        key = (maintenance, on_calendar)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = self._judge(
                self._history.windows_everyone, maintenance, calendar
            )
        return shared

    def own(
        self, customer_id: str, maintenance: MaintenanceSpec, calendar: BusinessCalendar
    ) -> list[Interval]:
        """The windows naming the customer that ``maintenance`` excludes."""
        return self._judge(self._history.windows_named.get(customer_id, ()), maintenance, calendar)

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
    """Whether an incident's response was missed under a target and calendar (the incidents
    affecting everyone are judged once per calendar and targets: ``_Terms.missed``)."""

    def __init__(self, pauses: dict[int, tuple[Pause, ...]], now: dt.datetime):
        self._pauses, self._now = pauses, now

    def judge(self, rule: TimerRule) -> Callable[[_Fact], bool]:
        pauses, judged = self._pauses, response_judge(rule, self._now)

        def missed(fact: _Fact) -> bool:
            return judged(fact.reported_at, fact.acknowledged_at, pauses.get(fact.id, ()))

        return missed


_NOTHING = CountOutcome()


class _Shared:
    """The work on the incidents affecting every customer, done once per report for each set
    of terms a step depends on: the downtime of a zone's months under one maintenance
    notice, the count of a set of refund rules, the responses judged on one calendar. Most
    customers share them (an order form that changes the commitment changes no downtime)."""

    def __init__(self, history: _History, judge: _ResponseJudge, windows: _Exclusions) -> None:
        self.history, self.judge, self.windows = history, judge, windows
        self._found: dict[tuple, Any] = {}

    def once(self, key: tuple, make: Callable[[], Any]) -> Any:
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = make()
        return found


class _Downtime:
    """The shared downtime of one zone's months under one maintenance notice, and the
    outages affecting everyone that left it, in the two ways ``_uptime`` lists them."""

    def __init__(self, measured: SharedDowntime, listed: list[_Fact]) -> None:
        self.measured = measured
        self._listed = listed

    @cached_property
    def within_period(self) -> list[_Fact]:
        """Listed outages that overlap the period up to ``until``: all that left downtime
        when nothing was excluded."""
        return [self._listed[k] for k in self.measured.listed_within]

    @cached_property
    def in_downtime(self) -> list[_Fact]:
        """Listed outages that share time with the downtime."""
        return [self._listed[k] for k in self.measured.listed_in_downtime]


class _Terms:
    """What the customers judged on the same terms share: the same policy (order form
    applied) in the same zone over the same periods. Each customer then adds only its own
    incidents (``_assess``)."""

    def __init__(self, plan: _Plan, shared: _Shared) -> None:
        self.plan = plan
        self.policy, self.zone = plan.customer.policy, plan.customer.zone
        self.contract = Contract(policy=self.policy, zone=self.zone)
        self._shared, self._history = shared, shared.history
        self._counted: dict[str, tuple[CountedIncident, ...]] = {}

    @staticmethod
    def key(plan: _Plan) -> tuple:
        customer = plan.customer
        return (
            customer.policy, customer.zone, plan.periods, plan.cut, plan.until,
            plan.response_periods,
        )  # fmt: skip

    # step 1: uptime

    @property
    def listed(self) -> list[_Fact]:
        """The outages affecting everyone that a report lists when they left downtime (the
        positions of the shared downtime's listed outages)."""
        return self._history.listed

    @cached_property
    def downtime(self) -> _Downtime:
        terms, plan, history = self.policy.uptime, self.plan, self._history
        assert terms is not None
        calendar = self.contract.calendar
        months = tuple(uptime_months(plan.periods, self.zone))
        notice_calendar = calendar if terms.maintenance.notice.is_business_unit else None
        key = ("downtime", months, plan.until, terms.maintenance, notice_calendar)

        def measure() -> _Downtime:
            exclusions = [f.outage for f in history.outages_everyone if f.excluded]
            exclusions += self._shared.windows.shared(terms.maintenance, calendar)
            measured = SharedDowntime(months, plan.until, history.shared_outages, exclusions)
            return _Downtime(measured, history.listed)

        return self._shared.once(key, measure)

    @cached_property
    def uptime_alone(self) -> UptimeOutcome:
        """The uptime of a customer with no outage or window of its own."""
        return self.judge_uptime(self.downtime.measured.results)

    def judge_uptime(self, months: Sequence[UptimeResult]) -> UptimeOutcome:
        terms, plan = self.policy.uptime, self.plan
        assert terms is not None
        return judge_uptime(terms, self.zone, plan.periods, plan.until, months)

    # step 2: incident-count refunds

    @cached_property
    def refunds(self) -> SharedRefunds[_Fact]:
        plan, rules = self.plan, self.policy.refunds
        since = plan.periods[0][0]
        key = ("refunds", rules, self.zone, since, plan.cut, plan.until, plan.reads_from)

        def count() -> SharedRefunds[_Fact]:
            failures = self._history.everyone_declared(plan.reads_from, plan.cut)
            return SharedRefunds(rules, self.zone, failures, since, plan.cut, plan.until)

        return self._shared.once(key, count)

    # step 3: response misses

    @cached_property
    def missed(self) -> list[_Fact]:
        """The incidents affecting everyone whose response these terms judge missed."""
        window = self._response_window
        if window is None:
            return []
        key = ("missed", self.policy.severities, self.policy.calendar, self.zone, window)
        facts = self._history.everyone_declared(*window)
        return self._shared.once(key, lambda: self.missed_of(facts))

    @cached_property
    def _response_window(self) -> Interval | None:
        """Incidents declared here may count as missed responses."""
        plan = self.plan
        if self.policy.response_misses is None or not plan.response_periods:
            return None
        return plan.response_periods[0][0], min(plan.response_periods[-1][1], plan.cut)

    def missed_of(self, facts: Sequence[_Fact]) -> list[_Fact]:
        """Step 3's input: those of ``facts`` (by declaration) in the response periods whose
        response was missed on this contract, by declaration."""
        if self._response_window is None:
            return []
        since, cut = self._response_window
        judges: dict[int, Callable[[_Fact], bool] | None] = {}
        missed = []
        for f in facts:
            if not since <= f.declared_at < cut:
                continue
            if f.severity not in judges:
                rule = self.contract.rule(TimerKind.RESPONSE, f.severity)
                judges[f.severity] = None if rule is None else self._shared.judge.judge(rule)
            missed_by = judges[f.severity]
            if missed_by is not None and missed_by(f):
                missed.append(f)
        return missed

    @cached_property
    def misses(self) -> SharedMisses[_Fact]:
        plan, spec = self.plan, self.policy.response_misses
        key = ("misses", spec, self.zone, plan.response_periods, plan.cut, plan.until,
               id(self.missed) if self._response_window else None)  # fmt: skip
        return self._shared.once(
            key,
            lambda: SharedMisses(
                spec, self.zone, self.missed, plan.response_periods, plan.cut, plan.until,
                key=_by_declaration,
            ),
        )  # fmt: skip

    # what counted

    def counted(self, downtime: str) -> tuple[CountedIncident, ...]:
        """The incidents affecting everyone that counted on these terms, by declaration:
        the outages that left downtime (``downtime`` says which list: none, ``within_period``
        or ``in_downtime``), the failures a refund rule counted, the missed responses. One
        tuple for every customer on these terms (and for other terms that count the same)."""
        found = self._counted.get(downtime)
        if found is None:
            down = [] if downtime == "none" else getattr(self.downtime, downtime)
            # By the identity of what it is made of, each kept by ``_Shared`` for the report.
            key = (
                "counted", downtime, None if downtime == "none" else id(self.downtime),
                id(self.refunds) if self.policy.refunds else None,
                id(self.missed) if self._response_window else None,
            )  # fmt: skip

            def listed() -> tuple[CountedIncident, ...]:
                return self._history.counted({f.seq for f in (*down, *self.by_rules)})

            found = self._counted[downtime] = self._shared.once(key, listed)
        return found

    @cached_property
    def by_rules(self) -> list[_Fact]:
        """The incidents affecting everyone that a count rule counted: refunds, misses."""
        refunds = self.refunds.counted if self.policy.refunds else ()
        return [*refunds, *self.missed]

    @cached_property
    def by_rules_ids(self) -> frozenset[int]:
        return frozenset(f.id for f in self.by_rules)


def _listed(facts: Iterable[_Fact]) -> tuple[CountedIncident, ...]:
    return tuple((f.declared_at, f.id, f.ref) for f in sorted(facts, key=_by_declaration))


def _assess(
    plan: _Plan, history: _History, terms: _Terms, windows: _Exclusions, now: dt.datetime
) -> CustomerReport:
    """One customer's report: the engine's three steps on what affects it, then the rule
    that combines them (``bot.sla.exposure``). The work on the incidents affecting everyone
    is the terms' (``_Terms``); the customer adds its own incidents and windows."""
    customer = plan.customer
    policy, zone = customer.policy, customer.zone
    own = history.own(customer.id)
    uptime, downtime, lost, own_down = _uptime(plan, terms, own, windows)
    refunds = terms.refunds.assess(own) if policy.refunds else _NOTHING
    own_missed = terms.missed_of(own)
    misses = terms.misses.assess(own_missed)
    owed = exposure(
        policy, zone, customer.fee, periods_begun(plan.periods, plan.until)[-1],
        uptime, refunds, misses,
    )  # fmt: skip
    counted = IncidentsCounted()
    if plan.listed:
        mine = {f.id: f for f in (*own_down, *refunds.counted, *own_missed)}
        counted = IncidentsCounted(
            everyone=terms.counted(downtime),
            own=_listed(mine.values()),
            dropped=_listed(f for f in lost if f.id not in terms.by_rules_ids),
        )
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
        incidents=counted,
        notes=tuple(notes),
        counts=owed.counts,
        as_of=now,
    )


def _uptime(
    plan: _Plan, terms: _Terms, own: Sequence[_Fact], windows: _Exclusions
) -> tuple[UptimeOutcome | None, str, list[_Fact], list[_Fact]]:
    """Step 1: the customer's uptime, and the outages that left downtime (the incidents a
    report lists for it): which list of the terms' applies, those on it that did not leave
    downtime for this customer (its own exclusions took theirs away), and its own (none
    for a plan that lists no incidents). ``None`` for a policy without an uptime section."""
    customer = plan.customer
    spec = customer.policy.uptime
    if spec is None:
        return None, "none", [], []
    outages = [f for f in own if f.outage is not None]
    excluded = [f.outage for f in outages if f.excluded]
    excluded += windows.own(customer.id, spec.maintenance, terms.contract.calendar)
    shared = terms.downtime.measured
    measured = shared.measure([f.outage for f in outages], excluded)
    if measured.results is shared.results:
        outcome = terms.uptime_alone
    else:
        outcome = terms.judge_uptime(measured.results)
    result = outcome.result
    if not result.downtime or not plan.listed:
        return outcome, "none", [], []
    if not result.excluded:  # nothing excluded: every outage within the period left downtime
        start, until = plan.periods[0][0], plan.until
        return outcome, "within_period", [], [
            f for f in outages if not f.excluded and f.outage[0] < until and f.outage[1] > start
        ]  # fmt: skip
    lost = [terms.listed[k] for k in measured.lost]
    return outcome, "in_downtime", lost, [
        f for f in outages if not f.excluded and measured.left_downtime(f.outage)
    ]  # fmt: skip


def _assess_all(
    ctx: Context, plans: Sequence[_Plan], now: dt.datetime, customer_id: str | None
) -> list[CustomerReport]:
    """Every plan assessed on one read; the customers on the same terms share the work on
    the incidents affecting everyone."""
    if not plans:
        return []
    start = min(p.reads_from for p in plans)
    end = max(max(p.cut for p in plans), start)
    responders = {p.customer.id for p in plans if p.customer.policy.response_misses is not None}
    severities = {r.severity for p in plans for r in p.customer.policy.refunds}
    history = _load(
        ctx, start, end, now, customer_id=customer_id, response_customers=responders,
        severities=severities,
    )  # fmt: skip
    judge, windows = _ResponseJudge(history.pauses, now), _Exclusions(history)
    shared = _Shared(history, judge, windows)
    by_terms: dict[tuple, _Terms] = {}
    reports = []
    for plan in plans:
        key = _Terms.key(plan)
        terms = by_terms.get(key)
        if terms is None:
            terms = by_terms[key] = _Terms(plan, shared)
        reports.append(_assess(plan, history, terms, windows, now))
    return reports


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
    requested, customers = check_request(ctx, period, customer_id)
    now = ctx.clock.now()
    plans = []
    for customer in customers:
        plans.append(_plan(customer, requested.bounds(customer.zone), now))
    # The id, not what was typed: a customer may be named by its name.
    reports = _assess_all(ctx, plans, now, customers[0].id if customer_id is not None else None)
    return Report(period=requested.label, as_of=now, customers=tuple(_with_history(ctx, reports)))


def check_request(
    ctx: Context, period: str, customer_id: str | None = None
) -> tuple[RequestedPeriod, list[Customer]]:
    """What ``customer_report`` refuses, found without reading the database (the Slack edge
    says it in its acknowledgement): the period asked for, and the customers it covers."""
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
    return requested, customers


def _with_history(ctx: Context, reports: list[CustomerReport]) -> list[CustomerReport]:
    """Each report with notes on what happened before to its incidents: breaches a re-grade
    or a correction withdrew (``bot.incidents.record.breach_notes``)."""
    notes = breach_notes(ctx, {r.customer: (r.period_start, r.period_end, r.zone) for r in reports})
    return [replace(r, notes=(*r.notes, *notes[r.customer])) if r.customer in notes else r
            for r in reports]  # fmt: skip


def periods_closed(
    ctx: Context, start: dt.datetime, cut: dt.datetime, *, listed: bool = True
) -> dict[str, CustomerReport]:
    """Each customer's contract period (month or year, in its zone) that ended in
    ``(start, cut]``, with its final figures: the period before the one running at ``cut``,
    for the customers whose running period began after ``start`` (a span shorter than a
    month holds one such end at most). One read for all of them. ``listed=False`` leaves
    out the lists of incidents that counted (the weekly digest shows only the figures)."""
    now = ctx.clock.now()
    plans = []
    for customer in _customers(ctx, None):
        uptime = customer.policy.uptime
        if uptime is None:
            continue
        boundary = period_containing(uptime.period, cut, customer.zone)[0]
        if start < boundary <= cut:
            ended = period_containing(uptime.period, boundary - _MICROSECOND, customer.zone)
            plans.append(replace(_plan(customer, ended, now), listed=listed))
    return {r.customer: r for r in _assess_all(ctx, plans, now, None)}


_EARLIER_PERIODS = 12
"""Periods before the running one looked at for credits still to claim (a claim window of
up to about a year)."""
LAPSED_WITHIN = dt.timedelta(days=7)
"""How long a standing keeps saying that an earlier credit's claim deadline passed: a week,
so the weekly digest after it names it once."""


def uptime_to_date(ctx: Context, now: dt.datetime | None = None) -> list[CustomerStanding]:
    """Each customer's running contract period to date (App Home, the weekly digest).

    Uptime, budget and credits of the period running at ``now`` (default: the clock's now),
    meaning "if nothing else goes down", and the credits of earlier periods whose claim
    deadline has not passed (in the contract's zone), so nobody forgets to claim them; and
    those whose deadline passed in the week before ``now`` (expired), so nobody wonders.
    """
    now = now or ctx.clock.now()
    customers = _customers(ctx, None)
    current, previous = [], []
    for customer in customers:
        kind = _running_kind(customer)
        running = period_containing(kind, now, customer.zone)
        current.append(_plan(customer, running, now))
        since = (now - LAPSED_WITHIN).astimezone(ZoneInfo(customer.zone)).date()
        start = running[0]
        for _ in range(_EARLIER_PERIODS):  # a later period's claims close later
            before = period_containing(kind, start - _MICROSECOND, customer.zone)
            earlier = replace(_plan(customer, before, now), listed=False)  # its credits show
            if not _claims_may_be_open(earlier, since):  # nothing claimable or lapsed
                break
            previous.append(earlier)
            start = before[0]
    reports = _assess_all(ctx, [*current, *previous], now, None)
    earlier_credits: dict[str, list[CreditLine]] = defaultdict(list)
    for report in reversed(reports[len(current) :]):  # the oldest period first
        earlier_credits[report.customer] += report.credits
    standings = []
    for index, customer in enumerate(customers):
        today = now.astimezone(ZoneInfo(customer.zone)).date()
        since = (now - LAPSED_WITHIN).astimezone(ZoneInfo(customer.zone)).date()
        dated = [line for line in earlier_credits[customer.id] if line.claim_deadline is not None]
        claimable = tuple(line for line in dated if not line.claim_expired(today))
        lapsed = tuple(
            line for line in dated if line.claim_expired(today) and line.claim_deadline >= since
        )
        standings.append(
            CustomerStanding(current=reports[index], claimable=claimable, lapsed=lapsed)
        )
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
    return any(not claim_expired(claim_deadline(p[1], window, zone), today) for p, window in pairs)
