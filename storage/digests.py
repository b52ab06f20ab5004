"""The weekly digest's outbox: one row per ISO week and recipient, claimed like reminders.

Rows are written once per week (``INSERT … ON CONFLICT DO NOTHING`` on the unique week and
recipient, so two workers scheduling the same week write each row once). Claiming and
marking by the claim's holder are the leased outbox's (``storage.leased``), as for
reminders: ``claims.mark_sent``, ``claims.release``, ``claims.mark_failed``,
``claims.release_all``. Week labels (``2026-W44``) sort as the weeks do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from storage.leased import LeasedOutbox
from storage.models import DigestDelivery, OutboxStatus
from storage.queries import insert_new

D = DigestDelivery
claims = LeasedOutbox(DigestDelivery)


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
        {"week": week, "recipient": r, "due_at": due_at, "status": OutboxStatus.PENDING,
         "source": source, "attempts": 0, "created_at": now, "late": False}
        for r in dict.fromkeys(recipients)
    ]  # fmt: skip
    if not rows:
        return 0
    written = session.execute(insert_new(session, D, rows, unique=["week", "recipient"]))
    return written.rowcount or 0


def supersede_stale(session: Session) -> int:
    """Pending rows of a recipient who has a newer week's row are superseded by it:
    after downtime only the latest week is sent, never a burst of old ones."""
    newer = aliased(D)
    statement = (
        update(D)
        .where(
            D.status == OutboxStatus.PENDING,
            exists(select(newer.id).where(newer.recipient == D.recipient, newer.week > D.week)),
        )
        .values(status=OutboxStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0


def _by_week(claimed: list[DigestDelivery]) -> list[DigestDelivery]:
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
    claimed = claims.claim_due(
        session, worker_id, now, lease=lease, late_after=late_after, limit=limit,
        where=(D.due_at <= now,),
    )  # fmt: skip
    return _by_week(claimed)


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
        D.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SUPERSEDED)),
        claims.lease_expired(now),
    )
    chosen = select(D.id).where(D.week == week, D.recipient.in_(recipients), free)
    return _by_week(claims.claim(session, chosen, worker_id, now, lease=lease, late_after=None))


def of_week(session: Session, week: str) -> Sequence[DigestDelivery]:
    return session.scalars(select(D).where(D.week == week).order_by(D.recipient)).all()


def last_sent(session: Session, *, before_week: str | None = None) -> dt.datetime | None:
    """When a digest was last delivered (to anyone), of a week before ``before_week`` if
    given: what the managers have seen, for flagging corrections made since."""
    statement = select(func.max(D.sent_at)).where(D.status == OutboxStatus.SENT)
    if before_week is not None:
        statement = statement.where(D.week < before_week)
    return session.scalar(statement)
