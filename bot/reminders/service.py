"""Reminders as units of work for the worker: claim, then sent / retry / failed / dropped.

Posting happens between a claim and its outcome, outside any transaction. Marking a
reminder sent re-plans its incident in the same transaction, which is how the next
escalation of a breached timer is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.context import Context
from bot.incidents.service import note_breach, sync
from bot.incidents.views import IncidentView, build_views
from bot.paging import service as paging
from bot.sla.reminders import ReminderKind
from bot.sla.timers import BudgetTimer, TimerKind
from bot.text import format_local, format_span, plural
from storage import outbox, queries, tasks
from storage.leased import LeasedOutbox
from storage.models import LeasedRow, NoticedBy, Reminder, Task

LEASE = dt.timedelta(seconds=60)
"""How long a claim holds; a worker that dies is taken over after it."""
POST_BUDGET = dt.timedelta(seconds=30)
"""The longest one post can take (a history check, a post, a join and a re-post, a
fallback post, each bounded by the worker client's 5 s timeout). A worker renews its claim
before posting when less than this is left of it, so no post outlives its claim."""
LATE_AFTER = dt.timedelta(seconds=60)
"""A reminder posted this long after it was due says it is late."""
ALIVE_WITHIN = dt.timedelta(seconds=30)
"""A worker that has not beaten its heartbeat for this long is not counted alive."""
FORGET_WORKERS_AFTER = dt.timedelta(days=7)


@dataclass(frozen=True)
class Due:
    """A claimed reminder, and its incident as it is now."""

    reminder: Reminder
    incident: IncidentView

    @property
    def timer(self) -> TimerKind | BudgetTimer:
        if self.reminder.timer in (BudgetTimer.BUDGET, BudgetTimer.DM):
            return BudgetTimer(self.reminder.timer)
        return TimerKind(self.reminder.timer)

    @property
    def kind(self) -> ReminderKind:
        return ReminderKind(self.reminder.kind)

    @property
    def holds(self) -> bool:
        """The deadline it announces still holds: the timer is open, unpaused, still due then.
        A budget's crossing holds while the incident still runs at it (paused or not)."""
        if isinstance(self.timer, BudgetTimer):
            return self.reminder.deadline_at in self.incident.stakes.deadlines
        timer = self.incident.timers.get(self.timer)
        return (
            timer is not None
            and timer.is_open
            and not self.incident.paused
            and timer.deadline == self.reminder.deadline_at
        )


def claim(ctx: Context, worker_id: str, limit: int = 20) -> list[Due]:
    """Claim due reminders (a short write transaction), then read their incidents as they
    are now (a read, so SQLite's write lock is not held while views are built)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        outbox.supersede_stale(session, now)
        claimed = outbox.claims.claim_due(
            session, worker_id, now, lease=LEASE, late_after=LATE_AFTER, limit=limit
        )
    if not claimed:
        return []
    with ctx.db.read() as session:
        ids = sorted({r.incident_id for r in claimed})
        incidents = [queries.incident_by_id(session, i) for i in ids]
        budget = any(r.timer in (BudgetTimer.BUDGET, BudgetTimer.DM) for r in claimed)
        built = build_views(session, incidents, ctx.contracts, now, stakes=budget)
        views = {v.id: v for v in built}
    return [Due(r, views[r.incident_id]) for r in claimed]


def sent(
    ctx: Context,
    due: Due,
    worker_id: str,
    channel: str,
    ts: str | None,
    *,
    pages: Sequence[str] = (),
) -> bool:
    """Record the post; ``False`` if the claim was lost meanwhile. A breach notice or an
    escalation records the breach it announced (``storage.models.Breach``: the first
    sighting is kept) and re-plans its incident in the same transaction: that writes the
    next escalation, or brings the next credit-tier crossings into the plan (a warning
    implies nothing new). An escalation also schedules a page to each of ``pages``
    (``bot.paging``), in the same transaction: once per escalation."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if not outbox.claims.mark_sent(session, due.reminder.id, worker_id, now, channel, ts):
            return False
        if due.kind is ReminderKind.ESCALATION and pages:
            paging.page_escalation(session, pages, due.incident, due.reminder, now)
        if due.kind is not ReminderKind.WARNING:
            incident = queries.incident_by_id(session, due.reminder.incident_id, lock=True)
            timer = (
                None if isinstance(due.timer, BudgetTimer) else due.incident.timers.get(due.timer)
            )
            if timer is not None:
                note_breach(
                    session, incident, due.timer, timer.contract, timer.target,
                    due.reminder.deadline_at, now, NoticedBy.NOTICE,
                )  # fmt: skip
            sync(session, incident, ctx.contracts, now, others=False)
    return True


def renew(ctx: Context, due: Due, worker_id: str) -> bool:
    """Make sure the reminder's claim outlasts a post (``outlast_post``)."""
    return outlast_post(ctx, outbox.claims, due.reminder, worker_id)


def outlast_post(ctx: Context, claims: LeasedOutbox, row: LeasedRow, worker_id: str) -> bool:
    """Make sure the claim on ``row`` outlasts a post: extended when less than
    ``POST_BUDGET`` is left. ``False`` when another process has taken it over (then this
    one must not post)."""
    now = ctx.clock.now()
    if row.lease_until is not None and row.lease_until - now >= POST_BUDGET:
        return True
    with ctx.db.transaction() as session:
        return claims.renew(session, row.id, worker_id, now + LEASE)


def retry(
    ctx: Context,
    due: Due,
    worker_id: str,
    not_before: dt.datetime,
    error: str,
    *,
    counts: bool = True,
) -> bool:
    with ctx.db.transaction() as session:
        return outbox.claims.release(
            session, due.reminder.id, worker_id, not_before, error, counts=counts
        )


def fail(ctx: Context, due: Due, worker_id: str, error: str) -> bool:
    with ctx.db.transaction() as session:
        return outbox.claims.mark_failed(session, due.reminder.id, worker_id, error)


def drop(ctx: Context, due: Due, worker_id: str) -> bool:
    """The deadline no longer holds (acknowledged, re-graded, paused since it was claimed)."""
    with ctx.db.transaction() as session:
        return outbox.mark_cancelled(session, due.reminder.id, worker_id, "no longer holds")


def release_all(ctx: Context, worker_id: str) -> int:
    with ctx.db.transaction() as session:
        return outbox.claims.release_all(session, worker_id)


def next_due(ctx: Context) -> dt.datetime | None:
    with ctx.db.read() as session:
        return outbox.claims.next_due(session)


def heartbeat(ctx: Context, worker_id: str, posted: int, *, stopping: bool = False) -> None:
    with ctx.db.transaction() as session:
        outbox.beat(session, worker_id, ctx.clock.now(), posted, stopping=stopping)


def forget_old_workers(ctx: Context) -> int:
    """Heartbeats of workers gone for a week are forgotten (each process start adds one)."""
    with ctx.db.transaction() as session:
        return outbox.forget_workers(session, ctx.clock.now() - FORGET_WORKERS_AFTER)


def retry_failed(ctx: Context) -> int:
    """Send failed reminders again, after their cause is fixed; how many were re-queued."""
    with ctx.db.transaction() as session:
        return outbox.claims.requeue_failed(session) + tasks.claims.requeue_failed(session)


@dataclass(frozen=True)
class Health:
    """What the reminder machinery says about itself. `slabot doctor` prints it (``lines``,
    ``as_json``), /healthz reports its ``summary``, App Home lists its failures.

    ``diagnose`` first checks the database and its schema; when either stops it, that is
    the one problem and the reminder fields are left empty."""

    checked_at: dt.datetime
    workers: list[tuple[str, dt.datetime, int]] = field(default_factory=list)
    """The workers alive: id, last heartbeat, reminders posted since it started."""
    failed: list[Reminder] = field(default_factory=list)
    """The most recent failed reminders (at most 20); ``failed_count`` counts them all."""
    overdue: int = 0
    """Pending reminders more than ``LATE_AFTER`` past due: no worker is keeping up."""
    failed_count: int = 0
    refs: dict[int, str] = field(default_factory=dict)
    """The incident reference of each failed reminder's incident id."""
    last_seen: tuple[str, dt.datetime, bool] | None = None
    """The worker seen most recently, alive or not: id, last heartbeat, stopped cleanly."""
    next_due: dt.datetime | None = None
    database: str = "ok"
    """``ok``, or ``unreachable (<the error's type>)``."""
    schema: tuple[str | None, str | None] | None = None
    """The schema's revision and the one this slabot needs, when they were read."""
    requeued: int | None = None
    """How many failed reminders and tasks were re-queued before looking, when asked."""
    failed_tasks: list[Task] = field(default_factory=list)
    """The most recent failed tasks of the task outbox (``bot.tasks``), at most 20."""
    failed_tasks_count: int = 0

    @property
    def worker(self) -> str:
        """``ok`` (a worker is alive), ``stale`` (one was, none has beaten for
        ``ALIVE_WITHIN``) or ``none`` (no worker seen this week)."""
        if self.workers:
            return "ok"
        return "stale" if self.last_seen is not None else "none"

    @property
    def _stopped(self) -> str | None:
        """The problem that kept the reminders from being read at all."""
        if self.database != "ok":
            return "the database does not answer (check DATABASE_URL)"
        if self.schema is not None and self.schema[0] != self.schema[1]:
            current, head = self.schema
            return (
                f"the schema is at {current or 'nothing'}, this slabot needs {head}: "
                "run `slabot db upgrade`"
            )
        return None

    @property
    def problems(self) -> list[str]:
        """What needs a look, one line each; empty when reminders are going out."""
        if self._stopped:
            return [self._stopped]
        found = []
        if not self.workers:
            found.append(
                f"no worker has checked in for {int(ALIVE_WITHIN.total_seconds())} seconds: "
                "reminders are not going out (start `slabot worker`, or use `slabot run`)"
            )
        if self.failed_count:
            found.append(f"{plural(self.failed_count, 'reminder')} could not be posted")
        if self.failed_tasks_count:
            found.append(f"{plural(self.failed_tasks_count, 'task')} could not be done")
        if self.overdue:
            found.append(
                f"{plural(self.overdue, 'reminder', verb='is')} more than "
                f"{int(LATE_AFTER.total_seconds())} seconds overdue"
            )
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        """The figures /healthz reports beside the database's state."""
        return {
            "worker": self.worker,
            "workers": len(self.workers),
            "failed_reminders": self.failed_count,
            "overdue_reminders": self.overdue,
        }

    def as_json(self) -> dict:
        """`slabot doctor --json`: everything that was looked at, the problems, the verdict."""
        problems = self.problems
        found: dict = {"database": self.database, "problems": problems}
        if self.schema is not None:
            found["schema"] = {"current": self.schema[0], "head": self.schema[1]}
        if not self._stopped:
            if self.requeued is not None:
                found["requeued"] = self.requeued
            found.update(
                worker=self.worker,
                workers=[
                    {"id": wid, "seen": seen.isoformat(), "posted": posted}
                    for wid, seen, posted in self.workers
                ],
                failed=[
                    {
                        "incident": self.refs.get(r.incident_id),
                        "reminder": f"{r.timer} {r.step}",
                        "due": r.due_at.isoformat(),
                        "error": r.last_error,
                    }
                    for r in self.failed
                ],
                failed_count=self.failed_count,
                failed_tasks=[
                    {
                        "kind": t.kind,
                        "key": t.dedupe_key,
                        "due": t.due_at.isoformat(),
                        "error": t.last_error,
                    }
                    for t in self.failed_tasks
                ],
                failed_tasks_count=self.failed_tasks_count,
                overdue=self.overdue,
                next_due=self.next_due.isoformat() if self.next_due else None,
            )
        found["healthy"] = not problems
        return found

    def lines(self) -> list[str]:
        """`slabot doctor`: one line per thing looked at, then the problems and the verdict."""
        problems = self.problems
        verdict = [f"problem    {problem}" for problem in problems]
        verdict.append(
            "healthy" if not problems else f"unhealthy: {plural(len(problems), 'problem')}"
        )
        if self._stopped:
            return verdict
        schema = f", schema {self.schema[0]} (current)" if self.schema else ""
        lines = [f"database   ok{schema}"]
        if self.requeued is not None:
            lines.append(f"re-queued  {self.requeued} failed reminders")
        now = self.checked_at
        if self.workers:
            for wid, seen, posted in self.workers:
                lines.append(
                    f"worker     {wid}: alive, seen {format_span(now - seen)} ago, {posted} posted"
                )
        elif self.last_seen:
            wid, seen, stopped = self.last_seen
            how = "stopped" if stopped else "last seen"
            lines.append(f"worker     none alive; {wid} {how} {format_span(now - seen)} ago")
        else:
            lines.append("worker     none has ever run against this database")
        lines.append(f"failed     {self.failed_count}")
        lines.extend(
            f"  {self.refs.get(r.incident_id, '?')} {r.timer} {r.step}, due "
            f"{format_local(r.due_at, 'UTC')}: {r.last_error}"
            for r in self.failed
        )
        if self.failed_count:
            lines.append(
                "  after fixing the cause, `slabot doctor --retry-failed` sends them again "
                "(marked late) if their deadline still holds"
            )
        if self.failed_tasks_count:
            lines.append(f"failed tasks {self.failed_tasks_count}")
            lines.extend(
                f"  {t.kind} {t.dedupe_key}, due {format_local(t.due_at, 'UTC')}: {t.last_error}"
                for t in self.failed_tasks
            )
        lines.append(f"overdue    {self.overdue}")
        upcoming = format_local(self.next_due, "UTC") if self.next_due else "nothing pending"
        lines.append(f"next due   {upcoming}")
        return lines + verdict


def health(ctx: Context, *, within: dt.timedelta = ALIVE_WITHIN) -> Health:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        alive = [
            (w.worker_id, w.seen_at, w.posted)
            for w in outbox.workers(session, now - within)
            if w.stopped_at is None
        ]
        last = outbox.last_heartbeat(session)
        failed = list(outbox.claims.failed(session))
        return Health(
            workers=alive,
            failed=failed,
            refs=queries.refs_of(session, {r.incident_id for r in failed}),
            overdue=outbox.overdue_count(session, now, LATE_AFTER),
            failed_count=outbox.claims.failed_count(session),
            failed_tasks=list(tasks.claims.failed(session)),
            failed_tasks_count=tasks.claims.failed_count(session),
            last_seen=(last.worker_id, last.seen_at, last.stopped_at is not None) if last else None,
            next_due=outbox.claims.next_due(session),
            checked_at=ctx.clock.now(),  # after the reads: no heartbeat is later than it
        )


def diagnose(ctx: Context, *, requeue_failed: bool = False) -> Health:
    """Everything `slabot doctor` checks, in order: the database answers, its schema is the
    one this slabot needs, then (after re-queueing failed reminders, when asked) ``health``."""
    try:
        ctx.db.ping()
        schema = ctx.db.current_revision(), ctx.db.head_revision()
    except Exception as exc:
        return Health(checked_at=ctx.clock.now(), database=f"unreachable ({type(exc).__name__})")
    if schema[0] != schema[1]:
        return Health(checked_at=ctx.clock.now(), schema=schema)
    requeued = retry_failed(ctx) if requeue_failed else None
    return replace(health(ctx), schema=schema, requeued=requeued)
