"""The incident record as it can be read back: the facts, every timer with its recorded
breaches, the progress deadlines replayed through the updates, the corrections and the
whole timeline — for one incident (``incident_record``: ``slabot incidents show``,
``/incident timeline``, the postmortem), for a week (``week_record``: the digest) and for
a report's period (``breach_notes``).

Read-only units of work; they compute nothing the engine does not (``bot.sla.incident``)
and change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.views import (
    HISTORY_KINDS,
    BreachView,
    IncidentView,
    TimerView,
    breach_views,
    evaluate_loaded,
    incident_facts,
    make_view,
    timer_views,
)
from bot.sla.contract import contracts_touched
from bot.sla.incident import ProgressDeadline, progress_deadlines, read_timers
from bot.sla.timers import TimerKind
from bot.text import format_local
from config.policy import Contracts
from storage import queries
from storage.models import EventKind, Incident, IncidentPause, TimelineEvent


@dataclass(frozen=True)
class RecordedCorrection:
    """One ``corrected`` timeline event, read: who corrected what (old → new) and why."""

    at: dt.datetime
    """When the correction was made (a correction happens when it is recorded)."""
    actor: str
    reason: str | None
    before: dict[str, Any]
    """The facts changed, as they were: stored names (``corrections.FACTS``), instants as
    ISO-8601, ``customers`` a list or ``"all"``, ``excluded`` a reason or ``null``."""
    after: dict[str, Any]

    @classmethod
    def of(cls, event: TimelineEvent) -> RecordedCorrection:
        return cls(
            event.at, event.actor, event.text, dict(event.before or {}), dict(event.after or {})
        )


@dataclass(frozen=True)
class RecordView:
    """An incident with everything its record holds about its timers."""

    incident: IncidentView
    """The facts and each timer as it stands (``incident.breaches``: those of the response,
    restore and resolve timers)."""
    breaches: tuple[BreachView, ...]
    """Every recorded breach, progress deadlines included, by deadline."""
    progress: tuple[ProgressDeadline, ...]
    """Every progress deadline under today's facts and grade, replayed through the updates
    (empty for an imported incident: a history file's records have no updates)."""


@dataclass(frozen=True)
class ContractOutcome:
    """The incident's timers under one contract it answers to, alone (the incident's own
    timers are the strictest contract's): what each customer's SLA says of it."""

    contract: str
    """``dixa for acme``, or the deployment's policy id when it names no customer."""
    customer: str | None
    """The customer's id; ``None``: the deployment's own SLA (every customer)."""
    zone: str
    timers: dict[TimerKind, TimerView]


@dataclass(frozen=True)
class IncidentRecord(RecordView):
    """``RecordView`` of one incident, with its whole timeline."""

    timeline: tuple[TimelineEvent, ...] = ()
    """Every event, in the order it happened (``at``, then as written); ``recorded_at``
    says when slabot wrote it (``None`` for events older than that column)."""
    corrections: tuple[RecordedCorrection, ...] = ()
    pauses: tuple[IncidentPause, ...] = ()
    outcomes: tuple[ContractOutcome, ...] = ()
    """Each contract's verdict on the timers, in the order of the customers."""


def incident_record(ctx: Context, ref: str) -> IncidentRecord:
    """Everything the record holds about incident ``ref``, read at the clock's now."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        if incident is None:
            raise Refusal(f"there is no incident {ref!r}; `slabot incidents list --all` lists them")
        (view,) = record_views(session, [incident], ctx.contracts, now)
        events = tuple(queries.timeline(session, incident.id))
        pauses = tuple(queries.pauses_of(session, [incident.id]).get(incident.id, []))
        last = queries.last_reports(session, [incident.id]).get(incident.id)
        facts = incident_facts(incident, pauses, last)
        for row in (*events, *pauses):
            session.expunge(row)
    outcomes = tuple(
        ContractOutcome(
            contract.label,
            contract.customer.id if contract.customer else None,
            contract.zone,
            timer_views(read_timers(facts, [contract], now), facts, [contract]),
        )
        for contract in contracts_touched(ctx.contracts, view.incident.customers)
    )
    return IncidentRecord(
        incident=view.incident,
        breaches=view.breaches,
        progress=view.progress,
        timeline=events,
        corrections=tuple(
            RecordedCorrection.of(e) for e in events if e.kind == EventKind.CORRECTED
        ),
        pauses=pauses,
        outcomes=outcomes,
    )


def record_views(
    session: Session, incidents: Sequence[Incident], registry: Contracts, now: dt.datetime
) -> list[RecordView]:
    """``RecordView``s of many incidents with a constant number of queries."""
    ids = [i.id for i in incidents]
    customers = queries.customers_of(session, ids)
    pauses = queries.pauses_of(session, ids)
    reports = queries.last_reports(session, ids)
    updates = queries.report_times(session, ids)
    breaches = queries.breaches_of(session, ids)
    history = queries.events_of(session, list(breaches), HISTORY_KINDS)
    found = []
    for incident in incidents:
        evaluation = evaluate_loaded(
            incident, customers.get(incident.id, []), pauses.get(incident.id, []),
            reports.get(incident.id), registry, now,
        )  # fmt: skip
        progress = ()
        if incident.source != "import":
            progress = tuple(
                progress_deadlines(
                    evaluation.facts, updates.get(incident.id, ()), evaluation.contracts, now
                )
            )
        recorded = breach_views(
            incident, evaluation, breaches.get(incident.id, ()), history.get(incident.id, ()),
            progress,
        )  # fmt: skip
        others = tuple(b for b in recorded if b.timer is not TimerKind.PROGRESS)
        found.append(RecordView(make_view(incident, evaluation, now, others), recorded, progress))
    return found


# --- a week, for the digest -----------------------------------------------------------------


@dataclass(frozen=True)
class WeekRecord:
    """What the record holds about a week (``[start, end)``), as of ``as_of``."""

    breaches: tuple[tuple[IncidentView, BreachView], ...]
    """Breaches whose deadline passed, or that were noticed, in the week, of any incident."""
    progress: dict[str, tuple[ProgressDeadline, ...]]
    """The progress deadlines of the incidents declared in the week, by reference."""


def week_record(ctx: Context, start: dt.datetime, end: dt.datetime) -> WeekRecord:
    """The record of ``[start, end)``: its breaches (with their incidents read in full) and
    the progress deadlines of the incidents declared in it (replayed; not every timer)."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = queries.breaches_between(session, start, end)
        declared = queries.incidents_declared(session, start, end)
        ids = {r.incident_id for r in rows}
        breached = [i for i in declared if i.id in ids]
        for incident_id in ids - {i.id for i in breached}:
            incident = queries.incident_by_id(session, incident_id)
            if incident is not None:
                breached.append(incident)
        views = {v.incident.id: v for v in record_views(session, breached, ctx.contracts, now)}
        others = [i for i in declared if i.id not in views]
        progress = _progress(session, others, ctx.contracts, now)
    in_week = {(r.incident_id, r.timer, r.due_at) for r in rows}
    breaches = tuple(
        (view.incident, b)
        for view in views.values()
        for b in view.breaches
        if (view.incident.id, b.timer.value, b.due_at) in in_week and b.told
    )
    for incident in declared:
        if incident.id in views:
            progress[incident.id] = views[incident.id].progress
    return WeekRecord(breaches, {i.ref: progress.get(i.id, ()) for i in declared})


def _progress(
    session: Session, incidents: Sequence[Incident], registry: Contracts, now: dt.datetime
) -> dict[int, tuple[ProgressDeadline, ...]]:
    """The progress deadlines of incidents declared in slabot (imports have no updates),
    with no other timer read: four queries however many."""
    incidents = [i for i in incidents if i.source != "import"]
    ids = [i.id for i in incidents]
    customers = queries.customers_of(session, ids)
    pauses = queries.pauses_of(session, ids)
    updates = queries.report_times(session, ids)
    found = {}
    for incident in incidents:
        reports = updates.get(incident.id, [])
        facts = incident_facts(incident, pauses.get(incident.id, []), max(reports, default=None))
        contracts = contracts_touched(registry, customers.get(incident.id, []))
        found[incident.id] = tuple(progress_deadlines(facts, reports, contracts, now))
    return found


# --- a report's period ----------------------------------------------------------------------


def breach_notes(
    ctx: Context, periods: dict[str, tuple[dt.datetime, dt.datetime, str]]
) -> dict[str, list[str]]:
    """What happened before to the incidents that affect each customer, declared in its
    period (``periods``: customer id → start, end and its contract's zone): breaches a
    re-grade or a correction has since withdrawn. A report judges by the facts and grade
    as they are now (docs/decisions.md); these notes say what the record held before."""
    if not periods:
        return {}
    now = ctx.clock.now()
    start = min(p[0] for p in periods.values())
    end = max(p[1] for p in periods.values())
    with ctx.db.read() as session:
        incidents = queries.incidents_with_breaches(session, start, end)
        if not incidents:
            return {}
        named = queries.customers_of(session, [i.id for i in incidents])
        views = record_views(session, incidents, ctx.contracts, now)
    notes: dict[str, list[str]] = {}
    for view in views:
        earlier = [b for b in view.breaches if b.withdrawn and b.told]
        if not earlier:
            continue
        declared = view.incident.declared_at
        affected: Iterable[str] = named.get(view.incident.id) or periods.keys()
        for customer in affected:
            if customer not in periods:
                continue
            begins, ends, zone = periods[customer]
            if not begins <= declared < ends:
                continue
            for b in earlier:
                story = b.story(lambda t, z=zone: format_local(t, z))
                notes.setdefault(customer, []).append(
                    f"{view.incident.ref}: {story}; credits follow the record as it is now"
                )
    return notes
