"""A customer's SLA statement: one customer's month or year as the customer reads it.

The figures — uptime, downtime, excluded time, credits and the claim deadline — are
``slabot report``'s: ``customer_report`` for this customer and period, unchanged
(``Statement.figures``). The statement adds what lies behind them, worked out with the same
engine steps on the same records: each outage with the minutes it counted, each exclusion
and why, downtime day by day (month by month for a year), each response against its target
for a contract that credits missed responses, and the contract clause that owes each credit.

The details must add up to the report's figures: a statement whose parts disagree with its
totals is not made (``StatementMismatch``), because it would be sent to a customer.
Documents (``bot.statements``) render a ``Statement``; they compute nothing themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from bot.context import Context
from bot.errors import Refusal
from bot.reports.service import RequestedPeriod, customer_report, parse_period
from bot.reports.views import CustomerReport
from bot.sla.contract import Contract
from bot.sla.credits import CreditKind, CreditLine, response_judge
from bot.sla.timers import Pause, TimerKind, TimerRule, consumed, read_timer
from bot.sla.uptime import (
    Interval,
    clip,
    days_between,
    intersect,
    measure_periods,
    minutes,
    notice_given,
    outage_interval,
    periods_between,
    subtract,
    total,
)
from config.policy import ClockKind, Customer, Duration, MaintenanceSpec
from storage import queries
from storage.models import Incident, MaintenanceWindow


class StatementMismatch(RuntimeError):
    """The statement's details do not add up to the report's figures: a bug, never sent."""


# --- what a statement holds -------------------------------------------------------------------


@dataclass(frozen=True)
class OutageLine:
    """An outage that affected the customer in the period."""

    ref: str
    title: str
    severity: str
    """In the contract's words: ``1 — Critical Impact (Code Red)``."""
    start: dt.datetime
    """Impact start (UTC)."""
    end: dt.datetime | None
    """Restore; ``None`` while the outage is open."""
    counted: Fraction
    """Minutes of downtime it counted. Time two outages share counts once, to the one that
    began first; excluded time counts nothing. The lines add up to the period's downtime."""
    excluded_reason: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExclusionLine:
    """A maintenance window or an outage marked excluded, and what it took out of downtime."""

    kind: Literal["maintenance", "outage"]
    ref: str
    title: str
    start: dt.datetime
    end: dt.datetime | None
    excluded: bool
    """Whether the contract excludes it (a window announced too late is not excluded)."""
    reason: str | None
    """An outage's recorded reason (customer's own network…); ``None`` for maintenance, whose
    reason is the notice it was given against the ``notice`` the contract asks."""
    minutes: Fraction
    """Outage minutes it took out of downtime (maintenance is not downtime by itself). Time
    two exclusions share counts once, to the one that began first; the lines add up to the
    period's excluded time."""
    announced_at: dt.datetime | None = None
    notice: Duration | None = None
    """The notice the contract asks for maintenance (``None``: it excludes no maintenance)."""


@dataclass(frozen=True)
class Bar:
    """Downtime within one day or month of the chart."""

    start: dt.datetime
    end: dt.datetime
    downtime: Fraction
    excluded: Fraction
    known: bool
    """The day or month had begun by the time the data runs to."""


@dataclass(frozen=True)
class DowntimeChart:
    unit: Literal["day", "month"]
    span: Interval
    bars: tuple[Bar, ...]

    @property
    def downtime(self) -> Fraction:
        return sum((b.downtime for b in self.bars), Fraction(0))


@dataclass(frozen=True)
class ResponseLine:
    """An incident's first response against the contract's target."""

    ref: str
    title: str
    severity: str
    target: Duration
    """The contract's target (``4bh``), on ``clock``."""
    clock: ClockKind
    reported_at: dt.datetime
    due: dt.datetime | None
    responded_at: dt.datetime | None
    taken: dt.timedelta
    """Time on the target's clock from report to response (or until now), pauses left out."""
    missed: bool
    """As the report judges it: late, or unanswered past its deadline."""

    @property
    def open(self) -> bool:
        return self.responded_at is None and not self.missed


@dataclass(frozen=True)
class OwedCredit:
    line: CreditLine
    clause: str | None
    """The contract clause that owes it (the policy's ``clause``), when the policy cites one."""


