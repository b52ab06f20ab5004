"""What a weekly digest says, computed from data and an instant. Pure: no I/O, no clock.
The digest's read model, as ``bot.incidents.views`` and ``bot.reports.views`` are theirs.

``build_digest`` takes the week's incidents and the open ones (as ``IncidentView``s, their
timers already read by the engine), each customer's standing to date and the periods that
closed during the week (as the reports service computes them), and arranges them for a
manager: counts, attainment, breaches, next deadlines, money. It re-computes no contract
rule; the few numbers it derives are presentation (means, shares, ordering):

- **Targets met vs breached** count the response and restore timers of the incidents
  declared in the week, as the incident ran them (on the strictest contract it touches),
  under their facts and grade now, and their progress deadlines (an update on time, late
  or never; incidents declared in slabot: the import format has no updates). A timer
  still running and not yet late counts as neither; the share is met ÷ judged.
- **Breaches** are those of the week's incidents that stand now, and every breach the
  record holds whose deadline passed (or that was noticed) in the week, of any incident:
  one a re-grade or a correction has since withdrawn is listed with what happened
  ("response breached 10:35 under Sev 1; re-graded to Sev 3 at 11:10 (response met under
  Sev 3)"), so a week in which a breach notice went out never reads "Breaches: none".
- **Corrections**: a period a digest already showed whose figures a correction changed
  since the last digest, old → new, who and why (``bot.reports.figures``).
- **MTTA / MTTR**: the mean wall time from the reported start to the acknowledgement, and
  from the impact start to the restore, of the week's incidents that have one.
- **Risk**: a customer has *missed* when its running period is below its commitment or
  already owes a credit; it is *at risk* when it has used at least half the downtime its
  next credit tier (or, without tiers, its commitment) allows, or counted at least half of
  what owes a count rule's credit (2 of the 4 severity I failures within 28 days that refund
  a month; 2 of the 4 missed responses of a year); otherwise *on track*. Missed first, then
  at risk, each by the larger share used, then by name.
- **Owed** is the running period's credits plus the earlier period's still claimable;
  totals add them up per currency.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.digest.weeks import IsoWeek
from bot.incidents.record import WeekRecord
from bot.incidents.views import BreachView, IncidentView, TimerView
from bot.reports.figures import CorrectedFigures
from bot.reports.views import CustomerReport, CustomerStanding
from bot.sla.credits import (
    CountStanding,
    CreditLine,
    claim_expired,
    downtime_allowed,
    downtime_left,
    money,
    period_name,
)
from bot.sla.timers import TimerKind, TimerState
from bot.sla.uptime import minutes
from config.policy import Customer
from storage.models import IncidentState

CLAIM_HORIZON = dt.timedelta(days=14)
"""Claim deadlines this close are called out."""
AT_RISK_USED = Fraction(1, 2)
"""A customer that has used this share of the downtime before its next tier is at risk."""
JUDGED_TIMERS = (TimerKind.RESPONSE, TimerKind.RESTORE)


class Risk(IntEnum):
    MISSED = 0
    AT_RISK = 1
    ON_TRACK = 2

    @property
    def label(self) -> str:
        return {0: "missed", 1: "at risk", 2: "on track"}[self.value]


@dataclass(frozen=True)
class WeekIncident:
    ref: str
    title: str
    severity: int
    state: IncidentState
    paused: bool
    channel_id: str | None
    declared_at: dt.datetime
    customers: tuple[str, ...]
    """Names of the customers it affects; empty: every customer."""
    excluded: str | None


@dataclass(frozen=True)
class Tally:
    """One kind of target over the week's incidents."""

    kind: TimerKind
    met: int = 0
    breached: int = 0
    running: int = 0

    @property
    def judged(self) -> int:
        return self.met + self.breached

    @property
    def met_pct(self) -> Fraction | None:
        return None if not self.judged else Fraction(self.met * 100, self.judged)


@dataclass(frozen=True)
class Breach:
    ref: str
    title: str
    severity: int
    channel_id: str | None
    kind: TimerKind
    target: str
    contract: str
    deadline: dt.datetime
    over_by: dt.timedelta
    """On the timer's own clock (business time for a business-clock target)."""
    still_open: bool
    earlier: BreachView | None = None
    """A breach the record holds that a re-grade or a correction has since withdrawn
    (``earlier.story``); ``None``: it stands."""


@dataclass(frozen=True)
class OpenIncident:
    ref: str
    title: str
    severity: int
    channel_id: str | None
    state: IncidentState
    paused: bool
    next: TimerView | None
    """The open timer due first (a breached one first of all)."""


