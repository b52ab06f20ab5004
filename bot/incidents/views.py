"""Read-only snapshots of incidents, as services return them and renderers show them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session

from bot.sla.contract import Contract, contracts_touched
from bot.sla.incident import IncidentFacts, read_timers
from bot.sla.timers import Pause, TimerKind, TimerReading, TimerState
from config.policy import Contracts
from storage import queries
from storage.models import Incident, IncidentPause, IncidentState


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
    return [
        make_view(
            i,
            evaluate_loaded(
                i, customers.get(i.id, []), pauses.get(i.id, []), reports.get(i.id), registry, now
            ),
            now,
        )
        for i in incidents
    ]


def make_view(incident: Incident, evaluation: Evaluation, now: dt.datetime) -> IncidentView:
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
    )
