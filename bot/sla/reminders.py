"""The plan of reminders for a timer (docs/semantics.md §4).

Before a deadline: warnings at the policy's lead times (wall time before the deadline: "due
in 15 minutes" is literally true) and, for long business-clock targets, when a share of the
target is used on the timer's own clock (a 15-minute warning alone comes too late for a
target that spans days). At the deadline: a breach notice. After it: an escalation at
the policy's cadence until the timer stops; each escalation plans the next when posted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.sla.calendar import as_utc
from bot.sla.clocks import WallClock
from bot.sla.timers import BudgetTimer, Pause, TimerKind, TimerRule, due_at
from config.policy import ClockKind, ReminderSpec

_WALL = WallClock()


class ReminderKind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


@dataclass(frozen=True, order=True)
class PlannedReminder:
    due_at: dt.datetime
    timer: TimerKind | BudgetTimer
    kind: ReminderKind
    deadline: dt.datetime
    step: str
    """What the reminder is within its timer: ``15m``, ``50%``, ``breach``, ``escalation 2``."""


def plan_reminders(
    rule: TimerRule,
    start: dt.datetime,
    deadline: dt.datetime,
    spec: ReminderSpec,
    now: dt.datetime,
    pauses: Sequence[Pause] = (),
) -> list[PlannedReminder]:
    """The reminders still to come for a running timer, in due order.

    Warnings already past at ``now`` are left out (they would announce a lead time that no
    longer holds); the breach notice never is, so a target already missed when declared is
    announced at once. The first escalation is the first one after ``now``.
    """
    now, start, deadline = as_utc(now), as_utc(start), as_utc(deadline)
    warnings: dict[dt.datetime, str] = {}
    leads = spec.progress_before if rule.kind is TimerKind.PROGRESS else spec.before
    for lead in leads:
        warnings.setdefault(deadline - _WALL.length(lead), str(lead))
    if (
        rule.clock.kind is ClockKind.BUSINESS
        and spec.long_target is not None
        and rule.length >= rule.clock.length(spec.long_target)
    ):
        for percent in spec.at_percent:
            due = due_at(rule, start, pauses, length=rule.length * percent / 100)
            if due is not None:
                warnings.setdefault(due, f"{percent}%")
    plan = [
        PlannedReminder(due, rule.kind, ReminderKind.WARNING, deadline, step)
        for due, step in warnings.items()
        if start < due < deadline and due >= now
    ]
    plan.append(PlannedReminder(deadline, rule.kind, ReminderKind.BREACH, deadline, "breach"))
    escalation = next_escalation(rule.kind, deadline, spec, after=now)
    if escalation is not None:
        plan.append(escalation)
    return sorted(plan)


def next_escalation(
    timer: TimerKind, deadline: dt.datetime, spec: ReminderSpec, after: dt.datetime
) -> PlannedReminder | None:
    """The first escalation strictly after ``after`` (``None`` if the policy has no cadence)."""
    if spec.escalate_every is None:
        return None
    every = _WALL.length(spec.escalate_every)
    deadline, after = as_utc(deadline), as_utc(after)
    number = max(1, (after - deadline) // every + 1)
    due = deadline + number * every
    return PlannedReminder(due, timer, ReminderKind.ESCALATION, deadline, f"escalation {number}")