@dataclass(frozen=True)
class Limit:
    """Where a customer's downtime this period crosses a line: its commitment or a tier."""

    below: Decimal
    """Uptime under this % crosses it."""
    minutes: Fraction
    """Downtime allowed before it is crossed."""
    credit_pct: Decimal | None
    """The tier's credit; ``None`` for a commitment that owes no credit by itself."""
    left: Fraction
    """Downtime still allowed before it is crossed (negative: crossed by that much)."""


@dataclass(frozen=True)
class ClosedPeriod:
    """A contract period that ended during the week, with its final figures."""

    name: str
    uptime_pct: Fraction | None
    commitment_pct: Decimal | None
    met: bool | None
    amount: Decimal | None
    currency: str | None
    credits: tuple[CreditLine, ...]
    claim_deadline: dt.date | None


@dataclass(frozen=True)
class CustomerLine:
    customer: str
    name: str
    policy: str
    zone: str
    period: str
    """``November 2026 to 2026-11-20 10:00``: the running period, to date."""
    uptime_pct: Fraction | None
    commitment_pct: Decimal | None
    met: bool | None
    downtime: dt.timedelta | None
    budget_minutes: Fraction | None
    """Downtime minutes left before the next credit tier; ``None``: no tier left (or none)."""
    next_tier: Limit | None
    limits: tuple[Limit, ...]
    used: Fraction | None
    """Share of the downtime the next limit allows that is used (1 or more: crossed)."""
    counts: tuple[CountStanding, ...]
    """The count rules' standings now (incident-count refunds, response misses)."""
    risk: Risk
    owed: Decimal | None
    """This period's credits so far (``None``: no fee on file)."""
    currency: str | None
    credits: tuple[CreditLine, ...]
    claimable: tuple[CreditLine, ...]
    """Credits of the period before that can still be claimed."""
    claims_soon: tuple[CreditLine, ...]
    """Credits whose claim deadline falls in the next two weeks."""
    closed: ClosedPeriod | None
    lapsed: tuple[CreditLine, ...] = ()
    """Credits of the period before whose claim deadline passed in the last week (expired)."""

    @property
    def downtime_minutes(self) -> Fraction | None:
        return None if self.downtime is None else minutes(self.downtime)

    @property
    def most_used(self) -> Fraction:
        return most_used(self.used, self.counts)


def most_used(downtime_used: Fraction | None, counts: Sequence[CountStanding]) -> Fraction:
    """The larger share used: of the downtime the next limit allows, or of the count that owes
    a count rule's credit (a rule whose credit is owed is among the credits already)."""
    shares = [n.used for n in counts if n.left]
    return max((downtime_used or Fraction(0), *shares))


@dataclass(frozen=True)
class Digest:
    week: IsoWeek
    zone: str
    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    incidents: tuple[WeekIncident, ...]
    """Declared in the week, by severity (most severe first), then declaration."""
    tallies: tuple[Tally, ...]
    mtta: dt.timedelta | None
    acknowledged: int
    mttr: dt.timedelta | None
    restored: int
    breaches: tuple[Breach, ...]
    open: tuple[OpenIncident, ...]
    customers: tuple[CustomerLine, ...]
    """At risk first (module docstring)."""
    totals: tuple[tuple[str, Decimal], ...]
    """Owed per currency, currencies in order."""
    unpriced: tuple[str, ...] = ()
    """Customers owed a credit whose fee is not on file (a percentage only)."""
    corrected: tuple[CorrectedFigures, ...] = ()
    """Figures of periods already shown in a digest that corrections changed since."""

    @property
    def standing_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.earlier is None)

    @property
    def earlier_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.earlier is not None)

    @property
    def complete(self) -> bool:
        """The week has ended (otherwise the digest is the week so far)."""
        return self.as_of >= self.end

    @property
    def quiet(self) -> bool:
        """No incident was declared in the week."""
        return not self.incidents

    def by_severity(self) -> list[tuple[int, int]]:
        """``(severity, how many)``, most severe first."""
        return sorted(Counter(i.severity for i in self.incidents).items())

    def tally(self, kind: TimerKind) -> Tally:
        return next(t for t in self.tallies if t.kind is kind)

    @property
    def missed(self) -> tuple[CustomerLine, ...]:
        return tuple(c for c in self.customers if c.risk is Risk.MISSED)

    @property
    def at_risk(self) -> tuple[CustomerLine, ...]:
        return tuple(c for c in self.customers if c.risk is Risk.AT_RISK)


# --- building ----------------------------------------------------------------------------------


