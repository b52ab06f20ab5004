"""The budget before a credit tier as a deadline (bot/sla/stakes.py), by hand and against
the report's own figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.credits import Failure
from bot.sla.exposure import assess_uptime
from bot.sla.reminders import ReminderKind
from bot.sla.stakes import (
    CROSSED,
    Outage,
    SharedCountStakes,
    count_stake,
    crossings_from,
    during,
    next_crossing,
    plan_crossing_reminders,
    tier_crossings,
)
from bot.sla.uptime import measure_uptime, outage_interval, period_bounds
from tests.sla.conftest import POLICIES, cph, utc

ZONE = "Europe/Copenhagen"
DIXA = POLICIES["dixa"].uptime
DIPLOMASAFE = POLICIES["diplomasafe"].uptime
MESSAGING = POLICIES["messaging-platform"]
OCTOBER = period_bounds("month", ZONE, year=2026, month=10)  # 44,700 minutes
US = dt.timedelta(microseconds=1)
M = dt.timedelta(minutes=1)

EARLIER = Outage(cph(2026, 10, 3, 9), cph(2026, 10, 3, 9, 30))  # 30 minutes down already


def crossings_at(now, outages, maintenance=()):
    return {
        str(c.tier.percent): c.at for c in tier_crossings(DIXA, ZONE, now, outages, maintenance)
    }


def test_a_running_outage_crosses_each_tier_when_the_budget_is_spent():
    # 44 min 42 s before the 5 % tier, 447 min before the 10 % tier; 30 were spent earlier.
    now = cph(2026, 10, 10, 10, 20)
    found = crossings_at(now, [EARLIER, Outage(cph(2026, 10, 10, 10))])
    assert found == {
        "5": cph(2026, 10, 10, 10, 14, 42) + US,  # crossed already, six minutes ago
        "10": cph(2026, 10, 10, 16, 57) + US,  # 417 more minutes from 10:00
    }
    ahead = next_crossing(
        tier_crossings(DIXA, ZONE, now, [EARLIER, Outage(cph(2026, 10, 10, 10))]), now
    )
    assert ahead is not None and ahead.tier.percent == 10 and ahead.period == OCTOBER


def test_overlapping_outages_are_spent_once():
    now = cph(2026, 10, 10, 10, 20)
    one = crossings_at(now, [EARLIER, Outage(cph(2026, 10, 10, 10))])
    # A second outage running since 10:10 and one from 09:50 to 10:05: the union starts at
    # 09:50, ten minutes earlier, and is never counted twice.
    both = crossings_at(
        now,
        [
            EARLIER,
            Outage(cph(2026, 10, 10, 10)),
            Outage(cph(2026, 10, 10, 10, 10)),
            Outage(cph(2026, 10, 10, 9, 50), cph(2026, 10, 10, 10, 5)),
        ],
    )
    assert both == {k: v - 10 * M for k, v in one.items()}


def test_an_excluded_outage_burns_no_budget_and_announced_maintenance_stops_the_burn():
    now = cph(2026, 10, 10, 10, 20)
    excluded = Outage(cph(2026, 10, 10, 10), excluded=True)
    # Only the excluded outage runs: the 10 % tier can never be reached by it.
    assert crossings_at(now, [EARLIER, excluded]) == {}
    # A real outage beside it burns nothing while the excluded one lasts (its whole interval
    # is excluded, as in reports).
    assert crossings_at(now, [EARLIER, excluded, Outage(cph(2026, 10, 10, 10))]) == {}
    # Maintenance announced for 12:00–13:00 stops the burn for that hour.
    window = (cph(2026, 10, 10, 12), cph(2026, 10, 10, 13))
    found = crossings_at(now, [EARLIER, Outage(cph(2026, 10, 10, 10))], [window])
    assert found["10"] == cph(2026, 10, 10, 17, 57) + US


def test_a_tier_the_period_cannot_reach_is_left_out_and_a_yearly_period_is_the_year():
    # 31 October 23:00: an hour to the month's end, 447 minutes to go.
    now = cph(2026, 10, 31, 23)
    assert crossings_at(now, [Outage(now)]) == {"5": now + dt.timedelta(seconds=2682) + US}
    # Diplomasafe's year: 525,600 minutes, 525.6 before the 2.5 % tier.
    found = tier_crossings(DIPLOMASAFE, ZONE, now, [Outage(now)])
    assert (found[0].tier.percent, found[0].at) == (
        Decimal("2.5"),
        now + dt.timedelta(minutes=525, seconds=36) + US,
    )
    assert found[0].period == period_bounds("year", ZONE, year=2026)


def test_crossings_are_announced_before_and_when_they_come_and_belong_to_running_outages():
    now = cph(2026, 10, 10, 10, 20)
    found = tier_crossings(DIXA, ZONE, now, [EARLIER, Outage(cph(2026, 10, 10, 10))])
    ten = found[1].at
    plan = plan_crossing_reminders(found[1:], POLICIES["dixa"].reminders, now)
    assert [(p.due_at, p.kind, p.step) for p in plan] == [
        (ten - 15 * M, ReminderKind.WARNING, "15m"),
        (ten - 5 * M, ReminderKind.WARNING, "5m"),
        (ten, ReminderKind.BREACH, CROSSED),
    ]
    # An outage restored at 10:10 was not running when the 5 % tier was crossed at 10:14:42.
    assert during(found, cph(2026, 10, 10, 10), cph(2026, 10, 10, 10, 10)) == []
    assert during(found, cph(2026, 10, 10, 10), None) == found


def test_a_count_rule_counts_the_incident_with_those_of_the_28_days_before_it():
    rules = MESSAGING.refunds
    at = utc(2026, 10, 20, 9)
    others = [Failure(f"INC-{n}", 1, at - dt.timedelta(days=n)) for n in (1, 2, 30)]
    stakes = count_stake(rules, Failure("INC-9", 1, at), others)
    assert [(s.rule.severity, s.counted, s.left) for s in stakes] == [(1, 3, 1)]
    # A severity 2 failure with no known impact is not counted by the 25 % rule.
    assert count_stake(rules, Failure("INC-9", 2, at), []) == []
    # Customers sharing failures count them once, each adding its own: the same standings.
    this = Failure("INC-9", 1, at)
    shared = SharedCountStakes(rules, this, others[:1])
    for own in ([], others[1:], [Failure("INC-8", 1, at)]):
        assert shared.of(own) == count_stake(rules, this, [*others[:1], *own])


# --- against the report's own figures ------------------------------------------------------

_START, _END = OCTOBER


def _instants(lo: dt.datetime, hi: dt.datetime):
    seconds = int((hi - lo).total_seconds())
    return st.integers(0, seconds).map(lambda s: lo + dt.timedelta(seconds=s))


@st.composite
def histories(draw):
    now = draw(_instants(_START + dt.timedelta(days=2), _END - dt.timedelta(hours=1)))
    outages = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(_instants(_START - dt.timedelta(days=1), now))
        end = start + dt.timedelta(minutes=draw(st.integers(1, 600)))
        outages.append(Outage(start, min(end, now), draw(st.booleans() | st.just(False))))
    for _ in range(draw(st.integers(1, 2))):
        start = draw(_instants(now - dt.timedelta(hours=8), now))
        outages.append(Outage(start, None, draw(st.sampled_from([False, False, False, True]))))
    windows = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(_instants(_START, _END))
        windows.append((start, start + dt.timedelta(minutes=draw(st.integers(1, 300)))))
    terms = draw(st.sampled_from([DIXA, DIPLOMASAFE]))
    return terms, now, outages, windows


def _tier_reported(terms, at, outages, windows):
    """The report's tier at ``at``: ``assess_uptime`` as ``bot.reports`` calls it, with each
    running outage counted to ``at``."""
    intervals = [outage_interval(o.start, o.end, at) for o in outages if o.start <= at]
    excluded = [
        i
        for o, i in zip([o for o in outages if o.start <= at], intervals, strict=True)
        if o.excluded
    ]
    period = period_bounds(
        terms.period, ZONE, year=2026, month=10 if terms.period == "month" else None
    )
    outcome = assess_uptime(terms, ZONE, [period], at, intervals, [*excluded, *windows])
    return outcome.credits[0].percent if outcome.credits else None


@settings(max_examples=60, deadline=None)
@given(histories())
def test_at_the_crossing_the_reports_tier_changes_and_a_minute_before_it_does_not(history):
    terms, now, outages, windows = history
    found = tier_crossings(terms, ZONE, now, outages, windows)
    reached = {c.tier.percent for c in found}
    for crossing in found:
        assert _tier_reported(terms, crossing.at, outages, windows) == crossing.tier.percent
        for before in (crossing.at - US, crossing.at - M):
            assert _tier_reported(terms, before, outages, windows) != crossing.tier.percent
    end = period_bounds(
        terms.period, ZONE, year=2026, month=10 if terms.period == "month" else None
    )[1]
    last = _tier_reported(terms, end, outages, windows)
    assert last is None or last in reached  # a tier left out is not reached by the end


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 3), st.booleans())
def test_the_crossings_of_one_outage_need_only_the_downtime_before_it(history, pick, restored):
    terms, now, outages, windows = history
    mine = outages[pick % len(outages)]
    end = (
        min(mine.start + dt.timedelta(hours=3), now) if restored and mine.end is None else mine.end
    )
    outages = [o if o is not mine else Outage(mine.start, end, mine.excluded) for o in outages]
    mine = Outage(mine.start, end, mine.excluded)
    if mine.excluded:
        return
    period = period_bounds(
        terms.period, ZONE, year=2026, month=10 if terms.period == "month" else None
    )
    start = max(mine.start, period[0])
    cuts = [(o.start, o.end or period[1]) for o in outages if o.excluded] + list(windows)
    spent = measure_uptime(
        *period,
        start,
        [outage_interval(o.start, o.end, start) for o in outages if o.start < start],
        cuts,
    ).downtime
    expected = during(tier_crossings(terms, ZONE, now, outages, windows), mine.start, mine.end)
    assert crossings_from(terms, period, spent, mine.start, mine.end, cuts) == expected
