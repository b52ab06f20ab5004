"""Archiving a resolved incident's channel (``SLABOT_ARCHIVE_AFTER``): scheduled as a task
(kind ``archive_channel``) in the resolution's transaction, withdrawn in a reopening's.

Only a channel slabot made for the incident is archived, never the channel an incident was
declared in (``SLABOT_INCIDENT_CHANNELS=current``). The task's handler (``bot.slack.archive``)
checks again when it is due that the incident is still resolved.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.context import Context
from storage import queries, tasks
from storage.models import Incident, OutboxStatus, Task

KIND = "archive_channel"


def own_channel(incident: Incident) -> str | None:
    """The channel made for the incident, if it has one."""
    channel = incident.channel_id
    return channel if channel and channel != incident.origin_channel_id else None


def archivable(ctx: Context, incident_id: int | None) -> tuple[str | None, str]:
    """The channel a due archiving task archives, or ``None`` and why not: the incident is
    gone, open again (a reopening the withdrawal missed), or has no channel of its own."""
    with ctx.db.read() as session:
        incident = queries.incident_by_id(session, incident_id) if incident_id else None
    if incident is None:
        return None, "the incident is gone"
    if incident.resolved_at is None:
        return None, "the incident is open again"
    channel = own_channel(incident)
    return channel, "" if channel else "the incident has no channel of its own"


def schedule(
    session: Session, incident: Incident, now: dt.datetime, after: dt.timedelta | None
) -> dt.datetime | None:
    """Archive the incident's own channel ``after`` from now; when, or ``None`` (off, or no
    channel of its own). Each resolution has its own task: one after a reopening is new."""
    channel = own_channel(incident)
    if after is None or channel is None:
        return None
    from bot.tasks import service as task_service  # it imports the reminders, which import us

    count = len(_archivings(session, incident))
    due = now + after
    task_service.schedule(
        session, KIND, f"{KIND}:{incident.id}:{count + 1}", {"channel": channel},
        due_at=due, incident_id=incident.id, now=now,
    )  # fmt: skip
    return due


def withdraw(session: Session, incident: Incident) -> int:
    """Withdraw the incident's archiving not yet begun (it was reopened); how many."""
    return sum(
        tasks.cancel(session, t.dedupe_key, "the incident was reopened")
        for t in _archivings(session, incident)
        if t.status == OutboxStatus.PENDING
    )


def due(ctx: Context, ref: str) -> dt.datetime | None:
    """When the incident's channel is to be archived, if that is planned."""
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        if incident is None:
            return None
        pending = [
            t.due_at for t in _archivings(session, incident) if t.status == OutboxStatus.PENDING
        ]
        return max(pending, default=None)


def _archivings(session: Session, incident: Incident) -> list[Task]:
    """The incident's archiving tasks, one per resolution."""
    return [t for t in tasks.of_incident(session, incident.id) if t.kind == KIND]
