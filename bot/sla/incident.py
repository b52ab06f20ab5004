"""An incident's timers (docs/semantics.md §3): what starts and stops each, and their reminders.

| timer    | starts                                   | stops            |
|----------|------------------------------------------|------------------|
| response | declaration, or the earlier reported time | acknowledgement  |
| restore  | impact start                             | service restored |
| progress | each report (the first at declaration)   | resolution       |
| resolve  | declaration                              | resolution       |

Each timer runs on the strictest of the contracts the incident touches; a pause stops
every timer that is running while it lasts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.sla.contract import Contract, rules_for
from bot.sla.reminders import PlannedReminder, plan_reminders
from bot.sla.timers import Pause, TimerKind, TimerReading, TimerState, read_timer, strictest


@dataclass(frozen=True)
class IncidentFacts:
    """What happened to an incident, as instants: the engine's whole view of it."""

    severity: int
    declared_at: dt.datetime
    reported_at: dt.datetime
    impact_start: dt.datetime
    last_report_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    restored_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    pauses: tuple[Pause, ...] = ()

    def span(self, kind: TimerKind) -> tuple[dt.datetime, dt.datetime | None]:
        """When ``kind`` starts and when it stops (``None``: still running)."""
        if kind is TimerKind.RESPONSE:
            return self.reported_at, self.acknowledged_at
        if kind is TimerKind.RESTORE:
            return self.impact_start, self.restored_at
        if kind is TimerKind.PROGRESS:
            return self.last_report_at, self.resolved_at
        return self.declared_at, self.resolved_at

    def pauses_before(self, stop: dt.datetime | None) -> tuple[Pause, ...]:
        """The pauses that began before ``stop``; a pause after a timer stopped cannot touch it."""
        if stop is None:
            return self.pauses
        return tuple(p for p in self.pauses if p.start < stop)


def read_timers(
    facts: IncidentFacts, contracts: Sequence[Contract], now: dt.datetime
) -> dict[TimerKind, TimerReading]:
    """Every timer the contracts set for this incident, as it stands at ``now``."""
    readings: dict[TimerKind, TimerReading] = {}
    for kind in TimerKind:
        rules = rules_for(contracts, kind, facts.severity)
        if not rules:
            continue
        start, stop = facts.span(kind)
        pauses = facts.pauses_before(stop)
        rule = strictest(rules, start, stop or now, pauses)
        assert rule is not None
        readings[kind] = read_timer(rule, start, now, pauses=pauses, stopped_at=stop)
    return readings


@dataclass(frozen=True)
class ProgressDeadline:
    """One progress report that came due (or is coming), and what answered it."""

    reading: TimerReading
    """The cadence from the report before it (or the declaration), read at its answer."""
    started_at: dt.datetime
    answered_at: dt.datetime | None
    """The update that answered it; ``None``: none yet, or the incident was resolved first."""

    @property
    def due(self) -> dt.datetime | None:
        return self.reading.deadline

    @property
    def state(self) -> TimerState:
        return self.reading.state

    @property
    def missed(self) -> bool:
        return self.reading.state is TimerState.BREACHED


def progress_deadlines(
    facts: IncidentFacts,
    updates: Sequence[dt.datetime],
    contracts: Sequence[Contract],
    now: dt.datetime,
) -> list[ProgressDeadline]:
    """Every progress deadline of the incident under its facts and grade as they are now,
    replayed from the declaration through each update (docs/semantics.md §3: a report
    restarts the cadence).

    A deadline is *met* by an update at or before it, *missed* by a later one (late by
    ``reading.over_by``) or by none (``answered_at`` is ``None``: still overdue, or
    resolved without one); the last one may still be running or paused. A cadence the
    resolution ended before its deadline had no report due and is left out. The last
    cadence is the one ``read_timers`` reads (``facts.last_report_at``).
    """
    rules = rules_for(contracts, TimerKind.PROGRESS, facts.severity)
    if not rules:
        return []
    starts = sorted({facts.declared_at, *(u for u in updates if u >= facts.declared_at)})
    found: list[ProgressDeadline] = []
    for index, start in enumerate(starts):
        answer = starts[index + 1] if index + 1 < len(starts) else None
        stop = answer if answer is not None else facts.resolved_at
        pauses = facts.pauses_before(stop)
        rule = strictest(rules, start, stop or now, pauses)
        assert rule is not None
        reading = read_timer(rule, start, now, pauses=pauses, stopped_at=stop)
        if answer is None and facts.resolved_at is not None and reading.state is TimerState.MET:
            continue  # resolved before a report was due
        found.append(ProgressDeadline(reading, start, answer))
    return found


def plan_incident_reminders(
    facts: IncidentFacts,
    contracts: Sequence[Contract],
    readings: dict[TimerKind, TimerReading],
    now: dt.datetime,
) -> list[PlannedReminder]:
    """The reminders still to come for every open timer that has a deadline.

    Nothing is planned while the incident is paused: it is waiting on the customer, and a
    breach notice or escalation then would only be noise. Resuming plans them again.
    """
    if any(pause.end is None for pause in facts.pauses):
        return []
    by_label = {contract.label: contract for contract in contracts}
    plan: list[PlannedReminder] = []
    for kind, reading in readings.items():
        if reading.stopped or reading.deadline is None:
            continue
        start, _ = facts.span(kind)
        spec = by_label[reading.rule.contract].policy.reminders
        plan.extend(plan_reminders(reading.rule, start, reading.deadline, spec, now, facts.pauses))
    return sorted(plan)
