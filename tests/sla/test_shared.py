"""Work shared by customers on the same terms equals each customer's own computation.

``SharedDowntime`` and ``SharedRefunds`` count what every customer shares once and then add
one customer's own outages, exclusions and failures; here each is checked against the
per-customer engine (``measure_periods``, ``assess_refunds``) on random histories, where
shared and own intervals overlap, touch, nest and fall at the same instants.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.calendar import as_utc
from bot.sla.credits import Failure
from bot.sla.exposure import (
    SharedMisses,
    SharedRefunds,
    assess_refunds,
    assess_response_misses,
    judge_uptime,
    uptime_months,
)
from bot.sla.uptime import (
    SharedDowntime,
    SharedOutages,
    measure_periods,
    overlaps,
    period_bounds,
    periods_between,
)
from config.policy import IncidentCountRefund, ResponseMissCredit
from tests.sla.conftest import CPH, POLICIES, utc

ZONE = "Europe/Copenhagen"
YEAR = period_bounds("year", ZONE, year=2026)
MONTHS = periods_between("month", *YEAR, ZONE)
START = YEAR[0]
M = dt.timedelta(minutes=1)
DAYS = 60 * 24 * 365


def instant(minute: int, local: bool) -> dt.datetime:
    at = START + minute * M
    return at.astimezone(CPH) if local else at


def intervals(max_size: int, longest: int = 600) -> st.SearchStrategy[list[tuple]]:
    """Intervals in 2026 (a few reaching outside it), some empty or backwards, some given in
    Copenhagen time; coarse minutes so that edges coincide."""
    return st.lists(
        st.builds(
            lambda start, length, local: (
                instant(start * 7, local),
                instant(start * 7 + length, local),
            ),
            st.integers(-1_000, (DAYS + 2_000) // 7),
            st.integers(-5, longest),
            st.booleans(),
        ),
        max_size=max_size,
    )


def without_spans(results):
    return [(r.start, r.end, r.until, r.available, r.downtime, r.excluded) for r in results]


@settings(max_examples=300)
@given(
    intervals(40),
    intervals(12, longest=300),
    intervals(8),
    intervals(5, longest=1500),
    intervals(6),
    st.integers(-2_000, DAYS + 2_000),
)
def test_shared_downtime_with_a_customers_own_equals_measuring_it_all(
    shared, shared_cuts, own, own_cuts, probes, until_minute
):
    until = START + until_minute * M
    months = uptime_months([YEAR], ZONE)
    listed = [*shared, *probes]
    base = SharedDowntime(months, until, SharedOutages(shared, listed), shared_cuts)
    whole = measure_periods(months, until, [*shared, *own], [*shared_cuts, *own_cuts])
    alone = measure_periods(months, until, shared, shared_cuts)
    spans = [s for r in whole for s in r.spans]
    shared_spans = [s for r in alone for s in r.spans]

    assert without_spans(base.results) == without_spans(alone)
    start, end = months[0][0], max(min(until, months[-1][1]), months[0][0])
    assert base.listed_within == [
        k for k, (s, e) in enumerate(listed) if as_utc(s) < end and as_utc(e) > start
    ]
    assert base.listed_in_downtime == [
        k for k, interval in enumerate(listed) if overlaps(shared_spans, interval)
    ]
    mine = base.measure(own, own_cuts)
    assert without_spans(mine.results) == without_spans(whole)
    for interval in [*listed, *own]:
        assert mine.left_downtime(interval) == overlaps(spans, interval), interval
    assert mine.lost == {k for k in base.listed_in_downtime if not overlaps(spans, listed[k])}
    # The same months judged alike: tiers, budgets, the month to date.
    terms = POLICIES["diplomasafe"].uptime
    assert (
        judge_uptime(terms, ZONE, [YEAR], until, mine.results).credits
        == judge_uptime(terms, ZONE, [YEAR], until, whole).credits
    )


def test_a_customer_with_nothing_of_its_own_gets_the_shared_measure():
    outage = (utc(2026, 3, 1, 10), utc(2026, 3, 1, 11))
    base = SharedDowntime(MONTHS, YEAR[1], SharedOutages([outage]))
    assert base.measure().results is base.results
    assert base.measure().left_downtime(outage)


# --- incident-count refunds ----------------------------------------------------------------

RULES = (
    *POLICIES["messaging-platform"].refunds,
    # A smaller refund counted sooner: a month it refunds may be taken over by a larger one.
    IncidentCountRefund(severity=1, more_than=1, within="7d", percent_of_monthly_fee=Decimal(50)),
)


def failures(prefix: str, max_size: int) -> st.SearchStrategy[list[Failure]]:
    return st.lists(
        st.builds(
            lambda n, hour, severity, impact, excluded, local: Failure(
                f"{prefix}{n}",
                severity,
                instant(hour * 60 * 5, local),  # every 5 hours: instants repeat
                impact,
                excluded,
            ),
            st.integers(0, 10**6),
            st.integers(-200, 365 * 24 // 5 + 100),
            st.sampled_from((1, 1, 1, 2, 2, 3)),
            st.one_of(st.none(), st.sampled_from((10.0, 25.0, 60.0))),
            st.sampled_from((False, False, False, True)),
            st.booleans(),
        ),
        max_size=max_size,
    )


@settings(max_examples=300)
@given(
    failures("S", 80),
    failures("O", 12),
    st.sampled_from([(YEAR, YEAR[1]), (YEAR, utc(2026, 6, 17, 12)), (MONTHS[4], MONTHS[4][1])]),
    st.sampled_from(("UTC", ZONE, "Pacific/Auckland")),
)
def test_shared_refunds_with_a_customers_own_equal_counting_them_all(shared, own, period, zone):
    (since, cut), until = period
    base = SharedRefunds(RULES, zone, shared, since, cut, until)
    mine = base.assess(own)
    whole = assess_refunds(RULES, zone, [*shared, *own], since, cut, until)
    assert mine.credits == whole.credits
    assert mine.standings == whole.standings
    assert sorted(id(f) for f in (*base.counted, *mine.counted)) == sorted(
        id(f) for f in whole.counted
    )
    alone = assess_refunds(RULES, zone, shared, since, cut, until)
    assert base.assess().credits == alone.credits


def test_shared_failures_at_the_same_instant_are_listed_before_a_customers_own():
    at = utc(2026, 3, 10, 12)
    shared = [Failure(f"S{n}", 1, at) for n in range(3)]
    own = [Failure("O1", 1, at)]
    rules = POLICIES["messaging-platform"].refunds
    (line,) = SharedRefunds(rules, "UTC", shared, *MONTHS[2], MONTHS[2][1]).assess(own).credits
    assert line.incidents == ("S0", "S1", "S2", "O1")
    assert "up to S0 (2026-03-10 12:00 UTC)" in line.reason


# --- missed responses ------------------------------------------------------------------------

MONTHLY_MISSES = ResponseMissCredit(more_than=2, period="month", percent=Decimal(2))


@settings(max_examples=200)
@given(
    failures("S", 60),
    failures("O", 10),
    st.sampled_from([
        (POLICIES["diplomasafe"].response_misses, [YEAR], YEAR[1], YEAR[1]),
        (POLICIES["diplomasafe"].response_misses, [YEAR], YEAR[1], utc(2026, 8, 3)),
        (MONTHLY_MISSES, MONTHS, YEAR[1], utc(2026, 5, 20)),
        (MONTHLY_MISSES, MONTHS, MONTHS[6][1], MONTHS[6][1]),
    ]),
)  # fmt: skip
def test_shared_misses_with_a_customers_own_equal_judging_them_all(shared, own, case):
    spec, periods, cut, until = case
    declared = sorted(shared, key=lambda f: f.declared_at)
    mine = sorted(own, key=lambda f: f.declared_at)
    base = SharedMisses(spec, ZONE, declared, periods, cut, until)
    together = sorted([*declared, *mine], key=lambda f: f.declared_at)  # shared first at ties
    whole = assess_response_misses(spec, ZONE, together, periods, cut, until)
    outcome = base.assess(mine)
    assert (outcome.credits, outcome.standings) == (whole.credits, whole.standings)
    own_ids = {id(f) for f in mine}
    assert [id(f) for f in outcome.counted] == [id(f) for f in whole.counted if id(f) in own_ids]
    alone, shared_alone = (
        assess_response_misses(spec, ZONE, declared, periods, cut, until),
        base.assess(),
    )
    assert (shared_alone.credits, shared_alone.standings) == (alone.credits, alone.standings)
