"""What ``/metrics`` reads from the database at each scrape (``bot.metrics``).

Every query is an aggregate answered from an index over live rows — open incidents, their
timers, outbox rows not yet done, live heartbeats — so a scrape costs the same however long
the history grows. The one exception is the breach count, which counts the ``breach`` table
whole: breaches are rare enough (one row per deadline missed) that this stays small.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, select
from sqlmodel import Session

from storage.models import (
    Breach,
    DigestDelivery,
    Incident,
    IncidentPause,
    LeasedRow,
    OutboxStatus,
    Reminder,
    Task,
    Timer,
    WorkerHeartbeat,
)

OUTBOXES: dict[str, type[LeasedRow]] = {
    "reminders": Reminder,
    "digests": DigestDelivery,
    "tasks": Task,
}
"""The leased outboxes whose depth is measured, by the name the metric's label gives them."""

_LIVE = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.FAILED)


@dataclass
class Gauges:
    """The database's figures as of ``now``."""

    now: dt.datetime
    open_incidents: dict[tuple[int, str], int] = field(default_factory=dict)
    """(severity, state) → incidents not yet resolved."""
    timers: dict[tuple[str, str], int] = field(default_factory=dict)
    """(timer, state) → timers of incidents not yet resolved; state is ``running``,
    ``paused``, ``overdue`` (open past its deadline), ``met`` or ``breached``."""
    breaches: dict[str, int] = field(default_factory=dict)
    """timer → deadlines missed, ever."""
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)
    """(outbox, state) → rows; state is ``due`` (pending, due now), ``scheduled`` (pending,
    due later), ``claimed`` or ``failed``."""
    oldest_due_reminder: dt.datetime | None = None
    """The due instant of the oldest reminder pending past its due time."""
    last_heartbeat: dt.datetime | None = None
    """The latest heartbeat of a worker that has not stopped."""
    workers_alive: int = 0


def read(
    session: Session,
    now: dt.datetime,
    *,
    alive_within: dt.timedelta,
    outboxes: dict[str, type[LeasedRow]] = OUTBOXES,
) -> Gauges:
    """The figures of ``Gauges``, a handful of aggregate queries in one read."""
    gauges = Gauges(now=now)
    state = case(
        (Incident.restored_at.is_not(None), "restored"),
        (Incident.acknowledged_at.is_not(None), "acknowledged"),
        else_="declared",
    )
    rows = session.execute(
        select(Incident.severity, state, func.count())
        .where(Incident.resolved_at.is_(None))
        .group_by(Incident.severity, state)
    )
    gauges.open_incidents = {(severity, s): n for severity, s, n in rows}

    paused = exists(
        select(IncidentPause.id).where(
            IncidentPause.incident_id == Timer.incident_id, IncidentPause.ended_at.is_(None)
        )
    )
    timer_state = case(
        (Timer.stopped_at.is_not(None), func.coalesce(Timer.outcome, "met")),
        (paused, "paused"),
        (and_(Timer.deadline_at.is_not(None), Timer.deadline_at <= now), "overdue"),
        else_="running",
    )
    rows = session.execute(
        select(Timer.kind, timer_state, func.count())
        .join(Incident, Incident.id == Timer.incident_id)
        .where(Incident.resolved_at.is_(None))
        .group_by(Timer.kind, timer_state)
    )
    gauges.timers = {(kind, s): n for kind, s, n in rows}

    rows = session.execute(select(Breach.timer, func.count()).group_by(Breach.timer))
    gauges.breaches = {timer: n for timer, n in rows}

    for name, model in outboxes.items():
        m: type = model
        depth = case(
            (and_(m.status == OutboxStatus.PENDING, m.due_at <= now), "due"),
            (m.status == OutboxStatus.PENDING, "scheduled"),
            else_=m.status,
        )
        rows = session.execute(
            select(depth, func.count()).where(m.status.in_(_LIVE)).group_by(depth)
        )
        for s, n in rows:
            gauges.outbox[(name, str(s))] = n

    gauges.oldest_due_reminder = session.scalar(
        select(func.min(Reminder.due_at)).where(
            Reminder.status == OutboxStatus.PENDING, Reminder.due_at <= now
        )
    )
    beat = session.execute(
        select(
            func.max(WorkerHeartbeat.seen_at),
            func.count().filter(WorkerHeartbeat.seen_at >= now - alive_within),
        ).where(WorkerHeartbeat.stopped_at.is_(None))
    ).one()
    gauges.last_heartbeat, gauges.workers_alive = beat[0], beat[1] or 0
    return gauges
