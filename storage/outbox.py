"""The reminder outbox: superseding stale reminders, what is overdue, and workers' heartbeats.

Which reminders are due, claiming them and marking by the claim's holder are the leased
outbox's (``storage.leased``): ``claims.next_due``, ``claims.claim_due``,
``claims.mark_sent``, ``claims.release``, ``claims.renew``, ``claims.mark_failed``,
``claims.release_all``, ``claims.failed``, ``claims.requeue_failed`` (a worker then posts
each whose deadline still holds, marked late, and cancels the rest), and ``claims.set``
for a reminder's own outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from storage.leased import LeasedOutbox
from storage.models import OutboxStatus, Reminder, WorkerHeartbeat

claims = LeasedOutbox(Reminder)


def supersede_stale(session: Session, now: dt.datetime) -> int:
    """Overdue reminders of a timer that has a newer overdue one are superseded by it.

    After downtime only the newest announcement of each timer is posted, not a burst. The
    newer ones looked at are those due since the oldest overdue pending one, so the work
    does not grow with the history of reminders sent.
    """
    overdue = aliased(Reminder)
    oldest = (
        select(func.min(overdue.due_at))
        .where(overdue.status == OutboxStatus.PENDING, overdue.due_at <= now)
        .scalar_subquery()
    )
    newer = aliased(Reminder)
    statement = (
        update(Reminder)
        .where(
            Reminder.status == OutboxStatus.PENDING,
            Reminder.due_at <= now,
            exists(
                select(newer.id).where(
                    newer.incident_id == Reminder.incident_id,
                    newer.timer == Reminder.timer,
                    newer.status.in_(
                        (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENT)
                    ),
                    newer.due_at <= now,
                    newer.due_at >= oldest,
                    or_(
                        newer.due_at > Reminder.due_at,
                        and_(newer.due_at == Reminder.due_at, newer.id > Reminder.id),
                    ),
                )
            ),
        )
        .values(status=OutboxStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0


def mark_cancelled(session: Session, reminder_id: int, worker_id: str, why: str) -> bool:
    return claims.set(
        session,
        reminder_id,
        worker_id,
        status=OutboxStatus.CANCELLED,
        lease_until=None,
        last_error=why,
    )


def overdue_count(session: Session, now: dt.datetime, grace: dt.timedelta) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Reminder.status == OutboxStatus.PENDING, Reminder.due_at < now - grace
            )
        )
        or 0
    )


# --- heartbeats ------------------------------------------------------------------------------


def beat(
    session: Session, worker_id: str, now: dt.datetime, posted: int, *, stopping: bool = False
) -> None:
    row = session.get(WorkerHeartbeat, worker_id)
    if row is None:
        row = WorkerHeartbeat(worker_id=worker_id, started_at=now, seen_at=now)
    row.seen_at, row.posted = now, posted
    row.stopped_at = now if stopping else None
    session.add(row)


def workers(session: Session, since: dt.datetime) -> Sequence[WorkerHeartbeat]:
    return session.scalars(
        select(WorkerHeartbeat)
        .where(WorkerHeartbeat.seen_at >= since)
        .order_by(WorkerHeartbeat.seen_at.desc())
    ).all()


def last_heartbeat(session: Session) -> WorkerHeartbeat | None:
    """The worker seen most recently, alive or not."""
    return session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc()).limit(1)
    ).first()


def forget_workers(session: Session, before: dt.datetime) -> int:
    """Heartbeats of workers not seen since ``before`` (each process start adds one)."""
    statement = (
        delete(WorkerHeartbeat)
        .where(WorkerHeartbeat.seen_at < before)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0
