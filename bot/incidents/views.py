"""Read-only snapshots of incidents, as services return them and renderers show them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session

from bot.sla.contract import Contract, contracts_touched
from bot.sla.incident import IncidentFacts, ProgressDeadline, read_timers
from bot.sla.timers import Pause, TimerKind, TimerReading, TimerState
from bot.text import format_span
from config.policy import Contracts
from storage import queries
from storage.models import (
    Breach,
    EventKind,
    Incident,
    IncidentPause,
    IncidentState,
    NoticedBy,
    TimelineEvent,
)

TIMER_WORDS = {
    TimerKind.RESPONSE: "response",
    TimerKind.RESTORE: "restore",
    TimerKind.PROGRESS: "update",
    TimerKind.RESOLVE: "resolve",
}
"""Each timer in a sentence: "response breached 10:35", "update missed"."""


@dataclass(frozen=True)
class TimerView:
    kind: TimerKind
    state: TimerState
    target: str
    """The target as the contract writes it, with its clock: ``30m 24x7``, ``1bd business``."""
    contract: str
    """Whose contract sets it: ``dixa for acme``, or the deployment's policy id."""
    started_at: dt.datetime
    deadline: dt.datetime | None
    stopped_at: dt.datetime | None
    left: dt.timedelta | None
    over_by: dt.timedelta | None
    zone: str = "UTC"
    """The zone of the contract that sets it (a Dixa customer's own): where "local time" is."""

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


@dataclass(frozen=True)
class BreachView:
    """A recorded breach (``storage.models.Breach``: a deadline that passed unmet, as the
    timer stood then) beside what the timer says under today's facts and grade."""

    timer: TimerKind
    contract: str
    target: str
    severity: int
    """The grade when the deadline passed."""
    due_at: dt.datetime
    noticed_at: dt.datetime
    noticed_by: NoticedBy
    stands: bool
    """Still a breach of this same deadline under today's facts and grade."""
    severity_now: int
    now: TimerState | None
    """The timer's verdict now; ``None``: it has no target now (for progress: the deadline
    is none of today's)."""
    regraded_at: dt.datetime | None = None
    """The latest re-grade after the deadline, when the grade is no longer the one it had."""
    corrected_at: dt.datetime | None = None
    """The latest correction of the record after the deadline."""
    answered_at: dt.datetime | None = None
    """Progress: the update that answered the missed deadline (``None``: none yet, or the
    incident was resolved without one). Other timers: when the timer stopped, now."""
    late_by: dt.timedelta | None = None
    """How late it was answered, on the timer's own clock (still running: until now)."""
    overdue: bool = False
    """Standing and still unanswered: the timer runs on past this deadline now."""

    @property
    def withdrawn(self) -> bool:
        return not self.stands

    @property
    def told(self) -> bool:
        """Worth telling now: it stands, or it was withdrawn after it was announced (a
        breach notice went out) or by a re-grade or a correction. A breach noticed only
        because a stop was recorded late (``restore at 11:00`` after a declaration that
        started days ago) and that the late recording withdrew is kept, not told."""
        return (
            self.stands
            or self.noticed_by is NoticedBy.NOTICE
            or self.regraded_at is not None
            or self.corrected_at is not None
        )

    def story(self, when: Callable[[dt.datetime], str]) -> str:
        """What happened, in one line; ``when`` writes an instant.

        ``response breached 10:35 under Sev 1; re-graded to Sev 3 at 11:10 (response met
        under Sev 3)``, ``restore breached 14:00 as recorded then; corrected at 16:02
        (restore met under the corrected facts)``, ``update missed 11:00 under Sev 1,
        posted 20m late``."""
        name = TIMER_WORDS[self.timer]
        verb = "missed" if self.timer is TimerKind.PROGRESS else "breached"
        head = f"{name} {verb} {when(self.due_at)}"
        if self.stands:
            text = f"{head} under Sev {self.severity}"
            if self.timer is TimerKind.PROGRESS:
                if self.answered_at is None:
                    return f"{text}, still overdue" if self.overdue else f"{text}, never posted"
                late = _span(self.late_by)
                return f"{text}, posted {late} late" if late else text
            return text
        verdict = self._verdict(name)
        if self.regraded_at is not None and self.severity_now != self.severity:
            return (
                f"{head} under Sev {self.severity}; re-graded to Sev {self.severity_now} at "
                f"{when(self.regraded_at)} ({verdict} under Sev {self.severity_now})"
            )
        if self.corrected_at is not None:
            return (
                f"{head} as recorded then; corrected {when(self.corrected_at)} "
                f"({verdict} under the corrected facts)"
            )
        return (
            f"{head} under Sev {self.severity}, as announced then "
            f"({verdict} under the facts recorded since)"
        )

    def _verdict(self, name: str) -> str:
        if self.now is None:
            return (
                f"no {name} target" if self.timer is not TimerKind.PROGRESS else "no such deadline"
            )
        if self.now is TimerState.BREACHED:
            return f"{name} breached as well, later"
        return f"{name} {self.now.value}"


