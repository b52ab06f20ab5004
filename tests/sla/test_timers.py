"""Timers: pauses on the timer's own clock, met and breached, readings, the strictest contract."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.contract import Contract
from bot.sla.timers import (
    Pause,
    TimerKind,
    TimerRule,
    TimerState,
    consumed,
    due_at,
    read_timer,
    strictest,
)
from tests.sla.conftest import POLICIES, cph, utc

RESPONSE, RESTORE = TimerKind.RESPONSE, TimerKind.RESTORE
SECOND, MINUTE, HOUR = dt.timedelta(seconds=1), dt.timedelta(minutes=1), dt.timedelta(hours=1)


def rule(contract: Contract, kind: TimerKind, level: int) -> TimerRule:
    found = contract.rule(kind, level)
    assert found is not None
    return found


# --- pauses move the deadline by the paused time on the timer's own clock -------------------


def test_weekend_pause_moves_nothing_on_business_time(dixa):
    restore = rule(dixa, RESTORE, 2)  # 1bd = 9 business hours
    declared = cph(2026, 11, 20, 16, 30)
    weekend = [
        Pause(cph(2026, 11, 20, 17, 30), cph(2026, 11, 23, 7, 0))
    ]  # Fri after close → Mon before open
    # 30m Fri + 8h30 Mon, paused only while the office is closed.
    assert (
        due_at(restore, declared, weekend) == due_at(restore, declared) == cph(2026, 11, 23, 16, 30)
    )


def test_the_same_pause_moves_a_24x7_deadline_fully(messaging):
    restore = rule(messaging, RESTORE, 2)  # 8h 24x7
    declared = cph(2026, 11, 20, 16, 30)
    weekend = [Pause(cph(2026, 11, 20, 17, 30), cph(2026, 11, 23, 7, 0))]
    assert due_at(restore, declared) == cph(2026, 11, 21, 0, 30)  # 16:30 + 8h
    # 1h used before the pause, 7h left from Mon 07:00.
    assert due_at(restore, declared, weekend) == cph(2026, 11, 23, 14, 0)


def test_pause_counts_only_its_business_time(dixa):
    restore = rule(dixa, RESTORE, 2)
    declared = cph(2026, 11, 23, 9, 0)  # Monday; no pause: 8h Mon + 1h Tue → Tue 09:00
    assert due_at(restore, declared) == cph(2026, 11, 24, 9, 0)
    in_hours = [Pause(cph(2026, 11, 23, 10, 0), cph(2026, 11, 23, 11, 30))]  # 1h30 business
    overnight = [Pause(cph(2026, 11, 23, 16, 0), cph(2026, 11, 24, 8, 30))]  # 1h Mon + 30m Tue
    assert due_at(restore, declared, in_hours) == cph(2026, 11, 24, 10, 30)
    assert due_at(restore, declared, overnight) == cph(2026, 11, 24, 10, 30)
    both = [*in_hours, *overnight]  # 3h business in all
    assert due_at(restore, declared, both) == cph(2026, 11, 24, 12, 0)


def test_pause_before_the_start_counts_from_the_start(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    # Waiting on the customer since 08:30; resumed 09:20: 1h from 09:20.
    pauses = [Pause(cph(2026, 11, 23, 8, 30), cph(2026, 11, 23, 9, 20))]
    assert due_at(response, declared, pauses) == cph(2026, 11, 23, 10, 20)
    # A pause over before the start changes nothing.
    earlier = [Pause(cph(2026, 11, 23, 8, 0), cph(2026, 11, 23, 8, 30))]
    assert due_at(response, declared, earlier) == cph(2026, 11, 23, 10, 0)


def test_pause_after_the_deadline_does_not_rescue_a_breach(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)  # due 10:00
    late = [Pause(cph(2026, 11, 23, 10, 30), cph(2026, 11, 23, 12, 0))]
    assert due_at(response, declared, late) == cph(2026, 11, 23, 10, 0)
    reading = read_timer(
        response, declared, cph(2026, 11, 23, 10, 45), pauses=[Pause(cph(2026, 11, 23, 10, 30))]
    )
    assert reading.state is TimerState.BREACHED
    assert reading.deadline == cph(2026, 11, 23, 10, 0)
    assert reading.over_by == 45 * MINUTE
    stopped = read_timer(
        response,
        declared,
        cph(2026, 11, 23, 13, 0),
        pauses=late,
        stopped_at=cph(2026, 11, 23, 12, 30),
    )
    assert stopped.state is TimerState.BREACHED


def test_pause_starting_exactly_at_the_deadline_is_too_late(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    pauses = [Pause(cph(2026, 11, 23, 10, 0))]  # the whole hour was used before it began
    assert due_at(response, declared, pauses) == cph(2026, 11, 23, 10, 0)
    assert read_timer(response, declared, cph(2026, 11, 23, 10, 1), pauses=pauses).state is (
        TimerState.BREACHED
    )


# --- readings -------------------------------------------------------------------------------


def test_open_pause_is_paused_with_time_left_on_its_own_clock(dixa, messaging):
    declared = cph(2026, 11, 20, 16, 0)  # Friday
    waiting = [Pause(cph(2026, 11, 20, 16, 30))]
    business = rule(dixa, RESTORE, 2)  # 9h business: 30m used
    wall = rule(messaging, RESTORE, 2)  # 8h 24x7: 30m used
    for now in (cph(2026, 11, 21, 12, 0), cph(2026, 11, 25, 12, 0)):  # time left does not drain
        reading = read_timer(business, declared, now, pauses=waiting)
        assert (reading.state, reading.deadline, reading.left) == (
            TimerState.PAUSED,
            None,
            8.5 * HOUR,
        )
        assert reading.over_by is None and reading.is_open
        reading = read_timer(wall, declared, now, pauses=waiting)
        assert (reading.state, reading.deadline, reading.left) == (
            TimerState.PAUSED,
            None,
            7.5 * HOUR,
        )


def test_resumed_timer_runs_again(dixa):
    declared = cph(2026, 11, 20, 16, 0)
    pauses = [
        Pause(cph(2026, 11, 20, 16, 30), cph(2026, 11, 23, 9, 0))
    ]  # 30m used; Mon 08–09 paused
    reading = read_timer(rule(dixa, RESTORE, 2), declared, cph(2026, 11, 23, 10, 0), pauses=pauses)
    assert reading.state is TimerState.RUNNING
    # 8h30 left at 09:00 Mon: 8h to the close, 30m on Tue.
    assert reading.deadline == cph(2026, 11, 24, 8, 30)
    assert reading.left == 7.5 * HOUR  # 7h to Mon's close + 30m Tue


def test_running_reading_counts_left_on_business_time(dixa):
    reading = read_timer(
        rule(dixa, RESPONSE, 2), cph(2026, 11, 20, 16, 30), cph(2026, 11, 20, 16, 45)
    )
    assert reading.state is TimerState.RUNNING
    assert reading.deadline == cph(2026, 11, 23, 8, 30)
    assert reading.left == 45 * MINUTE  # 15m Fri + 30m Mon, not the 63h45 of wall time
    assert reading.over_by is None and reading.is_open


def test_breached_open_timer_counts_over_by_on_its_clock(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 20, 16, 30)  # due Mon 08:30
    reading = read_timer(response, declared, cph(2026, 11, 23, 9, 0))
    assert (reading.state, reading.over_by, reading.left) == (
        TimerState.BREACHED,
        30 * MINUTE,
        None,
    )
    # A day later: 8h30 Mon + 30m Tue of business time.
    assert read_timer(response, declared, cph(2026, 11, 24, 8, 30)).over_by == 9 * HOUR


@pytest.mark.parametrize("contract_name", ["dixa", "messaging"])
def test_met_at_the_deadline_breached_a_second_after(request, contract_name):
    contract = request.getfixturevalue(contract_name)
    response = rule(contract, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    deadline = cph(2026, 11, 23, 10, 0)  # 1 business hour / 1 hour, inside the window
    later = cph(2026, 11, 23, 12, 0)
    met = read_timer(response, declared, later, stopped_at=deadline)
    assert (met.state, met.deadline, met.over_by, met.stopped) == (
        TimerState.MET,
        deadline,
        None,
        True,
    )
    assert not met.is_open
    late = read_timer(response, declared, later, stopped_at=deadline + SECOND)
    assert (late.state, late.over_by) == (TimerState.BREACHED, SECOND)
    assert read_timer(response, declared, deadline).state is TimerState.RUNNING
    assert read_timer(response, declared, deadline + SECOND).state is TimerState.BREACHED


def test_met_early_and_stopped_while_paused(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    assert read_timer(
        response, declared, cph(2026, 11, 23, 9, 20), stopped_at=cph(2026, 11, 23, 9, 10)
    ).state is (TimerState.MET)
    # Stopped while waiting on the customer, long after the unpaused deadline: 30m were used.
    pauses = [Pause(cph(2026, 11, 23, 9, 30))]
    reading = read_timer(
        response,
        declared,
        cph(2026, 11, 24, 12, 0),
        pauses=pauses,
        stopped_at=cph(2026, 11, 24, 11, 0),
    )
    assert reading.state is TimerState.MET


def test_breach_stays_after_the_stop(dixa):
    response = rule(dixa, RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    reading = read_timer(
        response, declared, cph(2026, 12, 1, 9, 0), stopped_at=cph(2026, 11, 23, 10, 30)
    )
    assert (reading.state, reading.over_by, reading.stopped) == (
        TimerState.BREACHED,
        30 * MINUTE,
        True,
    )


# --- the strictest contract -------------------------------------------------------------------


def test_strictest_picks_the_earliest_deadline(dixa, messaging, diplomasafe):
    dixa_rule, messaging_rule = rule(dixa, RESPONSE, 2), rule(messaging, RESPONSE, 2)
    friday = cph(2026, 11, 20, 16, 30)  # Dixa: Mon 08:30; messaging: Fri 17:30
    assert strictest([dixa_rule, messaging_rule], friday, friday) is messaging_rule
    assert strictest([messaging_rule, dixa_rule], friday, friday) is messaging_rule
    # Inside business hours Dixa (1bh) and Diplomasafe (4bh): Dixa.
    tuesday = cph(2026, 11, 24, 10, 0)
    diplomasafe_rule = rule(diplomasafe, RESPONSE, 2)
    assert strictest([diplomasafe_rule, dixa_rule], tuesday, tuesday) is dixa_rule
    # Sev 1: Dixa's 5 minutes beat the messaging platform's 30.
    assert (
        strictest([rule(messaging, RESPONSE, 1), d1 := rule(dixa, RESPONSE, 1)], friday, friday)
        is d1
    )
    assert strictest([], friday, friday) is None


def test_strictest_tie_goes_to_the_first_rule(dixa, messaging):
    dixa_rule, messaging_rule = rule(dixa, RESPONSE, 2), rule(messaging, RESPONSE, 2)
    tuesday = cph(2026, 11, 24, 10, 0)  # both due 11:00
    assert due_at(dixa_rule, tuesday) == due_at(messaging_rule, tuesday) == cph(2026, 11, 24, 11, 0)
    assert strictest([dixa_rule, messaging_rule], tuesday, tuesday) is dixa_rule
    assert strictest([messaging_rule, dixa_rule], tuesday, tuesday) is messaging_rule


def test_strictest_with_pauses(dixa, messaging):
    dixa_rule, messaging_rule = rule(dixa, RESPONSE, 2), rule(messaging, RESPONSE, 2)
    declared = cph(2026, 11, 20, 16, 0)  # both due Fri 17:00: a tie, Dixa listed first
    assert strictest([dixa_rule, messaging_rule], declared, declared) is dixa_rule
    # Paused 16:30–16:45: Dixa has 15m left before the close and 15m on Monday (08:15);
    # the messaging platform is due 17:15.
    closed = [Pause(cph(2026, 11, 20, 16, 30), cph(2026, 11, 20, 16, 45))]
    assert due_at(dixa_rule, declared, closed) == cph(2026, 11, 23, 8, 15)
    assert due_at(messaging_rule, declared, closed) == cph(2026, 11, 20, 17, 15)
    assert (
        strictest([dixa_rule, messaging_rule], declared, cph(2026, 11, 20, 16, 50), closed)
        is messaging_rule
    )
    # An open pause is assumed to end now (16:50): Dixa Mon 08:20, messaging 17:20.
    still = [Pause(cph(2026, 11, 20, 16, 30))]
    assert (
        strictest([dixa_rule, messaging_rule], declared, cph(2026, 11, 20, 16, 50), still)
        is messaging_rule
    )


# --- properties -------------------------------------------------------------------------------

RULES = [
    rule(Contract.of_deployment(POLICIES["dixa"]), RESTORE, 2),
    rule(Contract(policy=POLICIES["dixa"], zone="America/New_York"), RESPONSE, 4),
    rule(Contract.of_deployment(POLICIES["diplomasafe"]), RESPONSE, 1),
    rule(Contract.of_deployment(POLICIES["messaging-platform"]), RESTORE, 2),
]
FIRST = utc(2026, 1, 1)
SPAN = int(dt.timedelta(days=3 * 365).total_seconds())


@st.composite
def pause_lists(draw, start: dt.datetime) -> list[Pause]:
    """Ordered, non-overlapping, closed pauses, the first possibly before the start."""
    at = start - dt.timedelta(seconds=draw(st.integers(0, 6 * 3600)))
    pauses = []
    for gap, length in draw(
        st.lists(st.tuples(st.integers(0, 2 * 86400), st.integers(1, 3 * 86400)), max_size=4)
    ):
        begin = at + dt.timedelta(seconds=gap)
        at = begin + dt.timedelta(seconds=length)
        pauses.append(Pause(begin, at))
    return pauses


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(RULES), st.integers(0, SPAN), st.data())
def test_pauses_never_bring_a_deadline_forward_and_use_exactly_the_target(timer, offset, data):
    start = FIRST + dt.timedelta(seconds=offset)
    pauses = data.draw(pause_lists(start))
    deadline = due_at(timer, start, pauses)
    assert deadline is not None
    assert deadline >= due_at(timer, start)
    assert consumed(timer, start, deadline, pauses) == timer.length
    assert (
        read_timer(timer, start, deadline, pauses=pauses, stopped_at=deadline).state
        is TimerState.MET
    )
    late = deadline + SECOND
    assert (
        read_timer(timer, start, late, pauses=pauses, stopped_at=late).state is TimerState.BREACHED
    )


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(RULES), st.integers(0, SPAN), st.data())
def test_open_pause_resumed_is_the_same_as_a_closed_one(timer, offset, data):
    start = FIRST + dt.timedelta(seconds=offset)
    pauses = data.draw(pause_lists(start).filter(bool))
    *earlier, last = pauses
    open_last = [*earlier, Pause(last.start)]
    assert due_at(timer, start, open_last, resume_at=last.end) == due_at(timer, start, pauses)