def build_digest(
    week: IsoWeek,
    zone: str,
    as_of: dt.datetime,
    incidents: Sequence[IncidentView],
    open_incidents: Sequence[IncidentView],
    standings: Sequence[CustomerStanding],
    customers: Mapping[str, Customer],
    closed: Mapping[str, CustomerReport] | None = None,
    *,
    record: WeekRecord | None = None,
    corrected: Sequence[CorrectedFigures] = (),
) -> Digest:
    """The digest of ``week`` (in ``zone``) as of ``as_of``; see the module docstring."""
    start, end = week.bounds(zone)
    names = {c.id: c.name for c in customers.values()}
    week_incidents = sorted(
        (i for i in incidents if start <= i.declared_at < end),
        key=lambda i: (i.severity, i.declared_at, i.ref),
    )
    lines = [
        _customer_line(s, customers.get(s.customer), (closed or {}).get(s.customer), as_of)
        for s in standings
    ]
    lines.sort(key=lambda c: (c.risk, -c.most_used, c.name.lower(), c.customer))
    totals: dict[str, Decimal] = {}
    unpriced = []
    for line in lines:
        owed = [*line.credits, *line.claimable]
        if any(c.amount is None for c in owed):
            unpriced.append(line.customer)
        if line.currency is None:
            continue
        for credit in owed:
            if credit.amount is not None:
                totals[line.currency] = totals.get(line.currency, Decimal("0.00")) + money(
                    credit.amount
                )
    acknowledged = [
        i.acknowledged_at - i.reported_at for i in week_incidents if i.acknowledged_at is not None
    ]
    restored = [i.restored_at - i.impact_start for i in week_incidents if i.restored_at is not None]
    return Digest(
        week=week,
        zone=zone,
        start=start,
        end=end,
        as_of=as_of,
        incidents=tuple(_week_incident(i, names) for i in week_incidents),
        tallies=_tallies(week_incidents, record),
        mtta=_mean(acknowledged),
        acknowledged=len(acknowledged),
        mttr=_mean(restored),
        restored=len(restored),
        breaches=tuple(_breaches(week_incidents, record)),
        open=tuple(_open(open_incidents)),
        customers=tuple(lines),
        totals=tuple(sorted(totals.items())),
        unpriced=tuple(unpriced),
        corrected=tuple(corrected),
    )


def _week_incident(view: IncidentView, names: Mapping[str, str]) -> WeekIncident:
    return WeekIncident(
        ref=view.ref,
        title=view.title,
        severity=view.severity,
        state=view.state,
        paused=view.paused,
        channel_id=view.channel_id,
        declared_at=view.declared_at,
        customers=tuple(names.get(c, c) for c in view.customers),
        excluded=view.excluded_reason,
    )


def _tally(kind: TimerKind, incidents: Sequence[IncidentView]) -> Tally:
    states = Counter(i.timers[kind].state for i in incidents if kind in i.timers)
    return Tally(
        kind,
        met=states[TimerState.MET],
        breached=states[TimerState.BREACHED],
        running=states[TimerState.RUNNING] + states[TimerState.PAUSED],
    )


def _tallies(incidents: Sequence[IncidentView], record: WeekRecord | None) -> tuple[Tally, ...]:
    tallies = [_tally(kind, incidents) for kind in JUDGED_TIMERS]
    deadlines = [d for i in incidents for d in (record.progress.get(i.ref, ()) if record else ())]
    if deadlines:
        states = Counter(d.state for d in deadlines)
        tallies.append(
            Tally(
                TimerKind.PROGRESS,
                met=states[TimerState.MET],
                breached=states[TimerState.BREACHED],
                running=states[TimerState.RUNNING] + states[TimerState.PAUSED],
            )
        )
    return tuple(tallies)


def _breaches(incidents: Sequence[IncidentView], record: WeekRecord | None = None) -> list[Breach]:
    found = []
    for view in incidents:
        for kind in JUDGED_TIMERS:
            timer = view.timers.get(kind)
            if timer is None or timer.state is not TimerState.BREACHED:
                continue
            found.append(
                Breach(
                    ref=view.ref,
                    title=view.title,
                    severity=view.severity,
                    channel_id=view.channel_id,
                    kind=kind,
                    target=timer.target,
                    contract=timer.contract,
                    deadline=timer.deadline,
                    over_by=timer.over_by or dt.timedelta(0),
                    still_open=timer.is_open,
                )
            )
    listed = {(b.ref, b.kind, b.deadline) for b in found}
    for view, recorded in record.breaches if record else ():
        if (view.ref, recorded.timer, recorded.due_at) in listed:
            continue  # a week's incident's breach that stands: listed above
        listed.add((view.ref, recorded.timer, recorded.due_at))
        found.append(
            Breach(
                ref=view.ref, title=view.title, severity=view.severity,
                channel_id=view.channel_id, kind=recorded.timer, target=recorded.target,
                contract=recorded.contract, deadline=recorded.due_at,
                over_by=recorded.late_by or dt.timedelta(0), still_open=recorded.overdue,
                earlier=None if recorded.stands else recorded,
            )
        )  # fmt: skip
    found.sort(key=lambda b: (b.earlier is not None, b.severity, -b.over_by, b.ref, b.kind.value))
    return found