def _span(span: dt.timedelta | None) -> str:
    return format_span(span) if span else ""


@dataclass(frozen=True)
class IncidentView:
    id: int
    ref: str
    title: str
    severity: int
    severity_name: str
    state: IncidentState
    declared_at: dt.datetime
    reported_at: dt.datetime
    impact_start: dt.datetime
    acknowledged_at: dt.datetime | None
    restored_at: dt.datetime | None
    resolved_at: dt.datetime | None
    declared_by: str | None
    outage: bool
    impact_pct: float | None
    excluded_reason: str | None
    customers: tuple[str, ...]
    """The customers it affects; empty means every customer."""
    paused_since: dt.datetime | None
    pause_reason: str | None
    summary: str | None
    channel_id: str | None
    card_ts: str | None
    origin_channel_id: str | None
    reports_at_resolution: bool
    timers: dict[TimerKind, TimerView] = field(default_factory=dict)
    as_of: dt.datetime | None = None
    breaches: tuple[BreachView, ...] = ()
    """The recorded breaches of the response, restore and resolve timers, by deadline
    (progress deadlines are in ``bot.incidents.record``, which replays the updates)."""
    source: str = "slack"
    """Where it was recorded: ``slack`` (or the console), or ``import``."""

    @property
    def earlier_breaches(self) -> tuple[BreachView, ...]:
        """Breaches since withdrawn (by a re-grade, a correction, or a stop recorded late
        after the breach was announced): what happened before (``BreachView.told``)."""
        return tuple(b for b in self.breaches if b.withdrawn and b.told)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    def next_deadline(self) -> TimerView | None:
        """The open timer due first (breached ones first of all)."""
        running = [t for t in self.timers.values() if t.is_open and t.deadline is not None]
        return min(running, key=lambda t: t.deadline, default=None)

    def as_json(self) -> dict[str, Any]:
        def iso(instant: dt.datetime | None) -> str | None:
            return None if instant is None else instant.isoformat()

        return {
            "ref": self.ref,
            "title": self.title,
            "severity": self.severity,
            "severity_name": self.severity_name,
            "state": self.state,
            "paused": self.paused,
            "declared_at": iso(self.declared_at),
            "reported_at": iso(self.reported_at),
            "impact_start": iso(self.impact_start),
            "acknowledged_at": iso(self.acknowledged_at),
            "restored_at": iso(self.restored_at),
            "resolved_at": iso(self.resolved_at),
            "outage": self.outage,
            "impact_pct": self.impact_pct,
            "excluded": self.excluded_reason,
            "customers": list(self.customers),
            "channel": self.channel_id,
            "timers": {
                kind.value: {
                    "target": t.target,
                    "contract": t.contract,
                    "state": t.state.value,
                    "started_at": iso(t.started_at),
                    "deadline": iso(t.deadline),
                    "stopped_at": iso(t.stopped_at),
                }
                for kind, t in self.timers.items()
            },
        }


