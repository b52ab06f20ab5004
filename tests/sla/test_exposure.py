"""A customer's exposure: the three steps and the rule that combines them (docs/semantics.md §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from bot.sla.credits import CreditKind, Failure
from bot.sla.exposure import (
    CountOutcome,
    assess_refunds,
    assess_response_misses,
    assess_uptime,
    exposure,
    periods_begun,
)
from bot.sla.uptime import period_bounds, periods_between
from config.contracts import effective_policy
from config.policy import Fee, ResponseMissCredit
from tests.sla.conftest import POLICIES, cph

ZONE = "Europe/Copenhagen"
YEAR = period_bounds("year", ZONE, year=2026)
MARCH = period_bounds("month", ZONE, year=2026, month=3)
MONTHS = periods_between("month", *YEAR, ZONE)
H = dt.timedelta(hours=1)
# Diplomasafe (yearly uptime tiers, response misses) with an order form that adds a refund:
# more than one severity 1 failure within 28 days refunds the month.
TERMS = effective_policy(
    POLICIES["diplomasafe"], {"refunds": [{"severity": 1, "more_than": 1, "within": "28d"}]}, "test"
)
FEE = Fee(amount=Decimal(12_000), currency="EUR", per="year")  # 1,000 a month


def failure(ref: str, at: dt.datetime, severity: int = 1) -> Failure:
    return Failure(ref, severity, at)


def steps(until: dt.datetime = YEAR[1]):
    """The year 2026 under TERMS, known ``until``: a 10-hour outage in February (99.886 %:
    the 2.5 % tier), two severity 1 failures in March (a refunded month), a missed response on
    the 5th of January, February, March and April (the 1.5 % credit)."""
    uptime = assess_uptime(
        TERMS.uptime, ZONE, [YEAR], until, [(cph(2026, 2, 2, 8), cph(2026, 2, 2, 18))], []
    )
    failures = [failure("INC-1", cph(2026, 3, 3, 10)), failure("INC-2", cph(2026, 3, 20, 10))]
    refunds = assess_refunds(TERMS.refunds, ZONE, failures, YEAR[0], YEAR[1], until)
    missed = [failure(f"INC-{n}", cph(2026, n, 5, 10)) for n in (1, 2, 3, 4)]
    missed = [f for f in missed if f.declared_at < until]  # nothing is declared after now
    misses = assess_response_misses(TERMS.response_misses, ZONE, missed, [YEAR], YEAR[1], until)
    return uptime, refunds, misses


def test_the_three_kinds_add_up_each_at_its_own_fee():
    uptime, refunds, misses = steps()
    owed = exposure(TERMS, ZONE, FEE, YEAR, uptime, refunds, misses)
    lines = [(line.kind, line.period, line.fee, line.amount) for line in owed.credits]
    # In period order; within the year: uptime, then missed responses.
    assert lines == [
        (CreditKind.UPTIME, YEAR, "annual", Decimal(300)),  # 2.5 % of 12,000
        (CreditKind.RESPONSE_MISSES, YEAR, "annual", Decimal(180)),  # 1.5 % of 12,000
        (CreditKind.INCIDENT_COUNT, MARCH, "monthly", Decimal(1000)),  # March's 1,000
    ]
    assert owed.claim_deadline == dt.date(2027, 1, 30)  # 30 days after the year


def test_the_steps_know_no_fee_and_an_unknown_fee_prices_nothing():
    uptime, refunds, misses = steps()
    for line in (*uptime.credits, *refunds.credits, *misses.credits):
        assert line.amount is None
    owed = exposure(TERMS, ZONE, None, YEAR, uptime, refunds, misses)
    assert [line.percent for line in owed.credits] == [Decimal("2.5"), Decimal("1.5"), 100]
    assert all(line.amount is None for line in owed.credits)


def test_a_monthly_fee_is_priced_per_year_and_a_yearly_one_per_month():
    uptime, refunds, misses = steps()
    per_month = Fee(amount=Decimal(1_000), currency="EUR", per="month")
    yearly = exposure(TERMS, ZONE, FEE, YEAR, uptime, refunds, misses)
    monthly = exposure(TERMS, ZONE, per_month, YEAR, uptime, refunds, misses)
    assert [line.amount for line in monthly.credits] == [line.amount for line in yearly.credits]


def test_the_tier_budget_is_the_uptime_steps_and_counts_only_run_while_the_period_does():
    uptime, refunds, misses = steps(until=cph(2026, 3, 25))
    owed = exposure(TERMS, ZONE, FEE, YEAR, uptime, refunds, misses)
    assert owed.budgets == uptime.budgets
    # 90 % allows 52,560 minutes of 2026's 525,600; 600 are used.
    assert [(b.tier.below, b.minutes) for b in owed.budgets] == [
        (Decimal(90), Fraction(52_560 - 600)),
        (Decimal(80), Fraction(105_120 - 600)),
    ]
    # The nearest to its credit first: 2 of 2 failures (owed), then 3 of 4 misses by 25 March.
    assert [(c.kind, c.counted, c.owed_at) for c in owed.counts] == [
        (CreditKind.INCIDENT_COUNT, 2, 2),
        (CreditKind.RESPONSE_MISSES, 3, 4),
    ]
    ended = exposure(TERMS, ZONE, FEE, YEAR, *steps())
    assert ended.counts == ()


def test_without_uptime_terms_the_claim_window_is_the_response_credits():
    terms = POLICIES["diplomasafe"].model_copy(update={"uptime": None})
    _, refunds, misses = steps()
    owed = exposure(terms, ZONE, FEE, YEAR, None, CountOutcome(), misses)
    assert owed.budgets == () and owed.claim_deadline == dt.date(2027, 1, 30)
    assert [line.kind for line in owed.credits] == [CreditKind.RESPONSE_MISSES]
    assert refunds.credits  # the refund step's lines count only when passed in


def test_response_misses_are_judged_period_by_period():
    spec = ResponseMissCredit(more_than=1, period="month", percent=Decimal(2))
    missed = [
        failure("A", cph(2026, 3, 2, 10)),
        failure("B", cph(2026, 3, 31, 23, 59)),
        failure("C", cph(2026, 4, 1, 0, 0)),  # April in Copenhagen
    ]
    march, april = MONTHS[2], MONTHS[3]
    outcome = assess_response_misses(spec, ZONE, missed, [march, april], april[1], cph(2026, 4, 9))
    (line,) = outcome.credits  # two in March; one in April is not more than one
    assert (line.period, line.incidents) == (march, ("A", "B"))
    (count,) = outcome.standings  # the running month only: April
    assert (count.counted, count.incidents) == (1, ("C",))
    assert [f.ref for f in outcome.counted] == ["A", "B", "C"]


def test_a_monthly_contract_over_a_year_meets_only_if_every_begun_month_did():
    dixa = POLICIES["dixa"].uptime
    until = cph(2026, 6, 15)
    outage = [(cph(2026, 2, 10, 9), cph(2026, 2, 10, 11))]  # 120 min: February below 99.9 %
    outcome = assess_uptime(dixa, ZONE, MONTHS, until, outage, [])
    assert not outcome.met
    assert [line.period for line in outcome.credits] == [MONTHS[1]]
    assert (outcome.month_to_date.start, outcome.month_to_date.until) == (MONTHS[5][0], until)
    # The budget is June's, the last month begun: 0.1 % of 43,200 minutes before the 5 % tier.
    assert outcome.budgets[0].minutes == Fraction(432, 10)
    assert periods_begun(MONTHS, until)[-1] == MONTHS[5]
    clean = assess_uptime(dixa, ZONE, MONTHS, until, [], [])
    assert clean.met and clean.credits == ()