@dataclass(frozen=True)
class Statement:
    customer: Customer
    """The customer and the contract it is judged by (its policy with its order form)."""
    requested: str
    """The period as asked: ``2026-10`` or ``2026``."""
    figures: CustomerReport
    """``slabot report``'s figures for this customer and period, unchanged."""
    as_of: dt.datetime
    outages: tuple[OutageLine, ...]
    exclusions: tuple[ExclusionLine, ...]
    charts: tuple[DowntimeChart, ...]
    """Day by day for a month; month by month for a year, and then day by day for a month
    asked of a yearly contract (its year to date)."""
    responses: tuple[ResponseLine, ...] | None
    """``None`` when the contract credits no missed responses."""
    credits: tuple[OwedCredit, ...]

    @property
    def zone(self) -> str:
        return self.figures.zone

    @property
    def missed_responses(self) -> int:
        return sum(1 for r in self.responses or () if r.missed)


# --- the use-case -------------------------------------------------------------------------------


def statement_request(
    ctx: Context, customer_id: str, period: str
) -> tuple[Customer, RequestedPeriod]:
    """The customer and period of a statement, or a refusal that says what is accepted. Reads
    nothing from the database, so the Slack edge can refuse before it acknowledges."""
    requested = parse_period(period)
    try:
        customer = ctx.contracts.customer(customer_id)
    except LookupError as exc:
        raise Refusal(str(exc.args[0])) from None
    now = ctx.clock.now()
    if requested.bounds(customer.zone)[0] > now:
        raise Refusal(
            f"{requested.label} has not begun yet in {customer.zone} (it is "
            f"{now:%Y-%m-%d %H:%M} UTC); ask for the current or an earlier month or year"
        )
    return customer, requested


def customer_statement(ctx: Context, period: str, customer_id: str) -> Statement:
    """One customer's statement for ``period`` (``YYYY-MM`` or ``YYYY``; a month of a yearly
    contract is its year to date, as in ``slabot report``)."""
    customer, requested = statement_request(ctx, customer_id, period)
    report = customer_report(ctx, requested.label, customer.id)
    (figures,), now = report.customers, report.as_of  # the report's now: open outages end there
    cut = requested.bounds(customer.zone)[1]
    reads_from = figures.period_start
    response_periods = _response_periods(customer, figures)
    if response_periods:
        reads_from = min(reads_from, response_periods[0][0])
    with ctx.db.read() as session:
        incidents = queries.customer_incidents(session, reads_from, cut, customer.id)
        windows = queries.customer_maintenance(
            session, figures.period_start, figures.until, customer.id
        )
        pauses = queries.pauses_of(session, [i.id for i in incidents]) if response_periods else {}
        paused = {
            incident: tuple(Pause(p.started_at, p.ended_at) for p in spans)
            for incident, spans in pauses.items()
        }
    contract = Contract.of_customer(customer)
    outages, exclusions, charts = _uptime(
        customer, contract, requested, figures, incidents, windows, now
    )
    responses = None
    if response_periods:
        responses = _responses(contract, figures, incidents, paused, response_periods, cut, now)
    return Statement(
        customer=customer,
        requested=requested.label,
        figures=figures,
        as_of=now,
        outages=outages,
        exclusions=exclusions,
        charts=charts,
        responses=responses,
        credits=tuple(
            OwedCredit(line, _clause(customer, line, incidents)) for line in figures.credits
        ),
    )


# --- uptime, line by line -------------------------------------------------------------------------


