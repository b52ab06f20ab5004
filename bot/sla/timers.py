"""Timers: a target on its clock, started at an instant, perhaps paused, perhaps stopped.

docs/semantics.md §3: a paused timer consumes no time, so its deadline moves by the paused
time as measured on its own clock; a timer is met when it stops at or before its deadline
and breached otherwise; an open timer past its deadline is breached now and stays so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from bot.sla.calendar import as_utc
from bot.sla.clocks import ZERO, SlaClock
from config.policy import Duration


class TimerKind(StrEnum):
    RESPONSE = "response"
    RESTORE = "restore"
    PROGRESS = "progress"
    RESOLVE = "resolve"


class BudgetTimer(StrEnum):
    """The budget before a credit tier, a timer of the customer's (``bot.sla.stakes``), not
    of the contract's targets: its reminder rows carry this word where others name a
    ``TimerKind``."""

    BUDGET = "budget"
    DM = "budget-dm"
    """The amounts at stake, to the managers by direct message."""


class TimerState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Pause:
    """A span in which timers consume no time; ``end`` is ``None`` while it lasts."""

    start: dt.datetime
    end: dt.datetime | None = None


@dataclass(frozen=True)
class TimerRule:
    """One contract's target for one timer: how long, on which clock, from whose contract."""

    kind: TimerKind
    target: Duration
    clock: SlaClock
    contract: str

    @cached_property
    def length(self) -> dt.timedelta:
        return self.clock.length(self.target)

    def describe(self) -> str:
        return f"{self.target} {self.clock.kind}"


def due_at(
    rule: TimerRule,
    start: dt.datetime,
    pauses: Sequence[Pause] = (),
    *,
    resume_at: dt.datetime | None = None,
    length: dt.timedelta | None = None,
) -> dt.datetime | None:
    """When ``length`` (default: the rule's target) of unpaused clock time since ``start`` is used.

    ``None`` when the time runs out in a pause that has not ended, unless ``resume_at`` says
    when to assume it ends. Pauses are in order and do not overlap.
    """
    clock = rule.clock
    remaining = rule.length if length is None else length
    if not pauses:
        return clock.deadline(start, remaining)
    at = as_utc(start)
    for pause in pauses:
        if pause.end is not None and as_utc(pause.end) <= at:
            continue
        pause_start = max(as_utc(pause.start), at)
        reached = clock.deadline(at, remaining)
        if reached <= pause_start:
            return reached
        remaining -= clock.elapsed(at, pause_start)
        end = pause.end if pause.end is not None else resume_at
        if end is None:
            return None
        at = max(as_utc(end), pause_start)
    return clock.deadline(at, remaining)


def consumed(
    rule: TimerRule, start: dt.datetime, until: dt.datetime, pauses: Sequence[Pause] = ()
) -> dt.timedelta:
    """Unpaused clock time between ``start`` and ``until``."""
    clock = rule.clock
    start, until = as_utc(start), as_utc(until)
    if until <= start:
        return ZERO
    total = clock.elapsed(start, until)
    for pause in pauses:
        end = until if pause.end is None else min(as_utc(pause.end), until)
        begin = max(as_utc(pause.start), start)
        if end > begin:
            total -= clock.elapsed(begin, end)
    return total


@dataclass(frozen=True)
class TimerReading:
    """A timer as it stands at an instant."""

    rule: TimerRule
    state: TimerState
    deadline: dt.datetime | None
    """``None`` only while paused with time left (the deadline depends on the resume)."""
    left: dt.timedelta | None
    """Clock time left (running or paused)."""
    over_by: dt.timedelta | None
    """Clock time past the deadline (breached)."""
    stopped: bool = False

    @property
    def is_open(self) -> bool:
        return not self.stopped


def stopped_in_time(
    rule: TimerRule, start: dt.datetime, stopped_at: dt.datetime, pauses: Sequence[Pause] = ()
) -> tuple[bool, dt.datetime]:
    """Whether a timer stopped at ``stopped_at`` was met (stopped by its deadline, that
    instant included), and the deadline: a pause still open at the stop ends there."""
    deadline = due_at(rule, start, pauses, resume_at=stopped_at)
    assert deadline is not None
    return as_utc(stopped_at) <= deadline, deadline


def read_timer(
    rule: TimerRule,
    start: dt.datetime,
    now: dt.datetime,
    *,
    pauses: Sequence[Pause] = (),
    stopped_at: dt.datetime | None = None,
) -> TimerReading:
    """The state of a timer at ``now`` (or at its stop, once stopped)."""
    now = as_utc(now)
    clock = rule.clock
    if stopped_at is not None:
        stopped_at = as_utc(stopped_at)
        in_time, deadline = stopped_in_time(rule, start, stopped_at, pauses)
        if in_time:
            return TimerReading(rule, TimerState.MET, deadline, None, None, stopped=True)
        over = clock.elapsed(deadline, stopped_at)
        return TimerReading(rule, TimerState.BREACHED, deadline, None, over, stopped=True)
    deadline = due_at(rule, start, pauses)
    if deadline is not None and now > deadline:
        return TimerReading(rule, TimerState.BREACHED, deadline, None, clock.elapsed(deadline, now))
    open_pause = next((p for p in pauses if p.end is None and as_utc(p.start) <= now), None)
    if open_pause is not None:
        left = rule.length - consumed(rule, start, now, pauses)
        return TimerReading(rule, TimerState.PAUSED, deadline, left, None)
    assert deadline is not None
    return TimerReading(rule, TimerState.RUNNING, deadline, clock.elapsed(now, deadline), None)


def strictest(
    rules: Sequence[TimerRule],
    start: dt.datetime,
    now: dt.datetime,
    pauses: Sequence[Pause] = (),
) -> TimerRule | None:
    """The rule whose deadline comes first (an open pause assumed to end ``now``).

    An incident that touches several contracts runs each timer on this one (docs/semantics.md §3).
    Ties go to the earlier rule in ``rules``.
    """
    if len(rules) == 1:  # most incidents answer to one contract: nothing to compare
        return rules[0]
    best: tuple[dt.datetime, TimerRule] | None = None
    for rule in rules:
        deadline = due_at(rule, start, pauses, resume_at=now)
        assert deadline is not None
        if best is None or deadline < best[0]:
            best = (deadline, rule)
    return None if best is None else best[1]