class IncidentTimes(Protocol):
    """What the engine reads of an incident: a stored ``Incident``, or a record about to be
    stored (the importer evaluates a batch before it is written)."""

    @property
    def severity(self) -> int: ...
    @property
    def declared_at(self) -> dt.datetime: ...
    @property
    def reported_at(self) -> dt.datetime: ...
    @property
    def impact_start(self) -> dt.datetime: ...
    @property
    def acknowledged_at(self) -> dt.datetime | None: ...
    @property
    def restored_at(self) -> dt.datetime | None: ...
    @property
    def resolved_at(self) -> dt.datetime | None: ...


def incident_facts(
    incident: IncidentTimes, pauses: Sequence[IncidentPause], last_report: dt.datetime | None
) -> IncidentFacts:
    return IncidentFacts(
        severity=incident.severity,
        declared_at=incident.declared_at,
        reported_at=incident.reported_at,
        impact_start=incident.impact_start,
        last_report_at=max(last_report or incident.declared_at, incident.declared_at),
        acknowledged_at=incident.acknowledged_at,
        restored_at=incident.restored_at,
        resolved_at=incident.resolved_at,
        pauses=tuple(Pause(p.started_at, p.ended_at) for p in pauses),
    )


def severity_name(contracts: Sequence[Contract], level: int) -> str:
    for contract in contracts:
        spec = contract.severity(level)
        if spec is not None:
            return spec.name
    return f"Severity {level}"


def timer_views(
    readings: dict[TimerKind, TimerReading],
    facts: IncidentFacts,
    contracts: Sequence[Contract] = (),
) -> dict[TimerKind, TimerView]:
    zones = {contract.label: contract.zone for contract in contracts}
    views = {}
    for kind, reading in readings.items():
        start, stop = facts.span(kind)
        views[kind] = TimerView(
            kind=kind,
            state=reading.state,
            target=reading.rule.describe(),
            contract=reading.rule.contract,
            started_at=start,
            deadline=reading.deadline,
            stopped_at=stop,
            left=reading.left,
            over_by=reading.over_by,
            zone=zones.get(reading.rule.contract, "UTC"),
        )
    return views


@dataclass(frozen=True)
class Evaluation:
    """An incident seen by the engine at an instant: its contracts, facts and timers."""

    customer_ids: tuple[str, ...]
    pauses: tuple[IncidentPause, ...]
    contracts: list[Contract]
    facts: IncidentFacts
    readings: dict[TimerKind, TimerReading]


def evaluate_loaded(
    incident: IncidentTimes,
    customer_ids: Sequence[str],
    pauses: Sequence[IncidentPause],
    last_report: dt.datetime | None,
    registry: Contracts,
    now: dt.datetime,
) -> Evaluation:
    contracts = contracts_touched(registry, customer_ids)
    facts = incident_facts(incident, pauses, last_report)
    return Evaluation(
        tuple(customer_ids), tuple(pauses), contracts, facts, read_timers(facts, contracts, now)
    )


def evaluate(
    session: Session, incident: Incident, registry: Contracts, now: dt.datetime
) -> Evaluation:
    ids = [incident.id]
    return evaluate_loaded(
        incident,
        queries.customers_of(session, ids).get(incident.id, []),
        queries.pauses_of(session, ids).get(incident.id, []),
        queries.last_reports(session, ids).get(incident.id),
        registry,
        now,
    )


def build_views(
    session: Session, incidents: Sequence[Incident], registry: Contracts, now: dt.datetime
) -> list[IncidentView]:
    """Views of many incidents with a constant number of queries."""
    ids = [i.id for i in incidents]
    customers = queries.customers_of(session, ids)
    pauses = queries.pauses_of(session, ids)
    reports = queries.last_reports(session, ids)
    breaches = queries.breaches_of(session, ids)
    history = queries.events_of(session, list(breaches), HISTORY_KINDS)
    views = []
    for i in incidents:
        evaluation = evaluate_loaded(
            i, customers.get(i.id, []), pauses.get(i.id, []), reports.get(i.id), registry, now
        )
        recorded = breach_views(i, evaluation, breaches.get(i.id, ()), history.get(i.id, ()))
        views.append(make_view(i, evaluation, now, recorded))
    return views


