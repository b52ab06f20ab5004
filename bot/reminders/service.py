"""Reminders as units of work for the worker: claim, then sent / retry / failed / dropped.

Posting happens between a claim and its outcome, outside any transaction. Marking a
reminder sent re-plans its incident in the same transaction, which is how the next
escalation of a breached timer is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.context import Context
from bot.incidents.service import sync
from bot.incidents.views import IncidentView, build_views
from storage import outbox, queries
from storage.models import Reminder

LEASE = dt.timedelta(seconds=60)
"""Long enough for a post with its retries; a worker that dies is taken over after it."""
LATE_AFTER = dt.timedelta(seconds=60)
"""A reminder posted this long after it was due says it is late."""


@dataclass(frozen=True)
class Due:
    """A claimed reminder, and its incident as it is now."""

    reminder: Reminder
    incident: IncidentView

    @property
    def holds(self) -> bool:
        """The deadline it announces still holds: the timer is open, unpaused, still due then."""
        timer = self.incident.timers.get(self.reminder.timer)
        return (
            timer is not None
            and timer.is_open
            and not self.incident.paused
            and timer.deadline == self.reminder.deadline_at
        )


def claim(ctx: Context, worker_id: str, limit: int = 20) -> list[Due]:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        outbox.supersede_stale(session, now)
        claimed = outbox.claim_due(
            session, worker_id, now, lease=LEASE, late_after=LATE_AFTER, limit=limit
        )
        if not claimed:
            return []
        ids = sorted({r.incident_id for r in claimed})
        incidents = [queries.incident_by_id(session, i) for i in ids]
        views = {v.id: v for v in build_views(session, incidents, ctx.contracts, now)}
    return [Due(r, views[r.incident_id]) for r in claimed]


def sent(ctx: Context, due: Due, worker_id: str, channel: str, ts: str | None) -> bool:
    """Record the post and plan what comes next; ``False`` if the claim was lost meanwhile."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if not outbox.mark_sent(session, due.reminder.id, worker_id, now, channel, ts):
            return False
        incident = queries.incident_by_id(session, due.reminder.incident_id, lock=True)
        sync(session, incident, ctx.contracts, now)
    return True


def retry(ctx: Context, due: Due, worker_id: str, not_before: dt.datetime, error: str) -> bool:
    with ctx.db.transaction() as session:
        return outbox.release(session, due.reminder.id, worker_id, not_before, error)


def fail(ctx: Context, due: Due, worker_id: str, error: str) -> bool:
    with ctx.db.transaction() as session:
        return outbox.mark_failed(session, due.reminder.id, worker_id, error)


def drop(ctx: Context, due: Due, worker_id: str) -> bool:
    """The deadline no longer holds (acknowledged, re-graded, paused since it was claimed)."""
    with ctx.db.transaction() as session:
        return outbox.mark_cancelled(session, due.reminder.id, worker_id, "no longer holds")


def release_all(ctx: Context, worker_id: str) -> int:
    with ctx.db.transaction() as session:
        return outbox.release_all(session, worker_id)


def next_due(ctx: Context) -> dt.datetime | None:
    with ctx.db.read() as session:
        return outbox.next_due(session)


def heartbeat(ctx: Context, worker_id: str, posted: int, *, stopping: bool = False) -> None:
    with ctx.db.transaction() as session:
        outbox.beat(session, worker_id, ctx.clock.now(), posted, stopping=stopping)


@dataclass(frozen=True)
class Health:
    """What `slabot doctor`, /healthz and App Home say about the reminder machinery."""

    workers: list[tuple[str, dt.datetime, int]]
    failed: list[Reminder]
    overdue: int


def health(ctx: Context, *, within: dt.timedelta = dt.timedelta(seconds=30)) -> Health:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        alive = [
            (w.worker_id, w.seen_at, w.posted)
            for w in outbox.workers(session, now - within)
            if w.stopped_at is None
        ]
        return Health(
            alive, list(outbox.failed(session)), outbox.overdue_count(session, now, LATE_AFTER)
        )