def _uptime(
    customer: Customer,
    contract: Contract,
    requested: RequestedPeriod,
    figures: CustomerReport,
    incidents: Sequence[Incident],
    windows: Sequence[MaintenanceWindow],
    now: dt.datetime,
) -> tuple[tuple[OutageLine, ...], tuple[ExclusionLine, ...], tuple[DowntimeChart, ...]]:
    """The outages and exclusions behind the report's downtime, and the charts of it."""
    terms = customer.policy.uptime
    if terms is None or figures.uptime is None:
        return (), (), ()
    start, until = figures.period_start, figures.until
    outages = [
        (i, outage_interval(i.impact_start, i.restored_at, now)) for i in incidents if i.outage
    ]
    outages = [(i, span) for i, span in outages if span[0] < until and span[1] > start]
    outages.sort(key=lambda pair: (pair[1][0], pair[0].ref))
    judged = [
        (w, notice_given(w.announced_at, w.starts_at, terms.maintenance, contract.calendar))
        for w in windows
    ]
    excluding = [span for i, span in outages if i.excluded_reason] + [
        (w.starts_at, w.ends_at) for w, given in judged if given
    ]
    # What the report's uptime step does (bot.sla.uptime.measure_periods), kept as intervals.
    raw = clip([span for _, span in outages], start, max(until, start))
    excluded = intersect(raw, excluding)
    down = subtract(raw, excluded)
    _agree("downtime", minutes(total(down)), figures.uptime.downtime_minutes)
    _agree("excluded time", minutes(total(excluded)), figures.uptime.excluded_minutes)

    exclusion_lines = _exclusion_lines(outages, judged, excluded, terms.maintenance)
    outage_lines = _outage_lines(contract, outages, down, excluded, exclusion_lines, start, until)
    _agree("outage lines", sum((o.counted for o in outage_lines), Fraction(0)),
           figures.uptime.downtime_minutes)  # fmt: skip
    _agree("exclusion lines", sum((e.minutes for e in exclusion_lines), Fraction(0)),
           figures.uptime.excluded_minutes)  # fmt: skip

    spans = [span for _, span in outages]
    measure = _charter(until, spans, excluding)
    zone = customer.zone
    months = periods_between("month", figures.period_start, figures.period_end, zone)
    if len(months) == 1:
        charts = [measure("day", days_between(*months[0], zone))]
    else:
        charts = [measure("month", months)]
        if requested.month is not None:  # a yearly contract's year to date: the month asked too
            charts.append(measure("day", days_between(*requested.bounds(zone), zone)))
    _agree("chart", charts[0].downtime, figures.uptime.downtime_minutes)
    return tuple(outage_lines), tuple(exclusion_lines), tuple(charts)


def _charter(
    until: dt.datetime, outages: Sequence[Interval], exclusions: Sequence[Interval]
) -> Callable[[Literal["day", "month"], Sequence[Interval]], DowntimeChart]:
    def measure(unit: Literal["day", "month"], spans: Sequence[Interval]) -> DowntimeChart:
        results = measure_periods(spans, until, outages, exclusions)
        bars = tuple(
            Bar(r.start, r.end, r.downtime_minutes, r.excluded_minutes, r.start < until)
            for r in results
        )
        return DowntimeChart(unit, (spans[0][0], spans[-1][1]), bars)

    return measure


def _exclusion_lines(
    outages: Sequence[tuple[Incident, Interval]],
    judged: Sequence[tuple[MaintenanceWindow, bool]],
    excluded: Sequence[Interval],
    maintenance: MaintenanceSpec,
) -> list[ExclusionLine]:
    items: list[tuple[Interval, ExclusionLine]] = []
    for incident, span in outages:
        if incident.excluded_reason:
            line = ExclusionLine(
                "outage", incident.ref, incident.title, span[0], incident.restored_at, True,
                incident.excluded_reason, Fraction(0),
            )  # fmt: skip
            items.append((span, line))
    for window, given in judged:
        line = ExclusionLine(
            "maintenance", window.ref, window.title, window.starts_at, window.ends_at, given,
            None, Fraction(0), announced_at=window.announced_at,
            notice=maintenance.notice if maintenance.excluded else None,
        )  # fmt: skip
        items.append(((window.starts_at, window.ends_at), line))
    items.sort(key=lambda pair: (pair[0][0], pair[1].ref))
    remaining = list(excluded)
    lines = []
    for span, line in items:
        taken: list[Interval] = []
        if line.excluded:
            taken = intersect(remaining, [span])
            remaining = subtract(remaining, taken)
        lines.append(replace(line, minutes=minutes(total(taken))))
    return lines


def _outage_lines(
    contract: Contract,
    outages: Sequence[tuple[Incident, Interval]],
    down: Sequence[Interval],
    excluded: Sequence[Interval],
    exclusions: Sequence[ExclusionLine],
    start: dt.datetime,
    until: dt.datetime,
) -> list[OutageLine]:
    remaining = list(down)
    counted_by: list[tuple[str, Interval]] = []
    lines = []
    for incident, span in outages:
        part = intersect(remaining, [span])
        remaining = subtract(remaining, part)
        counted = minutes(total(part))
        notes = []
        if span[0] < start:
            notes.append("began before the period: counted from the period's start")
        if incident.restored_at is None:
            notes.append(
                "still open: counted until now" if span[1] <= until
                else "still open: counted to the period's end"
            )  # fmt: skip
        elif span[1] > until:
            notes.append("went on after the period: counted to the period's end")
        within = clip([span], start, max(until, start))
        if not incident.excluded_reason:
            in_excluded = minutes(total(intersect(within, excluded)))
            if in_excluded:
                by = [
                    e.ref for e in exclusions
                    if e.excluded and e.start < span[1] and (e.end is None or e.end > span[0])
                ]  # fmt: skip
                notes.append(f"{_minutes(in_excluded)} min fell in excluded time ({', '.join(by)})")
            shared = minutes(total(within)) - in_excluded - counted
            if shared:
                with_ = [ref for ref, other in counted_by if intersect([other], within)]
                notes.append(f"{_minutes(shared)} min overlapped {', '.join(with_)}, counted once")
        counted_by.append((incident.ref, span))
        line = OutageLine(
            ref=incident.ref, title=incident.title,
            severity=_severity(contract, incident.severity), start=span[0],
            end=incident.restored_at, counted=counted,
            excluded_reason=incident.excluded_reason, notes=tuple(notes),
        )  # fmt: skip
        lines.append(line)
    return lines


