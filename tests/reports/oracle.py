"""The straightforward report: every customer computed on its own, from every incident that
affects it, with the engine's per-customer steps (``assess_uptime``, ``assess_refunds``,
``assess_response_misses``). This is how reports were computed before customers on the same
terms shared the work on incidents affecting everyone; the service must give the same
figures (tests/reports/test_shared_work.py). Slow on purpose: nothing here is shared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from bot.reports import service
from bot.reports.views import CustomerReport
from bot.sla.contract import Contract
from bot.sla.exposure import (
    UptimeOutcome,
    assess_refunds,
    assess_response_misses,
    assess_uptime,
    exposure,
    periods_begun,
)
from bot.sla.timers import TimerKind
from bot.sla.uptime import overlaps


def assess_all(ctx, plans, now: dt.datetime, customer_id: str | None) -> list[CustomerReport]:
    """``service._assess_all`` without sharing: same read, each plan assessed alone."""
    if not plans:
        return []
    start = min(p.reads_from for p in plans)
    end = max(max(p.cut for p in plans), start)
    responders = {p.customer.id for p in plans if p.customer.policy.response_misses is not None}
    severities = {r.severity for p in plans for r in p.customer.policy.refunds}
    history = service._load(
        ctx, start, end, now, customer_id=customer_id, response_customers=responders,
        severities=severities,
    )  # fmt: skip
    judge = service._ResponseJudge(history.pauses, now)
    windows = service._Exclusions(history)
    return [_assess(plan, history, judge, windows, now) for plan in plans]


def _assess(plan, history, judge, windows, now) -> CustomerReport:
    customer = plan.customer
    policy, zone = customer.policy, customer.zone
    affecting = history.everyone + history.own(customer.id)
    facts = affecting if policy.refunds or policy.response_misses else []
    uptime, down = _uptime(plan, affecting, windows)
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
        as_of=now,
        budgets=owed.budgets,
        month_to_date=None if uptime is None else uptime.month_to_date,
        incidents=tuple(
            f.ref for f in sorted(counted.values(), key=lambda f: (f.declared_at, f.id))
        ),
        notes=tuple(notes),
        counts=owed.counts,
    )


def _uptime(plan, affecting, windows) -> tuple[UptimeOutcome | None, list]:
    customer = plan.customer
    terms = customer.policy.uptime
    if terms is None:
        return None, []
    outages = [f for f in affecting if f.outage is not None]
    calendar = Contract.of_customer(customer).calendar
    excluded = [f.outage for f in outages if f.excluded]
    excluded += windows.shared(terms.maintenance, calendar)
    excluded += windows.own(customer.id, terms.maintenance, calendar)
    outcome = assess_uptime(
        terms, customer.zone, plan.periods, plan.until, [f.outage for f in outages], excluded
    )
    result = outcome.result
    if not result.spans:
        return outcome, []
    if not result.excluded:
        start, until = plan.periods[0][0], plan.until
        return outcome, [
            f for f in outages if not f.excluded and f.outage[0] < until and f.outage[1] > start
        ]
    return outcome, [f for f in outages if not f.excluded and overlaps(result.spans, f.outage)]


def _missed_responses(plan, facts: Sequence, judge) -> list:
    if plan.customer.policy.response_misses is None or not plan.response_periods:
        return []
    contract = Contract.of_customer(plan.customer)
    since, cut = plan.response_periods[0][0], min(plan.response_periods[-1][1], plan.cut)
    judges: dict[int, Callable | None] = {}
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
    missed.sort(key=lambda f: (f.declared_at, f.id))
    return missed