def _open(incidents: Sequence[IncidentView]) -> list[OpenIncident]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    shown = [
        OpenIncident(
            ref=v.ref,
            title=v.title,
            severity=v.severity,
            channel_id=v.channel_id,
            state=v.state,
            paused=v.paused,
            next=v.next_deadline(),
        )
        for v in incidents
        if v.is_open
    ]
    shown.sort(key=lambda o: (o.next.deadline if o.next else far, o.severity, o.ref))
    return shown


def _mean(spans: Sequence[dt.timedelta]) -> dt.timedelta | None:
    if not spans:
        return None
    return sum(spans, dt.timedelta(0)) / len(spans)


def _limits(report: CustomerReport, customer: Customer | None) -> tuple[Limit, ...]:
    """The customer's commitment and credit tiers as downtime minutes this period."""
    uptime = None if customer is None else customer.policy.uptime
    up = report.uptime
    if up is None or uptime is None:
        return ()

    def limit(below: Decimal, credit_pct: Decimal | None) -> Limit:
        return Limit(below, downtime_allowed(up, below), credit_pct, downtime_left(up, below))

    limits = {tier.below: limit(tier.below, tier.percent) for tier in uptime.credits}
    if uptime.commitment not in limits:
        limits[uptime.commitment] = limit(uptime.commitment, None)
    return tuple(sorted(limits.values(), key=lambda limit: limit.minutes))


def _customer_line(
    standing: CustomerStanding,
    customer: Customer | None,
    closed: CustomerReport | None,
    as_of: dt.datetime,
) -> CustomerLine:
    report = standing.current
    up = report.uptime
    limits = _limits(report, customer)
    next_tier = None
    if report.next_tier is not None:  # the reports service's: the next tier not yet triggered
        next_tier = next(m for m in limits if m.below == report.next_tier.below)
    used = None
    # Against the next tier; with no tier left (or none at all), against the commitment.
    line = next_tier or next((m for m in limits if m.below == report.commitment_pct), None)
    if up is not None and line is not None:
        down = up.downtime_minutes
        used = down / line.minutes if line.minutes > 0 else Fraction(1 if down else 0)
    if report.met is False or report.credits:
        risk = Risk.MISSED
    elif most_used(used, report.counts) >= AT_RISK_USED:
        risk = Risk.AT_RISK
    else:
        risk = Risk.ON_TRACK
    today = as_of.astimezone(ZoneInfo(report.zone)).date()
    horizon = today + CLAIM_HORIZON
    claims_soon = tuple(
        c
        for c in (*standing.claimable, *report.credits)
        if c.claim_deadline is not None
        and not claim_expired(c.claim_deadline, today)
        and c.claim_deadline <= horizon
    )
    return CustomerLine(
        customer=report.customer,
        name=report.name,
        policy=report.policy,
        zone=report.zone,
        period=report.period_text(zone_named=True),  # customers of many zones side by side
        uptime_pct=None if up is None else up.uptime_pct,
        commitment_pct=report.commitment_pct,
        met=report.met,
        downtime=None if up is None else up.downtime,
        budget_minutes=report.budget_minutes,
        next_tier=next_tier,
        limits=limits,
        used=used,
        counts=report.counts,
        risk=risk,
        owed=report.credit_amount,
        currency=report.currency,
        credits=report.credits,
        claimable=standing.claimable,
        claims_soon=claims_soon,
        lapsed=standing.lapsed,
        closed=None if closed is None else _closed(closed),
    )


def _closed(report: CustomerReport) -> ClosedPeriod:
    return ClosedPeriod(
        name=period_name((report.period_start, report.period_end), report.zone),
        uptime_pct=None if report.uptime is None else report.uptime.uptime_pct,
        commitment_pct=report.commitment_pct,
        met=report.met,
        amount=report.credit_amount,
        currency=report.currency,
        credits=report.credits,
        claim_deadline=report.claim_deadline,
    )
