"""Progress deadlines replayed through the updates (docs/semantics.md §3): met, missed and by
how much, never answered; the last one is the timer ``read_timers`` reads."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.contract import Contract
from bot.sla.incident import IncidentFacts, progress_deadlines, read_timers
from bot.sla.timers import Pause, TimerKind, TimerState
from tests.sla.conftest import POLICIES, utc

MESSAGING = [Contract.of_deployment(POLICIES["messaging-platform"])]
"""Severity I: a progress report every 60 minutes, 24x7; Severity III: at resolution."""
DECLARED = utc(2026, 11, 20, 9, 0)
M = dt.timedelta(minutes=1)


def facts(severity: int = 1, updates=(), resolved=None, pauses=()) -> IncidentFacts:
    return IncidentFacts(
        severity=severity, declared_at=DECLARED, reported_at=DECLARED, impact_start=DECLARED,
        last_report_at=max((DECLARED, *updates)), resolved_at=resolved,
        acknowledged_at=resolved, restored_at=resolved, pauses=tuple(pauses),
    )  # fmt: skip


def test_an_update_on_time_meets_one_late_misses_and_a_resolution_ends_the_last():
    # Due 10:00, answered 09:50: met. Then due 10:50 (09:50 + 60m), answered 11:10: missed by
    # 20m. Then due 12:10; resolved 11:40 before it: no report was due, so it is left out.
    updates = [utc(2026, 11, 20, 9, 50), utc(2026, 11, 20, 11, 10)]
    found = progress_deadlines(
        facts(updates=updates, resolved=utc(2026, 11, 20, 11, 40)), updates, MESSAGING,
        utc(2026, 11, 20, 12, 0),
    )  # fmt: skip
    assert [(d.due, d.state, d.answered_at, d.reading.over_by) for d in found] == [
        (utc(2026, 11, 20, 10, 0), TimerState.MET, updates[0], None),
        (utc(2026, 11, 20, 10, 50), TimerState.BREACHED, updates[1], 20 * M),
    ]


def test_an_update_never_posted():
    # Open at 11:30, nothing since the declaration: due 10:00, still overdue by 1h 30m.
    (open_,) = progress_deadlines(facts(), [], MESSAGING, utc(2026, 11, 20, 11, 30))
    assert (open_.due, open_.state, open_.answered_at, open_.reading.stopped) == (
        utc(2026, 11, 20, 10, 0), TimerState.BREACHED, None, False,
    )  # fmt: skip
    assert open_.reading.over_by == 90 * M
    # Resolved at 10:30 without one: missed, never answered (the timer stopped at 10:30).
    (never,) = progress_deadlines(
        facts(resolved=utc(2026, 11, 20, 10, 30)), [], MESSAGING, utc(2026, 11, 20, 11, 30)
    )
    assert (never.state, never.answered_at, never.reading.stopped, never.reading.over_by) == (
        TimerState.BREACHED, None, True, 30 * M,
    )  # fmt: skip


def test_a_pause_moves_the_cadence_and_reporting_at_resolution_has_none():
    # Paused 09:30–10:00: the first report is due 10:30.
    paused = facts(pauses=[Pause(utc(2026, 11, 20, 9, 30), utc(2026, 11, 20, 10, 0))])
    (first,) = progress_deadlines(paused, [], MESSAGING, utc(2026, 11, 20, 10, 10))
    assert (first.due, first.state) == (utc(2026, 11, 20, 10, 30), TimerState.RUNNING)
    assert progress_deadlines(facts(severity=3), [], MESSAGING, utc(2026, 11, 20, 12)) == []


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(1, 600), max_size=6),
    resolved=st.none() | st.integers(1, 900),
    later=st.integers(0, 600),
)
def test_the_last_deadline_is_the_timer_read_timers_reads(offsets, resolved, later):
    updates = sorted({DECLARED + n * M for n in offsets})
    resolved_at = None if resolved is None else DECLARED + resolved * M
    updates = [u for u in updates if resolved_at is None or u <= resolved_at]
    now = max((DECLARED, *updates, resolved_at or DECLARED)) + later * M
    incident = facts(updates=updates, resolved=resolved_at)
    found = progress_deadlines(incident, updates, MESSAGING, now)
    reading = read_timers(incident, MESSAGING, now)[TimerKind.PROGRESS]
    if found and found[-1].started_at == incident.last_report_at:
        assert (found[-1].due, found[-1].state, found[-1].reading.over_by) == (
            reading.deadline, reading.state, reading.over_by,
        )  # fmt: skip
    else:  # resolved before the last report was due: no deadline, and the timer was met
        assert reading.state is TimerState.MET
    # Every deadline but the last was answered by the next update, on time or late.
    assert [d.answered_at for d in found[:-1]] == updates[: len(found) - 1]
    assert all(
        d.state is (TimerState.MET if d.answered_at <= d.due else TimerState.BREACHED)
        for d in found
        if d.answered_at is not None
    )
