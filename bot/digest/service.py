"""The weekly digest as units of work: computing it, and its outbox (no Slack here).

``make_digest`` reads the week's incidents, the open ones and every customer's standing
through the incidents and reports services, then arranges them (``bot.digest.views``).
A past week's digest is as of the week's end: the incidents open then, each customer's
running period to then (uptime, budgets, credits). Its own incidents are shown as they
turned out; the running week is as of the clock's now.

The outbox is one ``digest_delivery`` row per ISO week and recipient (``storage.digests``):
written once for the latest due week, claimed with a lease by one worker, posted outside
any transaction, marked sent only by the claim's holder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.context import Context
from bot.digest.views import Digest, build_digest
from bot.digest.weeks import IsoWeek
from bot.errors import Refusal
from bot.incidents.record import week_record
from bot.incidents.views import as_it_stood, build_views
from bot.reports.figures import corrected_since_digest
from bot.reports.service import periods_closed, uptime_to_date
from storage import digests, queries
from storage.models import DigestDelivery, OutboxStatus

LEASE = dt.timedelta(minutes=2)
"""Long enough to build the digest, draw its chart and post it with retries."""
LATE_AFTER = dt.timedelta(minutes=15)
"""A digest sent this long after its scheduled time says it is late."""


def make_digest(ctx: Context, week: IsoWeek, zone: str) -> Digest:
    """The digest of ``week`` (Monday to Sunday in ``zone``) as of its end, or as of now for
    the running week.

    A past week's digest says where things stood at its end: the incidents open then (as
    they stood then) and each customer's period up to then; the week's own incidents are
    judged as they turned out (a target met or breached after the week ended says so). A
    week that has not begun is refused; the running week is the week so far.
    """
    now = ctx.clock.now()
    start, end = week.bounds(zone)
    if start > now:
        raise Refusal(
            f"{week} has not begun yet (it is {now:%Y-%m-%d %H:%M} UTC); "
            "ask for the current or an earlier week"
        )
    as_of = min(end, now)
    with ctx.db.read() as session:
        week_rows = queries.incidents_declared(session, start, end)
        if as_of < now:  # a past week: the incidents open at its end, as they stood then
            open_rows = queries.incidents_open_at(session, as_of)
            stood = [as_it_stood(i, as_of) for i in open_rows]
            then = build_views(session, stood, ctx.contracts, as_of)
            views = {v.id: v for v in build_views(session, week_rows, ctx.contracts, now)}
            still_open = list(then)
        else:
            open_rows = queries.incidents(session, open_only=True)
            # An open incident declared this week is in both lists: its view is built once.
            both = {i.id: i for i in (*week_rows, *open_rows)}
            views = {v.id: v for v in build_views(session, list(both.values()), ctx.contracts, now)}
            still_open = [views[i.id] for i in open_rows]
    declared = [views[i.id] for i in week_rows]
    return build_digest(
        week,
        zone,
        as_of,
        declared,
        still_open,
        uptime_to_date(ctx, as_of),
        ctx.contracts.customers,
        periods_closed(ctx, start, as_of, listed=False),  # the digest shows only figures
        # The record: breaches of the week that stand or were withdrawn, progress deadlines,
        # and figures of periods a digest showed that corrections changed since the last one.
        record=week_record(ctx, start, end),
        corrected=corrected_since_digest(ctx, week.label, now),
    )


# --- the outbox ----------------------------------------------------------------------------------


def week_scheduled(ctx: Context, week: IsoWeek) -> bool:
    with ctx.db.read() as session:
        return digests.week_scheduled(session, week.label)


def schedule_week(
    ctx: Context, week: IsoWeek, recipients: Sequence[str], due_at: dt.datetime
) -> int:
    """Write a pending row per recipient of ``week`` (those already written stay as they are)."""
    with ctx.db.transaction() as session:
        return digests.schedule(session, week.label, recipients, due_at, ctx.clock.now())


def claim(ctx: Context, worker_id: str, limit: int = 50) -> list[DigestDelivery]:
    """Due rows for this worker; older weeks' pending rows are superseded by newer ones first."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        digests.supersede_stale(session)
        return digests.claim_due(
            session, worker_id, now, lease=LEASE, late_after=LATE_AFTER, limit=limit
        )


@dataclass(frozen=True)
class SendNow:
    """What ``slabot digest --send`` may do for each recipient."""

    claimed: list[DigestDelivery]
    """Rows it holds now: send, then mark sent (the worker will not send them again)."""
    again: list[str]
    """Recipients who already had this week's digest: sent again, nothing recorded."""
    busy: list[str]
    """Recipients a worker is sending it to right now: left to that worker."""


def claim_for_send(
    ctx: Context, claimer: str, week: IsoWeek, recipients: Sequence[str], *, record: bool
) -> SendNow:
    """Take ``week``'s rows for ``recipients`` to send now, writing those missing.

    ``record=False`` (a week still running: a preview) touches no row: everyone is "again".
    """
    if not record:
        return SendNow([], list(recipients), [])
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        digests.schedule(session, week.label, recipients, now, now, source="cli")
        claimed = digests.claim_week(session, claimer, week.label, recipients, now, lease=LEASE)
        rows = {r.recipient: r for r in digests.of_week(session, week.label)}
    held = {r.recipient for r in claimed}
    again = [r for r in recipients if r not in held and rows[r].status == OutboxStatus.SENT]
    busy = [r for r in recipients if r not in held and r not in again]
    return SendNow(claimed, again, busy)


def sent(
    ctx: Context,
    row: DigestDelivery,
    worker_id: str,
    channel: str,
    ts: str | None,
    note: str | None = None,
) -> bool:
    """Record the post; ``False`` if the claim was lost meanwhile."""
    with ctx.db.transaction() as session:
        return digests.claims.mark_sent(
            session, row.id, worker_id, ctx.clock.now(), channel, ts, note
        )


def retry(
    ctx: Context,
    row: DigestDelivery,
    worker_id: str,
    not_before: dt.datetime,
    error: str,
    *,
    counts: bool = True,
) -> bool:
    """Back to pending until ``not_before``; an attempt that does not ``count`` (a rate
    limit) is not counted towards failing."""
    with ctx.db.transaction() as session:
        return digests.claims.release(session, row.id, worker_id, not_before, error, counts=counts)


def fail(ctx: Context, row: DigestDelivery, worker_id: str, error: str) -> bool:
    with ctx.db.transaction() as session:
        return digests.claims.mark_failed(session, row.id, worker_id, error)


def release_all(ctx: Context, worker_id: str) -> int:
    with ctx.db.transaction() as session:
        return digests.claims.release_all(session, worker_id)


def deliveries(ctx: Context, week: IsoWeek) -> list[DigestDelivery]:
    """Every row of ``week`` (``slabot doctor``, tests)."""
    with ctx.db.read() as session:
        rows = list(digests.of_week(session, week.label))
        for row in rows:
            session.expunge(row)
        return rows
