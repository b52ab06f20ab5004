"""Scheduling tasks and doing them: exactly once, with the reminders' lease and retry rules.

``schedule`` writes a task in the caller's transaction, so the fact and the work it calls
for are committed together or not at all. The process that wrote it may then do it at once
(``run_now``: a declaration's channel right after the ack); whatever it does not finish —
it died, Slack was down — a worker claims when it is due or when the claim's lease runs out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid

from slack_sdk import WebClient
from sqlmodel import Session

import bot.tasks.kinds  # noqa: F401  (registers every kind's handler)
from bot.context import Context
from bot.reminders.service import LATE_AFTER, LEASE, outlast_post
from bot.slack.channels import IncidentChannels
from bot.slack.delivery import Delivery, Failed, Retry, retry_at
from bot.tasks.registry import Done, Outcome, TaskRun, handler
from config.settings import Settings
from storage import tasks
from storage.models import Task

log = logging.getLogger(__name__)

METADATA_EVENT = "slabot_task"
"""The message metadata a task's post carries (its key), to find it after a takeover."""


def schedule(
    session: Session,
    kind: str,
    key: str,
    payload: dict,
    *,
    due_at: dt.datetime,
    incident_id: int | None = None,
    now: dt.datetime | None = None,
) -> int | None:
    """Write a task in the caller's transaction; ``None`` if one with ``key`` exists already
    (scheduling the same work twice schedules it once). ``now``, when it is written, is
    ``due_at`` unless given: work due at once need not say it twice."""
    if handler(kind) is None:
        raise ValueError(f"no handler for task kind {kind!r} (register it in bot.tasks.kinds)")
    return tasks.add(
        session, kind, key, payload, due_at=due_at, now=now or due_at, incident_id=incident_id
    )


def cancel(session: Session, key: str, why: str) -> bool:
    """Withdraw a task not yet begun (in the caller's transaction); whether one was."""
    return tasks.cancel(session, key, why)


def next_due(ctx: Context) -> dt.datetime | None:
    with ctx.db.read() as session:
        return tasks.claims.next_due(session)


def release_all(ctx: Context, worker_id: str) -> int:
    with ctx.db.transaction() as session:
        return tasks.claims.release_all(session, worker_id)


def process_id() -> str:
    """Who holds a claim (a worker's id, a web process's): host, process id, and a random
    suffix so a process restarted with the same pid is not mistaken for the one that died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class TaskRunner:
    """Does claimed tasks for one process: the web process one at a time right after the
    request that wrote them, a worker in batches."""

    def __init__(
        self,
        ctx: Context,
        client: WebClient,
        settings: Settings,
        *,
        worker_id: str | None = None,
        channels: IncidentChannels | None = None,
    ):
        self.ctx, self.client, self.settings = ctx, client, settings
        self.worker_id = worker_id or process_id()
        self.channels = channels or IncidentChannels(client, settings, ctx.contracts)
        self.delivery = Delivery(
            client, self.channels, event_type=METADATA_EVENT, fallback=settings.announce_channel
        )

    def claim(self, limit: int) -> list[Task]:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            return tasks.claims.claim_due(
                session, self.worker_id, now, lease=LEASE, late_after=LATE_AFTER, limit=limit
            )

    def run_now(self, task_id: int) -> Outcome | None:
        """Claim task ``task_id`` and do it here; ``None`` if it is not claimable (another
        process has it, it is done, or it is not due yet)."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            task = tasks.claim_one(session, task_id, self.worker_id, now, lease=LEASE)
        return None if task is None else self.perform(task)

    def perform(self, task: Task) -> Outcome | None:
        """Do a claimed task and mark it; ``None`` if its claim was lost before the work."""
        if not outlast_post(self.ctx, tasks.claims, task, self.worker_id):
            log.info("task %s was taken over by another process; skipped", task.dedupe_key)
            return None
        do = handler(task.kind)
        if do is None:
            outcome: Outcome = Failed(f"no handler for task kind {task.kind!r}")
        else:
            run = TaskRun(
                task, self.ctx, self.settings, self.client, self.delivery, self.channels,
                self.worker_id,
            )  # fmt: skip
            try:
                outcome = do(run)
            except Exception as exc:
                log.exception("task %s (%s) failed unexpectedly", task.dedupe_key, task.kind)
                outcome = Retry(f"{type(exc).__name__}: {exc}")
        self._mark(task, outcome)
        return outcome

    def _mark(self, task: Task, outcome: Outcome) -> None:
        now, me = self.ctx.clock.now(), self.worker_id
        with self.ctx.db.transaction() as session:
            if isinstance(outcome, Done):
                if not tasks.mark_done(session, task.id, me, now, outcome.result):
                    log.warning(
                        "task %s was done but its claim had been taken over", task.dedupe_key
                    )
                    return
                if outcome.then is not None:
                    outcome.then(session)
                return
            if isinstance(outcome, Retry):
                not_before = retry_at(outcome, task.attempts, now)
                if not_before is not None:
                    tasks.claims.release(
                        session, task.id, me, not_before, outcome.reason, counts=outcome.counts
                    )
                    log.warning(
                        "task %s: %s; retrying at %s",
                        task.dedupe_key, outcome.reason, f"{not_before:%H:%M:%S}",
                    )  # fmt: skip
                    return
                outcome = outcome.gave_up(task.attempts)
            tasks.claims.mark_failed(session, task.id, me, outcome.reason)
        log.error("task %s (%s) failed: %s", task.dedupe_key, task.kind, outcome.reason)


def run_now(ctx: Context, client: WebClient, settings: Settings, task_id: int) -> Outcome | None:
    """Claim task ``task_id`` and do it in this process (after a request's ack)."""
    return TaskRunner(ctx, client, settings).run_now(task_id)