def as_it_stood(incident: Incident, at: dt.datetime) -> Incident:
    """A detached copy of ``incident`` as it stood at ``at``: acknowledged, restored and
    resolved only if that had happened by then (a past week's digest)."""
    copy = Incident.model_validate(incident.model_dump())
    for name in ("acknowledged_at", "restored_at", "resolved_at"):
        value = getattr(copy, name)
        if value is not None and value > at:
            setattr(copy, name, None)
    return copy


HISTORY_KINDS = (EventKind.SEVERITY_CHANGED, EventKind.CORRECTED)
"""The events that can withdraw a breach: a re-grade, a correction."""


def breach_views(
    incident: Incident,
    evaluation: Evaluation,
    breaches: Sequence[Breach],
    history: Sequence[TimelineEvent],
    progress: Sequence[ProgressDeadline] | None = None,
) -> tuple[BreachView, ...]:
    """The recorded breaches beside today's verdicts. ``history``: the incident's re-grade
    and correction events. Progress breaches need the replayed deadlines (``progress``);
    without them they are left out."""
    missed = {d.due: d for d in progress or () if d.due is not None}
    views = []
    for breach in breaches:
        kind = TimerKind(breach.timer)
        answered_at = late_by = None
        overdue = False
        if kind is TimerKind.PROGRESS:
            if progress is None:
                continue
            deadline = missed.get(breach.due_at)
            stands = deadline is not None and deadline.missed
            state = deadline.state if deadline is not None else None
            if deadline is not None:
                answered_at, late_by = deadline.answered_at, deadline.reading.over_by
                overdue = stands and not deadline.reading.stopped
        else:
            reading = evaluation.readings.get(kind)
            state = reading.state if reading is not None else None
            stands = state is TimerState.BREACHED and reading.deadline == breach.due_at
            if reading is not None:
                answered_at = evaluation.facts.span(kind)[1]
                late_by = reading.over_by if stands else None
                overdue = stands and not reading.stopped
        after = [e for e in history if e.at > breach.due_at]
        regrades = [e for e in after if e.kind == EventKind.SEVERITY_CHANGED]
        corrections = [e for e in after if e.kind == EventKind.CORRECTED]
        views.append(
            BreachView(
                timer=kind, contract=breach.contract, target=breach.target,
                severity=breach.severity, due_at=breach.due_at, noticed_at=breach.noticed_at,
                noticed_by=breach.noticed_by, stands=stands, severity_now=incident.severity,
                now=state, regraded_at=regrades[-1].at if regrades else None,
                corrected_at=corrections[-1].at if corrections else None,
                answered_at=answered_at, late_by=late_by, overdue=overdue,
            )
        )  # fmt: skip
    return tuple(views)


def make_view(
    incident: Incident,
    evaluation: Evaluation,
    now: dt.datetime,
    breaches: tuple[BreachView, ...] = (),
) -> IncidentView:
    contracts = evaluation.contracts
    open_pause = next((p for p in evaluation.pauses if p.ended_at is None), None)
    return IncidentView(
        id=incident.id,
        ref=incident.ref,
        title=incident.title,
        severity=incident.severity,
        severity_name=severity_name(contracts, incident.severity),
        state=incident.state,
        declared_at=incident.declared_at,
        reported_at=incident.reported_at,
        impact_start=incident.impact_start,
        acknowledged_at=incident.acknowledged_at,
        restored_at=incident.restored_at,
        resolved_at=incident.resolved_at,
        declared_by=incident.declared_by,
        outage=incident.outage,
        impact_pct=incident.impact_pct,
        excluded_reason=incident.excluded_reason,
        customers=evaluation.customer_ids,
        paused_since=open_pause.started_at if open_pause else None,
        pause_reason=open_pause.reason if open_pause else None,
        summary=incident.summary,
        channel_id=incident.channel_id,
        card_ts=incident.card_ts,
        origin_channel_id=incident.origin_channel_id,
        reports_at_resolution=any(c.reports_at_resolution(incident.severity) for c in contracts),
        timers=timer_views(evaluation.readings, evaluation.facts, contracts),
        as_of=now,
        breaches=breaches,
        source=incident.source,
    )
