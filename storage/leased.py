"""A leased outbox: rows claimed by one worker at a time, and changed only by the holder.

Reminders (``storage.outbox``), tasks (``storage.tasks``) and weekly digests
(``storage.digests``) are all outboxes of this kind; each keeps what is its own
(superseding, scheduling, listings) and shares this mechanism — which rows are due, when
the next one is, claiming and marking — parametrised by its table: an ``id`` and the
columns of ``storage.models.LeasedRow``.

A claim is one conditional ``UPDATE … RETURNING`` over the chosen rows; on PostgreSQL they
are chosen ``FOR UPDATE SKIP LOCKED``, so several workers take disjoint batches without
waiting on each other. On SQLite the write transaction itself (``BEGIN IMMEDIATE``)
serializes claims. Every later change is conditional on still holding the claim, so a
worker whose lease expired cannot mark a row another worker took over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from storage.models import LeasedRow, OutboxStatus

Row = TypeVar("Row", bound=LeasedRow)


class LeasedOutbox(Generic[Row]):
    def __init__(self, model: type[Row]):
        self.model: Any = model

    def lease_expired(self, now: dt.datetime) -> ColumnElement[bool]:
        """Claimed by a worker whose lease ran out: free to be taken over."""
        m = self.model
        return and_(m.status == OutboxStatus.CLAIMED, m.lease_until < now)

    def claimable(self, now: dt.datetime) -> ColumnElement[bool]:
        """Pending, due and past any retry time, or claimed by a worker whose lease ran out."""
        m = self.model
        return or_(
            and_(
                m.status == OutboxStatus.PENDING,
                m.due_at <= now,
                or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now),
            ),
            self.lease_expired(now),
        )

    def next_due(self, session: Session) -> dt.datetime | None:
        """When the next row can be claimed: it falls due, its retry time comes, or a lease
        runs out. One round trip, each part answered from an index on ``(status, due_at)``
        or ``(status, next_attempt_at)``: the many rows never tried are read apart from the
        few waiting for a retry, whose time is the later of their due and retry times."""
        m = self.model
        waiting = (
            select(func.min(m.due_at))
            .where(m.status == OutboxStatus.PENDING, m.next_attempt_at.is_(None))
            .scalar_subquery()
        )
        retry_at = case((m.next_attempt_at > m.due_at, m.next_attempt_at), else_=m.due_at)
        retrying = (
            select(func.min(retry_at))
            .where(m.status == OutboxStatus.PENDING, m.next_attempt_at.is_not(None))
            .scalar_subquery()
        )
        leases = (
            select(func.min(m.lease_until))
            .where(m.status == OutboxStatus.CLAIMED)
            .scalar_subquery()
        )
        row = session.execute(select(waiting, retrying, leases)).one()
        found = [v for v in row if v is not None]
        return min(found) if found else None

    def claim_due(
        self,
        session: Session,
        worker_id: str,
        now: dt.datetime,
        *,
        lease: dt.timedelta,
        late_after: dt.timedelta | None,
        limit: int,
        where: tuple[ColumnElement[bool], ...] = (),
    ) -> list[Row]:
        """Claim up to ``limit`` claimable rows, the earliest due first, for ``lease``; they
        come back in that order (``due_at``, then ``id``).

        ``where`` narrows every row, those whose lease ran out too: a row that can be
        claimed before it is due (a digest sent by hand) is then not taken over until it
        is due."""
        m = self.model
        chosen = (
            select(m.id).where(*where, self.claimable(now)).order_by(m.due_at, m.id).limit(limit)
        )
        claimed = self.claim(session, chosen, worker_id, now, lease=lease, late_after=late_after)
        return sorted(claimed, key=lambda r: (r.due_at, r.id))

    def claim(
        self,
        session: Session,
        chosen: Select,
        worker_id: str,
        now: dt.datetime,
        *,
        lease: dt.timedelta,
        late_after: dt.timedelta | None,
    ) -> list[Row]:
        """Claim the rows whose ids ``chosen`` selects, for ``lease``, counting an attempt;
        each says whether it is later than ``late_after`` (``None``: never late). The rows
        come back detached, in no particular order."""
        m = self.model
        late: Any = False
        if late_after is not None:
            late = case((m.due_at < now - late_after, True), else_=False)
        statement = (
            update(m)
            .where(m.id.in_(chosen.with_for_update(skip_locked=True).scalar_subquery()))
            .values(
                status=OutboxStatus.CLAIMED,
                claimed_by=worker_id,
                lease_until=now + lease,
                attempts=m.attempts + 1,
                late=late,
            )
            .returning(m)
            .execution_options(synchronize_session=False)
        )
        claimed = list(session.scalars(statement))
        for row in claimed:
            session.expunge(row)
        return claimed

    def set(self, session: Session, row_id: int, worker_id: str, **values) -> bool:
        """Change a row only while ``worker_id`` holds its claim; whether it did."""
        m = self.model
        statement = (
            update(m)
            .where(m.id == row_id, m.claimed_by == worker_id, m.status == OutboxStatus.CLAIMED)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return (session.execute(statement).rowcount or 0) == 1

    def mark_sent(
        self,
        session: Session,
        row_id: int,
        worker_id: str,
        now: dt.datetime,
        channel: str,
        ts: str | None,
        note: str | None = None,
    ) -> bool:
        """Posted in ``channel`` (message ``ts``); ``note`` says what did not go as planned."""
        return self.set(
            session, row_id, worker_id, status=OutboxStatus.SENT, sent_at=now, channel_id=channel,
            message_ts=ts, lease_until=None, last_error=note,
        )  # fmt: skip

    def release(
        self,
        session: Session,
        row_id: int,
        worker_id: str,
        not_before: dt.datetime | None,
        error: str | None,
        *,
        counts: bool = True,
    ) -> bool:
        """Back to pending, to be tried again from ``not_before``. An attempt that does not
        ``count`` (Slack's rate limit: nothing was posted) is not counted towards failing."""
        return self.set(
            session, row_id, worker_id, status=OutboxStatus.PENDING, claimed_by=None,
            lease_until=None, next_attempt_at=not_before, last_error=error,
            **({} if counts else {"attempts": self.model.attempts - 1}),
        )  # fmt: skip

    def renew(
        self, session: Session, row_id: int, worker_id: str, lease_until: dt.datetime
    ) -> bool:
        """Extend a claim before posting; ``False`` if another worker has taken it over."""
        return self.set(session, row_id, worker_id, lease_until=lease_until)

    def mark_failed(self, session: Session, row_id: int, worker_id: str, error: str) -> bool:
        return self.set(
            session,
            row_id,
            worker_id,
            status=OutboxStatus.FAILED,
            lease_until=None,
            last_error=error,
        )

    def release_all(self, session: Session, worker_id: str) -> int:
        """A worker shutting down hands back what it claimed but did not post (the attempt
        is not counted)."""
        m = self.model
        statement = (
            update(m)
            .where(m.claimed_by == worker_id, m.status == OutboxStatus.CLAIMED)
            .values(
                status=OutboxStatus.PENDING,
                claimed_by=None,
                lease_until=None,
                attempts=m.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        return session.execute(statement).rowcount or 0

    def failed(self, session: Session, limit: int = 20) -> Sequence[Row]:
        """The rows given up on, the latest due first."""
        m = self.model
        return session.scalars(
            select(m).where(m.status == OutboxStatus.FAILED).order_by(m.due_at.desc()).limit(limit)
        ).all()

    def failed_count(self, session: Session) -> int:
        m = self.model
        return session.scalar(select(func.count()).where(m.status == OutboxStatus.FAILED)) or 0

    def requeue_failed(self, session: Session) -> int:
        """Failed rows back to pending (after their cause is fixed), attempts from zero; the
        error they failed with is kept, after "re-queued after: "."""
        m = self.model
        statement = (
            update(m)
            .where(m.status == OutboxStatus.FAILED)
            .values(
                status=OutboxStatus.PENDING, claimed_by=None, lease_until=None,
                next_attempt_at=None, attempts=0,
                last_error=literal("re-queued after: ").concat(func.coalesce(m.last_error, "")),
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        return session.execute(statement).rowcount or 0
