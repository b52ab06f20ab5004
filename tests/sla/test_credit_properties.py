"""Credits and uptime against slow, obvious references, and the edges the contracts leave open.

- Incident-count refunds against a brute force: for every counted failure, count every
  failure in ``(t − 28 × 24 h, t]`` by scanning them all.
- A year measured month by month adds up to the year measured whole.
- A budget is exact: that much more downtime keeps the tier away, a microsecond more does not.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.sla.credits import (
    Failure,
    applicable_tier,
    counted_failures,
    incident_count_refunds,
    incident_count_standing,
    next_tier,
)
from bot.sla.uptime import (
    combine,
    days_between,
    measure_periods,
    measure_uptime,
    period_bounds,
    period_containing,
    periods_between,
)
from tests.sla.conftest import POLICIES, cph, utc

MESSAGING = POLICIES["messaging-platform"]
DIXA_TIERS = POLICIES["dixa"].uptime.credits
DIPLOMASAFE_TIERS = POLICIES["diplomasafe"].uptime.credits
M = dt.timedelta(minutes=1)
MICRO = dt.timedelta(microseconds=1)
START = utc(2026, 1, 1)
YEAR = period_bounds("year", "Europe/Copenhagen", year=2026)


def refunds(failures, *, zone="UTC"):
    return incident_count_refunds(
        failures,
        MESSAGING.refunds,
        zone=zone,
        monthly_fee=Decimal(1000),
        since=utc(2026, 1, 1),
        until=utc(2027, 1, 1),
    )


def brute_force_months(failures, zone: str) -> set:
    """The months a failure triggers: more than the limit in the 28 days ending at it."""
    months = set()
    for rule in MESSAGING.refunds:
        counted = counted_failures(rule, failures)
        for f in counted:
            window = [
                g
                for g in counted
                if f.declared_at - dt.timedelta(days=28) < g.declared_at <= f.declared_at
            ]
            if len(window) > rule.more_than:
                months.add(period_containing("month", f.declared_at, zone))
    return months


failures_strategy = st.lists(
    st.builds(
        lambda minute, severity, impact, excluded, n: Failure(
            f"F{n}", severity, START + minute * M, impact, excluded
        ),
        st.integers(0, 60 * 24 * 200),  # declared within 200 days: streaks do happen
        st.sampled_from((1, 1, 2, 2, 3)),
        st.one_of(st.none(), st.sampled_from((10.0, 24.9, 25.0, 60.0))),
        st.sampled_from((False, False, False, True)),  # excluded now and then
        st.integers(0, 10**6),
    ),
    max_size=40,
)


@given(failures_strategy, st.sampled_from(("UTC", "Europe/Copenhagen", "Pacific/Auckland")))
def test_refunded_months_match_the_brute_force(failures, zone):
    assert {line.period for line in refunds(failures, zone=zone)} == brute_force_months(
        failures, zone
    )


@given(failures_strategy, failures_strategy)
def test_more_failures_never_take_a_refund_away(failures, more):
    before = {line.period for line in refunds(failures)}
    after = {line.period for line in refunds([*failures, *more])}
    assert before <= after


@given(failures_strategy, st.integers(0, 60 * 24 * 200), st.sampled_from((1, 2)))
def test_the_standing_says_exactly_whether_one_more_failure_now_would_refund(
    failures, minute, level
):
    """A failure declared now refunds its month iff the 28 days ending now already hold the
    limit (``owed_at − 1``) of what the rule counts, the failures declared now included."""
    now = START + minute * M
    rule = next(r for r in MESSAGING.refunds if r.severity == level)
    one_more = Failure("NEW", level, now, 100.0, False)
    triggered = incident_count_refunds(
        [*failures, one_more], [rule], zone="UTC", monthly_fee=None, since=now, until=now + MICRO
    )
    n = incident_count_standing(rule, failures, now)
    assert bool(triggered) == (n.counted + 1 >= n.owed_at)
    assert n.counted == len(n.incidents) and n.owed_at == rule.more_than + 1


# --- the 28 days: real time, edges ----------------------------------------------------------------


def test_the_28_days_are_real_time_also_across_a_clock_change():
    # For a customer whose order form puts the contract in Copenhagen: 1 October 10:30 CEST
    # and 29 October 10:00 CET are 28 calendar days apart but 28 × 24 h − 30 min + 1 h =
    # 28 days and 30 minutes of real time (the clocks went back on 25 October): outside.
    # A failure at 11:30 CEST instead is 27 days 23 h 30 m earlier: inside.
    later = [cph(2026, 10, d, 10) for d in (10, 20)] + [cph(2026, 10, 29, 10)]
    three = [Failure(f"F{i}", 1, at) for i, at in enumerate(later)]
    outside = Failure("edge", 1, cph(2026, 10, 1, 10, 30))
    inside = Failure("inside", 1, cph(2026, 10, 1, 11, 30))
    assert refunds([outside, *three], zone="Europe/Copenhagen") == []
    (line,) = refunds([inside, *three], zone="Europe/Copenhagen")
    assert line.incidents == ("inside", "F0", "F1", "F2")


def test_failures_declared_at_the_same_instant_all_count():
    # Three on 5 October and a fourth at the very same instant as the third: 4 > 3.
    at = utc(2026, 10, 5, 10)
    failures = [Failure("A", 1, at - 2 * M), Failure("B", 1, at - M), Failure("C", 1, at)]
    assert refunds(failures) == []
    (line,) = refunds([*failures, Failure("D", 1, at)])
    assert set(line.incidents) == {"A", "B", "C", "D"}


def test_a_failure_at_the_first_instant_of_a_month_refunds_that_month():
    # Copenhagen's November begins at 2026-10-31T23:00Z; the fourth failure declared then
    # refunds November, one a microsecond earlier October.
    november = period_bounds("month", "Europe/Copenhagen", year=2026, month=11)
    three = [Failure(f"F{d}", 1, utc(2026, 10, d, 12)) for d in (20, 24, 28)]
    (line,) = refunds([*three, Failure("N", 1, november[0])], zone="Europe/Copenhagen")
    assert line.period == november
    (line,) = refunds([*three, Failure("O", 1, november[0] - MICRO)], zone="Europe/Copenhagen")
    assert line.period == period_bounds("month", "Europe/Copenhagen", year=2026, month=10)


# --- a year month by month ----------------------------------------------------------------------

outages_strategy = st.lists(
    st.tuples(st.integers(0, 525_600), st.integers(0, 60 * 24 * 5)).map(
        lambda p: (YEAR[0] + p[0] * M, YEAR[0] + (p[0] + p[1]) * M)
    ),
    max_size=15,
)


@given(outages_strategy, outages_strategy, st.integers(0, 525_600))
def test_the_months_of_a_year_add_up_to_the_year(outages, exclusions, until_minute):
    until = YEAR[0] + until_minute * M
    months = periods_between("month", *YEAR, "Europe/Copenhagen")
    by_month = combine(measure_periods(months, until, outages, exclusions))
    whole = measure_uptime(*YEAR, until, outages, exclusions)
    assert (by_month.available, by_month.downtime, by_month.excluded) == (
        whole.available,
        whole.downtime,
        whole.excluded,
    )
    assert by_month.uptime_pct == whole.uptime_pct


@given(
    outages_strategy,
    outages_strategy,
    st.integers(0, 525_600),
    st.sampled_from(("Europe/Copenhagen", "America/New_York", "Australia/Lord_Howe")),
    st.integers(1, 12),
)
def test_the_days_of_a_month_add_up_to_the_month(outages, exclusions, until_minute, zone, month):
    """A statement's chart: each local day from midnight to midnight (23 or 25 hours when the
    clocks change; 23.5 or 24.5 on Lord Howe), the days adding up to the month exactly."""
    period = period_bounds("month", zone, year=2026, month=month)
    until = YEAR[0] + until_minute * M
    days = days_between(*period, zone)
    assert days[0][0] == period[0] and days[-1][1] == period[1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(days))
    local = [d[0].astimezone(ZoneInfo(zone)) for d in days]
    assert [d.day for d in local] == list(range(1, len(days) + 1))
    assert all(dt.timedelta(hours=23) <= d[1] - d[0] <= dt.timedelta(hours=25) for d in days)
    by_day = combine(measure_periods(days, until, outages, exclusions))
    whole = measure_uptime(*period, until, outages, exclusions)
    assert (by_day.available, by_day.downtime, by_day.excluded) == (
        whole.available,
        whole.downtime,
        whole.excluded,
    )


def test_the_day_the_clocks_go_back_is_25_hours_long():
    october = period_bounds("month", "Europe/Copenhagen", year=2026, month=10)
    days = days_between(*october, "Europe/Copenhagen")
    assert len(days) == 31
    assert days[24] == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))


# --- budgets are exact --------------------------------------------------------------------------


@given(
    st.integers(0, 2_000),
    st.sampled_from(((8, DIXA_TIERS), (2026, DIPLOMASAFE_TIERS))),
)
def test_the_budget_is_exactly_the_downtime_a_period_can_still_take(down_minutes, case):
    month, tiers = case
    period = (
        period_bounds("month", "Europe/Copenhagen", year=2026, month=month) if month < 13 else YEAR
    )
    before = measure_uptime(*period, period[1], [(period[0], period[0] + down_minutes * M)])
    found = next_tier(before, tiers)
    if found is None:
        assert applicable_tier(before, tiers) is tiers[-1]
        return
    budget_us = found.minutes * 60_000_000  # an exact number of microseconds, or a fraction
    extra = dt.timedelta(microseconds=int(budget_us))  # floor: still within the budget
    end = period[0] + down_minutes * M
    within = measure_uptime(*period, period[1], [(period[0], end + extra)])
    over = measure_uptime(*period, period[1], [(period[0], end + extra + MICRO)])
    assert found.minutes >= 0
    assert not within.below(found.tier.below)
    if budget_us == int(budget_us):  # a whole number of microseconds: one more is too many
        assert over.below(found.tier.below)
