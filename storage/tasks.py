"""The task outbox: scheduling work once, claiming one task by id, and listings.

Which tasks are due, claiming them and marking by the claim's holder are the leased
outbox's (``storage.leased``): ``claims.next_due``, ``claims.claim_due``,
``claims.release`` (retry), ``claims.renew``, ``claims.mark_failed``,
``claims.release_all``, ``claims.failed``, ``claims.requeue_failed``, ``claims.set``; a
task done is ``mark_done`` (with its result).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from storage.leased import LeasedOutbox
from storage.models import OutboxStatus, Task
from storage.queries import insert_new

claims = LeasedOutbox(Task)


def add(
    session: Session,
    kind: str,
    key: str,
    payload: dict,
    *,
    due_at: dt.datetime,
    now: dt.datetime,
    incident_id: int | None = None,
) -> int | None:
    """Write a pending task unless one with ``key`` exists; its id, or ``None`` if it did."""
    values = {
        "kind": kind, "dedupe_key": key, "payload": payload, "incident_id": incident_id,
        "due_at": due_at, "created_at": now, "status": OutboxStatus.PENDING, "attempts": 0,
        "late": False,
    }  # fmt: skip
    new = insert_new(session, Task, values, unique=["dedupe_key"]).returning(Task.id)
    return session.execute(new).scalar()


def claim_one(
    session: Session, task_id: int, worker_id: str, now: dt.datetime, *, lease: dt.timedelta
) -> Task | None:
    """Claim the task ``task_id`` if it is claimable now (pending and due, or its holder's
    lease ran out); ``None`` if another process has it or it is done."""
    chosen = select(Task.id).where(Task.id == task_id, claims.claimable(now))
    claimed = claims.claim(session, chosen, worker_id, now, lease=lease, late_after=None)
    return claimed[0] if claimed else None


def mark_done(
    session: Session, task_id: int, worker_id: str, now: dt.datetime, result: dict | None
) -> bool:
    return claims.set(
        session, task_id, worker_id, status=OutboxStatus.SENT, sent_at=now, lease_until=None,
        result=result,
    )  # fmt: skip


def cancel(session: Session, key: str, why: str) -> bool:
    """A pending task that is no longer wanted (the channel it would archive was reopened)."""
    statement = (
        update(Task)
        .where(Task.dedupe_key == key, Task.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error=why)
        .execution_options(synchronize_session=False)
    )
    return (session.execute(statement).rowcount or 0) == 1


def by_key(session: Session, key: str) -> Task | None:
    return session.scalars(select(Task).where(Task.dedupe_key == key)).first()


def of_incident(session: Session, incident_id: int) -> Sequence[Task]:
    return session.scalars(
        select(Task).where(Task.incident_id == incident_id).order_by(Task.id)
    ).all()