# --- responses ------------------------------------------------------------------------------------


def _response_periods(customer: Customer, figures: CustomerReport) -> list[Interval]:
    """The periods whose missed responses the report counts (as ``bot.reports.service`` does)."""
    misses = customer.policy.response_misses
    if misses is None:
        return []
    return periods_between(misses.period, figures.period_start, figures.period_end, customer.zone)


def _responses(
    contract: Contract,
    figures: CustomerReport,
    incidents: Sequence[Incident],
    pauses: dict[int, tuple[Pause, ...]],
    periods: Sequence[Interval],
    cut: dt.datetime,
    now: dt.datetime,
) -> tuple[ResponseLine, ...]:
    since, end = periods[0][0], min(periods[-1][1], cut)
    judges: dict[int, tuple[TimerRule, Callable] | None] = {}
    lines = []
    for incident in incidents:
        if not since <= incident.declared_at < end:
            continue
        if incident.severity not in judges:
            rule = contract.rule(TimerKind.RESPONSE, incident.severity)
            judges[incident.severity] = None if rule is None else (rule, response_judge(rule, now))
        judged = judges[incident.severity]
        if judged is None:
            continue
        rule, missed_by = judged
        spans = pauses.get(incident.id, ())
        answered = incident.acknowledged_at
        if answered is not None:  # pauses after the response cannot touch the stopped timer
            spans = tuple(p for p in spans if p.start < answered)
        reading = read_timer(rule, incident.reported_at, now, pauses=spans, stopped_at=answered)
        line = ResponseLine(
            ref=incident.ref, title=incident.title,
            severity=_severity(contract, incident.severity), target=rule.target,
            clock=rule.clock.kind,
            reported_at=incident.reported_at, due=reading.deadline, responded_at=answered,
            taken=consumed(rule, incident.reported_at, answered or now, spans),
            missed=missed_by(incident.reported_at, answered, spans),
        )  # fmt: skip
        lines.append(line)
    missed = {line.ref for line in lines if line.missed}
    unknown = missed - set(figures.incidents)
    if unknown:
        raise StatementMismatch(
            f"responses {', '.join(sorted(unknown))} are missed here but not in the report"
        )
    return tuple(lines)


# --- small helpers ---------------------------------------------------------------------------------


def _clause(customer: Customer, line: CreditLine, incidents: Sequence[Incident]) -> str | None:
    """The clause of the rule that owes ``line``: the uptime terms, the response-miss terms,
    or the incident-count rule of the counted failures' severity."""
    policy = customer.policy
    if line.kind is CreditKind.UPTIME:
        return policy.uptime.clause if policy.uptime else None
    if line.kind is CreditKind.RESPONSE_MISSES:
        return policy.response_misses.clause if policy.response_misses else None
    severities = {i.severity for i in incidents if i.ref in set(line.incidents)}
    rules = [
        r for r in policy.refunds
        if r.severity in severities and r.percent_of_monthly_fee == line.percent
    ]  # fmt: skip
    return rules[0].clause if rules else None


def _severity(contract: Contract, level: int) -> str:
    """``Severity 1 — Critical Impact (Code Red)``, or the contract's own name when it says
    which severity it is (``Severity I — …``) or has one level for everything."""
    spec = contract.severity(level)
    if spec is None:
        return f"Severity {level}"
    if spec.level == "any" or spec.name.lower().startswith("severity"):
        return spec.name
    return f"Severity {level} — {spec.name}"


def _minutes(value: Fraction) -> str:
    return f"{float(value):g}"


def _agree(what: str, found: Fraction, reported: Fraction) -> None:
    if found != reported:
        raise StatementMismatch(
            f"the statement's {what} come to {float(found):g} min but the report says "
            f"{float(reported):g} min; the statement was not made"
        )
