"""The weekly digest's outbox: one row per ISO week and recipient, claimed like reminders.

Rows are written once per week (``INSERT … ON CONFLICT DO NOTHING`` on the unique week and
recipient, so two workers scheduling the same week write each row once). A claim is one
conditional ``UPDATE … RETURNING`` over the due rows, chosen ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the write transaction (``BEGIN IMMEDIATE``) serializes claims. Every
later change is conditional on still holding the claim. Week labels (``2026-W44``) sort
as the weeks do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session

from storage.models import DigestDelivery

D = DigestDelivery


def week_scheduled(session: Session, week: str) -> bool:
    """Whether any row of ``week`` exists (the week's recipients were written)."""
    return session.scalar(select(func.count()).where(D.week == week)) > 0


def schedule(
    session: Session,
    week: str,
    recipients: Iterable[str],
    due_at: dt.datetime,
    now: dt.datetime,
    *,
    source: str = "schedule",
) -> int:
    """A pending row per recipient of ``week`` not yet written; how many were new."""
    rows = [
        {"week": week, "recipient": r, "due_at": due_at, "status": "pending", "source": source,
         "attempts": 0, "created_at": now, "late": False}
        for r in dict.fromkeys(recipients)
    ]  # fmt: skip
    if not rows:
        return 0
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    written = session.execute(
        insert(D).values(rows).on_conflict_do_nothing(index_elements=["week", "recipient"])
    )
    return written.rowcount or 0


def supersede_stale(session: Session) -> int:
    """Pending rows of a recipient who has a newer week's row are superseded by it:
    after downtime only the latest week is sent, never a burst of old ones."""
    newer = aliased(D)
    statement = (
        update(D)
        .where(
            D.status == "pending",
            exists(select(newer.id).where(newer.recipient == D.recipient, newer.week > D.week)),
        )
        .values(status="superseded")
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0


def _claimable(now: dt.datetime):
    return or_(
        and_(
            D.status == "pending",
            or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
        ),
        and_(D.status == "claimed", D.lease_until < now),
    )


def _claim(session: Session, chosen, worker_id: str, now: dt.datetime, lease, late_after):
    late = case((D.due_at < now - late_after, True), else_=False) if late_after else False
    statement = (
        update(D)
        .where(D.id.in_(chosen.with_for_update(skip_locked=True).scalar_subquery()))
        .values(
            status="claimed",
            claimed_by=worker_id,
            lease_until=now + lease,
            attempts=D.attempts + 1,
            late=late,
        )
        .returning(D)
        .execution_options(synchronize_session=False)
    )
    claimed = list(session.scalars(statement))
    for row in claimed:
        session.expunge(row)
    return sorted(claimed, key=lambda r: (r.week, r.recipient))


def claim_due(
    session: Session,
    worker_id: str,
    now: dt.datetime,
    *,
    lease: dt.timedelta,
    late_after: dt.timedelta,
    limit: int,
) -> list[DigestDelivery]:
    """Claim up to ``limit`` due rows for ``lease``; each says whether it is late."""
    chosen = (
        select(D.id).where(D.due_at <= now, _claimable(now)).order_by(D.due_at, D.id).limit(limit)
    )
    return _claim(session, chosen, worker_id, now, lease, late_after)


def claim_week(
    session: Session,
    worker_id: str,
    week: str,
    recipients: Sequence[str],
    now: dt.datetime,
    *,
    lease: dt.timedelta,
) -> list[DigestDelivery]:
    """Claim the rows of ``week`` for ``recipients`` that nobody holds and that were not sent,
    due or not: pending, failed or superseded ones too (sending now is a person's decision)."""
    free = or_(
        D.status.in_(("pending", "failed", "superseded")),
        and_(D.status == "claimed", D.lease_until < now),
    )
    chosen = select(D.id).where(D.week == week, D.recipient.in_(recipients), free)
    return _claim(session, chosen, worker_id, now, lease, None)


def of_week(session: Session, week: str) -> Sequence[DigestDelivery]:
    return session.scalars(select(D).where(D.week == week).order_by(D.recipient)).all()


def _held(row_id: int, worker_id: str):
    return and_(D.id == row_id, D.claimed_by == worker_id, D.status == "claimed")


def _set(session: Session, row_id: int, worker_id: str, **values) -> bool:
    statement = (
        update(D)
        .where(_held(row_id, worker_id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return (session.execute(statement).rowcount or 0) == 1


def mark_sent(
    session: Session,
    row_id: int,
    worker_id: str,
    now: dt.datetime,
    channel: str,
    ts: str | None,
    note: str | None = None,
) -> bool:
    return _set(
        session, row_id, worker_id, status="sent", sent_at=now, channel_id=channel,
        message_ts=ts, lease_until=None, last_error=note,
    )  # fmt: skip


def release(
    session: Session, row_id: int, worker_id: str, not_before: dt.datetime | None, error: str
) -> bool:
    """Back to pending, to be tried again from ``not_before``."""
    return _set(
        session, row_id, worker_id, status="pending", claimed_by=None, lease_until=None,
        next_attempt_at=not_before, last_error=error,
    )  # fmt: skip


def mark_failed(session: Session, row_id: int, worker_id: str, error: str) -> bool:
    return _set(session, row_id, worker_id, status="failed", lease_until=None, last_error=error)


def release_all(session: Session, worker_id: str) -> int:
    """A worker shutting down hands back what it claimed but did not send."""
    statement = (
        update(D)
        .where(D.claimed_by == worker_id, D.status == "claimed")
        .values(status="pending", claimed_by=None, lease_until=None, attempts=D.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0


def failed(session: Session, limit: int = 20) -> Sequence[DigestDelivery]:
    return session.scalars(
        select(D).where(D.status == "failed").order_by(D.week.desc(), D.recipient).limit(limit)
    ).all()
